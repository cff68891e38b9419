"""What every provider module gets: the store, the live config, the clock and shared tools."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from starlette.responses import Response
from starlette.routing import BaseRoute

from batchgraph.sandbox.call_log import CallLog
from batchgraph.sandbox.config import SandboxConfig
from batchgraph.sandbox.personalities import Personality
from batchgraph.sandbox.storage import BatchRecord, SandboxStore
from batchgraph.sandbox.sync_log import SyncLog


class ErrorKind(StrEnum):
    """Provider-neutral HTTP error kinds; each provider module renders them in its own shape."""

    INVALID_REQUEST = "invalid_request"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"


class ProviderModule(Protocol):
    """What a provider module (`sandbox/<provider>.py`) exposes; see `sandbox/app.py`."""

    def routes(self, ctx: SandboxContext, personality: Personality) -> list[BaseRoute]: ...

    def error_response(
        self, status: int, kind: ErrorKind, message: str, *, param: str | None = None
    ) -> Response: ...


@dataclass
class SandboxContext:
    """Shared by all routes of one server. `now` is injectable so tests can move the clock."""

    store: SandboxStore
    config: SandboxConfig
    now: Callable[[], float] = time.time
    sync_log: SyncLog = field(default_factory=SyncLog)
    """Every synchronous call answered (see `sync_api`)."""
    call_log: CallLog = field(default_factory=CallLog)
    """Every call to a provider's routes, whatever its answer (see `faults`)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _settling: dict[str, threading.Lock] = field(default_factory=dict)

    def configure(self, **changes: Any) -> SandboxConfig:
        """Change the server-wide config from now on (batches keep the config they started with)."""
        with self._lock:
            self.config = self.config.replace(**changes)
            return self.config

    def save_config(self) -> None:
        """Persist the config so a sandbox started later on this data directory uses it."""
        path = self.store.data_dir / "sandbox.json"
        path.write_text(json.dumps(self.config.to_json(), indent=2))

    def settle(
        self, record: BatchRecord, produce: Callable[[BatchRecord], dict[str, Any]]
    ) -> dict[str, Any]:
        """The batch's outcome, produced once (`produce` writes its result files and returns the
        outcome to store). Other threads wait; other processes may produce the same outcome,
        and the first one stored wins, so `produce` must be deterministic."""
        if record.outcome is not None:
            return record.outcome
        with self._lock:
            lock = self._settling.setdefault(record.id, threading.Lock())
        with lock:
            current = self.store.get_batch(record.provider, record.id)
            if current is not None and current.outcome is not None:
                return current.outcome
            return self.store.set_outcome(record.id, produce(record))


def load_saved_config(store: SandboxStore) -> SandboxConfig | None:
    """The config saved by `SandboxContext.save_config`, if any."""
    path = store.data_dir / "sandbox.json"
    if not path.exists():
        return None
    return SandboxConfig.from_json(json.loads(path.read_text()))
