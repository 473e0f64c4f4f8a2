"""Reconciliation runs and their findings (findings are data, keyed by a stable fingerprint)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import Amount, Label, Raw, UtcDateTime


class ReconciliationRunRow(Base):
    """One reconciliation of one account as of a moment."""

    __tablename__ = "reconciliation_run"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    as_of: Mapped[UtcDateTime]
    started_at: Mapped[UtcDateTime]
    finished_at: Mapped[UtcDateTime | None]
    status: Mapped[str]
    findings: Mapped[int] = mapped_column(server_default=text("0"))
    breaks: Mapped[int] = mapped_column(server_default=text("0"))
    checks: Mapped[list[str]] = mapped_column(server_default=text("'{}'"))
    incremental: Mapped[bool] = mapped_column(server_default=text("false"))
    rows_examined: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    duration_seconds: Mapped[Decimal | None]
    counts: Mapped[Raw] = mapped_column(server_default=text("'{}'"))  # per check: examined, breaks, findings
    error: Mapped[str | None]
    # where the next incremental run looks for changed rows (now, or the oldest open transaction's start)
    watermark: Mapped[UtcDateTime | None]

    __table_args__ = (Index(None, "account", "started_at"),)


class ReconciliationFindingRow(Base):
    """One finding of a reconciliation run (findings are data, not exceptions)."""

    __tablename__ = "reconciliation_finding"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_run.id", ondelete="CASCADE"))
    account: Mapped[Label]
    check_name: Mapped[str]
    kind: Mapped[str]
    severity: Mapped[str]
    asset: Mapped[str | None]
    wallet: Mapped[str | None]
    expected: Mapped[Amount | None]
    actual: Mapped[Amount | None]
    difference: Mapped[Amount | None]
    source_ids: Mapped[list[str] | None]
    message: Mapped[str]
    details: Mapped[Raw | None]
    # stable identity across runs: hash of (check, account, asset, wallet, ids); run_id = first run seen
    fingerprint: Mapped[str]
    status: Mapped[str] = mapped_column(server_default="open")  # open | resolved
    last_seen_run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("reconciliation_run.id", ondelete="SET NULL")
    )
    first_seen_at: Mapped[UtcDateTime] = created()
    last_seen_at: Mapped[UtcDateTime] = created()
    resolved_at: Mapped[UtcDateTime | None]
    acknowledged_at: Mapped[UtcDateTime | None]
    ack_note: Mapped[str | None]

    __table_args__ = (
        UniqueConstraint("account", "fingerprint"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint("severity IN ('break', 'warning', 'info')", name="severity"),
        Index(None, "run_id"),
        Index(None, "account", "kind"),
        Index(None, "account", "status", "check_name"),
    )


class ReconciliationAckRow(Base):
    """One acknowledgement of a finding: each note kept with its time (the finding holds the newest)."""

    __tablename__ = "reconciliation_ack"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("reconciliation_finding.id", ondelete="CASCADE"))
    account: Mapped[Label]
    acknowledged_at: Mapped[UtcDateTime] = created()
    note: Mapped[str]

    __table_args__ = (Index(None, "finding_id"),)
