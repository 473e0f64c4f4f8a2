"""Trade ↔ ledger legs and closed order ↔ trades, in SQL; only the rows that disagree come back.

Trade legs are the trade's `ledgers` ids when TradesHistory gave them, else the ledger rows whose refid
is the trade txid. A trade agrees when every listed leg is stored, exactly one leg moves `vol` of the base
(bought: +, sold: -), one moves `cost` of the quote (the other sign), and the fee agrees with where it sits
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
    FROM {{trades}} tr, span
    WHERE tr.account = :account AND tr.time <= :as_of AND tr.time BETWEEN span.lo AND span.hi
),
leg AS (
    SELECT t.txid, e.ledger_id = ANY(t.ledgers) AS listed, e.fee,
           CASE WHEN e.amount = 0 THEN 'k'
                WHEN abs(e.amount) = t.vol THEN CASE WHEN (e.amount > 0) = (t.type = 'buy') THEN 'b' ELSE 'x' END
                WHEN abs(e.amount) = t.cost THEN CASE WHEN (e.amount < 0) = (t.type = 'buy') THEN 'q' ELSE 'x' END
                ELSE 'x' END AS kind,
           upper(e.asset) IN ('ZUSD', 'USD') AS usd
    FROM t JOIN kraken.ledger_entry e ON e.account = :account AND e.refid = t.txid
),
lc AS (
    SELECT txid, count(*) FILTER (WHERE listed) AS n_listed,
           count(*) FILTER (WHERE kind = 'b') AS n_base, count(*) FILTER (WHERE kind = 'q') AS n_quote,
           count(*) FILTER (WHERE kind = 'x') AS n_other,
           coalesce(sum(fee) FILTER (WHERE kind = 'q'), 0) AS qfee,
           coalesce(sum(fee) FILTER (WHERE kind = 'b'), 0) AS bfee,
           coalesce(sum(fee) FILTER (WHERE kind = 'k'), 0) AS kfee, bool_or(kind = 'q' AND usd) AS usd_quote
    FROM leg GROUP BY txid
),
judged AS (
    SELECT t.txid, t.type, t.vol, t.cost, t.fee, t.price, t.pair, t.time, t.ledgers,
        CASE
          WHEN lc.txid IS NULL AND t.ledgers IS NULL THEN 'no_legs'
          WHEN t.ledgers IS NOT NULL AND coalesce(lc.n_listed, 0) < cardinality(t.ledgers) THEN 'missing_leg'
          WHEN n_other > 0 OR n_base <> 1 OR n_quote <> 1 THEN 'leg_amount_mismatch'
          WHEN NOT (
               (bfee = 0 AND kfee = 0 AND abs(qfee - t.fee) <= {_TOL.format(a="qfee", b="t.fee")})
            OR (bfee > 0 AND kfee = 0
                AND abs(bfee * t.price + qfee - t.fee) <= t.fee / 50 + {_TOL.format(a="qfee", b="t.fee")})
            OR (kfee > 0 AND bfee = 0 AND qfee = 0
                AND (NOT usd_quote OR abs(kfee / 100 - t.fee) <= {_TOL.format(a="kfee", b="t.fee")}))
          ) THEN 'leg_fee_mismatch'
        END AS verdict
    FROM t LEFT JOIN lc ON lc.txid = t.txid
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


# Incremental: only the trades (orders) changed after `since`, or whose legs (trades) changed, by id
# (OFFSET 0: a primary-key lookup per id, not a scan of every trade by time).
_CHANGED_TRADES = """(SELECT c.* FROM (
        SELECT txid FROM kraken.trade WHERE account = :account AND updated_at > :since
        UNION
        SELECT refid FROM kraken.ledger_entry WHERE account = :account AND updated_at > :since AND refid IS NOT NULL
    ) ids CROSS JOIN LATERAL (
        SELECT * FROM kraken.trade y WHERE y.account = :account AND y.txid = ids.txid OFFSET 0) c)"""
_CHANGED_ORDERS = """(SELECT c.* FROM (
        SELECT txid FROM kraken.closed_order WHERE account = :account AND updated_at > :since
        UNION
        SELECT ordertxid FROM kraken.trade WHERE account = :account AND updated_at > :since AND ordertxid IS NOT NULL
    ) ids CROSS JOIN LATERAL (
        SELECT * FROM kraken.closed_order y WHERE y.account = :account AND y.txid = ids.txid OFFSET 0) c)"""


def trade_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Trades examined, their ids when incremental, and the ones whose legs disagree (`verdict`, legs).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    sql = _TRADES.replace("{trades}", "kraken.trade" if since is None else _CHANGED_TRADES)
    examined, ids, rows = _run(conn, sql, {"account": account, "as_of": as_of, "since": since})
    trade_legs(conn, account, rows)
    return examined, ids, rows


def order_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Closed orders examined, their ids when incremental, and the ones whose vol_exec, cost or fee differ
    from their trades' sums.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    sql = _ORDERS.replace("{orders}", "kraken.closed_order" if since is None else _CHANGED_ORDERS)
    examined, ids, rows = _run(conn, sql, {"account": account, "as_of": as_of, "since": since})
    order_trade_ids(conn, account, rows)
    return examined, ids, rows


def trade_legs(conn: Connection, account: str, rows: list[dict[str, Any]]) -> None:
    """Fill in each disagreeing trade's legs (stored ones by refid, listed ids not stored with asset None)."""
    if not rows:
        return
    found: dict[str, list[tuple[str, str | None, Any, Any]]] = {}
    for r in conn.execute(text(
            "SELECT refid, ledger_id, asset, amount, fee FROM kraken.ledger_entry "
            "WHERE account = :account AND refid = ANY(:txids) ORDER BY ledger_id"),
            {"account": account, "txids": [row["txid"] for row in rows]}):
        found.setdefault(r.refid, []).append((r.ledger_id, r.asset, r.amount, r.fee))
    for row in rows:
        legs = found.get(row["txid"], [])
        have = {leg[0] for leg in legs}
        legs += [(i, None, None, None) for i in row["ledgers"] or [] if i not in have]
        legs.sort(key=lambda leg: leg[0])
        row["leg_ids"], row["assets"] = [leg[0] for leg in legs], [leg[1] for leg in legs]
        row["amounts"], row["fees"] = [leg[2] for leg in legs], [leg[3] for leg in legs]


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


def _run(conn: Connection, sql: str,
         params: dict[str, Any]) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    examined, ids, out = 0, None, []
    for row in conn.execute(text(sql), params).mappings():
        examined, ids = int(row["examined"]), row["scope_ids"]
        if row["txid"] is not None:
            out.append(dict(row))
    return examined, (list(ids or []) if params["since"] is not None else None), out

