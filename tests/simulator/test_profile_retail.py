"""The `retail-2019-2025` profile: its shapes are in the truth, in REST and in every export header era, and the
account keeps the generator's invariants; the default profile's account is unchanged for a seed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.simulator import ManualClock, SimConfig, create_app
from kraken_etl.simulator.config import LEDGER_HEADERS
from tests.simulator.conftest import Kraken, make_kraken

PROFILE = "retail-2019-2025"
NOW = 1_800_000_000.0
WIDE = {"starttm": 1_500_000_000, "endtm": 1_800_000_000}


def _kraken(seed: int, entries: int = 2_000, **changes: object) -> tuple[Kraken, ManualClock]:
    clock = ManualClock(NOW)
    config = SimConfig(seed=seed, ledger_entries=entries, rate_limits=False, clock=clock, profile=PROFILE,
                       export_queued_seconds=1, export_processing_seconds=1).with_changes(**changes)
    return make_kraken(create_app(config)), clock


@pytest.fixture(scope="module", params=[1, 2, 3])
def truth(request: pytest.FixtureRequest) -> dict[str, Any]:
    kraken, _ = _kraken(request.param)
    return {k: kraken.truth(k) for k in ("ledgers", "trades", "closed_orders", "balances")}


def _by_refid(ledger: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lid, row in ledger.items():
        out[row["refid"]].append({"id": lid, **row})
    return out


def test_the_chains_hold_and_balance_is_their_sum(truth: dict[str, Any]) -> None:
    running: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    ordered = sorted(truth["ledgers"]["ledger"].items(), key=lambda kv: (Decimal(str(kv[1]["time"])), kv[0]))
    for _, row in ordered:  # Kraken's order: time, then id
        key = (row["asset"], row["wallet"])
        running[key] += Decimal(row["amount"]) - Decimal(row["fee"])
        assert running[key] == Decimal(row["balance"]) >= 0, row
    per_asset: dict[str, Decimal] = defaultdict(Decimal)
    for (asset, _), value in running.items():
        per_asset[asset] += value
    assert {a: Decimal(v) for a, v in truth["balances"]["balance"].items()} == dict(per_asset)


def test_buy_crypto_is_spend_and_receive_under_one_refid_after_a_fiat_deposit(truth: dict[str, Any]) -> None:
    groups = [legs for legs in _by_refid(truth["ledgers"]["ledger"]).values()
              if {leg["type"] for leg in legs} & {"spend", "receive"}]
    assert len(groups) >= 3
    for legs in groups:
        spend, receive = sorted(legs, key=lambda leg: leg["type"] != "spend")
        assert (spend["type"], receive["type"]) == ("spend", "receive") and len(legs) == 2
        assert spend["asset"] in ("ZUSD", "ZEUR") and Decimal(spend["amount"]) < 0 < Decimal(receive["amount"])
        assert receive["asset"] not in ("ZUSD", "ZEUR") and spend["time"] == receive["time"]
        assert spend["wallet"] == receive["wallet"] == "spot / main"


def test_a_sell_filled_from_spot_and_earn_has_one_trade_and_a_leg_per_wallet(truth: dict[str, Any]) -> None:
    ledger, trades = truth["ledgers"]["ledger"], truth["trades"]["trades"]
    multi = 0
    for trade in trades.values():
        legs = [ledger[lid] for lid in trade["ledgers"]]
        base = [leg for leg in legs if leg["asset"] != "KFEE" and abs(Decimal(leg["amount"])) != Decimal(trade["cost"])]
        if len(base) < 2:
            continue
        multi += 1
        assert trade["type"] == "sell" and len({leg["asset"] for leg in base}) == 1
        assert base[0]["wallet"] == "spot / main" != base[1]["wallet"]
        assert -sum(Decimal(leg["amount"]) for leg in base) == Decimal(trade["vol"])  # the full amount sold
    assert multi >= 2


def test_earn_migration_conversions_and_other_types(truth: dict[str, Any]) -> None:
    rows = list(truth["ledgers"]["ledger"].values())
    migrated = [r for r in rows if r["subtype"] == "migration"]
    assert migrated and all(r["type"] == "earn" for r in migrated)
    assert {(r["asset"], r["wallet"]) for r in migrated} == {("DOT.S", "spot / main"), ("DOT", "earn / bonded")}
    conversions = [r for r in rows if r["type"] == "conversion"]
    assert {r["asset"] for r in conversions} == {"ETH2.S", "XETH"}
    assert {"invite bonus", "dividend", "airdrop"} <= {r["type"] for r in rows}
    delisted = [r for r in rows if r["subtype"] == "delistingconversion"]
    assert {r["asset"] for r in delisted} == {"USDT", "ZUSD"} and all(r["type"] == "transfer" for r in delisted)
    assert len({r["refid"] for r in delisted}) == len(delisted)  # the two sides are unpaired


def test_every_export_header_era_carries_the_shapes() -> None:
    for era in LEDGER_HEADERS:
        kraken, clock = _kraken(5, 800, ledgers_header=era)
        truth = kraken.truth("ledgers")["ledger"]
        export_id = kraken.result("AddExport", report="ledgers", description="all", **WIDE)["id"]
        clock.advance(5)
        response = kraken.raw("RetrieveExport", {"id": export_id})
        with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
            (name,) = zf.namelist()
            rows = list(csv.DictReader(io.StringIO(zf.read(name).decode())))
        assert {r["txid"] for r in rows} == set(truth), era
        for row in rows:
            t = truth[row["txid"]]
            assert (row["type"], row["subtype"], row["refid"]) == (t["type"], t["subtype"], t["refid"]), era
            assert Decimal(row["amount"]) == Decimal(t["amount"]) and Decimal(row["balance"]) == Decimal(t["balance"])
            if "wallet" in row:
                assert row["wallet"] == t["wallet"], era
        assert {"spend", "receive", "airdrop"} <= {r["type"] for r in rows}, era


def _digest(truths: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(truths, sort_keys=True, default=str).encode()).hexdigest()


def test_the_default_profile_is_unchanged_for_a_seed() -> None:
    kraken = make_kraken(create_app(SimConfig(seed=7, ledger_entries=600, rate_limits=False)))
    truths = {k: kraken.truth(k) for k in ("ledgers", "trades", "closed_orders", "order_amends", "balances")}
    assert _digest(truths) == DEFAULT_SEED_7


# sha256 of the default profile's truth for seed 7, 600 entries, as main built it before any profile had shapes
DEFAULT_SEED_7 = "d8e305e50c253cb7eeefb43878d73573933ee0a72a265de494e81a0b0f422ee3"
