"""Run in a child process by the lock tests: hold one job's lock until told to let go."""

from __future__ import annotations

from multiprocessing.synchronize import Event

from tests.patience import HANG_S

from batchgraph.store.location import open_store


def hold_lock(location: str, job_id: str, held: Event, release: Event) -> None:
    store = open_store(location)
    try:
        with store.lock(job_id):
            held.set()
            release.wait(timeout=HANG_S)
    finally:
        store.close()
