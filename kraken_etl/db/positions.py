"""Kraken's open positions (OpenPositions, stored with the balance snapshots) and the SQL of the `positions`
check: what the stored trades and ledger say about each position.

A position is named by its opening trade's txid (Kraken's position id): the opening trade carries
`posstatus`; its closing (or settling) trades carry it as `postxid`. Its rollovers are `rollover` ledger
entries in its quote currency, attributed to it by `recon.rollovers` (by refid when the refid is the position
id, else by the positions open at the entry's time).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import insert

from kraken_etl.core.position import OpenPosition
from models.market import OpenPositionRow


def insert_open_positions(conn: Connection, account: str, positions: Sequence[OpenPosition]) -> int:
    """Store one OpenPositions answer (re-inserting the same moment is a no-op); returns rows written."""
    if not positions:
        return 0
    rows = [{"account": account, "postxid": p.postxid, "taken_at": p.taken_at, "ordertxid": p.ordertxid,
             "posstatus": p.posstatus, "pair": p.pair, "time": p.time, "time_raw": p.time_raw, "type": p.type,
             "ordertype": p.ordertype, "cost": p.cost, "fee": p.fee, "vol": p.vol, "vol_closed": p.vol_closed,
             "margin": p.margin, "value": p.value, "net": p.net, "rollovertm": p.rollovertm,
             "raw": json.loads(json.dumps(p.raw, default=str))} for p in positions]
    return conn.execute(insert(OpenPositionRow).values(rows).on_conflict_do_nothing()).rowcount or 0


def latest_snapshot(conn: Connection, account: str, as_of: datetime, asked: str) -> dict[str, Any] | None:
    """The latest TradeBalance moment up to `as_of` with its margin figures (the answer in `asked`, the code
    of the account's currency, when stored), or None."""
    row = conn.execute(text("""
        SELECT taken_at, asset, m, c, n, v, e, tb FROM kraken.trade_balance
        WHERE account = :account AND taken_at <= :as_of
        ORDER BY taken_at DESC, asset = :asked DESC, asset LIMIT 1
    """), {"account": account, "as_of": as_of, "asked": asked}).mappings().first()
    return None if row is None else dict(row)


def snapshot_positions(conn: Connection, account: str, taken_at: datetime) -> list[dict[str, Any]]:
    """Kraken's open positions stored at `taken_at`, with what our trades and ledger say about each: the
    opening trade (vol, cost, fee, margin, pair, type) and the closing trades stored up to then (their ids and
    the volume they closed: all of it, or part of it)."""
    return [dict(r) for r in conn.execute(text("""
        SELECT p.postxid, p.pair, p.type, p.vol, p.vol_closed, p.cost, p.fee, p.margin, p.value, p.net, p.time,
               t.txid AS trade, t.vol AS trade_vol, t.cost AS trade_cost, t.fee AS trade_fee,
               t.margin AS trade_margin, t.pair AS trade_pair, t.type AS trade_type, t.posstatus AS trade_posstatus,
               (SELECT array_agg(c.txid ORDER BY c.time, c.txid) FROM kraken.trade c
                 WHERE c.account = p.account AND c.postxid = p.postxid AND c.time <= p.taken_at) AS closed_by,
               (SELECT coalesce(sum(c.vol), 0) FROM kraken.trade c
                 WHERE c.account = p.account AND c.postxid = p.postxid AND c.time <= p.taken_at) AS closed_vol
        FROM kraken.open_position p
        LEFT JOIN kraken.trade t ON t.account = p.account AND t.txid = p.postxid
        WHERE p.account = :account AND p.taken_at = :taken_at
        ORDER BY p.time, p.postxid
    """), {"account": account, "taken_at": taken_at}).mappings()]


def position_spans(conn: Connection, account: str, since: datetime, upto: datetime) -> list[dict[str, Any]]:
    """The positions open at some moment of [`since`, `upto`]: id, pair, opening time, and the time of the last
    closing trade stored up to `upto` when those close its whole volume (`closed`, else None: still open)."""
    return [dict(r) for r in conn.execute(text("""
        SELECT * FROM (
          SELECT t.txid, t.pair, t.time AS opened,
                 (SELECT CASE WHEN sum(c.vol) >= t.vol THEN max(c.time) END FROM kraken.trade c
                   WHERE c.account = t.account AND c.postxid = t.txid AND c.time <= :upto) AS closed
          FROM kraken.trade t
          WHERE t.account = :account AND t.posstatus IS NOT NULL AND t.time <= :upto) s
        WHERE s.closed IS NULL OR s.closed >= :since
        ORDER BY s.opened, s.txid
    """), {"account": account, "since": since, "upto": upto}).mappings()]


def rollover_entries(conn: Connection, account: str, since: datetime, upto: datetime) -> list[dict[str, Any]]:
    """The `rollover` ledger entries of [`since`, `upto`], oldest first."""
    return [dict(r) for r in conn.execute(text("""
        SELECT ledger_id, refid, asset, time, fee FROM kraken.ledger_entry
        WHERE account = :account AND type = 'rollover' AND time >= :since AND time <= :upto
        ORDER BY time, ledger_id
    """), {"account": account, "since": since, "upto": upto}).mappings()]


def unlisted_open(conn: Connection, account: str, taken_at: datetime) -> list[dict[str, Any]]:
    """Positions our trades show open at `taken_at` (an opening trade then, closing trades by then that close
    less than its volume) that Kraken's OpenPositions at that moment does not list."""
    return [dict(r) for r in conn.execute(text("""
        SELECT t.txid, t.pair, t.type, t.vol, t.cost, t.margin, t.time FROM kraken.trade t
        WHERE t.account = :account AND t.posstatus IS NOT NULL AND t.time <= :taken_at
          AND (SELECT coalesce(sum(c.vol), 0) FROM kraken.trade c WHERE c.account = t.account
               AND c.postxid = t.txid AND c.time <= :taken_at) < t.vol
          AND NOT EXISTS (SELECT 1 FROM kraken.open_position p WHERE p.account = t.account
                          AND p.taken_at = :taken_at AND p.postxid = t.txid)
        ORDER BY t.time, t.txid
    """), {"account": account, "taken_at": taken_at}).mappings()]


def closed_positions(conn: Connection, account: str, as_of: datetime) -> list[dict[str, Any]]:
    """Opening trades Kraken marks closed or partly closed (up to `as_of`), with their closing trades (those
    Kraken names in the opening trade's `trades` when it names them: a partly closed position read before a
    later close names only the earlier ones), the profit or loss the ledger's `margin` entries of those trades
    realised, and those entries' fees."""
    return [dict(r) for r in conn.execute(text("""
        WITH closing AS (
          SELECT t.txid AS opening, c.txid, c.vol, c.cost, c.time FROM kraken.trade t
          JOIN kraken.trade c ON c.account = t.account AND c.postxid = t.txid
          WHERE t.account = :account AND t.posstatus IN ('closed', 'partial') AND t.time <= :as_of
            AND (t.position_trades IS NULL OR c.txid = ANY(t.position_trades)))
        SELECT t.txid, t.pair, t.vol, t.net, t.cvol, t.ccost, t.time, t.posstatus, t.position_trades,
               (SELECT array_agg(c.txid ORDER BY c.time, c.txid) FROM closing c WHERE c.opening = t.txid)
                 AS closed_by,
               (SELECT coalesce(sum(c.vol), 0) FROM closing c WHERE c.opening = t.txid) AS closed_vol,
               (SELECT coalesce(sum(c.cost), 0) FROM closing c WHERE c.opening = t.txid) AS closed_cost,
               (SELECT coalesce(sum(e.amount), 0) FROM closing c JOIN kraken.ledger_entry e
                  ON e.account = :account AND e.refid = c.txid AND e.type = 'margin'
                 WHERE c.opening = t.txid) AS realised,
               (SELECT coalesce(sum(e.fee), 0) FROM closing c JOIN kraken.ledger_entry e
                  ON e.account = :account AND e.refid = c.txid AND e.type = 'margin'
                 WHERE c.opening = t.txid) AS closing_fees,
               (SELECT count(*) FROM closing c JOIN kraken.ledger_entry e
                  ON e.account = :account AND e.refid = c.txid AND e.type = 'settled'
                 WHERE c.opening = t.txid) AS settled_legs
        FROM kraken.trade t
        WHERE t.account = :account AND t.posstatus IN ('closed', 'partial') AND t.time <= :as_of
        ORDER BY t.time, t.txid
    """), {"account": account, "as_of": as_of}).mappings()]
