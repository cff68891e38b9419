"""One sandbox per process, started on first use, for the `sandbox-<provider>` names.

State lives in the data directory, so every process that starts its own embedded sandbox on the
same directory sees the same files and batches. Its config is the one saved there (see
`POST /_sandbox/config?persist=true` or `batchgraph sandbox --save-config`), else the defaults.
"""

from __future__ import annotations

import threading
from pathlib import Path

from batchgraph.sandbox.server import SandboxHandle, start_sandbox

_lock = threading.Lock()
_servers: dict[Path, SandboxHandle] = {}


def embedded_sandbox_url(data_dir: Path) -> str:
    """The URL of this process's sandbox on `data_dir`, starting it if needed."""
    key = Path(data_dir).resolve()
    with _lock:
        handle = _servers.get(key)
        if handle is None:
            key.mkdir(parents=True, exist_ok=True)
            handle, _thread = start_sandbox(key)
            _servers[key] = handle
        return handle.url
