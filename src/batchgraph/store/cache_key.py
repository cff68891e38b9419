"""The result cache's key: what a request asks a provider, hashed.

Two requests with the same key get the same answer from the cache (a later job's) or from one
call (duplicates within a job). The key is made from the provider's name and the request as
the store keeps it (`Request.to_json` in compact JSON, its fields in a fixed order, the model
among them) without the request's own id and input line, which never reach the provider. The
adapter's body is a function of exactly that text and the provider, so equal keys mean equal
bodies up to the per-request id and the batch's tag — and the key costs one hash of text the
ledger writes anyway, where building every body would cost the encoding the planner avoids.
"""

from __future__ import annotations

import hashlib

KEY_VERSION = b"bg-request-key-1"
"""Changed whenever what a stored request means to an adapter changes, so that answers to old
bodies are not taken for answers to new ones."""
_MODEL_FIELD = ',"model":'


def request_key(provider: str, stored: str) -> bytes:
    """The 16-byte key of the request stored as `stored` (compact `Request.to_json`), sent to
    `provider`.

    The stored text starts `{"id":…,"line":…,"model":…`; the key hashes what follows the id and
    line. Inside a JSON string a quote is always escaped, so the first `,"model":` is the
    field's own (an id cannot hold it).
    """
    start = stored.find(_MODEL_FIELD)
    asked = stored[start + 1 :] if start >= 0 else stored
    digest = hashlib.blake2b(digest_size=16, person=KEY_VERSION)
    digest.update(provider.encode())
    digest.update(b"\0")
    digest.update(asked.encode())
    return digest.digest()
