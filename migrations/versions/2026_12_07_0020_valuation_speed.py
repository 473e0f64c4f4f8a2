"""valuation_speed: the valued views read their prices at the cost of a join, not of a lookup per row.

Same columns, same order, same values as 0019 (its comments stay: the views are replaced, not dropped):

- `reporting.ledger`: the refresh boundary of the materialised branch is written `(time < boundary) IS TRUE`
  (the same rows). As a plain `time < boundary` beside a caller's `time >= …` the planner took the two for
  one range with an unknown end and expected 0.5 % of the rows, so it probed `price_hourly` by index once per
  entry (a nested loop over a year of a 1,000,000-entry account); with the row count it now expects, the
  series is hashed once and joined. The asset code is normalised once per entry (a lateral column), not
  once for the output and twice more for the join.
- `reporting.price_at` (same signature, same answers): computes only the rates its answer can still need.
- `reporting.portfolio_daily`: today's rows (no series row yet) call `price_at` once per row through a gated
  lateral join; the CASE expressions of 0019 called it once per column (five times per row).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

from models.revisions import earlier_revision

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision(number: str) -> ModuleType:
    return earlier_revision(number, Path(__file__).parent)


_r19 = _revision("0019")
_CURRENCY = _r19._CURRENCY
_BOUNDARY = _r19._BOUNDARY
_DAY_END = _r19._DAY_END

# The normalised code, once per entry: a lateral subquery on the nullable side of an outer join is kept as
# one computed column (a placeholder) instead of the expression being copied into every place that uses it.
_NORMALISED = "LEFT JOIN LATERAL (SELECT reporting.normalize_asset(l.asset) AS asset) n ON true"
_COLUMNS = _r19._LEDGER_COLUMNS.replace("reporting.normalize_asset(l.asset) AS asset", "n.asset AS asset")
assert _COLUMNS != _r19._LEDGER_COLUMNS
_DEFAULT = _r19.DEFAULT_CURRENCY

LEDGER = f"""
CREATE OR REPLACE VIEW reporting.ledger AS
SELECT {_COLUMNS},
       {_CURRENCY} AS currency, s.price, (l.amount - l.fee) * s.price AS value, s.price_time, s.price_source,
       s.route AS price_route
FROM kraken.ledger_entry l
{_NORMALISED}
LEFT JOIN kraken.trade t ON t.account = l.account AND t.txid = l.refid
LEFT JOIN reporting.valuation_currency v ON v.account = l.account
LEFT JOIN reporting.price_hourly s ON s.asset = n.asset AND s.currency = {_CURRENCY}
      AND s.hour = date_trunc('hour', l.time, 'UTC')
WHERE (l.time < {_BOUNDARY}) IS TRUE  -- a boolean test, not a range bound the planner pairs with the caller's
UNION ALL
SELECT {_COLUMNS},
       {_CURRENCY}, f.price, (l.amount - l.fee) * f.price, f.price_time, f.price_source, f.route
FROM kraken.ledger_entry l
{_NORMALISED}
LEFT JOIN kraken.trade t ON t.account = l.account AND t.txid = l.refid
LEFT JOIN reporting.valuation_currency v ON v.account = l.account
LEFT JOIN (  -- price_at once per Kraken code, currency and hour of the live entries, not once per entry
    SELECT k.asset_code, k.currency, k.hour, p.price, p.price_time, p.price_source, p.route
    FROM (SELECT DISTINCT e.asset AS asset_code, coalesce(w.currency, '{_DEFAULT}') AS currency,
                 date_trunc('hour', e.time, 'UTC') AS hour
          FROM kraken.ledger_entry e
          LEFT JOIN reporting.valuation_currency w ON w.account = e.account
          WHERE e.time >= {_BOUNDARY} AND e.time < 'infinity') k
    CROSS JOIN LATERAL reporting.price_at(k.asset_code, k.currency, k.hour) p
) f ON f.asset_code = l.asset AND f.currency = {_CURRENCY} AND f.hour = date_trunc('hour', l.time, 'UTC')
WHERE l.time >= {_BOUNDARY}
  AND l.time < 'infinity'  -- a no-op bound that makes this a range: the planner then expects few rows
