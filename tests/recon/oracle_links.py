"""The test oracle of `trade_ledger` and `order_trades`: the plain SQL the checks once ran, every trade and
order judged by one statement, written apart from the product (it imports nothing of kraken_etl).

Trade legs are the ledger rows whose refid is the trade's txid; the verdicts and their rules are the ones
docs/reconciliation.md states for the two checks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, text

_TOL = "power(10::numeric, -greatest(scale({a}), scale({b}))) / 2"

TRADES = f"""
WITH span AS (
    SELECT min(time) AS lo, max(time) AS hi FROM kraken.ledger_entry WHERE account = :account
),
t AS MATERIALIZED (
    SELECT tr.txid, tr.type, tr.vol, tr.cost, tr.fee, tr.price, tr.ledgers, tr.time
    FROM kraken.trade tr, span
    WHERE tr.account = :account AND tr.time <= :as_of AND tr.time BETWEEN span.lo AND span.hi
)
SELECT t.txid,
    CASE
      WHEN lc.txid IS NULL AND t.ledgers IS NULL THEN 'no_legs'
      WHEN t.ledgers IS NOT NULL AND coalesce(lc.n_listed, 0) < cardinality(t.ledgers) THEN 'missing_leg'
      WHEN (n_other > 0 OR n_base <> 1 OR n_quote <> 1)
        AND NOT (n_base = 0 AND n_quote = 1 AND n_other >= 2 AND x_assets = 1 AND x_sided AND abs(x_sum) = t.vol)
        THEN 'leg_amount_mismatch'
      WHEN NOT (
           (bfee = 0 AND kfee = 0 AND abs(qfee - t.fee) <= {_TOL.format(a="qfee", b="t.fee")})
        OR (bfee > 0 AND kfee = 0
            AND abs(bfee * t.price + qfee - t.fee)
                <= t.fee / 50 + greatest({_TOL.format(a="qfee", b="t.fee")}, power(10::numeric, -qscale)))
        OR (kfee > 0 AND bfee = 0 AND qfee = 0
            AND (NOT usd_quote OR abs(kfee / 100 - t.fee) <= {_TOL.format(a="kfee", b="t.fee")}))
      ) THEN 'leg_fee_mismatch'
    END AS verdict
FROM t LEFT JOIN LATERAL (
    SELECT leg.txid, count(*) FILTER (WHERE listed) AS n_listed,
           count(*) FILTER (WHERE kind = 'b') AS n_base, count(*) FILTER (WHERE kind = 'q') AS n_quote,
           count(*) FILTER (WHERE kind = 'x') AS n_other,
           coalesce(sum(fee) FILTER (WHERE kind = 'q'), 0) AS qfee,
           coalesce(sum(fee) FILTER (WHERE kind IN ('b', 'x')), 0) AS bfee,
           count(DISTINCT asset) FILTER (WHERE kind = 'x') AS x_assets,
           sum(amount) FILTER (WHERE kind = 'x') AS x_sum,
           bool_and((amount > 0) = (t.type = 'buy')) FILTER (WHERE kind = 'x') AS x_sided,
           coalesce(sum(fee) FILTER (WHERE kind = 'k'), 0) AS kfee, bool_or(kind = 'q' AND usd) AS usd_quote,
           coalesce(max(scale(amount)) FILTER (WHERE kind = 'q'), 0) AS qscale
    FROM (
        SELECT e.refid AS txid, e.ledger_id = ANY(t.ledgers) AS listed, e.fee, e.amount, e.asset,
               CASE WHEN e.amount = 0 THEN 'k'
                    WHEN abs(e.amount) = t.vol
                        THEN CASE WHEN (e.amount > 0) = (t.type = 'buy') THEN 'b' ELSE 'x' END
                    WHEN abs(e.amount) = t.cost
                        THEN CASE WHEN (e.amount < 0) = (t.type = 'buy') THEN 'q' ELSE 'x' END
                    ELSE 'x' END AS kind,
               upper(e.asset) IN ('ZUSD', 'USD') AS usd
        FROM kraken.ledger_entry e WHERE e.account = :account AND e.refid = t.txid
    ) leg GROUP BY leg.txid
) lc ON true
"""

ORDERS = """
WITH tspan AS (SELECT min(time) AS lo, max(time) AS hi FROM kraken.trade WHERE account = :account),
o AS MATERIALIZED (
    SELECT o.txid, o.vol_exec, o.cost, o.fee
    FROM kraken.closed_order o, tspan
    WHERE o.account = :account AND o.closetm <= :as_of
      AND o.opentm >= tspan.lo AND o.closetm <= tspan.hi + interval '1 day'
),
sums AS (
    SELECT o.txid, o.vol_exec, o.cost, o.fee, count(tr.txid) AS n, coalesce(sum(tr.vol), 0) AS vol,
           coalesce(sum(tr.cost), 0) AS tcost, coalesce(sum(tr.fee), 0) AS tfee
    FROM o LEFT JOIN kraken.trade tr ON tr.account = :account AND tr.ordertxid = o.txid
    GROUP BY o.txid, o.vol_exec, o.cost, o.fee
)
SELECT txid, abs(vol_exec - vol) * 2 >= power(10::numeric, -scale(vol_exec))
    OR abs(cost - tcost) * 2 >= power(10::numeric, -scale(cost)) * greatest(n, 1)
    OR abs(fee - tfee) * 2 >= power(10::numeric, -scale(fee)) * greatest(n, 1) AS mismatch
FROM sums
"""


def trade_verdicts(conn: Connection, account: str, as_of: datetime) -> dict[str, str | None]:
    """Every trade in the stored ledger's span and its verdict (None: it agrees)."""
    return {r.txid: r.verdict for r in conn.execute(text(TRADES), {"account": account, "as_of": as_of})}


def order_verdicts(conn: Connection, account: str, as_of: datetime) -> dict[str, bool]:
    """Every closed order in the stored trades' span and whether it disagrees with its trades."""
    return {r.txid: r.mismatch for r in conn.execute(text(ORDERS), {"account": account, "as_of": as_of})}
