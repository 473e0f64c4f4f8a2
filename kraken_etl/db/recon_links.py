"""Trade ↔ ledger legs and closed order ↔ trades, in SQL; only the rows that disagree come back.

Trade legs are the trade's `ledgers` ids when TradesHistory gave them, else the ledger rows whose refid
is the trade txid. A trade agrees when every listed leg is stored, exactly one leg moves `vol` of the base
(bought: +, sold: −), one moves `cost` of the quote (the other sign), and the fee agrees with where it sits
(reference Appendix C): on the quote leg = the trade's fee; on the base leg ≈ the fee converted at the
trade's price (Kraken states the trade fee in the quote currency); on a KFEE leg (amount 0) = fee / 0.01
USD for USD-quoted pairs. Trades outside the stored ledger's time range are not judged (partial history).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

_TOL = "power(10::numeric, -greatest(scale({a}), scale({b}))) / 2"

_TRADES = f"""
WITH span AS (
    SELECT min(time) AS lo, max(time) AS hi FROM kraken.ledger_entry WHERE account = :account
),
t AS MATERIALIZED (
    SELECT tr.txid, tr.type, tr.vol, tr.cost, tr.fee, tr.price, tr.ledgers, tr.pair, tr.time
    FROM kraken.trade tr, span
    WHERE tr.account = :account AND tr.time <= :as_of AND tr.time BETWEEN span.lo AND span.hi
      AND (CAST(:since AS timestamptz) IS NULL OR tr.updated_at > CAST(:since AS timestamptz)
           OR EXISTS (SELECT 1 FROM kraken.ledger_entry x WHERE x.account = :account AND x.refid = tr.txid
                      AND x.updated_at > CAST(:since AS timestamptz)))
),
legs AS (
    SELECT t.txid, l.id AS leg_id, e.asset, e.amount, e.fee
    FROM t CROSS JOIN LATERAL unnest(t.ledgers) AS l(id)
    LEFT JOIN kraken.ledger_entry e ON e.account = :account AND e.ledger_id = l.id
    WHERE t.ledgers IS NOT NULL
    UNION ALL
    SELECT t.txid, e.ledger_id, e.asset, e.amount, e.fee
    FROM t JOIN kraken.ledger_entry e ON e.account = :account AND e.refid = t.txid
    WHERE t.ledgers IS NULL
),
agg AS (
    SELECT t.txid, t.type, t.vol, t.cost, t.fee, t.price, t.pair, t.time,
           count(l.leg_id) AS n_legs,
           count(l.leg_id) FILTER (WHERE l.asset IS NULL) AS n_missing,
           count(*) FILTER (WHERE l.amount <> 0) AS n_moving,
           count(*) FILTER (WHERE abs(l.amount) = t.vol AND l.amount <> 0) AS n_base,
           count(*) FILTER (WHERE abs(l.amount) = t.cost AND l.amount <> 0) AS n_quote,
           coalesce(sum(l.fee) FILTER (WHERE abs(l.amount) = t.cost AND l.amount <> 0), 0) AS qfee,
           coalesce(sum(l.fee) FILTER (WHERE abs(l.amount) = t.vol AND l.amount <> 0), 0) AS bfee,
           coalesce(sum(l.fee) FILTER (WHERE l.amount = 0), 0) AS kfee,
           bool_and(CASE WHEN l.amount = 0 OR l.amount IS NULL THEN true
                         WHEN abs(l.amount) = t.vol THEN (l.amount > 0) = (t.type = 'buy')
                         WHEN abs(l.amount) = t.cost THEN (l.amount < 0) = (t.type = 'buy')
                         ELSE true END) AS signs_ok,
           bool_or(l.amount = 0 AND upper(l.asset) = 'KFEE') AS has_kfee,
           bool_or(abs(l.amount) = t.cost AND l.amount <> 0 AND upper(l.asset) IN ('ZUSD', 'USD')) AS usd_quote,
           array_agg(l.leg_id ORDER BY l.leg_id) FILTER (WHERE l.leg_id IS NOT NULL) AS leg_ids,
           array_agg(l.asset ORDER BY l.leg_id) FILTER (WHERE l.leg_id IS NOT NULL) AS assets,
           array_agg(l.amount ORDER BY l.leg_id) FILTER (WHERE l.leg_id IS NOT NULL) AS amounts,
           array_agg(l.fee ORDER BY l.leg_id) FILTER (WHERE l.leg_id IS NOT NULL) AS fees
    FROM t LEFT JOIN legs l ON l.txid = t.txid
    GROUP BY t.txid, t.type, t.vol, t.cost, t.fee, t.price, t.pair, t.time
),
judged AS (
    SELECT agg.*,
        CASE
          WHEN n_legs = 0 THEN 'no_legs'
          WHEN n_missing > 0 THEN 'missing_leg'
          WHEN n_moving <> 2 OR n_base <> 1 OR n_quote <> 1 OR NOT signs_ok THEN 'leg_amount_mismatch'
          WHEN NOT (
               (bfee = 0 AND kfee = 0 AND abs(qfee - fee) <= {_TOL.format(a="qfee", b="fee")})
            OR (bfee > 0 AND kfee = 0 AND abs(bfee * price + qfee - fee) <= fee / 50 + {_TOL.format(a="qfee", b="fee")})
            OR (kfee > 0 AND bfee = 0 AND qfee = 0 AND (NOT usd_quote OR abs(kfee / 100 - fee) <= {_TOL.format(a="kfee", b="fee")}))
          ) THEN 'leg_fee_mismatch'
        END AS verdict
    FROM agg
)
SELECT (SELECT count(*) FROM t) AS examined,
       CASE WHEN CAST(:since AS timestamptz) IS NOT NULL THEN (SELECT array_agg(txid) FROM t) END AS scope_ids,
       j.* FROM (SELECT 1) one
