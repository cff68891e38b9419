"""Fixtures shared by every test folder: a PostgreSQL database when the server is installed.

PostgreSQL runs on `BATCHGRAPH_TEST_POSTGRES_URL` when it is set; otherwise a scratch server is
started for the test session (see `pg_server.py`), and the tests are skipped only when no
PostgreSQL server binaries exist (CI sets `BATCHGRAPH_REQUIRE_POSTGRES=1`, turning that skip
into a failure). Each test gets a fresh schema, so tests never see each other's rows.
(The `batchgraph_sandbox` fixture comes from batchgraph's own pytest plugin.)
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.pg_server import ScratchPostgres, find_bindir


def _no_default_http_timeout() -> None:
    """httpx gives every call that names no timeout 5 seconds; on a loaded machine a sandbox
    answer can take longer, and no test may fail on speed. Calls that name one keep it."""
    default = httpx._config.DEFAULT_TIMEOUT_CONFIG  # what httpx.get(), Client() … default to
    default.connect = default.read = default.write = default.pool = None


_no_default_http_timeout()


def _ctrl_c_reaches_the_processes_tests_start() -> None:
    """Tests send Ctrl-C (SIGINT) to the commands they start and expect them to stop. A test
    run started in the background by a script inherits SIGINT *ignored*, and so would every
    process it starts (an ignored signal survives exec), which would then never stop: the run
    would hang. Python's own handler here means the children start with the default."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_ctrl_c_reaches_the_processes_tests_start()

URL_ENV = "BATCHGRAPH_TEST_POSTGRES_URL"
REQUIRE_ENV = "BATCHGRAPH_REQUIRE_POSTGRES"
"""Set by CI: a missing PostgreSQL fails the tests instead of skipping them."""


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL database for this test session (one scratch server per session)."""
    url = os.environ.get(URL_ENV)
    if url:
        yield url
        return
    bindir = find_bindir()
    if bindir is None:
        reason = (
            f"no PostgreSQL server binaries (initdb, pg_ctl): install the `postgresql` package "
            f"(scripts/ensure-postgres.sh) or set {URL_ENV} to a database these tests may use"
        )
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(reason)
        pytest.skip(reason)
    with ScratchPostgres(bindir) as server:
        yield server.create_database("batchgraph_test")


def _schema_url(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_location(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema, dropped after the test."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield _schema_url(postgres_url, schema)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BATCHGRAPH_HOME in a temporary folder, its embedded sandbox finishing batches at once:
    the `sandbox-*` providers as a user's commands and scripts reach them."""
    from batchgraph.sandbox.config import SandboxConfig
    from batchgraph.sandbox.context import SandboxContext
    from batchgraph.sandbox.storage import SandboxStore

    home = tmp_path / "home"
    SandboxContext(SandboxStore(home / "sandbox"), SandboxConfig.instant()).save_config()
    monkeypatch.setenv("BATCHGRAPH_HOME", str(home))
    monkeypatch.delenv("BATCHGRAPH_DB", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return home
