"""Signed download links: a file's content fetched without an API key, until the link expires.

Mistral's `GET /v1/files/{id}/url` hands out such a link (a pre-signed URL, as on a cloud
store); whoever holds it may download the file, with no `Authorization` header.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs

_CONTENT_PATH = re.compile(r"/v1/files/(?P<file_id>[^/]+)/content$")


def signature(file_id: str, expires: int) -> str:
    return hashlib.blake2b(f"{file_id}/{expires}".encode(), digest_size=8).hexdigest()


def signed_query(file_id: str, expires: int) -> str:
    """The query string of a link to `file_id`'s content valid until `expires` (Unix time)."""
    return f"se={expires}&sig={signature(file_id, expires)}"


def is_signed(path: str, query: str, now: float) -> bool:
    """True for a request to a file's content carrying a valid, unexpired signature."""
    match = _CONTENT_PATH.search(path)
    fields = parse_qs(query)
    if match is None or "se" not in fields or "sig" not in fields:
        return False
    try:
        expires = int(fields["se"][0])
    except ValueError:
        return False
    return now <= expires and fields["sig"][0] == signature(match["file_id"], expires)
