"""Schema `reporting` from Python: refresh what is materialised, and the queries the HTML report reads.

Everything here reads the `reporting` views (the contract), never the `kraken` tables directly, so the
report shows what an accountant's SQL would show. It must not compute money in Python: sums and balances
come from SQL as `Decimal`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from models.reporting import MATERIALISED

REFRESH_WORK_MEM = "256MB"  # per sort or hash of the refresh only; see refresh_in

__all__ = [  # Engine re-exported so the report ring names the type without importing SQLAlchemy
    "Engine",
    "ReportFilter",
    "balance_series",
    "boundary_days_behind",
    "deposits_withdrawals",
    "fees_by_month",
    "first_day",
    "freshness",
    "holdings_at_end",
    "holdings_now_sql",
    "reconciliation",
    "refresh_in",
    "refresh_reporting",
    "refreshed_at",
    "run_query",
    "stale_rows",
    "volume_by_pair",
    "write_valuation_currencies",
]


def holdings_now_sql(account: str) -> str:
    """The SQL a person pastes into psql first (the demo suggests it, the README shows it): `account`'s
    holdings now, from the reporting schema."""
    label = account.replace("'", "''")
    return (f"SELECT asset, wallet, balance FROM reporting.balances_at(now(), '{label}') WHERE balance <> 0 "
            "ORDER BY asset, wallet;")


def refresh_reporting(engine: Engine, currencies: Mapping[str, str] | None = None,
                      default_currency: str | None = None) -> None:
    """Move the boundary to today's UTC midnight and recompute the daily sums (each chain's opening balance,
    the hourly price series) before it, in one transaction.

    With `default_currency`, first write each account's reporting currency (`write_valuation_currencies`);
    without, the stored ones stay. Readers are not blocked while the views are rebuilt (CONCURRENTLY) and
    see either the old boundary with the old sums or the new with the new: entries after the boundary are
    always read live.
    """
    with engine.begin() as conn:
        if default_currency is not None:
            write_valuation_currencies(conn, currencies or {}, default_currency)
        refresh_in(conn)
    with engine.begin() as conn:
        # fresh statistics, or the planner guesses the daily sums' size from the migration's empty view
        for view in MATERIALISED:
            conn.execute(text(f"ANALYZE reporting.{view}"))


def refresh_in(conn: Connection, *, concurrently: bool = True) -> None:
    """The refresh inside the caller's transaction (refresh_reporting's body; tests call it on theirs)."""
    conn.execute(text("UPDATE reporting.refresh_state "
                      "SET covered_before = date_trunc('day', now(), 'UTC'), refreshed_at = now()"))
    how = "CONCURRENTLY " if concurrently else ""
    # The hourly price grid joins (asset x hour x currency) to six rate lookups, whose sizes the planner
    # cannot estimate through its CTEs: it guesses billions of rows and spills a hash join into thousands of
    # batches on disk (30 s for a 1,500-entry account). Memory enough for the real grid keeps it in one;
    # the setting is restored after the refresh.
    previous = conn.execute(text("SELECT current_setting('work_mem')")).scalar_one()
    conn.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": REFRESH_WORK_MEM})
    for view in MATERIALISED:  # on an error the transaction is aborted and the local setting ends with it
        if view == "price_hourly":
            # Its plan hangs on the sizes of its inputs: with no statistics yet (candles and ledger days just
            # loaded, before autovacuum sees them) the planner took the candle CTE for a few hundred rows and
            # merged the hour grid with it on the pair alone, comparing every hour with every hour (a refresh
            # of a two-year account ran past 20 minutes instead of 20 seconds). Sampled, so cheap.
            for source in ("kraken.price", "kraken.asset_identity", "reporting.ledger_daily"):
                conn.execute(text(f"ANALYZE {source}"))
        conn.execute(text(f"REFRESH MATERIALIZED VIEW {how}reporting.{view}"))
    conn.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": previous})


def write_valuation_currencies(conn: Connection, currencies: Mapping[str, str], default: str) -> None:
    """Write `reporting.valuation_currency`: each account of `currencies` in its currency, every other stored
    account in `default` (the views read it; a refresh after it rebuilds the price series for them)."""
    conn.execute(text("""
        INSERT INTO reporting.valuation_currency (account, currency)
        SELECT a.account, coalesce(m.currency, :default)
        FROM (SELECT DISTINCT account FROM kraken.ledger_entry
              UNION SELECT unnest(CAST(:accounts AS text[]))) a
        LEFT JOIN unnest(CAST(:accounts AS text[]), CAST(:codes AS text[])) AS m(account, currency)
               ON m.account = a.account
        ON CONFLICT (account) DO UPDATE SET currency = EXCLUDED.currency, updated_at = now()
        WHERE reporting.valuation_currency.currency <> EXCLUDED.currency
    """), {"default": default, "accounts": list(currencies), "codes": list(currencies.values())})


def stale_rows(engine: Engine, accounts: Sequence[str]) -> int:
    """Ledger rows of `accounts` written (or given another wallet) since the last refresh into days it
    already summed: while there are any, `ledger_daily` (and so balances, the report, Grafana) miss them
    until `refresh_reporting`. 0 before the first refresh (then everything is read live)."""
    with engine.connect() as conn:
        return int(conn.execute(text("""
            SELECT count(*) FROM kraken.ledger_entry l, reporting.refresh_state r
            WHERE r.covered_before IS NOT NULL AND l.account = ANY(CAST(:accounts AS text[]))
              AND (l.updated_at > r.refreshed_at OR l.wallet_at > r.refreshed_at) AND l.time < r.covered_before
        """), {"accounts": list(accounts)}).scalar_one())


def boundary_days_behind(engine: Engine) -> int | None:
    """How many days the materialised boundary (`covered_before`) is behind today's UTC midnight: 0 after a
    refresh today, None before the first refresh (then every view reads the whole ledger live, pricing every
    entry as it goes: slow for a report)."""
    with engine.connect() as conn:
        days = conn.execute(text("""
            SELECT (date_trunc('day', now(), 'UTC')::date - (covered_before AT TIME ZONE 'UTC')::date)
            FROM reporting.refresh_state""")).scalar()
    return None if days is None else int(days)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    """What a report covers: one account or all, and an inclusive UTC date range."""

    account: str | None
    date_from: date | None
    date_to: date


def _rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(text(sql), dict(params))]


def _params(f: ReportFilter) -> dict[str, Any]:
    return {"account": f.account, "date_from": f.date_from, "date_to": f.date_to}


_ACCOUNT = "(CAST(:account AS text) IS NULL OR account = :account)"
_FROM_DAY = "(CAST(:date_from AS date) IS NULL OR day >= :date_from)"
# [from, to] as UTC instants: dates are UTC calendar days whatever the session's time zone
_IN_RANGE = ("time < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE 'UTC' AND "
             "(CAST(:date_from AS date) IS NULL OR time >= CAST(:date_from AS date)::timestamp AT TIME ZONE 'UTC')")


def balance_series(conn: Connection, f: ReportFilter, step_days: int = 1) -> list[dict[str, Any]]:
    """End-of-day balance per asset (wallets summed) every `step_days` days of the range, and its last day."""
    return _rows(conn, f"""
        SELECT day, asset, sum(balance) AS balance
        FROM reporting.balance_daily
        WHERE {_ACCOUNT} AND day <= :date_to AND {_FROM_DAY}
          AND (day = :date_to OR (day - coalesce(CAST(:date_from AS date), DATE '2000-01-01')) % :step = 0)
        GROUP BY day, asset ORDER BY asset, day
    """, {**_params(f), "step": step_days})


def holdings_at_end(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Balance per account, asset and wallet at the end of `date_to` (UTC)."""
    return _rows(conn, """
        SELECT account, asset, wallet, balance, entries
        FROM reporting.balances_at(
            (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE 'UTC' - interval '1 microsecond',
            CAST(:account AS text))
        WHERE balance <> 0
        ORDER BY account, asset, wallet NULLS FIRST
    """, _params(f))


