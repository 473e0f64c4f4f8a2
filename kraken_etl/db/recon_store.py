"""Reconciliation runs and findings in SQL: run rows, the findings upsert by fingerprint, resolution, ack.

A finding is one row per (account, fingerprint): a rerun that sees it again updates its values,
`last_seen_run_id` and `last_seen_at` (and reopens it if it had been resolved); an open finding a run
re-examined and did not see again is marked resolved. `details` holds the finding's scope and moment
(``scope``, ``at``) so that an incremental run resolves only inside what it re-examined.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, text

_WATERMARK = """
SELECT least(now(), min(xact_start)) FROM pg_stat_activity
WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
"""

_LAST_OK = """
SELECT id, watermark, checks, as_of FROM kraken.reconciliation_run
WHERE account = :account AND status = 'ok' AND watermark IS NOT NULL
ORDER BY id DESC LIMIT 1
"""

_UPSERT = """
INSERT INTO kraken.reconciliation_finding AS f
    (run_id, last_seen_run_id, account, check_name, kind, severity, asset, wallet, expected, actual,
     difference, source_ids, message, details, fingerprint, status)
SELECT :run_id, :run_id, :account, x.check_name, x.kind, x.severity, x.asset, x.wallet,
       x.expected, x.actual, x.difference, x.source_ids, x.message, x.details, x.fingerprint, 'open'
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(
    check_name text, kind text, severity text, asset text, wallet text, expected numeric, actual numeric,
    difference numeric, source_ids text[], message text, details jsonb, fingerprint text)
ON CONFLICT (account, fingerprint) DO UPDATE SET
    last_seen_run_id = excluded.last_seen_run_id, last_seen_at = now(), status = 'open', resolved_at = NULL,
    severity = excluded.severity, expected = excluded.expected, actual = excluded.actual,
    difference = excluded.difference, source_ids = excluded.source_ids, message = excluded.message,
    details = excluded.details
"""

_OPEN = """
SELECT f.id, f.check_name, f.kind, f.severity, f.asset, f.wallet, f.expected, f.actual, f.difference, f.source_ids,
       f.message, f.details, f.acknowledged_at, f.ack_note,
       (SELECT jsonb_agg(jsonb_build_object('at', a.acknowledged_at, 'note', a.note) ORDER BY a.id)
        FROM kraken.reconciliation_ack a WHERE a.finding_id = f.id) AS acks
FROM kraken.reconciliation_finding f WHERE f.account = :account AND f.status = 'open'
ORDER BY CASE severity WHEN 'break' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, check_name, id
"""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON text for a findings batch (Decimals as strings: exact)."""
    return orjson.dumps(value, default=_json_default).decode()


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction for a whole reconciliation (committed on success, rolled back on error)."""
    with engine.begin() as conn:
        # the checks sort and group whole ledgers: give them memory instead of temp files (this run only)
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        # the run spreads its checks over connections itself (snapshot_reader); parallel workers on top
        # only add their start-up and hand-over cost when the cores are already busy
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        yield conn


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def export_snapshot(conn: Connection) -> str:
    """The run transaction's current snapshot, for readers on other connections (`snapshot_reader`)."""
    return conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()  # type: ignore[no-any-return]


@contextmanager
def snapshot_reader(engine: Engine, snapshot: str) -> Iterator[Connection]:
    """A read-only transaction on its own connection that sees exactly `snapshot` (the run's data as of
    when it was exported: not the run's own uncommitted writes), so a check can run beside the others.

    Raises:
        sqlalchemy.exc.DBAPIError: when the snapshot is gone (its transaction ended) or on database failures.
    """
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        if not _SNAPSHOT_ID.fullmatch(snapshot):
            raise ValueError(f"not a snapshot id: {snapshot!r}")
        conn.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))  # SET takes no bind parameters
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        yield conn


