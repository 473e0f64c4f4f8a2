"""Tokens: refreshed before they expire, fresh for every connection (the simulator expires unused ones)."""

from __future__ import annotations

from sqlalchemy import Engine

from kraken_etl.kraken.ws import TokenKeeper
from kraken_etl.simulator import SimConfig, serve_in_thread
from tests.listen.conftest import advance, ids, set_faults, start_listener, wait_for
from tests.pipeline.conftest import make_sim


def test_token_keeper_refreshes_before_expiry() -> None:
    sim = make_sim()
    try:
        with sim.client() as client:
            keeper = TokenKeeper(client, sim.clock, margin=60)
            first = keeper.current()
            assert first.expires_at == sim.clock.now() + 900 and "value=…" in repr(first)
            sim.clock.advance(800)
            assert keeper.current() is first  # still more than a minute left
            sim.clock.advance(50)
            second = keeper.current()
            assert second.value != first.value and keeper.fetched == 2
            assert keeper.fresh().value not in (first.value, second.value)
    finally:
        sim.http.close()


def test_every_reconnect_uses_a_fresh_token(engine: Engine) -> None:
    # unused tokens expire after 0.5 s: a reconnect that reused an old token would be refused
    config = SimConfig(seed=4, ledger_entries=300, rate_limits=False, ws_token_ttl=0.5)
    with serve_in_thread(config) as sim:
        set_faults(sim, {"ws_drop": 30})
        running = start_listener(sim, engine)
        wanted: set[str] = set()
        for _ in range(4):
            wanted |= set(advance(sim, 20)["ledger_ids"])
        wait_for(lambda: running.listener.stats.connects >= 3, timeout=60, what="reconnects")
        set_faults(sim, {})
        wait_for(lambda: wanted <= ids(engine, "SELECT ledger_id FROM kraken.ws_balance_update")
                 | ids(engine, "SELECT ledger_id FROM kraken.ledger_entry"), timeout=60, what="all entries")
        stats = running.halt()
        # a drop during a subscription costs a token without a connection, hence >=
        assert running.listener.tokens.fetched >= stats.connects >= 3


def test_a_stop_while_disconnected_records_the_open_interval(engine: Engine) -> None:
    config = SimConfig(seed=6, ledger_entries=300, rate_limits=False)
    with serve_in_thread(config) as sim:
        running = start_listener(sim, engine)
        added = set(advance(sim, 10)["ledger_ids"])
        wait_for(lambda: added <= ids(engine, "SELECT ledger_id FROM kraken.ws_balance_update"), what="live")
    # the simulator is gone: the listener keeps failing to reconnect; activity it may have missed is an
    # open interval, recorded as a gap when it stops (the next start resumes from the stop)
    wait_for(lambda: running.listener.stats.connects == 1 and running.listener._open_gap is not None,
             what="disconnected")
    running.halt()
    from tests.listen.conftest import scalar

    assert scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE kind = 'disconnect'") == 1
    # REST is gone too: the gap is not filled now; it stays open for the next start to fill
    assert scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE kind = 'disconnect' "
                          "AND status <> 'filled'") == 1
    assert scalar(engine, "SELECT status FROM kraken.listener_session") == "stopped"
