"""The `retail-2019-2025` profile: its shapes are in the truth, in REST and in every export header era, and the
account keeps the generator's invariants; the default profile's account is unchanged for a seed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.simulator import ManualClock, SimConfig, create_app
from kraken_etl.simulator.config import LEDGER_HEADERS
from tests.simulator.conftest import Kraken, make_kraken

PROFILE = "retail-2019-2025"
NOW = 1_800_000_000.0
WIDE = {"starttm": 1_500_000_000, "endtm": 1_800_000_000}
RARE_TYPES = {"sale", "custodytransfer", "nfttrade", "nftcreatorfee", "nftrebate", "adjustment",
              "hybridearnwithdrawal"}


HISTORY_DAYS = 2_500  # from 2019-12-28 to the end time 2026-11-01: every dated shape has its day


def _kraken(seed: int, entries: int = 2_000, **changes: object) -> tuple[Kraken, ManualClock]:
    clock = ManualClock(NOW)
    config = SimConfig(seed=seed, ledger_entries=entries, rate_limits=False, clock=clock, profile=PROFILE,
                       history_days=HISTORY_DAYS, export_queued_seconds=1,
                       export_processing_seconds=1).with_changes(**changes)
    return make_kraken(create_app(config)), clock


@pytest.fixture(scope="module", params=[1, 2, 3])
def truth(request: pytest.FixtureRequest) -> dict[str, Any]:
    kraken, _ = _kraken(request.param)
    return {k: kraken.truth(k) for k in ("ledgers", "trades", "closed_orders", "balances")}


def day(year: int, month: int, date: int) -> Decimal:
    """Midnight UTC of a day, in the truth's unix seconds."""
    return Decimal(int(datetime(year, month, date, tzinfo=UTC).timestamp()))


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
    assert min(r["time"] for r in migrated) >= day(2023, 11, 15)
    conversions = _by_refid({lid: r for lid, r in truth["ledgers"]["ledger"].items() if r["type"] == "conversion"})
    renamed = [legs for legs in conversions.values() if {leg["asset"] for leg in legs} == {"ETH2.S", "XETH"}]
    assert renamed and min(leg["time"] for legs in renamed for leg in legs) >= day(2023, 4, 12)
    for legs in renamed:
        assert sorted(Decimal(leg["amount"]) for leg in legs) == [-Decimal(legs[0]["amount"]).copy_abs(),
                                                                  Decimal(legs[0]["amount"]).copy_abs()]
    assert {"invite bonus", "dividend", "airdrop"} <= {r["type"] for r in rows}
    delisted = [r for r in rows if r["subtype"] == "delistingconversion"]
    assert {r["asset"] for r in delisted} == {"USDT", "ZUSD"} and all(r["type"] == "transfer" for r in delisted)
    assert len({r["refid"] for r in delisted}) == len(delisted)  # the two sides are unpaired
    assert min(r["time"] for r in delisted) >= day(2025, 3, 31)


def test_staking_is_legacy_before_the_earn_launch_and_through_earn_after(truth: dict[str, Any]) -> None:
    rows = list(truth["ledgers"]["ledger"].values())
    launch = day(2023, 11, 15)
    legacy = [r for r in rows if r["asset"] in ("DOT.S", "ETH2.S") and r["subtype"] != "migration"
              and r["type"] in ("transfer", "staking") and Decimal(r["amount"]) > 0]
    assert legacy and max(r["time"] for r in legacy) < launch  # DOT -> DOT.S, ETH -> ETH2.S and their rewards
    staked = [r for r in rows if r["time"] >= launch and r["type"] == "earn" and Decimal(r["amount"]) > 0
              and (r["asset"], r["wallet"]) in (("DOT", "earn / bonded"), ("XETH", "earn / liquid"))
              and r["subtype"] in ("allocation", "reward")]
    assert {r["subtype"] for r in staked} == {"allocation", "reward"}
    assert "DOT" in {r["asset"] for r in staked if r["subtype"] == "allocation"}


