"""Trade ↔ ledger legs in SQL; only the trades that disagree come back (closed orders: `recon_orders`).

Trade legs are the trade's `ledgers` ids when TradesHistory gave them, else the ledger rows whose refid
is the trade txid. A trade agrees when every listed leg is stored, exactly one leg moves `vol` of the base
(bought: +, sold: -), one moves `cost` of the quote (the other sign), and the fee agrees with where it sits
(seen in real accounts): on the quote leg = the trade's fee; on the base leg ≈ the fee converted at the
trade's price (Kraken states the trade fee in the quote currency, rounded to the quote's precision, while
the base leg's fee is the rate on the base amount: they may differ by fee/50 for the conversion plus one
unit of the quote leg's precision for the rounding, which dominates on small trades); on a KFEE leg
(amount 0) = fee / 0.01 USD for USD-quoted pairs. Trades outside the stored ledger's time range are not
judged (partial history).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
judged AS (
    SELECT t.txid, t.type, t.vol, t.cost, t.fee, t.price, t.pair, t.time, t.ledgers,
        CASE
          WHEN lc.txid IS NULL AND t.ledgers IS NULL THEN 'no_legs'
          WHEN t.ledgers IS NOT NULL AND coalesce(lc.n_listed, 0) < cardinality(t.ledgers) THEN 'missing_leg'
          WHEN n_other > 0 OR n_base <> 1 OR n_quote <> 1 THEN 'leg_amount_mismatch'
          WHEN NOT (
               (bfee = 0 AND kfee = 0 AND abs(qfee - t.fee) <= {_TOL.format(a="qfee", b="t.fee")})
            OR (bfee > 0 AND kfee = 0
                AND abs(bfee * t.price + qfee - t.fee)
                    <= t.fee / 50 + greatest({_TOL.format(a="qfee", b="t.fee")}, power(10::numeric, -qscale)))
            OR (kfee > 0 AND bfee = 0 AND qfee = 0
                AND (NOT usd_quote OR abs(kfee / 100 - t.fee) <= {_TOL.format(a="kfee", b="t.fee")}))
          ) THEN 'leg_fee_mismatch'
        END AS verdict
    -- each trade's legs by the refid index and aggregated per trade (no rows: no legs, lc all NULL)
    FROM t LEFT JOIN LATERAL (
        SELECT leg.txid, count(*) FILTER (WHERE listed) AS n_listed,
               count(*) FILTER (WHERE kind = 'b') AS n_base, count(*) FILTER (WHERE kind = 'q') AS n_quote,
               count(*) FILTER (WHERE kind = 'x') AS n_other,
               coalesce(sum(fee) FILTER (WHERE kind = 'q'), 0) AS qfee,
               coalesce(sum(fee) FILTER (WHERE kind = 'b'), 0) AS bfee,
               coalesce(sum(fee) FILTER (WHERE kind = 'k'), 0) AS kfee, bool_or(kind = 'q' AND usd) AS usd_quote,
               coalesce(max(scale(amount)) FILTER (WHERE kind = 'q'), 0) AS qscale
        FROM (
            SELECT e.refid AS txid, e.ledger_id = ANY(t.ledgers) AS listed, e.fee, e.amount,
                   CASE WHEN e.amount = 0 THEN 'k'
                        WHEN abs(e.amount) = t.vol
                            THEN CASE WHEN (e.amount > 0) = (t.type = 'buy') THEN 'b' ELSE 'x' END
                        WHEN abs(e.amount) = t.cost
                            THEN CASE WHEN (e.amount < 0) = (t.type = 'buy') THEN 'q' ELSE 'x' END
                        ELSE 'x' END AS kind,
                   upper(e.asset) IN ('ZUSD', 'USD') AS usd
            FROM kraken.ledger_entry e WHERE e.account = :account AND e.refid = t.txid OFFSET 0
        ) leg GROUP BY leg.txid
    ) lc ON true
)
SELECT (SELECT count(*) FROM t) AS examined,
       CASE WHEN CAST(:since AS timestamptz) IS NOT NULL THEN (SELECT array_agg(txid) FROM t) END AS scope_ids,
       j.* FROM (SELECT 1) one
LEFT JOIN judged j ON j.verdict IS NOT NULL
ORDER BY j.time, j.txid
"""

# A full run's first pass over every trade: one ordered pass over trade ⋈ legs by refid that proves the
# common cases clean: two legs, every listed id stored, one moving exactly `vol` of the base and one moving
# exactly `cost` of the quote (vol <> cost, both > 0), and either the whole fee on the quote leg (the base
# leg's fee 0) or a base-leg fee within fee/50 of the trade's fee at its price with none on the quote leg.
# The second case is the part of `_TRADES`'s base-fee rule that needs no other row (its allowance adds a
# rounding unit on top of fee/50), so every verdict `_TRADES` would give such a trade is NULL; only the
# trades this cannot prove clean (none, or a few percent: small base-fee trades inside the rounding unit, a
# KFEE leg, a missing or odd leg) are judged by `_TRADES`, so the findings are the same.
_SUSPECT_TRADES = """
SELECT t.txid FROM (
    SELECT tr.txid, tr.ledgers IS NULL AS unlisted, coalesce(cardinality(tr.ledgers), 0) AS nled,
           tr.ledgers[1] AS l1, tr.ledgers[2] AS l2, tr.fee, tr.price,
           coalesce(tr.type IS NOT NULL AND tr.vol > 0 AND tr.cost > 0 AND tr.vol <> tr.cost, false) AS plain,
           CASE WHEN tr.type = 'buy' THEN tr.vol ELSE -tr.vol END AS base,
           CASE WHEN tr.type = 'buy' THEN -tr.cost ELSE tr.cost END AS quote
    FROM kraken.trade tr
    WHERE tr.account = :account AND tr.time <= :as_of
      AND tr.time BETWEEN CAST(:lo AS timestamptz) AND CAST(:hi AS timestamptz)
    ORDER BY tr.account, tr.txid OFFSET 0
) t LEFT JOIN kraken.ledger_entry e ON e.account = :account AND e.refid = t.txid
GROUP BY t.txid
HAVING NOT coalesce(bool_and(t.plain) AND count(e.ledger_id) = 2
    AND (bool_and(t.unlisted) OR (max(t.nled) <= 2
         AND count(*) FILTER (WHERE e.ledger_id = t.l1 OR e.ledger_id = t.l2) >= max(t.nled)))
    AND ((count(*) FILTER (WHERE e.amount = t.base AND e.fee = 0) = 1
          AND count(*) FILTER (WHERE e.amount = t.quote AND e.fee = t.fee) = 1)
      OR (count(*) FILTER (WHERE e.amount = t.base AND e.fee > 0 AND abs(e.fee * t.price - t.fee) <= t.fee / 50) = 1
          AND count(*) FILTER (WHERE e.amount = t.quote AND e.fee = 0) = 1)), false)
"""

