"""The WS <-> REST check: clean after the next sync (even with lost messages filled from REST), and it
finds a row missing on either side and a changed amount."""

from __future__ import annotations

from sqlalchemy import Engine, text

from kraken_etl.listen.check import check_ws_rest
from kraken_etl.simulator import RunningSimulator
from tests.listen.conftest import advance, ids, scalar, set_faults, start_listener, wait_for
from tests.listen.conftest import sync_rest as _sync


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
    by_kind = {(f["kind"], f["source_ids"][0]): f for f in findings}
    assert set(by_kind) == {("ws_balance_missing_in_rest", lost), ("ws_rest_amount_mismatch", changed),
                            ("rest_ledger_unseen_by_ws", unseen)}
    mismatch = by_kind[("ws_rest_amount_mismatch", changed)]
    assert mismatch["severity"] == "break" and mismatch["difference"] == -1
    assert by_kind[("rest_ledger_unseen_by_ws", unseen)]["severity"] == "warning"
    assert set(mismatch) == {"check_name", "kind", "severity", "asset", "wallet", "expected", "actual",
                             "difference", "source_ids", "message", "details"}