def test_every_export_header_era_carries_the_shapes() -> None:
    for era in LEDGER_HEADERS:
        kraken, clock = _kraken(5, 500, ledgers_header=era)
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
        assert {"spend", "receive", "airdrop", *RARE_TYPES} <= {r["type"] for r in rows}, era


def _digest(truths: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(truths, sort_keys=True, default=str).encode()).hexdigest()


def test_the_default_profile_is_unchanged_for_a_seed() -> None:
    kraken = make_kraken(create_app(SimConfig(seed=7, ledger_entries=600, rate_limits=False)))
    truths = {k: kraken.truth(k) for k in ("ledgers", "trades", "closed_orders", "order_amends", "balances")}
    assert _digest(truths) == DEFAULT_SEED_7


# sha256 of the default profile's truth for seed 7, 600 entries, as main built it before any profile had shapes
DEFAULT_SEED_7 = "d8e305e50c253cb7eeefb43878d73573933ee0a72a265de494e81a0b0f422ee3"


# -- the rarer shapes ----------------------------------------------------------------------------------------

def _rows(truth: dict[str, Any], *types: str) -> list[dict[str, Any]]:
    return [{"id": lid, **r} for lid, r in truth["ledgers"]["ledger"].items() if r["type"] in types]


def test_a_dust_conversion_empties_small_balances_into_usd_under_one_refid(truth: dict[str, Any]) -> None:
    groups = [legs for legs in _by_refid(truth["ledgers"]["ledger"]).values()
              if {leg["type"] for leg in legs} == {"conversion"} and "ZUSD" in {leg["asset"] for leg in legs}]
    assert groups
    for legs in groups:
        (usd,) = [leg for leg in legs if leg["asset"] == "ZUSD"]
        out = [leg for leg in legs if leg is not usd]
        assert out and Decimal(usd["amount"]) > 0 and len({leg["time"] for leg in legs}) == 1
        assert all(Decimal(leg["amount"]) < 0 and Decimal(leg["balance"]) == 0 for leg in out)  # emptied whole
        assert all(leg["asset"] in ("SOL", "DOT", "XETH", "XXBT") for leg in out)


def test_opt_in_rewards_live_on_their_mirrors_before_earn(truth: dict[str, Any]) -> None:
    mirrors = {"XBT.M": "XXBT", "USD.M": "ZUSD", "DOT.F": "DOT", "ETH.B": "XETH"}
    rows = [r for r in truth["ledgers"]["ledger"].values() if r["asset"] in mirrors]
    assert {r["asset"] for r in rows} == set(mirrors)
    rewards = [r for r in rows if r["type"] == "staking"]
    assert rewards and all(Decimal(r["amount"]) > 0 and r["time"] < day(2023, 11, 15) for r in rewards)
    for refid, legs in _by_refid({str(i): r for i, r in enumerate(rows) if r["type"] == "transfer"}).items():
        everything = [r for r in truth["ledgers"]["ledger"].values() if r["refid"] == refid]
        assert len(everything) == 2 and sum(Decimal(r["amount"]) for r in everything) == 0
        (mirror,) = legs
        (base,) = [r for r in everything if r["asset"] != mirror["asset"]]
        assert base["asset"] == mirrors[mirror["asset"]]
        into = Decimal(mirror["amount"]) > 0
        assert (mirror["subtype"], base["subtype"]) == (("stakingfromspot", "spottostaking") if into
                                                        else ("stakingtospot", "spotfromstaking"))
        if into:
            assert mirror["time"] < day(2023, 11, 15)


