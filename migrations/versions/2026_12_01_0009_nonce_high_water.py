"""The per-key nonce high-water mark: `nonce_high_water` (key id → the highest nonce sent, from any machine).

A machine's nonce file only knows its own nonces; when the same API key runs on another machine next
(another Prefect worker), that machine seeds its file from this row while it holds the account lock, so
nonces keep increasing across machines (docs/operations.md, "The per-account lock").

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "nonce_high_water",
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("last_nonce", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_nonce_high_water")),
        schema="kraken",
    )


def downgrade() -> None:
    op.drop_table("nonce_high_water", schema="kraken")