def fees_by_month(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Fees per UTC month and asset for the months overlapping the range (the figures of fees_monthly).

    Read from the materialised daily sums plus the stored entries after their boundary (normalised as
    `reporting.ledger` does; the view would also price them, which this table does not show), several
    times cheaper than fees_monthly's pass over every entry (tests check both agree).
    """
    return _rows(conn, f"""
        WITH days AS (
            SELECT day, asset, fee FROM reporting.ledger_daily
            WHERE {_ACCOUNT} AND fee <> 0 AND day < (CAST(:date_to AS date) + 1)
              AND (CAST(:date_from AS date) IS NULL OR day >= date_trunc('month', CAST(:date_from AS date)))
            UNION ALL
            SELECT (time AT TIME ZONE 'UTC')::date, reporting.normalize_asset(asset), fee FROM kraken.ledger_entry
            WHERE {_ACCOUNT} AND fee <> 0
              AND time >= (SELECT coalesce(covered_before, '-infinity') FROM reporting.refresh_state)
              AND time < (CAST(:date_to AS date) + 1)::timestamp AT TIME ZONE 'UTC'
        )
        SELECT date_trunc('month', day)::date AS month, asset, sum(fee) AS fees
        FROM days GROUP BY 1, 2 HAVING sum(fee) <> 0 ORDER BY 1, 2
    """, _params(f))


def volume_by_pair(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Trades per pair and side: count, base volume, quote cost, fees."""
    return _rows(conn, f"""
        SELECT base || '/' || quote AS pair, side, count(*) AS trades, sum(vol) AS volume,
               sum(cost) AS cost, sum(fee) AS fees
        FROM reporting.trade
        WHERE {_ACCOUNT} AND {_IN_RANGE}
        GROUP BY 1, 2 ORDER BY 1, 2
    """, _params(f))


def deposits_withdrawals(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Deposits and withdrawals per asset within the range (grouped by Kraken's code, then normalised)."""
    return _rows(conn, f"""
        SELECT reporting.normalize_asset(asset_code) AS asset, type, sum(entries) AS entries,
               sum(amount) AS amount, sum(fees) AS fees
        FROM (SELECT asset_code, type, count(*) AS entries, sum(amount) AS amount, sum(fee) AS fees
              FROM reporting.deposits_withdrawals
              WHERE {_ACCOUNT} AND {_IN_RANGE}
              GROUP BY 1, 2) AS by_code
        GROUP BY 1, 2 ORDER BY 1, 2
    """, _params(f))


def reconciliation(conn: Connection, f: ReportFilter) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The latest run per account and the open findings (most severe first)."""
    runs = _rows(conn, f"SELECT * FROM reporting.reconciliation_latest WHERE {_ACCOUNT} ORDER BY account",
                 _params(f))
    findings = _rows(conn, f"""
        SELECT account, severity, check_name, asset, wallet, expected, actual, difference, message, last_seen_at
        FROM reporting.reconciliation_open_findings WHERE {_ACCOUNT}
        ORDER BY CASE severity WHEN 'break' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, last_seen_at DESC
        LIMIT 200
    """, _params(f))
    return runs, findings


def freshness(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """Sync health per account and stream."""
    return _rows(conn, f"""
        SELECT account, stream, last_success_at, age_seconds, last_run_status, open_quarantine
        FROM reporting.sync_health WHERE {_ACCOUNT} ORDER BY account, stream
    """, _params(f))


def refreshed_at(conn: Connection) -> datetime | None:
    """When the materialised reporting data was last refreshed."""
    value: datetime | None = conn.execute(text("SELECT refreshed_at FROM reporting.refresh_state")).scalar()
    return value


def first_day(conn: Connection, account: str | None) -> date | None:
    """The first UTC day with a ledger entry (for a report without --from)."""
    value: date | None = conn.execute(text(
        f"SELECT min(day) FROM reporting.ledger_daily WHERE {_ACCOUNT}"), {"account": account}).scalar()
    if value is None:
        value = conn.execute(text(f"SELECT (min(time) AT TIME ZONE 'UTC')::date FROM reporting.ledger "
                                  f"WHERE {_ACCOUNT}"), {"account": account}).scalar()
    return value


def run_query(conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
    """Run one read-only query (the SQL guide's and the dashboard's) and return its rows."""
    return conn.execute(text(sql), dict(params or {})).fetchall()
