"""Trade ↔ ledger legs in SQL (closed orders: `recon_orders`): one fast pass proves the common trades
clean; the few it cannot come back with their legs, and `kraken_etl.recon.links` judges them.

A full run passes over every trade in the stored ledger's time range (trades outside it are not judged:
partial history); an incremental run over the trades changed after `since`, or whose legs changed. Trade
legs are the ledger rows whose refid is the trade's txid; the trade's `ledgers` lists the ids it expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

# The fast pass: one ordered pass over trade ⋈ legs by refid that proves the common cases clean: two legs,
# every listed id stored, one moving exactly `vol` of the base and one moving exactly `cost` of the quote
# (vol <> cost, both > 0), and either the whole fee on the quote leg (the base leg's fee 0) or a base-leg fee
# within fee/50 of the trade's fee at its price with none on the quote leg. Each is a case the rules of
# `kraken_etl.recon.links.verdict` accept; only the trades this cannot prove clean (none, or a few
# percent: small base-fee trades inside the rounding unit, a KFEE leg, a missing or odd leg) come back.
_SUSPECT_TRADES = """
SELECT t.txid FROM (
    SELECT tr.txid, tr.ledgers IS NULL AS unlisted, coalesce(cardinality(tr.ledgers), 0) AS nled,
           tr.ledgers[1] AS l1, tr.ledgers[2] AS l2, tr.fee, tr.price,
           coalesce(tr.type IS NOT NULL AND tr.vol > 0 AND tr.cost > 0 AND tr.vol <> tr.cost, false) AS plain,
           CASE WHEN tr.type = 'buy' THEN tr.vol ELSE -tr.vol END AS base,
           CASE WHEN tr.type = 'buy' THEN -tr.cost ELSE tr.cost END AS quote
    FROM kraken.trade tr
    WHERE tr.account = :account AND tr.time <= :as_of
      AND tr.time BETWEEN CAST(:lo AS timestamptz) AND CAST(:hi AS timestamptz) {scope}
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

_IN_SPAN = """kraken.trade tr WHERE tr.account = :account AND tr.time <= :as_of
  AND tr.time BETWEEN CAST(:lo AS timestamptz) AND CAST(:hi AS timestamptz)"""

_LEDGER_SPAN = "SELECT min(time) AS lo, max(time) AS hi FROM kraken.ledger_entry WHERE account = :account"

# Incremental: the trades changed after `since`, or whose legs changed.
_CHANGED = """
SELECT txid FROM kraken.trade WHERE account = :account AND updated_at > :since
UNION
SELECT refid FROM kraken.ledger_entry WHERE account = :account AND updated_at > :since AND refid IS NOT NULL
"""

_SCOPED = "AND tr.txid = ANY(CAST(:ids AS text[]))"

_SUSPECT_ROWS = """
SELECT txid, type, vol, cost, fee, price, pair, time, ledgers, margin, posstatus, ordertype FROM kraken.trade
WHERE account = :account AND txid = ANY(CAST(:txids AS text[])) ORDER BY time, txid
"""

_LEGS = """
SELECT refid, ledger_id, asset, amount, fee, type FROM kraken.ledger_entry
WHERE account = :account AND refid = ANY(CAST(:txids AS text[])) ORDER BY ledger_id
"""


def suspect_trades(conn: Connection, account: str, as_of: datetime,
                   since: datetime | None = None) -> tuple[int, list[str] | None, list[dict[str, Any]]]:
    """Trades examined, their ids when incremental, and the ones the fast pass could not prove clean, each
    with its legs (`legs`: (ledger_id, asset, amount, fee) of every stored leg, by id; `types`: each leg's
    ledger type by id, for position trades).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params: dict[str, Any] = {"account": account, "as_of": as_of}
    examined, ids = scope(conn, params, since, span=_LEDGER_SPAN, rows=_IN_SPAN, key="tr.txid", changed=_CHANGED)
    if ids is None:
        with ordered_plans(conn):
            suspects = list(conn.execute(text(_SUSPECT_TRADES.format(scope="")), params).scalars())
    else:
        suspects = list(conn.execute(text(_SUSPECT_TRADES.format(scope=_SCOPED)), params).scalars())
    if not suspects:
        return examined, ids, []
    rows = [dict(r) for r in conn.execute(text(_SUSPECT_ROWS), {"account": account, "txids": suspects}).mappings()]
    legs: dict[str, list[tuple[str, str, Any, Any]]] = {}
    types: dict[str, dict[str, str]] = {}
    for r in conn.execute(text(_LEGS), {"account": account, "txids": suspects}):
        legs.setdefault(r.refid, []).append((r.ledger_id, r.asset, r.amount, r.fee))
        types.setdefault(r.refid, {})[r.ledger_id] = r.type
    for row in rows:
        row["legs"], row["types"] = legs.get(row["txid"], []), types.get(row["txid"], {})
    return examined, ids, rows


def scope(conn: Connection, params: dict[str, Any], since: datetime | None, *, span: str, rows: str, key: str,
          changed: str) -> tuple[int, list[str] | None]:
    """What a check examines: the rows `rows` (``table alias WHERE …``) selects inside the time span
    `span` returns (`lo`, `hi`, put into `params`), and when incremental only those whose `key` is among
    the ids `changed` returns (put into `params` as `ids`). Returns the rows examined and, when
    incremental, their ids."""
    lo, hi = conn.execute(text(span), params).one()
    params.update(lo=lo, hi=hi)
    if since is None:
        return int(conn.execute(text(f"SELECT count(*) FROM {rows}"), params).scalar_one()), None
    params["ids"] = list(conn.execute(text(changed), {**params, "since": since}).scalars())
    ids = list(conn.execute(text(f"SELECT {key} FROM {rows} AND {key} = ANY(CAST(:ids AS text[]))"), params).scalars())
    params["ids"] = ids
    return len(ids), ids


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