_TRADES_IN_SPAN = """
SELECT count(*) FROM kraken.trade
WHERE account = :account AND time <= :as_of AND time BETWEEN CAST(:lo AS timestamptz) AND CAST(:hi AS timestamptz)
"""

_LEDGER_SPAN = "SELECT min(time) AS lo, max(time) AS hi FROM kraken.ledger_entry WHERE account = :account"


def by_key(table: str, ids: str) -> str:
    """The rows of `kraken.<table>` whose txid is one of `ids` (a query of one `txid` column), each by its
    key (OFFSET 0: a primary-key lookup per id, not a scan of the table filtered by id)."""
    return f"""(SELECT c.* FROM ({ids}) ids CROSS JOIN LATERAL (
        SELECT * FROM kraken.{table} y WHERE y.account = :account AND y.txid = ids.txid OFFSET 0) c)"""


# A full run's suspects, which the fast pass could not prove clean.
_SUSPECTS_ONLY = by_key("trade", "SELECT unnest(CAST(:suspects AS text[])) AS txid")

# Incremental: only the trades changed after `since`, or whose legs changed.
_CHANGED_TRADES = by_key("trade", """
        SELECT txid FROM kraken.trade WHERE account = :account AND updated_at > :since
        UNION
        SELECT refid FROM kraken.ledger_entry WHERE account = :account AND updated_at > :since AND refid IS NOT NULL
    """)


def trade_mismatches(conn: Connection, account: str, as_of: datetime,
                     since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Trades examined, their ids when incremental, and the ones whose legs disagree (`verdict`, legs).

    A full run proves the common trades clean in one ordered pass (`_SUSPECT_TRADES`) and judges the rest
    with the same SQL an incremental run uses on the trades it re-examines.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params: dict[str, Any] = {"account": account, "as_of": as_of, "since": since}
    if since is None:
        examined, suspects = trade_suspects(conn, account, as_of)
        if not suspects:
            return examined, None, []
        _, _, rows = judged(conn, _TRADES.replace("{trades}", _SUSPECTS_ONLY), {**params, "suspects": suspects})
        trade_legs(conn, account, rows)
        return examined, None, rows
    examined, ids, rows = judged(conn, _TRADES.replace("{trades}", _CHANGED_TRADES), params)
    trade_legs(conn, account, rows)
    return examined, ids, rows


def trade_suspects(conn: Connection, account: str, as_of: datetime) -> tuple[int, list[str]]:
    """A full run's fast pass: the trades in the stored ledger's span, and the ids of those it cannot prove
    clean (`_SUSPECT_TRADES`), which the exact SQL then judges.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params: dict[str, Any] = {"account": account, "as_of": as_of}
    span = conn.execute(text(_LEDGER_SPAN), params).one()
    params.update(lo=span.lo, hi=span.hi)
    examined = int(conn.execute(text(_TRADES_IN_SPAN), params).scalar_one())
    with ordered_plans(conn):
        suspects = list(conn.execute(text(_SUSPECT_TRADES), params).scalars())
    return examined, suspects


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


_HASH_AND_SORT = ("enable_hashagg", "enable_hashjoin", "enable_sort", "enable_seqscan", "enable_nestloop")


@contextmanager
def ordered_plans(conn: Connection) -> Iterator[None]:
    """Merge joins and sorted aggregates for one statement: both sides come sorted from their indexes (the
    keys, the covering refid / ordertxid indexes). A hash table of every trade, or a sort of the ledger by
    refid, costs two to three times as much (measured with EXPLAIN ANALYZE at 1M entries); the planner's
    estimates do not see it, so the plan is asked for."""
    for setting in _HASH_AND_SORT:
        conn.execute(text(f"SET LOCAL {setting} = off"))
    yield  # on an error the transaction rolls back, and SET LOCAL with it
    for setting in _HASH_AND_SORT:
        conn.execute(text(f"RESET {setting}"))


def judged(conn: Connection, sql: str,
           params: dict[str, Any]) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Rows examined, their ids when incremental (`params["since"]` set), and the rows that disagree, from a
    statement that returns `examined` and `scope_ids` on every row (one row with a NULL txid when none do)."""
    examined, ids, out = 0, None, []
    for row in conn.execute(text(sql), params).mappings():
        examined, ids = int(row["examined"]), row["scope_ids"]
        if row["txid"] is not None:
            out.append(dict(row))
    return examined, (list(ids or []) if params["since"] is not None else None), out

