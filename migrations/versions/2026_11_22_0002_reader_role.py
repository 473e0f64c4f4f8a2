"""The read-only `kraken_reader` role: SELECT on schema `kraken`, nothing else.

The role has no password and cannot log in; grant it to people and tools:
``CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE kraken_reader;`` (passwords never live in this repository).
Roles are cluster-wide, so creation is idempotent and the downgrade only revokes (another database of the
cluster may still use the role).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kraken_reader') THEN
                CREATE ROLE kraken_reader NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object THEN
            NULL;  -- a concurrent migration of another database created it first
        END
        $$;
        """
    )
    op.execute("GRANT USAGE ON SCHEMA kraken TO kraken_reader")
    op.execute("GRANT SELECT ON ALL TABLES IN SCHEMA kraken TO kraken_reader")
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA kraken GRANT SELECT ON TABLES TO kraken_reader")


def downgrade() -> None:
    op.execute("ALTER DEFAULT PRIVILEGES IN SCHEMA kraken REVOKE SELECT ON TABLES FROM kraken_reader")
    op.execute("REVOKE SELECT ON ALL TABLES IN SCHEMA kraken FROM kraken_reader")
    op.execute("REVOKE USAGE ON SCHEMA kraken FROM kraken_reader")
