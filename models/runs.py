"""The pipeline's own state: export jobs, bookmarks, the run log, quarantine, backfill plans, nonce and
call-counter marks."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Numeric, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import Amount, Label, Raw, RawTime, UtcDateTime


class ExportJobRow(Base):
    """One Kraken export (AddExport → ExportStatus → RetrieveExport → load → RemoveExport), resumable.

    `status`: requested, queued, processing, processed, downloaded, loaded, removed, failed, cancelled.
    """

    __tablename__ = "export_job"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    report: Mapped[str]
    description: Mapped[str]
    kraken_id: Mapped[str | None]
    format: Mapped[str] = mapped_column(server_default="CSV")
    fields: Mapped[str] = mapped_column(server_default="all")
    starttm: Mapped[UtcDateTime]
    endtm: Mapped[UtcDateTime]
    status: Mapped[str]
    file_path: Mapped[str | None]
    file_size: Mapped[int | None]
    sha256: Mapped[str | None]
    rows_loaded: Mapped[int | None]
    rows_quarantined: Mapped[int | None]
    error: Mapped[str | None]
    raw: Mapped[Raw | None]
    created_at: Mapped[UtcDateTime] = created()
    updated_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        UniqueConstraint("account", "description"),
        Index(None, "account", "report", "status"),
        CheckConstraint("report IN ('ledgers', 'trades')", name="report"),
    )


class SyncStateRow(Base):
    """The incremental bookmark of one stream of one account (moved only after a whole window loaded)."""

    __tablename__ = "sync_state"

    account: Mapped[Label] = mapped_column(primary_key=True)
    stream: Mapped[str] = mapped_column(primary_key=True)
    bookmark: Mapped[UtcDateTime | None]
    bookmark_raw: Mapped[RawTime | None]
    state: Mapped[Raw | None]
    updated_at: Mapped[UtcDateTime] = created()


class SyncRunRow(Base):
    """The log of one window run (incremental sync, backfill, export load or manual import)."""

    __tablename__ = "sync_run"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    stream: Mapped[str]
    kind: Mapped[str]
    window_start: Mapped[UtcDateTime | None]
    window_end: Mapped[UtcDateTime | None]
    started_at: Mapped[UtcDateTime]
    finished_at: Mapped[UtcDateTime | None]
    status: Mapped[str]
    fetched: Mapped[int] = mapped_column(server_default=text("0"))
    inserted: Mapped[int] = mapped_column(server_default=text("0"))
    updated: Mapped[int] = mapped_column(server_default=text("0"))
    quarantined: Mapped[int] = mapped_column(server_default=text("0"))
    calls: Mapped[int] = mapped_column(server_default=text("0"))
    wait_seconds: Mapped[Amount] = mapped_column(server_default=text("0"))
    duration_seconds: Mapped[Amount | None]
    error: Mapped[str | None]

    __table_args__ = (Index(None, "account", "stream", "started_at"),)


class QuarantineRow(Base):
    """A record that failed validation: kept with the reason, never dropped. Idempotent by fingerprint."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    stream: Mapped[str]
    source: Mapped[str]
    record_id: Mapped[str | None]
    reason: Mapped[str]
    fingerprint: Mapped[str]
    raw: Mapped[Raw]
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    created_at: Mapped[UtcDateTime] = created()
    resolved_at: Mapped[UtcDateTime | None]

    __table_args__ = (UniqueConstraint("account", "stream", "fingerprint"),)

class BackfillPlanRow(Base):
    """A backfill's plan, stored before anything is requested, so a rerun resumes the same ranges.

    `request_key` names the request (account, range, streams, via, limits); `ranges` holds the planned steps
    (stream, start, end, expected rows, via). `finished_at` is set when every step has loaded.
    """

    __tablename__ = "backfill_plan"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    request_key: Mapped[str]
    request: Mapped[Raw]
    ranges: Mapped[list[dict[str, object]]] = mapped_column(JSONB)
    count_calls: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[UtcDateTime] = created()
    finished_at: Mapped[UtcDateTime | None]

    __table_args__ = (Index(None, "account", "request_key"),)


class NonceHighWaterRow(Base):
    """The highest nonce an API key has sent, from any machine (seeds a machine's nonce file at lock time)."""

    __tablename__ = "nonce_high_water"

    key_id: Mapped[str] = mapped_column(primary_key=True)  # kraken.nonce.key_id(): a hash, never the key
    last_nonce: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[UtcDateTime] = created()


class CallCounterMarkRow(Base):
    """A key's call-counter level as the last machine that used it left it (seeds the next machine's model
    while it holds the account: `jobs.exclusive`). `released` is false from the moment a holder takes the key
    until it lets go: a false mark seen by the next holder means the last one died mid-run."""

    __tablename__ = "call_counter_mark"

    key_id: Mapped[str] = mapped_column(primary_key=True)  # kraken.nonce.key_id(): a hash, never the key
    level: Mapped[Decimal] = mapped_column(Numeric)  # counter units (not money), at recorded_at
    released: Mapped[bool]
    recorded_at: Mapped[UtcDateTime] = created()


class AccountLockRow(Base):
    """One row per account label: the per-account lock is a row lock on it (``SELECT … FOR UPDATE NOWAIT``),
    which needs UPDATE on the table, so the read-only role cannot take it (`kraken_etl.db.locks`)."""

    __tablename__ = "account_lock"

    account: Mapped[Label] = mapped_column(primary_key=True)


class AccountLockHolderRow(Base):
    """Who holds an account's lock, written by the holder right after taking it (only the writing role can
    write here); trusted only while that database session still holds a row lock on `account_lock`."""

    __tablename__ = "account_lock_holder"

    account: Mapped[Label] = mapped_column(primary_key=True)
    pid: Mapped[int]  # the database session holding the row lock
    backend_start: Mapped[UtcDateTime]  # that session's start (a reused pid is not the holder)
    purpose: Mapped[str]  # sync, backfill, import, nightly, …
    host: Mapped[str]  # the machine the holder runs on
    since: Mapped[UtcDateTime] = created()


class RejectedImportRow(Base):
    """A file `import` refused as a whole (not an export, corrupt, unknown layout): nothing of it was loaded.

    Kept apart from `sync_run`: a rejected file is the file's problem, not a failed stream.
    """

    __tablename__ = "rejected_import"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    file_name: Mapped[str]
    error: Mapped[str]
    rejected_at: Mapped[UtcDateTime] = created()

    __table_args__ = (Index(None, "account", "rejected_at"),)
