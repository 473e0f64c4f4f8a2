"""recon_covering_keys: the trade and closed-order keys carry what reconciliation compares (speed).

- trade PRIMARY KEY (account, txid) INCLUDE (time, type, vol, cost, fee, price, ledgers): a full
  `trade_ledger` pass reads every trade in key order (merged with its legs by refid) from the key alone.
  Kraken's txids are random, so reading the table in key order is a random heap read per trade.
- closed_order PRIMARY KEY (account, txid) INCLUDE (opentm, closetm, vol_exec, cost, fee): the full
  `order_trades` pass, the same way.
- ledger_entry (account, refid) INCLUDE (ledger_id, amount, fee, asset): a judged trade's legs (the quote
  asset decides the KFEE rule) without a heap read per leg.

No extra index: the keys are widened, so the loader maintains as many indexes as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRADE_INCLUDE = "time, type, vol, cost, fee, price, ledgers"
_ORDER_INCLUDE = "opentm, closetm, vol_exec, cost, fee"


def _key(table: str, include: str | None) -> None:
    extra = f" INCLUDE ({include})" if include else ""
    op.execute(f"ALTER TABLE kraken.{table} DROP CONSTRAINT pk_{table}, "
               f"ADD CONSTRAINT pk_{table} PRIMARY KEY (account, txid){extra}")


def _refid(include: list[str]) -> None:
    op.drop_index(op.f("ix_ledger_entry_account_refid"), "ledger_entry", schema="kraken")
    op.create_index(op.f("ix_ledger_entry_account_refid"), "ledger_entry", ["account", "refid"], schema="kraken",
                    postgresql_include=include)


def upgrade() -> None:
    _key("trade", _TRADE_INCLUDE)
    _key("closed_order", _ORDER_INCLUDE)
    _refid(["ledger_id", "amount", "fee", "asset"])


def downgrade() -> None:
    _refid(["ledger_id", "amount", "fee"])
    _key("closed_order", None)
    _key("trade", None)
