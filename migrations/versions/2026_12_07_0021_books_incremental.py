"""books_incremental: the stored books are updated from the earliest changed entry of each asset.

- `kraken.book_disposal`, `book_income`, `book_holding`, `book_finding`: `seq` counts within the asset (the
  rows of an asset in time order), the primary key becomes (entity, method, currency, asset, seq), so a run
  replaces an asset's rows from a moment on by one key range; a finding always names its asset ('' for the
  findings stored before this revision without one). Stored rows are renumbered, nothing is dropped.
- `kraken.book_run` gains `watermark` (where the next run looks for changed entries; NULL: the next run is
  full), `inputs` (a digest of the treatments, opening lots, asset identities, fee rule and accounts: a change
  makes the next run full) and `incremental` (how the stored result was last brought up to date).
- `kraken.book_checkpoint`: per computation and asset, the lot engine's state at the start of each week the
  asset has an event in, and how many rows of each table the asset had before it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "entity, method, currency"
# table → its time column: the rows of an asset renumbered in time order (the old order breaking ties)
TABLES = {"book_disposal": "disposed_at", "book_income": "received_at", "book_holding": "at", "book_finding": "at"}


def _renumber(table: str, order: str) -> None:
    op.execute(f"""
        UPDATE kraken.{table} t SET seq = n.seq FROM (
            SELECT {KEY}, seq AS old, row_number() OVER (PARTITION BY {KEY}, asset ORDER BY {order}, seq) - 1 AS seq
            FROM kraken.{table}) n
        WHERE (t.entity, t.method, t.currency, t.seq) = (n.entity, n.method, n.currency, n.old)""")


def upgrade() -> None:
    op.execute("UPDATE kraken.book_finding SET asset = '' WHERE asset IS NULL")
    op.execute("ALTER TABLE kraken.book_finding ALTER COLUMN asset SET NOT NULL")
    for table, column in TABLES.items():
        op.execute(f"ALTER TABLE kraken.{table} DROP CONSTRAINT pk_{table}")
        _renumber(table, f"{column} NULLS LAST")
        op.execute(f"ALTER TABLE kraken.{table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({KEY}, asset, seq)")
    op.execute("ALTER TABLE kraken.book_run ADD COLUMN watermark timestamptz, ADD COLUMN inputs text, "
               "ADD COLUMN incremental boolean NOT NULL DEFAULT false")
    op.execute(f"""CREATE TABLE kraken.book_checkpoint (
        entity text NOT NULL, method text NOT NULL, currency text NOT NULL, asset text NOT NULL,
        at timestamptz NOT NULL,
        state jsonb NOT NULL,
        opening jsonb,
        row_counts jsonb NOT NULL,
        CONSTRAINT pk_book_checkpoint PRIMARY KEY ({KEY}, asset, at),
        CONSTRAINT fk_book_checkpoint_entity_book_run FOREIGN KEY ({KEY})
            REFERENCES kraken.book_run ON DELETE CASCADE)""")


def downgrade() -> None:
    op.execute("DROP TABLE kraken.book_checkpoint")
    op.execute("ALTER TABLE kraken.book_run DROP COLUMN incremental, DROP COLUMN inputs, DROP COLUMN watermark")
    for table, column in TABLES.items():
        op.execute(f"ALTER TABLE kraken.{table} DROP CONSTRAINT pk_{table}")
        op.execute(f"""
            UPDATE kraken.{table} t SET seq = n.seq FROM (
                SELECT {KEY}, asset, seq AS old,
                       row_number() OVER (PARTITION BY {KEY} ORDER BY {column} NULLS LAST, asset, seq) - 1 AS seq
                FROM kraken.{table}) n
            WHERE (t.entity, t.method, t.currency, t.asset, t.seq)
                = (n.entity, n.method, n.currency, n.asset, n.old)""")
        op.execute(f"ALTER TABLE kraken.{table} ADD CONSTRAINT pk_{table} PRIMARY KEY ({KEY}, seq)")
    op.execute("ALTER TABLE kraken.book_finding ALTER COLUMN asset DROP NOT NULL")
    op.execute("UPDATE kraken.book_finding SET asset = NULL WHERE asset = ''")
