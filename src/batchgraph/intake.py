"""A big input is validated in a second process while this one writes the ledger.

Nothing has been sent while a job is written, so the provider's side of the machine is idle:
validating a line (parse, checks, the stored JSON, its first-round chunk) and inserting it
take about as long each, and splitting them over two processes nearly halves the time of a
big job's intake. The worker streams `(stored JSON, chunk)` rows in batches and then the
chunks; a bad input comes back as the same `InputError`, raised here so that the ledger's
transaction rolls back. Small inputs are not worth a process start (about a second).
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from batchgraph.errors import BatchgraphError, InputError, InputProblem
from batchgraph.io import ReadOptions, validated_requests
from batchgraph.planning import FirstRound
from batchgraph.providers import adapter_class
from batchgraph.store.base import ChunkRecord
from batchgraph.store.rows import request_to_text

PARALLEL_FROM_BYTES = 32 * 2**20
"""Inputs this big (about 120,000 short requests) are validated in a worker process."""
ROWS_PER_MESSAGE = 2000


class StoredInput:
    """The rows of a validated input as the ledger stores them, made by a worker process.

    Iterate it for the `(stored JSON, chunk)` rows; `chunks` is complete once they are all
    read. A bad input raises `InputError` from the iteration, after the last row.

    The worker is `python -m batchgraph.intake`, not a `multiprocessing` child: those either
    fork (unsafe beside threads) or import the caller's main module again (which breaks a
    script that submits at its top level).
    """

    def __init__(
        self,
        path: Path,
        options: ReadOptions,
        provider: str,
        job_id: str,
        batch_size: int | None = None,
    ) -> None:
        self.chunks: list[ChunkRecord] = []
        self._args = [str(path), options.to_json(), provider, job_id, batch_size]

    def __iter__(self) -> Iterator[tuple[str, int]]:
        command = [sys.executable, "-m", "batchgraph.intake", json.dumps(self._args)]
        with subprocess.Popen(command, stdout=subprocess.PIPE) as worker:
            assert worker.stdout is not None
            try:
                yield from self._receive(worker.stdout)
            finally:
                if worker.poll() is None:
                    worker.kill()

    def _receive(self, stream: IO[bytes]) -> Iterator[tuple[str, int]]:
        while True:
            try:
                message = pickle.load(stream)  # from our own worker, never from outside
            except EOFError:
                raise BatchgraphError("the input's validating process ended early") from None
            if isinstance(message, list):
                yield from message
                continue
            kind, payload = message
            if kind == "chunks":
                self.chunks = payload
                return
            if kind == "refused":
                source, problems, more = payload
                raise InputError(source, [InputProblem(*p) for p in problems], more)
            raise BatchgraphError(f"validating the input failed: {payload}")


def _validate(
    out: IO[bytes],
    path: str,
    options: dict[str, Any],
    provider: str,
    job_id: str,
    batch_size: int | None,
) -> None:
    """The worker: validate, store as text and place every request; send them in batches."""
    adapter = adapter_class(provider)
    first_round = FirstRound(adapter, batch_size)
    rows: list[tuple[str, int]] = []

    def send(message: object) -> None:
        pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)

    requests = validated_requests(
        Path(path), ReadOptions.from_json(options), adapter.request_problem
    )
    try:
        for idx, request in enumerate(requests):
            text = request_to_text(request)
            rows.append((text, first_round.place(idx, request, text)))
            if len(rows) == ROWS_PER_MESSAGE:
                send(rows)
                rows = []
        send(rows)
        send(("chunks", first_round.chunks(job_id)))
    except InputError as err:
        problems = [(p.line, p.problem, p.fix, p.count, p.also, p.every) for p in err.problems]
        send(("refused", (err.source, problems, err.more)))
    except Exception as err:  # reported to the parent, which raises it
        send(("failed", f"{type(err).__name__}: {err}"))
    out.flush()


if __name__ == "__main__":
    _validate(sys.stdout.buffer, *json.loads(sys.argv[1]))
