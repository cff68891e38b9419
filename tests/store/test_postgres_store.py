"""What only the PostgreSQL backend does: connection errors, planner statistics."""

from __future__ import annotations

import psycopg
import pytest

from batchgraph.errors import ConfigError
from batchgraph.model import Request
from batchgraph.store.base import JobRecord
from batchgraph.store.postgres import PostgresStore

pytestmark = pytest.mark.postgres


def test_an_unreachable_server_is_a_config_error_without_the_password() -> None:
    url = "postgresql://worker:s3cret-pw@127.0.0.1:1/jobs?connect_timeout=2"
    with pytest.raises(ConfigError, match=r"worker@127\.0\.0\.1:1/jobs") as caught:
        PostgresStore(url)
    assert "s3cret-pw" not in str(caught.value)


def test_a_big_job_is_streamed_by_index_straight_after_creation(postgres_location: str) -> None:
    """Without fresh statistics the planner sorts the rest of the job for every page."""
    with PostgresStore(postgres_location) as store:
        requests = (Request(id=str(i), line=i + 1, model="m") for i in range(10_000))
        store.create_job(JobRecord(id="big", name="n", provider="openai", spec={}), requests)
        with psycopg.connect(postgres_location) as conn:
            plan = conn.execute(
                "EXPLAIN SELECT idx, request FROM bg_ledger "
                "WHERE job_id = 'big' AND idx > 10 ORDER BY idx LIMIT 1000"
            ).fetchall()
    assert "Sort" not in "\n".join(line for (line,) in plan)
