"""The listener's own bookkeeping: one row per listener session and one per detected gap (with its fill).

A session row is created when `kraken-etl listen` starts for an account and updated in the same
transaction as every committed batch (`last_message_at`, counters), so its health survives a kill -9. A gap
row is written (status `pending`) before its REST fill runs and marked `filled` (or `failed`) after; a
restart fills every gap still pending.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base
from models.types import Label, UtcDateTime


class ListenerSessionRow(Base):
    """One run of the listener for one account (status running | stopped | interrupted)."""

    __tablename__ = "listener_session"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    started_at: Mapped[UtcDateTime]
    connected_at: Mapped[UtcDateTime | None]  # the current connection's subscribe time
    last_message_at: Mapped[UtcDateTime | None]
    stopped_at: Mapped[UtcDateTime | None]
    # a clean stop: the last moment it read its socket (bounded by the newest event seen); what it covered
    read_until: Mapped[UtcDateTime | None]
    status: Mapped[str] = mapped_column(server_default="running")
    stop_reason: Mapped[str | None]
    messages: Mapped[int] = mapped_column(server_default=text("0"))
    executions: Mapped[int] = mapped_column(server_default=text("0"))
    balance_updates: Mapped[int] = mapped_column(server_default=text("0"))
    connects: Mapped[int] = mapped_column(server_default=text("0"))
    pid: Mapped[int | None]

    __table_args__ = (
        CheckConstraint("status IN ('running', 'stopped', 'interrupted')", name="status"),
        Index(None, "account", "started_at"),
    )


class ListenerGapRow(Base):
    """An interval the WebSocket may have missed, and its fill from REST (ledgers and trades)."""

    __tablename__ = "listener_gap"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    account: Mapped[Label]
    session_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("listener_session.id", ondelete="SET NULL")
    )
    kind: Mapped[str]  # sequence | disconnect | silence | restart
    channel: Mapped[str | None]
    expected_sequence: Mapped[int | None]
    got_sequence: Mapped[int | None]
    detected_at: Mapped[UtcDateTime]
    gap_start: Mapped[UtcDateTime]
    gap_end: Mapped[UtcDateTime]
    status: Mapped[str] = mapped_column(server_default="pending")  # pending | filled | failed
    filled_at: Mapped[UtcDateTime | None]
    fetched: Mapped[int] = mapped_column(server_default=text("0"))
    inserted: Mapped[int] = mapped_column(server_default=text("0"))
    ledgers_run_id: Mapped[int | None] = mapped_column(BigInteger)
    trades_run_id: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None]

    __table_args__ = (
        CheckConstraint("kind IN ('sequence', 'disconnect', 'silence', 'restart')", name="kind"),
        CheckConstraint("status IN ('pending', 'filled', 'failed')", name="status"),
        Index(None, "account", "status"),
        Index(None, "account", "gap_start"),
    )


class ListenerLockRow(Base):
    """One row per account label: one listener per account is a row lock on it (``SELECT … FOR UPDATE
    NOWAIT``), which needs UPDATE on the table, so the read-only role cannot take it (`kraken_etl.db.ws`)."""

    __tablename__ = "listener_lock"

    account: Mapped[Label] = mapped_column(primary_key=True)