LEFT JOIN judged j ON j.verdict IS NOT NULL
ORDER BY j.time, j.txid
"""

_ORDERS = """
WITH tspan AS (SELECT min(time) AS lo, max(time) AS hi FROM kraken.trade WHERE account = :account),
o AS MATERIALIZED (
    SELECT o.txid, o.vol_exec, o.cost, o.fee, o.closetm, o.opentm, o.trades AS listed
    FROM kraken.closed_order o, tspan
    WHERE o.account = :account AND o.closetm <= :as_of AND o.opentm >= tspan.lo AND o.closetm <= tspan.hi + interval '1 day'
      AND (CAST(:since AS timestamptz) IS NULL OR o.updated_at > CAST(:since AS timestamptz)
           OR EXISTS (SELECT 1 FROM kraken.trade x WHERE x.account = :account AND x.ordertxid = o.txid
                      AND x.updated_at > CAST(:since AS timestamptz)))
),
sums AS (
    SELECT o.txid, o.vol_exec, o.cost, o.fee, o.closetm, o.listed,
           count(t.txid) AS n, coalesce(sum(t.vol), 0) AS vol, coalesce(sum(t.cost), 0) AS tcost,
           coalesce(sum(t.fee), 0) AS tfee, array_agg(t.txid ORDER BY t.txid) FILTER (WHERE t.txid IS NOT NULL) AS ids
    FROM o LEFT JOIN kraken.trade t ON t.account = :account AND t.ordertxid = o.txid
    GROUP BY o.txid, o.vol_exec, o.cost, o.fee, o.closetm, o.listed
)
SELECT (SELECT count(*) FROM o) AS examined,
       CASE WHEN CAST(:since AS timestamptz) IS NOT NULL THEN (SELECT array_agg(txid) FROM o) END AS scope_ids,
       s.* FROM (SELECT 1) one
LEFT JOIN sums s ON abs(s.vol_exec - s.vol) * 2 >= power(10::numeric, -scale(s.vol_exec))
    OR abs(s.cost - s.tcost) * 2 >= power(10::numeric, -scale(s.cost)) * greatest(s.n, 1)
    OR abs(s.fee - s.tfee) * 2 >= power(10::numeric, -scale(s.fee)) * greatest(s.n, 1)
ORDER BY s.closetm, s.txid
"""


def trade_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Trades examined, their ids when incremental, and the ones whose legs disagree (`verdict`, legs).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    return _run(conn, _TRADES, {"account": account, "as_of": as_of, "since": since})


def order_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Closed orders examined, their ids when incremental, and the ones whose vol_exec, cost or fee differ from their trades' sums.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    return _run(conn, _ORDERS, {"account": account, "as_of": as_of, "since": since})


def _run(conn: Connection, sql: str,
         params: dict[str, Any]) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    examined, ids, out = 0, None, []
    for row in conn.execute(text(sql), params).mappings():
        examined, ids = int(row["examined"]), row["scope_ids"]
        if row["txid"] is not None:
            out.append(dict(row))
    return examined, (list(ids or []) if params["since"] is not None else None), out

