"""The SQL behind the listener's health line and the WS <-> REST reconciliation check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text


def listener_health(engine: Engine) -> list[dict[str, Any]]:
    """`reporting.listener_health`, one dict per account."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM reporting.listener_health ORDER BY account"))
        return [dict(r._mapping) for r in rows]


def listener_health_lines(engine: Engine) -> list[str]:
    """One line per account for `kraken-etl status` (nothing when no listener ever ran)."""
    lines = []
    for h in listener_health(engine):
        since = h["connected_since"].isoformat(timespec="seconds") if h["connected_since"] else "—"
        last = h["last_message_at"].isoformat(timespec="seconds") if h["last_message_at"] else "never"
        state = "healthy" if h["healthy"] else h["status"]
        lines.append(f"listener {h['account']}: {state}, connected since {since}, last message {last}, "
                     f"{h['messages_today']:,} messages today, gaps {h['gaps_filled']}/{h['gaps_total']} filled"
                     f"{', ' + str(h['gaps_open']) + ' open' if h['gaps_open'] else ''}")
    return lines


# -- the WS <-> REST check (kraken_etl.recon.wsrest turns these rows into findings) --------------------

_WS_BALANCE_NOT_IN_REST = text("""
    SELECT w.ledger_id AS id, w.asset, w.wallet_type || ' / ' || w.wallet_id AS wallet, w.amount, w.fee,
           w.timestamp
      FROM kraken.ws_balance_update w
     WHERE w.account = :account AND w.timestamp < :until
       AND NOT EXISTS (SELECT 1 FROM kraken.ledger_entry l
                        WHERE l.account = w.account AND l.ledger_id = w.ledger_id)
     ORDER BY w.timestamp, w.ledger_id
""")
_WS_TRADE_NOT_IN_REST = text("""
    SELECT e.exec_id AS id, e.symbol AS asset, NULL AS wallet, e.last_qty AS amount, e.fee, e.timestamp
      FROM kraken.ws_execution e
     WHERE e.account = :account AND e.exec_type = 'trade' AND e.exec_id IS NOT NULL AND e.timestamp < :until
       AND NOT EXISTS (SELECT 1 FROM kraken.trade t WHERE t.account = e.account AND t.txid = e.exec_id)
     ORDER BY e.timestamp, e.exec_id
""")
_AMOUNT_MISMATCH = text("""
    SELECT w.ledger_id AS id, w.asset, w.wallet_type || ' / ' || w.wallet_id AS wallet,
           l.amount AS rest_amount, w.amount AS ws_amount, l.fee AS rest_fee, w.fee AS ws_fee, w.timestamp
      FROM kraken.ws_balance_update w
      JOIN kraken.ledger_entry l ON l.account = w.account AND l.ledger_id = w.ledger_id
     WHERE w.account = :account AND (l.amount <> w.amount OR l.fee <> w.fee)
     ORDER BY w.timestamp, w.ledger_id
""")
_COVERED = """
    NOT EXISTS (SELECT 1 FROM kraken.listener_gap g
                 WHERE g.account = :account AND g.status = 'filled'
                   AND {time} BETWEEN g.gap_start - make_interval(secs => :margin)
                                  AND g.gap_end + make_interval(secs => :margin))
"""
_REST_LEDGER_UNSEEN = text(f"""
    SELECT l.ledger_id AS id, l.asset, COALESCE(l.wallet, l.wallet_resolved) AS wallet, l.amount, l.fee,
           l.time AS timestamp
      FROM kraken.ledger_entry l
     WHERE l.account = :account AND l.time >= :since AND l.time < :until
       AND NOT EXISTS (SELECT 1 FROM kraken.ws_balance_update w
                        WHERE w.account = l.account AND w.ledger_id = l.ledger_id)
       AND {_COVERED.format(time="l.time")}
     ORDER BY l.time, l.ledger_id
""")
_REST_TRADE_UNSEEN = text(f"""
    SELECT t.txid AS id, t.pair AS asset, NULL AS wallet, t.vol AS amount, t.fee, t.time AS timestamp
      FROM kraken.trade t
     WHERE t.account = :account AND t.time >= :since AND t.time < :until
       AND NOT EXISTS (SELECT 1 FROM kraken.ws_execution e WHERE e.account = t.account AND e.exec_id = t.txid)
       AND {_COVERED.format(time="t.time")}
     ORDER BY t.time, t.txid
""")


@dataclass(frozen=True, slots=True)
class CheckInputs:
    """What the WS <-> REST check compares, as rows (dicts)."""

    ws_balances_not_in_rest: list[dict[str, Any]]
    ws_trades_not_in_rest: list[dict[str, Any]]
    amount_mismatches: list[dict[str, Any]]
    rest_ledgers_unseen: list[dict[str, Any]]
    rest_trades_unseen: list[dict[str, Any]]
    examined: int


def check_inputs(conn: Connection, account: str, *, ledgers: str, trades: str, margin: float = 5.0) -> CheckInputs:
    """The rows the check reports on. REST is expected to hold WS rows older than its bookmark (the next
    sync's window end); the listener is expected to have seen REST rows between its first start and the
    last moment it read its socket (a stopped session's `read_until`, not the end of its shutdown),
    except inside a filled gap (widened by `margin` seconds). `ledgers` and `trades` name the REST streams
    of ledger entries and trades (their bookmarks)."""
    marks: dict[str, Any] = {row[0]: row[1] for row in conn.execute(text(
        "SELECT stream, bookmark FROM kraken.sync_state WHERE account = :a AND stream = ANY(CAST(:s AS text[]))"),
        {"a": account, "s": [ledgers, trades]})}
    since, alive = conn.execute(text(
        "SELECT min(started_at), max(coalesce(read_until, greatest(last_message_at, stopped_at))) "
        "FROM kraken.listener_session "
        "WHERE account = :a"), {"a": account}).one()

    def rows(stmt: Any, **params: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in conn.execute(stmt, {"account": account, "margin": margin, **params})]

    def until(stream: str) -> Any:
        mark = marks.get(stream)
        return min(mark, alive) if mark is not None and alive is not None else None

    empty: list[dict[str, Any]] = []
    ws_bal = rows(_WS_BALANCE_NOT_IN_REST, until=marks[ledgers]) if marks.get(ledgers) else empty
    ws_trd = rows(_WS_TRADE_NOT_IN_REST, until=marks[trades]) if marks.get(trades) else empty
    unseen_l = rows(_REST_LEDGER_UNSEEN, since=since, until=until(ledgers)) if since and until(ledgers) else empty
    unseen_t = rows(_REST_TRADE_UNSEEN, since=since, until=until(trades)) if since and until(trades) else empty
    examined = int(conn.execute(text(
        "SELECT (SELECT count(*) FROM kraken.ws_balance_update WHERE account = :a) "
        "+ (SELECT count(*) FROM kraken.ws_execution WHERE account = :a)"), {"a": account}).scalar_one())
    return CheckInputs(ws_bal, ws_trd, rows(_AMOUNT_MISMATCH), unseen_l, unseen_t, examined)
