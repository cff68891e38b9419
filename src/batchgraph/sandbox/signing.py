"""Links that work without an API key, because holding them is the permission.

Mistral's `GET /v1/files/{id}/url` hands out a signed download link (a pre-signed URL, as on a
cloud store), valid until it expires. Gemini's resumable upload answers its start call with an
upload session URL; the SDK sends the file's chunks there without its key, as Google allows.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qs

_CONTENT_PATH = re.compile(r"/v1/files/(?P<file_id>[^/]+)/content$")
_UPLOAD_PATH = re.compile(r"/upload/v1beta/files$")


def signature(file_id: str, expires: int) -> str:
    return hashlib.blake2b(f"{file_id}/{expires}".encode(), digest_size=8).hexdigest()


def signed_query(file_id: str, expires: int) -> str:
    """The query string of a link to `file_id`'s content valid until `expires` (Unix time)."""
    return f"se={expires}&sig={signature(file_id, expires)}"


def is_signed(path: str, query: str, now: float) -> bool:
    """True for a request to a file's content carrying a valid, unexpired signature, or for a
    chunk sent to an upload session URL (see `upload_session_id`)."""
    fields = parse_qs(query)
    if _UPLOAD_PATH.search(path) and "upload_id" in fields:
        return is_upload_session_id(fields["upload_id"][0])
    match = _CONTENT_PATH.search(path)
    if match is None or "se" not in fields or "sig" not in fields:
        return False
    try:
        expires = int(fields["se"][0])
    except ValueError:
        return False
    return now <= expires and fields["sig"][0] == signature(match["file_id"], expires)


def upload_session_id(token: str) -> str:
    """An upload session id that proves the sandbox made it: `token` and its signature."""
    return f"{token}{signature(token, 0)}"


def is_upload_session_id(value: str) -> bool:
    token, sig = value[:-16], value[-16:]
    return bool(token) and sig == signature(token, 0)
