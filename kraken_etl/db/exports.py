"""Export jobs as rows: the persistent state of Kraken's export cycle (docs/architecture.md, decision 6).

One `export_job` row per (account, description); the description is derived from the report and the
range, so a rerun of the same backfill finds the row it left behind and resumes it instead of asking
Kraken for a second export. Statuses::

    requested → queued → processing → processed → downloaded → loaded → removed
                 (any) → failed | cancelled        (a failed/cancelled job may be re-requested)

Every function takes a Connection and does not commit: the caller commits each state change in its own
transaction (`engine.begin()`), except the final load, which commits the rows, the quarantine and the
`loaded` status together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert

from models import ExportJobRow

STATUSES = (
    "requested", "queued", "processing", "processed", "downloaded", "loaded", "removed", "failed", "cancelled",
)
DONE = frozenset({"loaded", "removed"})
RETRYABLE = frozenset({"failed", "cancelled"})


@dataclass(frozen=True, slots=True)
class ExportJob:
    """A snapshot of one export_job row."""

    id: int
    account: str
    report: str
    description: str
    kraken_id: str | None
    format: str
    fields: str
    starttm: datetime
    endtm: datetime
    status: str
    file_path: str | None
    file_size: int | None
    sha256: str | None
    rows_loaded: int | None
    rows_quarantined: int | None
    error: str | None
    raw: dict[str, Any] | None


_COLUMNS = [getattr(ExportJobRow, name) for name in ExportJob.__slots__]


def _job(row: Any) -> ExportJob:
    return ExportJob(**dict(row._mapping))


def find_job(conn: Connection, account: str, description: str) -> ExportJob | None:
    """The job of `account` with this description, or None."""
    row = conn.execute(
        select(*_COLUMNS).where(ExportJobRow.account == account, ExportJobRow.description == description)
    ).first()
    return _job(row) if row is not None else None


def get_job(conn: Connection, job_id: int) -> ExportJob:
    """The job with this id.

    Raises:
        LookupError: when there is none.
    """
    row = conn.execute(select(*_COLUMNS).where(ExportJobRow.id == job_id)).first()
    if row is None:
        raise LookupError(f"export job {job_id} does not exist")
    return _job(row)


def ensure_job(
    conn: Connection,
    *,
    account: str,
    report: str,
    description: str,
    starttm: datetime,
    endtm: datetime,
    fmt: str = "CSV",
    fields: str = "all",
) -> ExportJob:
    """The job for this description, created in status ``requested`` when there is none yet.

    Creating the row *before* AddExport is what makes a crash between AddExport and recording Kraken's id
    recoverable: the rerun finds a ``requested`` job and looks its description up in ExportStatus.
    """
    conn.execute(
        insert(ExportJobRow)
        .values(account=account, report=report, description=description, starttm=starttm, endtm=endtm,
                format=fmt, fields=fields, status="requested")
        .on_conflict_do_nothing(index_elements=["account", "description"])
    )
    job = find_job(conn, account, description)
    assert job is not None
    return job


def update_job(conn: Connection, job_id: int, **changes: Any) -> ExportJob:
    """Change columns of one job (status, kraken_id, file_path, error, …) and stamp `updated_at`.

    Raises:
        ValueError: for an unknown status or column.
        LookupError: when the job does not exist.
    """
    status = changes.get("status")
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown export job status {status!r}")
    unknown = set(changes) - set(ExportJob.__slots__)
    if unknown:
        raise ValueError(f"unknown export job columns {sorted(unknown)}")
    conn.execute(
        update(ExportJobRow).where(ExportJobRow.id == job_id).values(**changes, updated_at=func.now())
    )
    return get_job(conn, job_id)


def list_jobs(
    conn: Connection, *, account: str | None = None, statuses: Iterable[str] | None = None
) -> list[ExportJob]:
    """Jobs, oldest first, optionally narrowed to one account and some statuses."""
    query = select(*_COLUMNS).order_by(ExportJobRow.id)
    if account is not None:
        query = query.where(ExportJobRow.account == account)
    if statuses is not None:
        query = query.where(ExportJobRow.status.in_(list(statuses)))
    return [_job(row) for row in conn.execute(query)]