def test_nft_rows_fall_while_the_marketplace_was_open(truth: dict[str, Any]) -> None:
    rows = _rows(truth, "nfttrade", "nftcreatorfee", "nftrebate")
    assert {r["type"] for r in rows} == {"nfttrade", "nftcreatorfee", "nftrebate"}
    assert all(day(2022, 11, 1) <= r["time"] < day(2025, 2, 27) for r in rows)
    assert all(r["asset"] in ("XETH", "SOL") and r["wallet"] == "spot / main" for r in rows)
    for fee in (r for r in rows if r["type"] == "nftcreatorfee"):  # a royalty is paid out of a sale's proceeds
        (sold,) = [r for r in rows if r["refid"] == fee["refid"] and r["type"] == "nfttrade"]
        assert Decimal(fee["amount"]) < 0 < Decimal(sold["amount"]) > -Decimal(fee["amount"])
    assert all(Decimal(r["amount"]) > 0 for r in rows if r["type"] == "nftrebate")


def test_sale_custody_adjustment_and_hybrid_earn_withdrawal(truth: dict[str, Any]) -> None:
    ledger = truth["ledgers"]["ledger"]
    groups = _by_refid(ledger)
    sales = [groups[r["refid"]] for r in _rows(truth, "sale")]
    assert sales and all(len(legs) == 2 and sorted(leg["asset"] == "ZUSD" for leg in legs) == [False, True]
                         for legs in sales)
    custody = [groups[r["refid"]] for r in _rows(truth, "custodytransfer")]
    assert custody and all(len(legs) == 2 and len({leg["asset"] for leg in legs}) == 1
                           and sum(Decimal(leg["amount"]) for leg in legs) == 0 for legs in custody)
    assert _rows(truth, "adjustment") and all(len(groups[r["refid"]]) == 1 for r in _rows(truth, "adjustment"))
    hybrid = _rows(truth, "hybridearnwithdrawal")
    assert hybrid and all(r["time"] >= day(2024, 1, 1) for r in hybrid)
    for r in hybrid:
        legs = groups[r["refid"]]
        assert len(legs) == 2 and sum(Decimal(leg["amount"]) for leg in legs) == 0
        assert {leg["wallet"] for leg in legs if Decimal(leg["amount"]) > 0} == {"spot / main"}
        assert {leg["wallet"] for leg in legs if Decimal(leg["amount"]) < 0} <= {
            "earn / flexible", "earn / bonded", "earn / liquid"}


def test_a_hybrid_earn_withdrawal_can_be_an_earn_subtype() -> None:
    kraken, _ = _kraken(2, 400, hybrid_earn_withdrawal="subtype")
    rows = [r for r in kraken.truth("ledgers")["ledger"].values()
            if "hybridearnwithdrawal" in (r["type"], r["subtype"])]
    assert rows and {(r["type"], r["subtype"]) for r in rows} == {("earn", "hybridearnwithdrawal")}


def test_rest_ledgers_carry_every_rare_row(truth: dict[str, Any]) -> None:
    kraken, _ = _kraken(3, 500)
    wanted = {lid: r for lid, r in kraken.truth("ledgers")["ledger"].items()
              if r["type"] in RARE_TYPES or r["asset"] in ("XBT.M", "USD.M", "DOT.F", "ETH.B")}
    assert {r["type"] for r in wanted.values()} >= RARE_TYPES
    ids = sorted(wanted)
    for i in range(0, len(ids), 20):
        got = kraken.result("QueryLedgers", id=",".join(ids[i:i + 20]))
        for lid in ids[i:i + 20]:
            assert {**got[lid], "wallet": wanted[lid]["wallet"]} == wanted[lid]


def test_a_short_recent_history_holds_no_shape_before_its_time() -> None:
    kraken, _ = _kraken(1, 300, history_days=200)
    rows = list(kraken.truth("ledgers")["ledger"].values())
    assert min(r["time"] for r in rows) >= day(2026, 4, 1)
    kinds = {r["type"] for r in rows}
    assert not kinds & {"nfttrade", "nftcreatorfee", "nftrebate"}  # the marketplace closed in 2025
    assert not {r["asset"] for r in rows} & {"XBT.M", "USD.M", "DOT.F", "ETH.B"}  # opt-in rewards ended 2023
    assert {"sale", "custodytransfer", "adjustment", "spend", "dividend"} <= kinds  # the undated ones are there
