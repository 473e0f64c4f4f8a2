"""Closed order ↔ trades in SQL: each order's `vol_exec`, `cost` and `fee` against the sums over its trades;
only the orders that disagree come back. Orders outside the stored trades' time range are not judged
(partial history). `vol_exec` must equal the trades' volume to half a unit of its precision; `cost` and
`fee` to half a unit per trade (each trade's figure is rounded on its own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from kraken_etl.db.recon_links import by_key, judged, ordered_plans

_ORDERS = """
WITH tspan AS (SELECT min(time) AS lo, max(time) AS hi FROM kraken.trade WHERE account = :account),
o AS MATERIALIZED (
    SELECT o.txid, o.vol_exec, o.cost, o.fee, o.closetm, o.opentm, o.trades AS listed
    FROM {orders} o, tspan
    WHERE o.account = :account AND o.closetm <= :as_of
      AND o.opentm >= tspan.lo AND o.closetm <= tspan.hi + interval '1 day'
),
agg AS (
    SELECT tr.ordertxid AS txid, count(*) AS n, sum(tr.vol) AS vol, sum(tr.cost) AS tcost, sum(tr.fee) AS tfee
    FROM kraken.trade tr JOIN o ON o.txid = tr.ordertxid
    WHERE tr.account = :account
    GROUP BY tr.ordertxid
),
sums AS (
    SELECT o.txid, o.vol_exec, o.cost, o.fee, o.closetm, coalesce(a.n, 0) AS n, coalesce(a.vol, 0) AS vol,
           coalesce(a.tcost, 0) AS tcost, coalesce(a.tfee, 0) AS tfee
    FROM o LEFT JOIN agg a ON a.txid = o.txid
)
SELECT (SELECT count(*) FROM o) AS examined,
       CASE WHEN CAST(:since AS timestamptz) IS NOT NULL THEN (SELECT array_agg(txid) FROM o) END AS scope_ids,
       s.* FROM (SELECT 1) one
LEFT JOIN sums s ON abs(s.vol_exec - s.vol) * 2 >= power(10::numeric, -scale(s.vol_exec))
    OR abs(s.cost - s.tcost) * 2 >= power(10::numeric, -scale(s.cost)) * greatest(s.n, 1)
    OR abs(s.fee - s.tfee) * 2 >= power(10::numeric, -scale(s.fee)) * greatest(s.n, 1)
ORDER BY s.closetm, s.txid
"""


# A full run: every order in the stored trades' span against its trades' sums, both read in txid order
# (closed_order's key, trade's covering (account, ordertxid) index) and merged; the tolerance arithmetic
# only for sums that differ.
_ORDERS_FULL = """
SELECT o.txid, o.vol_exec, o.cost, o.fee, o.closetm, coalesce(a.n, 0) AS n, coalesce(a.vol, 0) AS vol,
       coalesce(a.tcost, 0) AS tcost, coalesce(a.tfee, 0) AS tfee
FROM kraken.closed_order o LEFT JOIN (
    SELECT tr.ordertxid AS txid, count(*) AS n, sum(tr.vol) AS vol, sum(tr.cost) AS tcost, sum(tr.fee) AS tfee
    FROM kraken.trade tr WHERE tr.account = :account AND tr.ordertxid IS NOT NULL
    GROUP BY tr.ordertxid
) a ON a.txid = o.txid
WHERE o.account = :account AND o.closetm <= :as_of AND o.opentm >= CAST(:lo AS timestamptz)
  AND o.closetm <= CAST(:hi AS timestamptz) + interval '1 day'
  AND ((o.vol_exec <> coalesce(a.vol, 0)
        AND abs(o.vol_exec - coalesce(a.vol, 0)) * 2 >= power(10::numeric, -scale(o.vol_exec)))
    OR (o.cost <> coalesce(a.tcost, 0)
        AND abs(o.cost - coalesce(a.tcost, 0)) * 2 >= power(10::numeric, -scale(o.cost)) * greatest(a.n, 1))
    OR (o.fee <> coalesce(a.tfee, 0)
        AND abs(o.fee - coalesce(a.tfee, 0)) * 2 >= power(10::numeric, -scale(o.fee)) * greatest(a.n, 1)))
ORDER BY o.closetm, o.txid
"""

_ORDERS_IN_SPAN = """
SELECT count(*) FROM kraken.closed_order
WHERE account = :account AND closetm <= :as_of AND opentm >= CAST(:lo AS timestamptz)
  AND closetm <= CAST(:hi AS timestamptz) + interval '1 day'
"""

_TRADE_SPAN = "SELECT min(time) AS lo, max(time) AS hi FROM kraken.trade WHERE account = :account"


# Incremental: only the orders changed after `since`, or whose trades changed.
_CHANGED_ORDERS = by_key("closed_order", """
        SELECT txid FROM kraken.closed_order WHERE account = :account AND updated_at > :since
        UNION
        SELECT ordertxid FROM kraken.trade WHERE account = :account AND updated_at > :since AND ordertxid IS NOT NULL
    """)


def order_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Closed orders examined, their ids when incremental, and the ones whose vol_exec, cost or fee differ
    from their trades' sums.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params: dict[str, Any] = {"account": account, "as_of": as_of, "since": since}
    if since is None:
        span = conn.execute(text(_TRADE_SPAN), params).one()
        params.update(lo=span.lo, hi=span.hi)
        examined = int(conn.execute(text(_ORDERS_IN_SPAN), params).scalar_one())
        with ordered_plans(conn):
            rows = [dict(r) for r in conn.execute(text(_ORDERS_FULL), params).mappings()]
        order_trade_ids(conn, account, rows)
        return examined, None, rows
    examined, ids, rows = judged(conn, _ORDERS.replace("{orders}", _CHANGED_ORDERS), params)
    order_trade_ids(conn, account, rows)
    return examined, ids, rows


def order_trade_ids(conn: Connection, account: str, rows: list[dict[str, Any]]) -> None:
    """Fill in each disagreeing order's trade ids."""
    ids: dict[str, list[str]] = {}
    if rows:
        for r in conn.execute(text("SELECT ordertxid, txid FROM kraken.trade WHERE account = :account "
                                   "AND ordertxid = ANY(:orders) ORDER BY txid"),
                              {"account": account, "orders": [row["txid"] for row in rows]}):
            ids.setdefault(r.ordertxid, []).append(r.txid)
    for row in rows:
        row["ids"] = ids.get(row["txid"], [])
