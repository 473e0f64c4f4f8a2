"""A REST answer with an impossible amount (a regression test).

`1E+1000000` in a Ledgers answer ended the load with a NumericValueOutOfRange traceback, and because the
bookmark could not pass the record, every later sync failed the same way. Now the record is quarantined
with its reason, the rest loads, the bookmark moves past it, and the next sync succeeds.

The simulator runs in-process; a wrapper at the network seam (the httpx transport) rewrites one record
of its Ledgers answers, as a hostile or broken upstream would.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from kraken_etl.core.callcounter import TIERS
from kraken_etl.jobs.sync import sync_account
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.nonce import MemoryNonceSource
from kraken_etl.kraken.ratelimit import SharedCounter
from models import LedgerEntryRow, QuarantineRow, SyncStateRow
from tests.pipeline.conftest import InProcessSim, make_sim

pytestmark = pytest.mark.timeout(300)


class Rewriting(httpx.BaseTransport):
    """Passes requests to `inner`; in Ledgers answers, replaces the amount of record `target` with `raw`
    (JSON text, so both a string ``"1E+1000000"`` and a bare number ``1E+1000000`` can be sent)."""

    def __init__(self, inner: httpx.BaseTransport, target: str, raw: str) -> None:
        self.inner = inner
        self.target = target
        self.raw = raw
        self.hits = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not request.url.path.endswith("/Ledgers"):
            return response
        body = response.read()
        payload = json.loads(body)
        record = payload.get("result", {}).get("ledger", {}).get(self.target)
        if record is None:
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        self.hits += 1
        marker = "__AMOUNT__"
        record["amount"] = marker
        text = json.dumps(payload).replace(f'"{marker}"', self.raw)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, content=text.encode())


def _client(sim: InProcessSim, transport: httpx.BaseTransport) -> KrakenClient:
    key = sim.config.default_key
    tier = TIERS[sim.config.tier]
    return KrakenClient("http://testserver", api_key=SecretStr(key.key), api_secret=SecretStr(key.secret),
                        tier=tier, clock=sim.clock, nonce=MemoryNonceSource(sim.clock),
                        counter=SharedCounter(tier), transport=transport, rng=random.Random(3))


def _scalar(engine: Engine, query: object) -> object:
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()  # type: ignore[call-overload]


@pytest.mark.parametrize("raw", ['"1E+1000000"', "1E+1000000", '"1_000"', '"+5"', '"NaN"', '"' + "9" * 400 + '"',
                                 '"\uff11\uff12"'])
def test_an_impossible_rest_amount_is_quarantined_and_the_bookmark_passes_it(engine: Engine, raw: str) -> None:
    sim: InProcessSim = make_sim(ledger_entries=300)
    try:
        truth = sim.truth("ledgers")["ledger"]
        target = max(truth, key=lambda k: Decimal(str(truth[k]["time"])))  # the newest: the bookmark's record
        client = _client(sim, Rewriting(sim.transport, target, raw))
        first = sync_account(["ledgers"], client=client, engine=engine, account="main")[0]
        assert first.quarantined == 1
        assert _scalar(engine, select(func.count()).select_from(LedgerEntryRow)) == len(truth) - 1
        with engine.connect() as conn:
            reasons = conn.execute(select(QuarantineRow.record_id, QuarantineRow.reason)).all()
            bookmark = conn.execute(select(SyncStateRow.bookmark).where(SyncStateRow.stream == "ledgers")
                                    ).scalar_one()
        assert [r.record_id for r in reasons] == [target] and "amount" in reasons[0].reason
        assert bookmark.timestamp() >= float(Decimal(str(truth[target]["time"]))) - 1
        # the next run neither fails nor doubles anything
        sim.clock.advance(60)
        second = sync_account(["ledgers"], client=client, engine=engine, account="main")[0]
        assert second.inserted == 0
        assert _scalar(engine, select(func.count()).select_from(QuarantineRow)) == 1
    finally:
        sim.http.close()
