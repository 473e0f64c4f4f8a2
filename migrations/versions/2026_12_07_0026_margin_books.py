"""margin_books: the books' treatments of margin entries.

- `kraken.treatment.treatment` also takes `fee` (an entry's fee is an expense) and `margin` (a position on
  margin: its profit or loss a realised gain, its fees an expense);
- the default rows of `margin` (now `margin`), `rollover` (now `fee`) and `settled` (now `trade`: the base
  bought or sold at the position's cost) are no longer flagged; rows a user changed (origin `user`) stay;
- `reporting.disposals`: `rule` may be `margin` (a position's realised profit or loss: no lots), its comment
  and `acquired_first`'s say so.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = ("trade", "income", "internal", "deposit", "withdrawal", "acquire_or_dispose", "ignore")
TREATMENTS = (*BEFORE, "fee", "margin")

# (ledger type, subtype) -> (treatment, flagged, note): the defaults this migration sets (kraken_etl/books/treatments.py
# DEFAULTS; a test keeps the seed of 0016 with these equal to them).
UPDATES = {
    ("margin", "*"): ("margin", False, "a position on margin: its profit or loss a realised gain, its fees an expense"),
    ("rollover", "*"): ("fee", False, "a margin rollover fee: an expense"),
    ("settled", "*"): ("trade", False, "a margin position settled: the base bought (or sold) at its cost"),
}
PREVIOUS = {
    ("margin", "*"): ("acquire_or_dispose", True, "margin P&L settled at fair value"),
    ("rollover", "*"): ("acquire_or_dispose", True, "a margin rollover fee at fair value"),
    ("settled", "*"): ("acquire_or_dispose", True, "a margin position settled at fair value"),
}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _check(values: tuple[str, ...]) -> None:
    op.execute("ALTER TABLE kraken.treatment DROP CONSTRAINT ck_treatment_treatment")
    op.execute(f"ALTER TABLE kraken.treatment ADD CONSTRAINT ck_treatment_treatment CHECK (treatment IN {values!r})")


def _set(rows: dict[tuple[str, str], tuple[str, bool, str]]) -> None:
    for (kind, sub), (treatment, flagged, note) in rows.items():
        op.execute(f"UPDATE kraken.treatment SET treatment = {_q(treatment)}, flagged = {str(flagged).lower()}, "
                   f"note = {_q(note)} WHERE ledger_type = {_q(kind)} AND ledger_subtype = {_q(sub)} "
                   "AND origin = 'default'")


COMMENTS = {
    "rule": ("What the cost came from: fifo, lifo, hifo, average, same_day, thirty_day, pool, shortfall "
             "(no lots: cost 0, see the findings), or margin (a position on margin closed: its profit as "
             "proceeds or its loss as cost, no lots)."),
    "acquired_first": "Earliest acquisition the cost came from (NULL for a shortfall or a margin gain).",
}
PREVIOUS_COMMENTS = {
    "rule": ("What the cost came from: fifo, lifo, hifo, average, same_day, thirty_day, pool, or shortfall "
             "(no lots: cost 0, see the findings)."),
    "acquired_first": "Earliest acquisition the cost came from (NULL for a shortfall).",
}


def _comment(comments: dict[str, str]) -> None:
    for column, comment in comments.items():
        op.execute(f"COMMENT ON COLUMN reporting.disposals.{column} IS {_q(comment)}")


def upgrade() -> None:
    _check(TREATMENTS)
    _set(UPDATES)
    _comment(COMMENTS)


def downgrade() -> None:
    _comment(PREVIOUS_COMMENTS)
    _set(PREVIOUS)
    op.execute("UPDATE kraken.treatment SET treatment = 'acquire_or_dispose' WHERE treatment IN ('fee', 'margin')")
    _check(BEFORE)
