"""export_job persistence: one row per (account, description), found again on rerun."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from kraken_etl.db import exports

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 2, 1, tzinfo=UTC)


def test_ensure_job_is_idempotent(conn: Connection) -> None:
    first = exports.ensure_job(conn, account="a", report="ledgers", description="d1", starttm=START, endtm=END)
    again = exports.ensure_job(conn, account="a", report="ledgers", description="d1", starttm=START, endtm=END)
    assert first.id == again.id and first.status == "requested" and first.kraken_id is None
    other = exports.ensure_job(conn, account="b", report="ledgers", description="d1", starttm=START, endtm=END)
    assert other.id != first.id
    assert exports.find_job(conn, "a", "d1") == first
    assert exports.find_job(conn, "a", "nope") is None


def test_update_job(conn: Connection) -> None:
    job = exports.ensure_job(conn, account="a", report="trades", description="d2", starttm=START, endtm=END)
    job = exports.update_job(conn, job.id, status="queued", kraken_id="ABCD", raw={"status": "Queued"})
    assert (job.status, job.kraken_id, job.raw) == ("queued", "ABCD", {"status": "Queued"})
    with pytest.raises(ValueError, match="status"):
        exports.update_job(conn, job.id, status="nonsense")
    with pytest.raises(ValueError, match="columns"):
        exports.update_job(conn, job.id, nonsense=1)
    assert [j.id for j in exports.list_jobs(conn, account="a", statuses=["queued"])] == [job.id]
    with pytest.raises(LookupError):
        exports.get_job(conn, 10**9)
