"""`batchgraph sandbox`: serve the provider sandbox in the foreground."""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import Annotated

import typer


def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8765,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where files and batches are kept (survives restarts). Default: sandbox/ in "
            "BATCHGRAPH_HOME (.batchgraph/), where the sandbox-… providers keep theirs."
        ),
    ] = None,
    time_scale: Annotated[
        str, typer.Option(help="Virtual seconds per real second, or 'instant'.")
    ] = "1",
    processing_seconds: Annotated[
        float, typer.Option(help="Virtual seconds a batch takes to finish.")
    ] = 4.0,
    failure_rate: Annotated[
        float, typer.Option(help="Share of requests failing with a provider error.")
    ] = 0.0,
    fail_ids: Annotated[
        str | None, typer.Option(help="Requests whose custom_id matches this regex fail.")
    ] = None,
    expire_fraction: Annotated[
        float | None,
        typer.Option(help="Batches expire with only this share of requests finished."),
    ] = None,
    rate_limit: Annotated[int, typer.Option(help="Answer every n-th call with 429 (0 = off).")] = 0,
    server_error_rate: Annotated[
        float, typer.Option(help="Share of calls answered with a transient 500.")
    ] = 0.0,
    latency: Annotated[float, typer.Option(help="Seconds added to every call.")] = 0.0,
    reply_latency: Annotated[
        float,
        typer.Option(help="Seconds every answer is held back after the work is done."),
    ] = 0.0,
    save_config: Annotated[
        bool,
        typer.Option(help="Save these settings in the data directory for embedded sandboxes."),
    ] = False,
) -> None:
    """Serve every provider's batch API locally (any non-empty API key)."""
    from batchgraph.sandbox.config import SandboxConfig
    from batchgraph.sandbox.personalities import PERSONALITIES
    from batchgraph.sandbox.server import start_sandbox  # uvicorn: only when serving

    instant = time_scale == "instant"
    config = SandboxConfig(
        time_scale=math.inf if instant else float(time_scale),
        processing_seconds=0.0 if instant else processing_seconds,
        failure_rate=failure_rate,
        fail_ids=fail_ids,
        expire_fraction=expire_fraction,
        rate_limit_every=rate_limit,
        server_error_rate=server_error_rate,
        latency=latency,
        reply_latency=reply_latency,
    )
    if data_dir is None:
        from batchgraph.deps import default_data_dir

        data_dir = default_data_dir() / "sandbox"
    stop = _stop_on_signals()  # before anything is printed: a signal may come at any moment
    handle, thread = start_sandbox(data_dir, config, host=host, port=port)
    if save_config:
        handle.ctx.save_config()
    typer.echo(f"batchgraph sandbox on {handle.url} (data in {data_dir}); Ctrl-C stops it")
    width = max(map(len, PERSONALITIES))
    for name in PERSONALITIES:
        typer.echo(f"  {name:<{width}} base URL: {handle.base_url(name)}")
    typer.echo("  API key: any non-empty value")
    while thread.is_alive() and not stop.requested:
        time.sleep(0.2)  # a signal's handler runs in here, and only sets the flag
    handle.stop()
    thread.join(timeout=5)


class StopRequest:
    """Whether Ctrl-C (SIGINT) or SIGTERM asked the server to stop.

    Handlers are installed rather than relying on KeyboardInterrupt: a shell script that starts
    `batchgraph sandbox &` hands it SIGINT *ignored*, and Python then installs no handler of its
    own, so the server could only be stopped with SIGKILL. SIGTERM is what `kill` and service
    managers send.

    The handler only sets a flag. It runs in the main thread between two bytecodes of whatever
    that thread is doing, so it must take no lock: setting a `threading.Event` there deadlocked
    when the signal came while the main thread, waiting on that same event, held the event's
    lock (3 starts in 40 never stopped on SIGTERM).
    """

    def __init__(self) -> None:
        self.requested = False

    def install(self) -> StopRequest:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.requested = True


def _stop_on_signals() -> StopRequest:
    """A stop request that Ctrl-C and SIGTERM set from now on."""
    return StopRequest().install()


__all__ = ["sandbox"]
