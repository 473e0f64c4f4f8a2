"""The books: treatments per ledger type, the user's opening lots, and the lot engine's stored results (one
computation per entity, method and reporting currency; a run replaces each changed asset's rows from its
checkpoint on, or all of them)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import UtcDateTime

TREATMENTS = ("trade", "income", "internal", "deposit", "withdrawal", "acquire_or_dispose", "ignore")
_RUN_FK = ("entity", "method", "currency")


class TreatmentRow(Base):
    """How one (ledger type, subtype) reaches the lots (`*` = any); seeded with defaults, editable."""

    __tablename__ = "treatment"

    ledger_type: Mapped[str] = mapped_column(primary_key=True)
    ledger_subtype: Mapped[str] = mapped_column(primary_key=True)
    treatment: Mapped[str]
    flagged: Mapped[bool] = mapped_column(server_default="false")
    note: Mapped[str] = mapped_column(server_default="")
    origin: Mapped[str] = mapped_column(server_default="user")
    updated_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        CheckConstraint(f"treatment IN {TREATMENTS!r}", name="treatment"),
        CheckConstraint("origin IN ('default', 'user')", name="origin"),
    )


class OpeningLotRow(Base):
    """A lot held before it reached Kraken, from `kraken-etl lots import` (key: file hash and row)."""

    __tablename__ = "opening_lot"

    file_sha256: Mapped[str] = mapped_column(primary_key=True)
    row_number: Mapped[int] = mapped_column(primary_key=True)
    source_name: Mapped[str]
    asset: Mapped[str]
    amount: Mapped[Decimal]
    cost: Mapped[Decimal]
    currency: Mapped[str]
    acquired_at: Mapped[UtcDateTime]
    imported_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("cost >= 0", name="cost"),
    )


class BookRunRow(Base):
    """One computation of the books for an entity, a method and a reporting currency."""

    __tablename__ = "book_run"

    entity: Mapped[str] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    computed_at: Mapped[UtcDateTime] = created()
    accounts: Mapped[list[str]]
    entries: Mapped[int]
    last_entry_time: Mapped[datetime | None]
    fee_rule: Mapped[str]
    watermark: Mapped[datetime | None]  # changed entries are those updated after it; NULL: the next run is full
    inputs: Mapped[str | None]  # digest of treatments, opening lots, asset identities, fee rule, accounts
    incremental: Mapped[bool] = mapped_column(server_default="false")


def _child(name: str) -> tuple[ForeignKeyConstraint]:
    return (ForeignKeyConstraint(list(_RUN_FK), [f"kraken.book_run.{c}" for c in _RUN_FK], ondelete="CASCADE"),)


class BookDisposalRow(Base):
    __tablename__ = "book_disposal"

    entity: Mapped[str] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    asset: Mapped[str] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)  # the asset's rows in time order
    disposed_at: Mapped[UtcDateTime]
    amount: Mapped[Decimal]
    proceeds: Mapped[Decimal]
    cost: Mapped[Decimal]
    fees: Mapped[Decimal]
    gain: Mapped[Decimal]
    rule: Mapped[str]
    acquired_first: Mapped[datetime | None]
    acquired_last: Mapped[datetime | None]
    disposal_entries: Mapped[list[str]]
    acquisition_entries: Mapped[list[str]]
    cost_assumed: Mapped[bool]

    __table_args__ = _child("book_disposal")


class BookIncomeRow(Base):
    __tablename__ = "book_income"

    entity: Mapped[str] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    asset: Mapped[str] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)  # the asset's rows in time order
    received_at: Mapped[UtcDateTime]
    amount: Mapped[Decimal]
    value: Mapped[Decimal]
    kind: Mapped[str]
    entries: Mapped[list[str]]
    is_expense: Mapped[bool]

    __table_args__ = _child("book_income")


class BookHoldingRow(Base):
    """One change of what is held (quantity and cost) of an asset: `reporting.lots_at` sums them."""

    __tablename__ = "book_holding"

    entity: Mapped[str] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    asset: Mapped[str] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)  # the asset's rows in time order
    at: Mapped[UtcDateTime]
    quantity: Mapped[Decimal]
    cost: Mapped[Decimal]

    __table_args__ = (*_child("book_holding"), Index(None, "entity", "method", "currency", "asset", "at"))


class BookFindingRow(Base):
    __tablename__ = "book_finding"

    entity: Mapped[str] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    asset: Mapped[str] = mapped_column(primary_key=True)  # '' for none
    seq: Mapped[int] = mapped_column(primary_key=True)  # the asset's rows in time order (no moment: last)
    kind: Mapped[str]
    at: Mapped[datetime | None]
    entries: Mapped[list[str]]
    detail: Mapped[str]

    __table_args__ = _child("book_finding")


class BookCheckpointRow(Base):
    """The lot engine's state of one asset at a week start (kraken_etl.books.lots_checkpoint), with the
    opening lots' progress and how many rows of each table the asset had before it."""

    __tablename__ = "book_checkpoint"

    entity: Mapped[str] = mapped_column(primary_key=True)
    method: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    asset: Mapped[str] = mapped_column(primary_key=True)
    at: Mapped[UtcDateTime] = mapped_column(primary_key=True)
    state: Mapped[dict[str, Any]]
    opening: Mapped[Any | None] = mapped_column(JSONB)
    row_counts: Mapped[dict[str, Any]]

    __table_args__ = _child("book_checkpoint")
