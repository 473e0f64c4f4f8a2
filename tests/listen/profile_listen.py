"""The listener on the account profiles (`retail-2019-2025`, `margin-trader`), end to end on loopback as the
default profile's tests (tests/listen/): every balance update of the new activity (margin entries, settlements,
Earn allocations and rewards, the retail types) stored once, equal to the truth, and the WS <-> REST check
clean after the next sync. Half a minute an account: run by `make drills` (tests/drills/matrix_profiles.py);
the file name keeps `make test` from collecting it."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import Engine, text

from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.listen.conftest import advance, ids, start_listener, wait_for
from tests.listen.conftest import sync_rest as _sync
from tests.listen.test_check import check_ws_rest

WS_LEDGERS = "SELECT ledger_id FROM kraken.ws_balance_update WHERE account = 'main'"
WS_TRADES = "SELECT exec_id FROM kraken.ws_execution WHERE account = 'main' AND exec_type = 'trade'"


def check_listener(profile: str, seed: int, engine: Engine) -> None:
    """`seed`'s account of `profile`: the listener through four batches of new activity, then a REST sync."""
    config = SimConfig(seed=seed, ledger_entries=400, rate_limits=False, profile=profile)
    with serve_in_thread(config) as sim:
        _check(sim, engine)


def _check(sim: RunningSimulator, engine: Engine) -> None:
    running = start_listener(sim, engine)
    ledger_ids: list[str] = []
    trade_ids: list[str] = []
    for _ in range(4):
        added = advance(sim, 60)
        ledger_ids += added["ledger_ids"]
        trade_ids += added["trade_ids"]
    wait_for(lambda: ids(engine, WS_LEDGERS) >= set(ledger_ids), what="balance updates")
    wait_for(lambda: ids(engine, WS_TRADES) >= set(trade_ids), what="trade executions")
    stats = running.halt()
    assert ids(engine, WS_LEDGERS) == set(ledger_ids) and stats.quarantined == 0
    truth = httpx.get(sim.rest_url + "/_sim/truth/ledgers").json()["ledger"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ledger_id, amount, fee FROM kraken.ws_balance_update")).all()
    assert all((a, f) == (Decimal(truth[i]["amount"]), Decimal(truth[i]["fee"])) for i, a, f in rows)
    kinds = {truth[i]["type"] for i in ledger_ids}
    profile = sim.ctx.config.profile
    wanted = {"margin"} if profile == "margin-trader" else {"earn"}  # (rollovers: every 4 h, not in minutes)
    assert wanted <= kinds, kinds  # the profile's own shapes came through the listener
    _sync(sim, engine)
    assert check_ws_rest(engine, "main") == []
