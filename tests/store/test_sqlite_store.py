"""What only the SQLite backend does: where its files go, WAL, threads."""

from __future__ import annotations

import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from batchgraph.model import Request
from batchgraph.store.base import ChunkRecord, JobRecord, LedgerStatus
from batchgraph.store.location import open_store, resolve_location
from batchgraph.store.migrations import MIGRATIONS
from batchgraph.store.sqlite import SqliteStore


def test_default_database_is_in_dot_batchgraph_of_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BATCHGRAPH_DB", raising=False)
    with open_store(None) as store:
        assert isinstance(store, SqliteStore)
        assert store.path == Path(".batchgraph/batchgraph.db")
    assert (tmp_path / ".batchgraph" / "batchgraph.db").is_file()


def test_batchgraph_db_overrides_the_default_and_an_argument_overrides_both(
    tmp_path: Path,
) -> None:
    env = {"BATCHGRAPH_DB": str(tmp_path / "env.db")}
    assert resolve_location(None, env) == str(tmp_path / "env.db")
    assert resolve_location(tmp_path / "arg.db", env) == str(tmp_path / "arg.db")
    assert resolve_location(str(tmp_path), env) == str(tmp_path / "batchgraph.db")
    assert resolve_location(None, {}) == ".batchgraph/batchgraph.db"


def test_postgres_urls_choose_the_postgres_backend() -> None:
    url = "postgresql://user@db.internal:5432/jobs"
    assert resolve_location(url, {}) == url
    assert resolve_location(None, {"BATCHGRAPH_DB": url}) == url


def test_database_uses_wal_and_keeps_the_checkpoints_in_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with SqliteStore(path) as store:
        store.checkpointer()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        assert {"bg_jobs", "bg_chunks", "bg_ledger", "checkpoints", "writes"} <= tables
        applied = [name for (name,) in conn.execute("SELECT name FROM bg_migrations")]
        assert applied == [migration.name for migration in MIGRATIONS]
    finally:
        conn.close()


def test_lock_files_sit_beside_the_database(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "jobs.db") as store, store.lock("abc123"):
        assert (tmp_path / "jobs.db.locks" / "abc123.lock").exists()
        assert store.lock_path("../escape").parent == tmp_path / "jobs.db.locks"


def test_threads_can_share_one_store(tmp_path: Path) -> None:
    """LangGraph runs nodes in threads; each one writes its own chunk here at once."""
    with SqliteStore(tmp_path / "jobs.db") as store:
        requests = [Request(id=str(i), line=i + 1, model="m", input=f"{i}") for i in range(400)]
        store.create_job(JobRecord(id="job1", name="n", provider="openai", spec={}), requests)
        errors: list[BaseException] = []

        def plan(number: int) -> None:
            try:
                indices = list(range(number * 50, number * 50 + 50))
                store.add_chunk(ChunkRecord(job_id="job1", chunk=number, attempt=1), indices)
                assert len(list(store.chunk_stored("job1", number))) == 50
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=plan, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert store.counts("job1")[LedgerStatus.QUEUED] == 400


def test_request_head_reads_any_stored_text() -> None:
    from batchgraph.store.rows import request_head, request_to_text

    request = Request(id='a"\\,"line":1', line=3, model='ü,"model":', system="s")
    assert request_head(request_to_text(request)) == (request.id, request.model, "chat")
    # Text written some other way is decoded whole.
    assert request_head('{"model":"m","line":1,"id":"i"}') == ("i", "m", "chat")
    assert request_head('{"id":"i", "line":1, "model":"m"}') == ("i", "m", "chat")


def test_request_head_reads_the_kind_too() -> None:
    from batchgraph.model import Kind
    from batchgraph.store.rows import request_head, request_to_text

    embed = Request(id="e", line=1, model="m", kind=Kind.EMBEDDING, input="x")
    chat = Request(id="c", line=2, model="m", max_tokens=3)
    assert request_head(request_to_text(embed)) == ("e", "m", "embedding")
    assert request_head(request_to_text(chat)) == ("c", "m", "chat")
    assert request_head('{"kind":"embedding","id":"i","line":1,"model":"m"}') == (
        "i",
        "m",
        "embedding",
    )


def test_database_folder_and_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "jobs.db"
    with SqliteStore(path) as store:
        store.create_job(JobRecord("j1", "j1", "openai", {}), [Request("a", 1, "m")])
        with store.lock("j1"):
            lock = store.lock_path("j1")
            assert stat.S_IMODE(lock.stat().st_mode) == 0o600
            assert stat.S_IMODE(lock.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for name in ("jobs.db", "jobs.db-wal", "jobs.db-shm"):
        if (path.parent / name).exists():
            assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name


def test_an_existing_folder_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with SqliteStore(folder / "jobs.db") as store:
        store.list_jobs()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "jobs.db").stat().st_mode) == 0o600
