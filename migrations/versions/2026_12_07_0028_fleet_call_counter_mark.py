"""The per-key call-counter mark: `call_counter_mark` (key id → the counter level the last machine left).

Each machine models a key's call counter in a file under its KRAKEN_ETL_HOME; when the key's account runs on
another machine next (another Prefect worker of a fanned-out nightly), that machine raises its model to this
level, aged by the time since, while it holds the account lock, so the key is paced as one counter across
machines (docs/operations.md, "Many accounts"). Added by the fleet branch: renumber at merge if another
0024 lands first.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_counter_mark",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("level", sa.Numeric(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_call_counter_mark")),
        schema="kraken",
    )
    op.execute("GRANT SELECT ON kraken.call_counter_mark TO kraken_reader")


def downgrade() -> None:
    op.drop_table("call_counter_mark", schema="kraken")
