"""The listener against the simulator on loopback: exactly once, gaps filled from REST, restart."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import Engine, text

from kraken_etl.simulator import RunningSimulator
from tests.listen.conftest import advance, ids, scalar, set_faults, start_listener, wait_for

WS_LEDGERS = "SELECT ledger_id FROM kraken.ws_balance_update WHERE account = 'main'"
REST_LEDGERS = "SELECT ledger_id FROM kraken.ledger_entry WHERE account = 'main'"
WS_TRADES = "SELECT exec_id FROM kraken.ws_execution WHERE account = 'main' AND exec_type = 'trade'"


def test_every_event_stored_exactly_once(sim: RunningSimulator, engine: Engine) -> None:
    running = start_listener(sim, engine)
    ledger_ids: list[str] = []
    trade_ids: list[str] = []
    order_ids: list[str] = []
    for _ in range(5):
        added = advance(sim, 40)
        ledger_ids += added["ledger_ids"]
        trade_ids += added["trade_ids"]
        order_ids += added["order_ids"]
    wait_for(lambda: ids(engine, WS_LEDGERS) >= set(ledger_ids), what="balance updates")
    wait_for(lambda: ids(engine, WS_TRADES) >= set(trade_ids), what="trade executions")
    stats = running.halt()
    assert ids(engine, WS_LEDGERS) == set(ledger_ids)
    # snapshot fills (the last 50 trades at subscribe) plus the new ones, each once
    assert scalar(engine, "SELECT count(*) - count(DISTINCT exec_id) FROM kraken.ws_execution "
                          "WHERE exec_id IS NOT NULL") == 0
    # status updates without exec_id are kept, one per event: pending_new, new, final state per order
    no_exec = scalar(engine, "SELECT count(*) FROM kraken.ws_execution WHERE exec_id IS NULL "
                             "AND order_id = ANY(:o)", o=order_ids)
    assert no_exec >= 3 * len(order_ids)
    # one gap: the start-up interval, filled from REST
    assert stats.gaps == 1 and stats.quarantined == 0 and stats.balance_updates == len(ledger_ids)
    # amounts and fees equal the truth exactly, including those the simulator wrote as 1.5e-05
    truth = httpx.get(sim.rest_url + "/_sim/truth/ledgers").json()["ledger"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ledger_id, amount, fee FROM kraken.ws_balance_update")).all()
    assert rows and all((a, f) == (Decimal(truth[i]["amount"]), Decimal(truth[i]["fee"])) for i, a, f in rows)
    assert any(Decimal(0) < abs(v) < Decimal("0.001") for _, a, f in rows for v in (a, f))
    # raw keeps the message's numbers exactly (fractions as decimal strings, integers as JSON integers)
    assert scalar(engine, "SELECT count(*) FROM kraken.ws_balance_update WHERE (raw->>'amount')::numeric <> amount "
                          "OR (raw->>'fee')::numeric <> fee OR (jsonb_typeof(raw->'amount') = 'number' "
                          "AND amount <> trunc(amount))") == 0
    assert scalar(engine, "SELECT status FROM kraken.listener_session WHERE id = :i", i=stats.session_id) == "stopped"
    snap = scalar(engine, "SELECT count(*) FROM kraken.balance_snapshot WHERE source = 'ws'")
    assert snap > 0


def test_replayed_connection_changes_nothing(sim: RunningSimulator, engine: Engine) -> None:
    first = start_listener(sim, engine)
    added = advance(sim, 30)
    wait_for(lambda: ids(engine, WS_LEDGERS) >= set(added["ledger_ids"]), what="first batch")
    first.halt()
    before = scalar(engine, "SELECT count(*) FROM kraken.ws_execution")
    # a second session subscribes again: the trades snapshot repeats fills already stored
    second = start_listener(sim, engine)
    wait_for(lambda: second.listener.stats.messages >= 2, what="snapshots of the second session")
    wait_for(lambda: scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE status = 'filled'") == 3,
             what="restart gaps filled")
    stats = second.halt()
    assert scalar(engine, "SELECT count(*) FROM kraken.ws_execution") == before
    assert stats.executions == 0
    # restart gaps, filled from REST: each start-up until its subscription, and the interval between sessions
    assert scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE kind = 'restart' "
                          "AND status = 'filled'") == 3
    # from the first session's end (or its newest event, if earlier) to the second's subscription
    assert scalar(engine, "SELECT min(g.gap_start) <= s.stopped_at AND min(g.gap_start) > s.stopped_at - "
                          "interval '10 min' FROM kraken.listener_gap g, kraken.listener_session s "
                          "WHERE g.session_id = :two AND s.id = :one GROUP BY s.stopped_at", two=stats.session_id,
                  one=stats.session_id - 1) is True


def test_lost_messages_and_drops_are_filled_from_rest(sim: RunningSimulator, engine: Engine) -> None:
    set_faults(sim, {"ws_lose": 9, "ws_drop": 120})
    running = start_listener(sim, engine)
    ledger_ids: list[str] = []
    trade_ids: list[str] = []
    for _ in range(12):
        added = advance(sim, 25)
        ledger_ids += added["ledger_ids"]
        trade_ids += added["trade_ids"]
        wait_for(lambda: running.listener.stats.connects >= 1, what="connected")
    set_faults(sim, {})
    wanted = set(ledger_ids)

    def covered() -> bool:
        seen = ids(engine, WS_LEDGERS) | ids(engine, REST_LEDGERS)
        return wanted <= seen and scalar(engine, "SELECT count(*) FROM kraken.listener_gap "
                                                 "WHERE status <> 'filled'") == 0
    wait_for(covered, timeout=60, what="every ledger entry via WS or a gap fill")
    stats = running.halt()
    ws_seen = ids(engine, WS_LEDGERS)
    assert wanted - ws_seen, "the faults should have made the WebSocket miss some entries"
    assert wanted - ws_seen <= ids(engine, REST_LEDGERS)
    assert set(trade_ids) <= ids(engine, WS_TRADES) | ids(
        engine, "SELECT txid FROM kraken.trade WHERE account = 'main'")
    kinds = ids(engine, "SELECT DISTINCT kind FROM kraken.listener_gap")
    assert {"sequence", "disconnect"} <= kinds
    assert stats.connects >= 2 and stats.gaps >= 2
    # REST amounts of the filled rows equal the truth (one loader, exact)
    for row in ids(engine, "SELECT ledger_id || '|' || amount::text FROM kraken.ledger_entry WHERE ledger_id = "
                           "ANY(:l)", l=list(wanted - ws_seen)):
        assert Decimal(row.split("|")[1]).is_finite()
