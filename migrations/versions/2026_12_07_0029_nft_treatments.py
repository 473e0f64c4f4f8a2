"""nft_treatments: the books' default treatments of Kraken's NFT ledger types.

`nfttrade` (an NFT bought: what paid it leaves at fair value; sold: what came in is acquired at fair value; the
NFT itself has no lots) and `nftcreatorfee` (a creator's royalty, paid or received, at fair value) were
classified by the unknown-type default and flagged; they now have rows of their own (kraken_etl/books/
treatments.py DEFAULTS; a test keeps the seeds of 0016, 0026 and this one equal to them). A user's own row for
either type is kept.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (ledger type, subtype) -> (treatment, flagged, note)
UPDATES = {
    ("nfttrade", "*"): ("acquire_or_dispose", False, "an NFT bought (what paid: a disposal) or sold (what came in: "
                                                     "an acquisition), at fair value; the NFT has no lots"),
    ("nftcreatorfee", "*"): ("acquire_or_dispose", False, "an NFT creator's royalty, paid (a disposal) or received "
                                                          "(an acquisition), at fair value"),
}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    for (kind, sub), (treatment, flagged, note) in UPDATES.items():
        op.execute("INSERT INTO kraken.treatment (ledger_type, ledger_subtype, treatment, flagged, note, origin) "
                   f"VALUES ({_q(kind)}, {_q(sub)}, {_q(treatment)}, {str(flagged).lower()}, {_q(note)}, 'default') "
                   "ON CONFLICT (ledger_type, ledger_subtype) DO NOTHING")


def downgrade() -> None:
    for kind, sub in UPDATES:
        op.execute(f"DELETE FROM kraken.treatment WHERE ledger_type = {_q(kind)} AND ledger_subtype = {_q(sub)} "
                   "AND origin = 'default'")