def watermark(conn: Connection) -> datetime:
    """Where the next incremental run starts looking: now, or the start of the oldest open transaction
    (a sync still writing as we read commits rows stamped with its start, which must not be skipped)."""
    return conn.execute(text(_WATERMARK)).scalar_one()  # type: ignore[no-any-return]


def last_ok_run(conn: Connection, account: str) -> dict[str, Any] | None:
    """The last successful run of the account with a watermark (id, watermark, checks, as_of)."""
    row = conn.execute(text(_LAST_OK), {"account": account}).mappings().first()
    return dict(row) if row else None


def start_run(conn: Connection, account: str, as_of: datetime, checks: Sequence[str], incremental: bool,
              started_at: datetime, mark: datetime) -> int:
    """Insert a `running` run row; returns its id."""
    return int(conn.execute(text("""
        INSERT INTO kraken.reconciliation_run (account, as_of, started_at, status, checks, incremental, watermark)
        VALUES (:account, :as_of, :started_at, 'running', :checks, :incremental, :mark) RETURNING id
    """), {"account": account, "as_of": as_of, "started_at": started_at, "checks": list(checks),
           "incremental": incremental, "mark": mark}).scalar_one())


def finish_run(conn: Connection, run_id: int, *, status: str, finished_at: datetime, findings: int, breaks: int,
               rows_examined: int, duration: Decimal, counts: dict[str, Any], error: str | None = None) -> None:
    """Record how a run ended."""
    conn.execute(text("""
        UPDATE kraken.reconciliation_run SET status = :status, finished_at = :finished_at, findings = :findings,
            breaks = :breaks, rows_examined = :rows, duration_seconds = :duration, counts = CAST(:counts AS jsonb),
            error = :error
        WHERE id = :id
    """), {"id": run_id, "status": status, "finished_at": finished_at, "findings": findings, "breaks": breaks,
           "rows": rows_examined, "duration": duration, "counts": dumps(counts), "error": error})


def record_failure(engine: Engine, account: str, as_of: datetime, checks: Sequence[str], started_at: datetime,
                   finished_at: datetime, error: str) -> int:
    """Log a failed run in its own transaction (the run's own work was rolled back)."""
    with engine.begin() as conn:
        run_id = start_run(conn, account, as_of, checks, False, started_at, started_at)
        conn.execute(text("UPDATE kraken.reconciliation_run SET status = 'failed', finished_at = :f, error = :e, "
                          "watermark = NULL WHERE id = :id"), {"f": finished_at, "e": error[:2000], "id": run_id})
        return run_id


