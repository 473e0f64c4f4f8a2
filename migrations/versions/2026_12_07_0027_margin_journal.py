"""margin_journal: `reporting.journal` makes each margin `rollover` entry a transaction of its own.

A rollover's refid is its position's id (the opening trade's txid) and a transaction is the entries of one
refid dated at the first: the rollovers of a position, charged every 4 hours while it is open, were dated at
its opening, before the balances they had not yet changed. Every other entry is grouped as before; same
columns, same comments.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

from models.revisions import earlier_revision

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision(number: str) -> ModuleType:
    return earlier_revision(number, Path(__file__).parent)


_r23 = _revision("0023")
_GROUP = "coalesce(l.refid, l.ledger_id)"
_OWN = "CASE WHEN l.type = 'rollover' THEN l.ledger_id ELSE coalesce(l.refid, l.ledger_id) END"


def journal() -> str:
    """0023's view with the rollover entries grouped alone (the transaction id and its window)."""
    sql: str = _r23.JOURNAL
    assert sql.count(_GROUP) == 2, "0023's journal changed: the grouping expression is not where expected"
    return sql.replace(_GROUP, _OWN)


def upgrade() -> None:
    op.execute(journal())


def downgrade() -> None:
    op.execute(_r23.JOURNAL)
