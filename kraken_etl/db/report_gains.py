"""The report's gains section in SQL: the stored books' realised gains and income per year and asset, for the
computations (`kraken.book_run`) that include the report's account (all of them for a report of every account).

Only what `kraken-etl pnl` stored is read (nothing is computed here); years are the calendar years (UTC) the
report's range touches. Money is in each row's `currency`, exact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from kraken_etl.db.reporting import ReportFilter

_RUNS = """
SELECT r.entity, r.method, r.currency FROM kraken.book_run r
WHERE CAST(:account AS text) IS NULL OR CAST(:account AS text) = ANY(r.accounts)
"""

_GAINS = f"""
SELECT g.entity, g.method, g.currency, g.year, g.asset, g.disposals, g.amount, g.proceeds, g.cost, g.fees, g.gain,
       g.has_shortfall
FROM reporting.realised_gains g JOIN ({_RUNS}) r USING (entity, method, currency)
WHERE g.year BETWEEN :first_year AND :last_year
ORDER BY g.entity, g.method, g.currency, g.year, g.asset
"""

_INCOME = f"""
SELECT i.entity, i.method, i.currency, extract(year FROM i.received_at AT TIME ZONE 'UTC')::int AS year, i.asset,
       i.kind, count(*)::bigint AS entries, sum(i.amount) AS amount, sum(i.value) AS value
FROM reporting.income i JOIN ({_RUNS}) r USING (entity, method, currency)
WHERE i.received_at >= make_timestamptz(:first_year, 1, 1, 0, 0, 0, 'UTC')
  AND i.received_at < make_timestamptz(:last_year + 1, 1, 1, 0, 0, 0, 'UTC')
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6
"""


def _params(f: ReportFilter) -> dict[str, Any]:
    first = f.date_from.year if f.date_from else 1970
    return {"account": f.account, "first_year": first, "last_year": f.date_to.year}


def stored_runs(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """The stored computations (entity, method, currency) that include the report's account."""
    return [dict(r._mapping) for r in conn.execute(text(_RUNS + " ORDER BY 1, 2, 3"), {"account": f.account})]


def realised_gains(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """`reporting.realised_gains` rows of those computations, for the years of the report's range."""
    return [dict(r._mapping) for r in conn.execute(text(_GAINS), _params(f))]


def income_by_year(conn: Connection, f: ReportFilter) -> list[dict[str, Any]]:
    """`reporting.income` of those computations per year, asset and kind: entries, amount and value."""
    return [dict(r._mapping) for r in conn.execute(text(_INCOME), _params(f))]