"""

# 0019's price_at computing only the legs the answer can still need: none at par; the bridges only when the
# direct rate is not fresh, the BTC bridge only when the USD one is not fresh either (a fresh rate of a better
# rank wins whatever the later ones hold). OFFSET 0 keeps each leg a subquery, so its gate runs as a one-time
# filter before rate_at is called rather than as a filter on the call's row.
_NOT_PAR = "NOT coalesce(coalesce(i.price_asset, i.canonical) = i.currency, false)"
_FRESH_D = "coalesce(d.price IS NOT NULL AND NOT d.stale, false)"
_FRESH_U = "coalesce(u1.price IS NOT NULL AND u2.price IS NOT NULL AND NOT (u1.stale OR u2.stale), false)"
_GATES = {
    "WHERE i.fixed_price IS NULL) d": f"WHERE i.fixed_price IS NULL AND {_NOT_PAR} OFFSET 0) d",
    "WHERE i.fixed_currency <> i.currency) f": f"WHERE i.fixed_currency <> i.currency AND {_NOT_PAR} OFFSET 0) f",
    "WHERE i.price_asset <> 'USD' AND i.currency <> 'USD') u1":
        f"WHERE i.price_asset <> 'USD' AND i.currency <> 'USD' AND {_NOT_PAR} AND NOT {_FRESH_D} OFFSET 0) u1",
    "WHERE i.price_asset <> 'USD' AND i.currency <> 'USD') u2":
        f"WHERE i.price_asset <> 'USD' AND i.currency <> 'USD' AND {_NOT_PAR} AND NOT {_FRESH_D} OFFSET 0) u2",
    "WHERE i.price_asset <> 'BTC' AND i.currency <> 'BTC') b1":
        f"WHERE i.price_asset <> 'BTC' AND i.currency <> 'BTC' AND {_NOT_PAR} AND NOT {_FRESH_D} AND NOT {_FRESH_U} "
        "OFFSET 0) b1",
    "WHERE i.price_asset <> 'BTC' AND i.currency <> 'BTC') b2":
        f"WHERE i.price_asset <> 'BTC' AND i.currency <> 'BTC' AND {_NOT_PAR} AND NOT {_FRESH_D} AND NOT {_FRESH_U} "
        "OFFSET 0) b2",
}
PRICE_AT = _r19.PRICE_AT
for _old, _new in _GATES.items():
    assert PRICE_AT.count(_old) == 1, _old
    PRICE_AT = PRICE_AT.replace(_old, _new)

# The series' row when it has one; else (today) price_at once, in a lateral join gated on the missing row:
# OFFSET 0 keeps the subquery whole so the gate is a one-time filter before the call, not a filter after it.
PORTFOLIO_DAILY = f"""
CREATE OR REPLACE VIEW reporting.portfolio_daily AS
WITH days AS (
    SELECT b.account, b.day, b.asset, sum(b.balance) AS balance
    FROM reporting.balance_daily b
    GROUP BY b.account, b.day, b.asset
)
SELECT d.account, d.day, d.asset, d.balance, {_CURRENCY} AS currency,
       coalesce(s.price, n.price) AS price,
       d.balance * coalesce(s.price, n.price) AS value,
       coalesce(s.price_time, n.price_time) AS price_time,
       coalesce(s.price_source, n.price_source) AS price_source,
       coalesce(s.route, n.route) AS price_route
FROM days d
LEFT JOIN reporting.valuation_currency v ON v.account = d.account
LEFT JOIN reporting.price_hourly s ON s.asset = d.asset AND s.currency = {_CURRENCY}
      AND s.hour = (d.day::timestamp AT TIME ZONE 'UTC') + interval '23 hours'
LEFT JOIN LATERAL (
    SELECT p.price, p.price_time, p.price_source, p.route
    FROM reporting.price_at(d.asset, {_CURRENCY}, {_DAY_END}) p
    WHERE s.hour IS NULL
    OFFSET 0
) n ON true
"""


def upgrade() -> None:
    op.execute(PRICE_AT)
    op.execute(LEDGER)
    op.execute(PORTFOLIO_DAILY)


def downgrade() -> None:
    op.execute(_r19.PRICE_AT)
    op.execute(_r19.LEDGER)
    op.execute(_r19.PORTFOLIO_DAILY.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
