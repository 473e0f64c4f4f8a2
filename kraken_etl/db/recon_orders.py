"""Closed order ↔ trades in SQL: each order's `vol_exec`, `cost` and `fee` against the sums over its trades;
only the orders that disagree come back. Orders outside the stored trades' time range are not judged
(partial history). `vol_exec` must equal the trades' volume to half a unit of its precision; `cost` and
`fee` to half a unit per trade (each trade's figure is rounded on its own).

A full run reads every order in the span and its trades' sums from two ordered indexes (closed_order's
key, trade's covering (account, ordertxid) index) and merges them; an incremental run the same statement
over the orders changed after `since`, or whose trades changed. The tolerance arithmetic runs only for
sums that differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from kraken_etl.db.recon_links import ordered_plans, scope

_ORDERS = """
SELECT o.txid, o.vol_exec, o.cost, o.fee, o.closetm, coalesce(a.n, 0) AS n, coalesce(a.vol, 0) AS vol,
       coalesce(a.tcost, 0) AS tcost, coalesce(a.tfee, 0) AS tfee
FROM kraken.closed_order o LEFT JOIN (
    SELECT tr.ordertxid AS txid, count(*) AS n, sum(tr.vol) AS vol, sum(tr.cost) AS tcost, sum(tr.fee) AS tfee
    FROM kraken.trade tr WHERE tr.account = :account AND tr.ordertxid IS NOT NULL {trades_scope}
    GROUP BY tr.ordertxid
) a ON a.txid = o.txid
WHERE {in_span} {orders_scope}
  AND ((o.vol_exec <> coalesce(a.vol, 0)
        AND abs(o.vol_exec - coalesce(a.vol, 0)) * 2 >= power(10::numeric, -scale(o.vol_exec)))
    OR (o.cost <> coalesce(a.tcost, 0)
        AND abs(o.cost - coalesce(a.tcost, 0)) * 2 >= power(10::numeric, -scale(o.cost)) * greatest(a.n, 1))
    OR (o.fee <> coalesce(a.tfee, 0)
        AND abs(o.fee - coalesce(a.tfee, 0)) * 2 >= power(10::numeric, -scale(o.fee)) * greatest(a.n, 1)))
ORDER BY o.closetm, o.txid
"""

_IN_SPAN = """o.account = :account AND o.closetm <= :as_of AND o.opentm >= CAST(:lo AS timestamptz)
  AND o.closetm <= CAST(:hi AS timestamptz) + interval '1 day'"""

_TRADE_SPAN = "SELECT min(time) AS lo, max(time) AS hi FROM kraken.trade WHERE account = :account"

# Incremental: the orders changed after `since`, or whose trades changed.
_CHANGED = """
SELECT txid FROM kraken.closed_order WHERE account = :account AND updated_at > :since
UNION
SELECT ordertxid FROM kraken.trade WHERE account = :account AND updated_at > :since AND ordertxid IS NOT NULL
"""


def order_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Closed orders examined, their ids when incremental, and the ones whose vol_exec, cost or fee differ
    from their trades' sums (with their trade ids, `ids`).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params: dict[str, Any] = {"account": account, "as_of": as_of}
    examined, ids = scope(conn, params, since, span=_TRADE_SPAN, rows=f"kraken.closed_order o WHERE {_IN_SPAN}",
                          key="o.txid", changed=_CHANGED)
    if ids is None:
        with ordered_plans(conn):
            rows = [dict(r) for r in conn.execute(text(_ORDERS.format(
                in_span=_IN_SPAN, orders_scope="", trades_scope="")), params).mappings()]
    else:
        rows = [dict(r) for r in conn.execute(text(_ORDERS.format(
            in_span=_IN_SPAN, orders_scope="AND o.txid = ANY(CAST(:ids AS text[]))",
            trades_scope="AND tr.ordertxid = ANY(CAST(:ids AS text[]))")), params).mappings()]
    _trade_ids(conn, account, rows)
    return examined, ids, rows


def _trade_ids(conn: Connection, account: str, rows: list[dict[str, Any]]) -> None:
    """Fill in each disagreeing order's trade ids."""
    ids: dict[str, list[str]] = {}
    if rows:
        for r in conn.execute(text("SELECT ordertxid, txid FROM kraken.trade WHERE account = :account "
                                   "AND ordertxid = ANY(:orders) ORDER BY txid"),
                              {"account": account, "orders": [row["txid"] for row in rows]}):
            ids.setdefault(r.ordertxid, []).append(r.txid)
    for row in rows:
        row["ids"] = ids.get(row["txid"], [])
