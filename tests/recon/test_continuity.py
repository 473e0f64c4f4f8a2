"""Pure pieces of reconciliation, with tiny literal inputs: wallet continuity, tie orders, fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

from kraken_etl.db.recon_chain import Group
from kraken_etl.recon.chain import orders_exist
from kraken_etl.recon.continuity import MAIN, Row, infer_wallets
from kraken_etl.recon.finding import Finding

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
T2 = datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC)


def _by_id(rows: list[Row], **kwargs: object) -> dict[str, tuple[str | None, str]]:
    return {a.ledger_id: (a.wallet, a.source) for a in infer_wallets(rows, **kwargs)}  # type: ignore[arg-type]


def test_an_earn_allocation_opens_a_second_wallet_and_rewards_follow_it() -> None:
    rows = [
        Row("L1", T0, "deposit", D("10"), D("10"), None),
        Row("L2", T1, "earn", D("-4"), D("6"), None),  # spot leg
        Row("L3", T1, "earn", D("4"), D("4"), None),  # earn leg: opens a chain
        Row("L4", T2, "earn", D("0.01"), D("4.01"), None),  # reward on the earn chain
    ]
    got = _by_id(rows)
    assert got["L1"] == (MAIN, "continuity") and got["L2"] == (MAIN, "continuity")
    assert got["L3"] == ("inferred / 1", "continuity") and got["L4"] == ("inferred / 1", "continuity")


def test_inside_one_moment_the_order_does_not_matter() -> None:
    rows = [
        Row("L9", T1, "earn", D("4"), D("4"), None),  # listed first, but the spot leg is what opens nothing
        Row("L8", T1, "earn", D("-4"), D("6"), None),
    ]
    got = _by_id(rows, start={MAIN: D("10")}, known=("earn / flexible",))
    assert got == {"L8": (MAIN, "continuity"), "L9": ("earn / flexible", "continuity")}


def test_a_hybrid_earn_withdrawal_takes_its_earn_leg_from_the_earn_wallet() -> None:
    # type `hybridearnwithdrawal`: part of an Earn balance back to spot, one leg per wallet at one moment
    start = {MAIN: D("14.2585832958"), "earn / liquid": D("6.1562492832")}
    rows = [
        Row("L1", T0, "hybridearnwithdrawal", D("-6.0331242975"), D("0.1231249857"), None),
        Row("L2", T0, "hybridearnwithdrawal", D("6.0331242975"), D("20.2917075933"), None),
        Row("L3", T1, "transfer", D("-2.8408390630"), D("17.4508685303"), None),
    ]
    got = _by_id(rows, start=start)
    assert got == {"L1": ("earn / liquid", "continuity"), "L2": (MAIN, "continuity"), "L3": (MAIN, "continuity")}


def test_trades_and_deposits_only_sit_in_spot_and_a_gap_goes_to_the_nearest_chain() -> None:
    start = {MAIN: D("100"), "earn / flexible": D("5")}
    rows = [
        Row("L1", T0, "trade", D("-1"), D("99"), None),
        Row("L2", T1, "earn", D("0.02"), D("5.03"), None),  # a 0.01 reward before it is missing
    ]
    got = _by_id(rows, start=start)
    assert got == {"L1": (MAIN, "continuity"), "L2": ("earn / flexible", "continuity")}


def test_a_sell_filled_from_spot_and_earn_takes_each_leg_from_its_wallet() -> None:
    # one order filled from both wallets: two trade legs of one asset at one moment, each continuing its chain
    start = {MAIN: D("40"), "earn / liquid": D("1.55")}
    rows = [
        Row("L1", T0, "trade", D("-1.55"), D("0"), None),  # the earn wallet's leg
        Row("L2", T0, "trade", D("-29.86"), D("10.14"), None),
        Row("L3", T1, "trade", D("-0.14"), D("10"), None),
    ]
    got = _by_id(rows, start=start)
    assert got == {"L1": ("earn / liquid", "continuity"), "L2": (MAIN, "continuity"), "L3": (MAIN, "continuity")}


def test_a_trade_leg_that_fits_no_chain_still_goes_to_spot() -> None:
    start = {MAIN: D("40"), "earn / liquid": D("1.55")}
    got = _by_id([Row("L1", T0, "trade", D("-1"), D("38"), None)], start=start)  # a 1.0 row before it is missing
    assert got == {"L1": (MAIN, "continuity")}


def test_a_tie_between_candidates_leaves_the_row_unknown() -> None:
    start = {MAIN: D("10"), "earn / flexible": D("10")}
    got = _by_id([Row("L1", T0, "earn", D("1"), D("12"), None)], start=start)
    assert got == {"L1": (None, "unknown")}


def test_fixed_rows_move_their_chain_and_are_not_reassigned() -> None:
    rows = [Row("L1", T0, "earn", D("2"), D("2"), "earn / bonded"), Row("L2", T1, "earn", D("1"), D("3"), None)]
    assert _by_id(rows, start={MAIN: D("50")}) == {"L2": ("earn / bonded", "continuity")}


def _group(prev: str, nets: list[str], bals: list[str]) -> Group:
    net = sum((D(n) for n in nets), D(0))
    return Group("KFEE", MAIN, T1, len(nets), net, D(max(bals, key=D)), "X", D(prev), "P", T0,
                 tuple(f"L{i}" for i in range(len(nets))), tuple(D(n) for n in nets), tuple(D(b) for b in bals))


def test_a_group_chains_when_some_order_of_its_rows_does() -> None:
    # 100 -> (credit +1000) 1100 -> (fee -3) 1097, listed the other way round
    assert orders_exist(_group("100", ["-3", "1000"], ["1097", "1100"]))
    assert orders_exist(_group("100", ["1000", "-3"], ["1097", "97"]))  # 100 -> 97 (fee) -> 1097 (credit)
    assert not orders_exist(_group("100", ["1000", "-3"], ["1100", "97"]))  # both start from 100: no order
    assert not orders_exist(_group("100", ["1000", "-3"], ["1100", "1098"]))


def test_fingerprint_ignores_amounts_and_messages() -> None:
    a = Finding("balance_chain", "chain_break", "break", "one", asset="XXBT", wallet=MAIN, source_ids=("L1", "L2"),
                difference=D("1"))
    b = Finding("balance_chain", "chain_break", "break", "two", asset="XXBT", wallet=MAIN, source_ids=("L1", "L2"),
                difference=D("2"))
    c = Finding("balance_chain", "chain_break", "break", "one", asset="XXBT", wallet=MAIN, source_ids=("L1", "L3"))
    assert a.fingerprint("main") == b.fingerprint("main") != c.fingerprint("main")
    assert a.fingerprint("main") != a.fingerprint("other")