def upsert_findings(conn: Connection, account: str, run_id: int, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or refresh findings (each dict: the finding's columns and its fingerprint)."""
    for start in range(0, len(rows), 5_000):
        conn.execute(text(_UPSERT), {"run_id": run_id, "account": account, "rows": dumps(rows[start:start + 5_000])})


def resolve_unseen(conn: Connection, account: str, run_id: int, check: str,
                   scopes: dict[str, str | None] | None) -> int:
    """Resolve the check's open findings this run did not see; with `scopes`, only those inside them
    (scope key → the moment from which it was re-examined, None: all of it). Returns how many."""
    params: dict[str, Any] = {"account": account, "run_id": run_id, "check": check}
    where = ""
    if scopes is not None:
        params["keys"], params["froms"] = list(scopes), list(scopes.values())
        where = """AND EXISTS (
            SELECT 1 FROM unnest(CAST(:keys AS text[]), CAST(:froms AS text[])) AS s(key, since)
            WHERE s.key = f.details->>'scope'
              AND (s.since IS NULL OR f.details->>'at' IS NULL OR f.details->>'at' > s.since))"""
    return int(conn.execute(text(f"""
        UPDATE kraken.reconciliation_finding f SET status = 'resolved', resolved_at = now()
        WHERE f.account = :account AND f.check_name = :check AND f.status = 'open'
          AND f.last_seen_run_id IS DISTINCT FROM :run_id {where}
    """), params).rowcount)


def open_findings(conn: Connection, account: str) -> list[dict[str, Any]]:
    """The account's open findings, breaks first."""
    return [dict(r) for r in conn.execute(text(_OPEN), {"account": account}).mappings()]


def findings_by_id(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The findings with these ids (id, account, status, resolved_at, severity), locked for an update."""
    return [dict(r) for r in conn.execute(text(
        "SELECT id, account, status, resolved_at, severity FROM kraken.reconciliation_finding "
        "WHERE id = ANY(CAST(:ids AS bigint[])) ORDER BY id FOR UPDATE"), {"ids": list(ids)}).mappings()]


def open_finding_ids(conn: Connection, account: str | None, check: str | None) -> list[int]:
    """The open findings of an account and/or a check (None: any)."""
    return list(conn.execute(text(
        "SELECT id FROM kraken.reconciliation_finding WHERE status = 'open' "
        "AND (CAST(:account AS text) IS NULL OR account = :account) "
        "AND (CAST(:check AS text) IS NULL OR check_name = :check) ORDER BY id FOR UPDATE"),
        {"account": account, "check": check}).scalars())


def acknowledge(conn: Connection, ids: Sequence[int], note: str) -> dict[int, int]:
    """Add a note to each finding's acknowledgement history and make it the finding's latest; returns, per
    finding, how many notes it had before."""
    earlier: dict[int, int] = {row[0]: row[1] for row in conn.execute(text(
        "SELECT f.id, (SELECT count(*) FROM kraken.reconciliation_ack a WHERE a.finding_id = f.id) "
        "FROM kraken.reconciliation_finding f WHERE f.id = ANY(CAST(:ids AS bigint[]))"), {"ids": list(ids)})}
    conn.execute(text("""
        WITH stamped AS (
            UPDATE kraken.reconciliation_finding SET acknowledged_at = now(), ack_note = :note
            WHERE id = ANY(CAST(:ids AS bigint[])) RETURNING id, account)
        INSERT INTO kraken.reconciliation_ack (finding_id, account, note) SELECT id, account, :note FROM stamped
    """), {"ids": list(ids), "note": note})
    return {int(k): int(v) for k, v in earlier.items()}


def last_runs(engine: Engine) -> list[dict[str, Any]]:
    """The latest reconciliation run per account and its open findings by severity (for `kraken-etl status`)."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("""
            WITH latest AS (
                SELECT DISTINCT ON (account) account, id, as_of, status, breaks, findings, rows_examined,
                       duration_seconds, incremental, finished_at
                FROM kraken.reconciliation_run ORDER BY account, id DESC
            )
            SELECT l.*,
                   count(f.id) FILTER (WHERE f.severity = 'break') AS open_breaks,
                   count(f.id) FILTER (WHERE f.severity = 'warning') AS open_warnings,
                   count(f.id) FILTER (WHERE f.severity = 'info') AS open_info,
                   count(f.id) FILTER (WHERE f.acknowledged_at IS NOT NULL) AS acknowledged
            FROM latest l
            LEFT JOIN kraken.reconciliation_finding f ON f.account = l.account AND f.status = 'open'
            GROUP BY l.account, l.id, l.as_of, l.status, l.breaks, l.findings, l.rows_examined, l.duration_seconds,
                     l.incremental, l.finished_at
            ORDER BY l.account
        """)).mappings()]


def stored_accounts(engine: Engine) -> list[str]:
    """Account labels that have ledger entries or trades (what `reconcile` runs over by default)."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT account FROM kraken.ledger_entry GROUP BY account UNION SELECT account FROM kraken.trade "
            "GROUP BY account ORDER BY 1")).scalars())


__all__ = [
    "Connection", "Engine", "acknowledge", "dumps", "findings_by_id", "finish_run", "last_ok_run", "last_runs",
    "open_finding_ids", "open_findings",
    "record_failure", "resolve_unseen", "start_run", "stored_accounts", "transaction", "upsert_findings", "watermark",
]
