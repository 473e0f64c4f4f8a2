"""The whole sync through the simulator in-process (httpx transport, FakeClock, real PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.kraken import errors as e
from models import LedgerEntryRow, OrderAmendRow, SyncRunRow, SyncStateRow, TradeRow
from tests.pipeline.conftest import InProcessSim, make_sim
from tests.pipeline.truth import compare_all


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_sync_equals_truth_then_is_idempotent_then_picks_up_new_activity(
    sim: InProcessSim, engine: Engine
) -> None:
    client = sim.client()
    first = sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
    assert compare_all(engine, "main", sim.truths()) == []
    assert all(r.quarantined == 0 for r in first)
    assert client.stats.rate_limited == 0  # the counter model kept us under Kraken's limit
    ledgers = _count(engine, LedgerEntryRow)

    sim.clock.advance(60)
    second = sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
    for result in second:
        if result.stream != "balances":
            assert (result.inserted, result.updated) == (0, 0), result
    assert _count(engine, LedgerEntryRow) == ledgers
    assert next(r for r in second if r.stream == "order_amends").calls == 0  # no trail fetched twice

    sim.clock.advance(60)
    added = sim.advance(120)
    sim.clock.advance(5)
    third = sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
    by_stream = {r.stream: r for r in third}
    assert by_stream["ledgers"].inserted == len(added["ledger_ids"]) and by_stream["ledgers"].updated == 0
    assert by_stream["trades"].inserted == len(added["trade_ids"])
    assert by_stream["closed_orders"].inserted == len(added["order_ids"])
    assert _count(engine, LedgerEntryRow) == ledgers + len(added["ledger_ids"])
    assert compare_all(engine, "main", sim.truths()) == []
    # incremental: the third run fetched only the overlap window, not the history
    assert by_stream["ledgers"].fetched < ledgers / 4
    with engine.connect() as conn:
        runs = conn.execute(select(func.count()).select_from(SyncRunRow).where(SyncRunRow.status == "ok"))
        assert runs.scalar_one() == 15
        bookmarks = dict(conn.execute(select(SyncStateRow.stream, SyncStateRow.bookmark)).all())
    assert set(bookmarks) == {"ledgers", "trades", "closed_orders"}


def test_faults_still_give_exactly_the_truth(engine: Engine) -> None:
    sim = make_sim(seed=5)
    sim.faults("http_5xx=0.05,service_unavailable=0.05,truncated_json=0.02,rate_limit_storm=3,seed=9")
    client = sim.client()
    sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
    assert compare_all(engine, "main", sim.truths()) == []
    assert client.stats.retries > 0 and client.stats.rate_limited >= 1
    assert "EService:Unavailable" in client.stats.errors and "ETransport:Failure" in client.stats.errors


def test_accounts_are_kept_apart(engine: Engine) -> None:
    one, two = make_sim(seed=21), make_sim(seed=22)
    sync_account(["ledgers", "trades"], client=one.client(), engine=engine, account="one")
    sync_account(["ledgers", "trades"], client=two.client(), engine=engine, account="two")
    from tests.pipeline.truth import compare_ledgers, compare_trades

    assert compare_ledgers(engine, "one", one.truth("ledgers")) == []
    assert compare_ledgers(engine, "two", two.truth("ledgers")) == []
    assert compare_trades(engine, "two", two.truth("trades")) == []


def test_invalid_key_fails_fast_and_is_logged(sim: InProcessSim, engine: Engine) -> None:
    import base64

    client = sim.client(key="A" * 56, secret=base64.b64encode(b"x" * 64).decode())
    with pytest.raises(e.InvalidKey) as info:
        sync_account(SYNC_ORDER, client=client, engine=engine, account="main")
    assert client.stats.calls == 1 and sim.clock.sleeps == []
    assert "KRAKEN_API_KEY" in str(info.value)
    with engine.connect() as conn:
        status, error = conn.execute(select(SyncRunRow.status, SyncRunRow.error)).one()
    assert status == "failed" and "EAPI:Invalid key" in error
    assert _count(engine, LedgerEntryRow) == 0


def test_permission_denied_names_the_permission(engine: Engine) -> None:
    from kraken_etl.simulator import ApiKey, derive_key
    from kraken_etl.simulator.config import QUERY_CLOSED, QUERY_FUNDS, QUERY_OPEN

    full = derive_key(31)
    limited = ApiKey(full.key, full.secret, frozenset({QUERY_FUNDS, QUERY_OPEN, QUERY_CLOSED}))
    sim = make_sim(seed=31, keys=(limited,))
    client = sim.client(key=limited.key, secret=limited.secret)
    with pytest.raises(e.PermissionDenied) as info:
        sync_account(["ledgers"], client=client, engine=engine, account="main")
    assert "'Query Ledger Entries'" in str(info.value)
    assert client.stats.calls == 1


def test_amend_trails_fetched_once_per_amended_order(sim: InProcessSim, engine: Engine) -> None:
    client = sim.client()
    sync_account(["closed_orders", "order_amends"], client=client, engine=engine, account="main")
    truth = sim.truth("order_amends")["amends"]
    assert _count(engine, OrderAmendRow) == sum(len(t) for t in truth.values())
    calls = client.stats.calls
    sync_account(["order_amends"], client=client, engine=engine, account="main")
    assert client.stats.calls == calls  # nothing left to fetch


def test_trades_store_their_ledger_ids(sim: InProcessSim, engine: Engine) -> None:
    sync_account(["trades"], client=sim.client(), engine=engine, account="main")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(TradeRow).where(TradeRow.ledgers.is_(None))) \
            .scalar_one() == 0



class _CutAfter(httpx.BaseTransport):
    """The network seam: after `allowed` requests to `path`, the connection fails (as a crash mid-run would
    leave things: some chunks committed, the rest never sent)."""

    def __init__(self, inner: httpx.BaseTransport, path: str, allowed: int) -> None:
        self.inner, self.path, self.allowed, self.seen = inner, path, allowed, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == self.path:
            self.seen += 1
            if self.seen > self.allowed:
                raise httpx.ConnectError("connection cut", request=request)
        return self.inner.handle_request(request)


def test_amend_rows_committed_before_a_failure_always_have_their_run_row(engine: Engine) -> None:
    import random

    from kraken_etl.core.callcounter import TIERS
    from kraken_etl.kraken.client import KrakenClient
    from kraken_etl.kraken.nonce import MemoryNonceSource
    from kraken_etl.kraken.ratelimit import SharedCounter

    sim = make_sim(seed=12, ledger_entries=6_000)
    sync_account(["closed_orders"], client=sim.client(), engine=engine, account="main")
    amended = len(sim.truth("order_amends")["amends"])
    assert amended > 60, "the account needs more than one chunk of amended orders"
    key, tier = sim.config.default_key, TIERS[sim.config.tier]
    cut = _CutAfter(sim.transport, "/0/private/OrderAmends", allowed=55)
    client = KrakenClient("http://testserver", api_key=SecretStr(key.key), api_secret=SecretStr(key.secret),
                          tier=tier, clock=sim.clock, nonce=MemoryNonceSource(sim.clock), counter=SharedCounter(tier),
                          transport=cut, rng=random.Random(3))
    with pytest.raises(e.KrakenError):
        sync_account(["order_amends"], client=client, engine=engine, account="main")
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(OrderAmendRow)).scalar_one()
        runs = conn.execute(select(SyncRunRow.status, SyncRunRow.inserted)
                            .where(SyncRunRow.stream == "order_amends")).all()
    assert stored > 0, "the first chunk (50 orders) committed before the cut"
    assert [tuple(r) for r in runs] == [("failed", stored)], "the committed rows are logged by their run"
