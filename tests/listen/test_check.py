"""The WS <-> REST check: clean after the next sync (even with lost messages filled from REST), and it
finds a row missing on either side and a changed amount; a stopped listener is expected to have seen only
what happened before it stopped reading."""

from __future__ import annotations

import random
import threading
import time

from sqlalchemy import Engine, text

from kraken_etl.db.wscheck import check_inputs
from kraken_etl.listen.loop import Listener
from kraken_etl.recon import Finding
from kraken_etl.recon.wsrest import ws_vs_rest_findings
from kraken_etl.simulator import RunningSimulator
from tests.listen.conftest import FAST, advance, ids, scalar, set_faults, sim_client, start_listener, wait_for
from tests.listen.conftest import sync_rest as _sync


def check_ws_rest(engine: Engine, account: str, *, margin: float = 5.0) -> list[Finding]:
    """The `ws_vs_rest` findings of `account` now, with gaps widened by `margin` seconds."""
    with engine.connect() as conn:
        return ws_vs_rest_findings(check_inputs(conn, account, ledgers="ledgers", trades="trades", margin=margin))


def test_check_is_clean_after_sync_and_finds_differences(sim: RunningSimulator, engine: Engine) -> None:
    set_faults(sim, {"ws_lose": 6})
    running = start_listener(sim, engine)
    wanted: set[str] = set()
    for _ in range(4):
        wanted |= set(advance(sim, 30)["ledger_ids"])
    wait_for(lambda: wanted <= ids(engine, "SELECT ledger_id FROM kraken.ws_balance_update")
             | ids(engine, "SELECT ledger_id FROM kraken.ledger_entry")
             and scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE status <> 'filled'") == 0,
             timeout=60, what="gaps filled")
    # a last batch without faults: its rows are timestamped after every earlier batch (so after the
    # listener's start; the simulator backdates a first batch up to seconds before it) and after every gap
    set_faults(sim, {})
    last = advance(sim, 12)["ledger_ids"]
    wait_for(lambda: set(last) <= ids(engine, "SELECT ledger_id FROM kraken.ws_balance_update"), what="last")
    running.halt()
    assert scalar(engine, "SELECT count(*) FROM kraken.listener_gap WHERE kind = 'sequence'") > 0
    _sync(sim, engine)
    assert check_ws_rest(engine, "main") == []

    with engine.begin() as conn:
        lost, changed = conn.execute(text(
            "SELECT ledger_id FROM kraken.ws_balance_update ORDER BY timestamp DESC LIMIT 2")).scalars().all()
        conn.execute(text("DELETE FROM kraken.ledger_entry WHERE ledger_id = :i"), {"i": lost})
        conn.execute(text("UPDATE kraken.ledger_entry SET amount = amount + 1 WHERE ledger_id = :i"), {"i": changed})
        # a row of the last batch the check covers: after the listener's start, outside every gap
        unseen = conn.execute(text(
            "SELECT l.ledger_id FROM kraken.ledger_entry l WHERE l.ledger_id = ANY(:last)"
            " AND l.ledger_id <> ALL(:x) AND NOT EXISTS ("
            "  SELECT 1 FROM kraken.listener_gap g WHERE l.time BETWEEN g.gap_start AND g.gap_end)"
            " AND l.time >= (SELECT min(started_at) FROM kraken.listener_session)"
            " ORDER BY l.time, l.ledger_id LIMIT 1"),
            {"last": last, "x": [lost, changed]}).scalar_one()
        conn.execute(text("DELETE FROM kraken.ws_balance_update WHERE ledger_id = :i"), {"i": unseen})
    findings = check_ws_rest(engine, "main", margin=0)  # gaps exactly as detected
    by_kind = {(f.kind, f.source_ids[0]): f for f in findings}
    assert set(by_kind) == {("ws_balance_missing_in_rest", lost), ("ws_rest_amount_mismatch", changed),
                            ("rest_ledger_unseen_by_ws", unseen)}
    mismatch = by_kind[("ws_rest_amount_mismatch", changed)]
    assert mismatch.severity == "break" and mismatch.difference == -1
    assert by_kind[("rest_ledger_unseen_by_ws", unseen)].severity == "warning"
    assert {f.check for f in findings} == {"ws_vs_rest"} and all(f.at == f.details["time"] for f in findings)


class _SlowShutdown:
    """The system clock, but 30 s later once the listener has stopped reading: a shutdown that takes long
    (committing, waiting for a gap fill) while Kraken's activity goes on."""

    def __init__(self) -> None:
        self.listener: Listener | None = None

    def now(self) -> float:
        lag = 30.0 if self.listener is not None and self.listener.stats.stop_reason else 0.0
        return time.time() + lag

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def test_activity_after_a_stop_is_not_expected_of_the_listener(sim: RunningSimulator, engine: Engine) -> None:
    clock, stop = _SlowShutdown(), threading.Event()
    client = sim_client(sim)
    listener = Listener(account="main", ws_url=sim.ws_url, client=client, engine=engine, clock=clock, stop=stop,
                        config=FAST, rng=random.Random(1))
    clock.listener = listener
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: listener.stats.connects >= 1, what="first subscription")
        seen = advance(sim, 20)["ledger_ids"]
        wait_for(lambda: set(seen) <= ids(engine, "SELECT ledger_id FROM kraken.ws_balance_update"), what="seen")
        stop.set()  # SIGTERM, as the docs say to stop it
        thread.join(30)
        assert not thread.is_alive()
    finally:
        client.close()
    after: set[str] = set()
    for _ in range(3):  # each a single event dated at the simulator's now: after the listener stopped reading
        after |= set(advance(sim, 1)["ledger_ids"])
    _sync(sim, engine)
    assert after <= ids(engine, "SELECT ledger_id FROM kraken.ledger_entry")
    with engine.connect() as conn:
        read_until, stopped_at = conn.execute(text(
            "SELECT read_until, stopped_at FROM kraken.listener_session WHERE status = 'stopped'")).one()
        first_after = conn.execute(text("SELECT min(time) FROM kraken.ledger_entry WHERE ledger_id = ANY(:a)"),
                                   {"a": list(after)}).scalar_one()
    assert read_until < first_after < stopped_at  # dated between the end of reading and the end of the shutdown
    assert check_ws_rest(engine, "main") == []
