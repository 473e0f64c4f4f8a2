"""Files a person's `import` refused as a whole (`kraken.rejected_import`): recorded, never a failed stream.

A file that is not a Kraken export, is corrupt or has an unknown layout loads nothing; it is the file's
problem, not a stream's, so it is kept out of `sync_run` (whose latest row per stream is what the freshness
view `reporting.sync_health` shows).
"""

from __future__ import annotations

from sqlalchemy import Engine, text


def record_rejected_import(engine: Engine, account: str, file_name: str, error: str) -> int:
    """Record one refused file in its own transaction; return its id.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    with engine.begin() as conn:
        return int(conn.execute(
            text("INSERT INTO kraken.rejected_import (account, file_name, error) VALUES (:a, :f, :e) RETURNING id"),
            {"a": account, "f": file_name[:500], "e": error[:500]}).scalar_one())


def rejected_imports(engine: Engine, account: str | None = None) -> list[dict[str, object]]:
    """The refused files, newest first (all accounts, or one)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, account, file_name, error, rejected_at FROM kraken.rejected_import "
            "WHERE CAST(:a AS text) IS NULL OR account = :a ORDER BY rejected_at DESC, id DESC"), {"a": account})
        return [dict(row._mapping) for row in rows]
