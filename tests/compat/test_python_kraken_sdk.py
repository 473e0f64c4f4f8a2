"""python-kraken-sdk (btschwertfeger) against the simulator, with only the base URL changed."""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from decimal import Decimal
from typing import Any

import httpx
import pytest
from kraken.spot import SpotWSClient, User

from kraken_etl.simulator import RunningSimulator

pytestmark = pytest.mark.compat


def truth(sim: RunningSimulator, kind: str) -> Any:
    return httpx.get(f"{sim.rest_url}/_sim/truth/{kind}", timeout=30).json()


@pytest.fixture(scope="module")
def user(sim: RunningSimulator) -> User:
    return User(key=sim.api_key, secret=sim.api_secret, url=sim.rest_url)


def test_ledgers_paged_with_ofs_equal_truth(sim: RunningSimulator, user: User) -> None:
    expected = truth(sim, "ledgers")
    first = user.get_ledgers_info()
    end = int(Decimal(str(next(iter(first["ledger"].values()))["time"]))) + 1
    seen: dict[str, Any] = {}
    ofs = 0
    while ofs < first["count"]:
        page = user.get_ledgers_info(end=end, ofs=ofs)
        assert page["count"] == expected["count"]
        seen.update(page["ledger"])
        ofs += len(page["ledger"])
    assert list(seen) == list(expected["ledger"])
    some = list(seen)[:3]
    assert set(user.get_ledgers(id_=some)) == set(some)


def test_trades_history_closed_orders_and_amends(sim: RunningSimulator, user: User) -> None:
    trades = truth(sim, "trades")["trades"]
    page = user.get_trades_history(ledgers=True)
    assert page["count"] == len(trades) and len(page["trades"]) == 50
    for txid, trade in page["trades"].items():
        assert trade["ledgers"] == trades[txid]["ledgers"] and trade["vol"] == trades[txid]["vol"]
    info = user.get_trades_info(txid=list(page["trades"])[:2])
    assert set(info) == set(list(page["trades"])[:2])
    closed = truth(sim, "closed_orders")["closed"]
    orders = user.get_closed_orders(trades=True)
    assert orders["count"] == len(closed)
    for otxid, order in orders["closed"].items():
        assert order["trades"] == closed[otxid]["trades"]
    amends = truth(sim, "order_amends")["amends"]
    order_id, trail = next(iter(amends.items()))
    got = user.get_order_amends(order_id=order_id)
    assert got["count"] == len(trail) and got["amends"][0]["amend_type"] == "original"
    assert user.get_orders_info(txid=order_id)[order_id]["misc"] == "amended"


def test_balances(sim: RunningSimulator, user: User) -> None:
    expected = truth(sim, "balances")
    assert user.get_account_balance() == expected["balance"]
    assert user.get_balances() == expected["balance_ex"]
    # pks converts to float here; compare at the asset's 10 decimals
    assert Decimal(str(user.get_balance("XXBT")["balance"])) == Decimal(expected["balance"]["XXBT"])


def test_export_cycle(sim: RunningSimulator, user: User) -> None:
    export_id = user.request_export_report(report="ledgers", description="compat", starttm=1_500_000_000,
                                           endtm=int(time.time()))["id"]
    deadline = time.monotonic() + 20
    while True:
        status = next(s for s in user.get_export_report_status(report="ledgers") if s["id"] == export_id)
        if status["status"] == "Processed":
            break
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    response = user.retrieve_export(id_=export_id)
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        (name,) = zf.namelist()
        rows = zf.read(name).decode().splitlines()
    assert len(rows) == truth(sim, "ledgers")["count"] + 1
    assert user.delete_export_report(id_=export_id, type_="delete") == {"delete": True}


def test_spot_ws_client_private_subscription(sim: RunningSimulator) -> None:
    async def main() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        arrived = asyncio.Event()

        async def on_message(message: dict[str, Any]) -> None:
            messages.append(message)
            arrived.set()

        async def wait_for(predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
            async def scan() -> dict[str, Any]:
                while True:
                    for message in messages:
                        if predicate(message):
                            return message
                    arrived.clear()
                    await arrived.wait()

            return await asyncio.wait_for(scan(), timeout)

        client = SpotWSClient(key=sim.api_key, secret=sim.api_secret, callback=on_message, no_public=True,
                              rest_url=sim.rest_url, auth_ws_url=sim.ws_url.removesuffix("/v2"))
        await client.start()
        try:
            await client.subscribe(params={"channel": "executions", "snap_trades": True})
            await client.subscribe(params={"channel": "balances"})
            await wait_for(lambda m: m.get("channel") == "executions" and m.get("type") == "snapshot")
            await wait_for(lambda m: m.get("channel") == "balances" and m.get("type") == "snapshot")
            added = await asyncio.to_thread(
                lambda: httpx.post(f"{sim.rest_url}/_sim/advance", json={"ledger_entries": 10}).json())
            last = added["ledger_ids"][-1]
            await wait_for(lambda m: m.get("channel") == "balances" and m.get("type") == "update"
                           and m["data"][0]["ledger_id"] == last)
            return messages, added
        finally:
            await client.close()

    messages, added = asyncio.run(main())
    acks = [m for m in messages if m.get("method") == "subscribe"]
    assert len(acks) == 2 and all(a["success"] for a in acks)
    updates = [m["data"][0]["ledger_id"] for m in messages
               if m.get("channel") == "balances" and m.get("type") == "update"]
    assert updates == added["ledger_ids"]
