"""Ledger entries → lot events by the treatments table (hand-made entries, figures worked by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from kraken_etl.books.event_lines import LedgerLine, OpeningLot
from kraken_etl.books.lots import compute
from kraken_etl.books.lots_model import Kind
from kraken_etl.books.treatments import ANY, DEFAULTS, FeeRule, Rule, Treatment, rule_for
from kraken_etl.books.treatments_events import ledger_to_events

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)


def line(lid: str, type_: str, asset: str, amount: str, fee: str = "0", *, refid: str | None = None,
         subtype: str = "", price: str | None = "1", minutes: int = 0) -> LedgerLine:
    return LedgerLine(lid, refid, T0 + timedelta(minutes=minutes), type_, subtype, asset, D(amount), D(fee),
                      None if price is None else D(price))


def kinds(events: list) -> list[tuple]:
    return [(e.kind, e.asset, e.amount, e.value, e.fees) for e in events]


def test_a_fiat_buy_puts_the_fee_into_the_cost() -> None:
    got = ledger_to_events([line("L1", "trade", "USD", "-1000", "2.6", refid="T1"),
                            line("L2", "trade", "XBT", "0.02", refid="T1", price="50000")], currency="USD")
    assert kinds(got.events) == [(Kind.ACQUIRE, "XBT", D("0.02"), D("1002.6"), D(0))]
    assert got.events[0].entries == ("L1", "L2") and got.findings == []


def test_a_fiat_sale_keeps_the_fee_apart_from_the_proceeds() -> None:
    got = ledger_to_events([line("L1", "trade", "XBT", "-0.02", refid="T1", price="55000"),
                            line("L2", "trade", "USD", "1100", "3", refid="T1")], currency="USD")
    assert kinds(got.events) == [(Kind.DISPOSE, "XBT", D("0.02"), D(1100), D(3))]


def test_crypto_to_crypto_is_a_disposal_and_an_acquisition_at_the_received_fair_value() -> None:
    got = ledger_to_events([line("L1", "trade", "ETH", "-1", refid="T1", price="2100"),
                            line("L2", "trade", "XBT", "0.05", "0.0001", refid="T1", price="40000")], currency="USD")
    assert sorted(kinds(got.events)) == sorted([(Kind.DISPOSE, "ETH", D(1), D(2000), D(0)),
                                                (Kind.ACQUIRE, "XBT", D("0.0499"), D(2000), D(0))])


def test_a_fee_rule_of_disposal_proceeds_moves_a_fiat_fee_off_the_acquisition() -> None:
    legs = [line("L1", "trade", "EUR", "-900", refid="T1", price="1.1"),
            line("L2", "trade", "XBT", "0.02", refid="T1", price="50000"),
            line("L3", "trade", "USD", "0", "1.5", refid="T1")]
    cost = ledger_to_events(legs, currency="USD")
    proceeds = ledger_to_events(legs, currency="USD", fee_rule=FeeRule.DISPOSAL_PROCEEDS)
    # no amount in the reporting currency: the trade is worth what it received (0.02 x 50,000)
    assert {(e.kind, e.value, e.fees) for e in cost.events} == {(Kind.DISPOSE, D(1000), D(0)),
                                                               (Kind.ACQUIRE, D("1001.5"), D(0))}
    assert {(e.kind, e.value, e.fees) for e in proceeds.events} == {(Kind.DISPOSE, D(1000), D("1.5")),
                                                                   (Kind.ACQUIRE, D(1000), D(0))}


def test_rewards_are_income_at_fair_value_and_wallet_moves_carry_lots() -> None:
    got = ledger_to_events([line("L1", "staking", "DOT", "2", price="6.5"),
                            line("L2", "transfer", "DOT", "-10", subtype="spottostaking", price="6.5", minutes=1),
                            line("L3", "transfer", "DOT", "10", subtype="stakingfromspot", price="6.5", minutes=1),
                            line("L4", "earn", "ETH", "-1", subtype="allocation", minutes=2),
                            line("L5", "earn", "ETH", "0.01", subtype="reward", price="2000", minutes=3)],
                           currency="USD")
    assert kinds(got.events) == [(Kind.INCOME, "DOT", D(2), D(13), D(0)), (Kind.INCOME, "ETH", D("0.01"), D(20), D(0))]


def test_a_deposit_takes_its_cost_and_date_from_the_opening_lots_then_fair_value_flagged() -> None:
    lot = OpeningLot("XBT", D("0.3"), D(3000), datetime(2019, 5, 1, tzinfo=UTC), "lots.csv:2")
    got = ledger_to_events([line("L1", "deposit", "XBT", "0.5", price="60000")], currency="USD", opening_lots=[lot])
    assert [(e.amount, e.value, e.cost_assumed, e.acquired_at) for e in got.events] == [
        (D("0.3"), D(3000), False, lot.acquired_at), (D("0.2"), D(12000), True, None)]
    assert [(f.kind, f.entries) for f in got.findings] == [("cost_assumed", ("L1",))]
    books = compute(got.events, "fifo")
    assert books.lots["XBT"][0].acquired_at == lot.acquired_at


def test_a_withdrawal_moves_lots_out_with_its_fee() -> None:
    got = ledger_to_events([line("L1", "withdrawal", "ETH", "-2", "0.005", price="2000")], currency="USD")
    assert kinds(got.events) == [(Kind.TRANSFER_OUT, "ETH", D("2.005"), D(0), D(0))]


def test_the_reporting_currency_has_no_lots_and_fee_credits_are_an_expense() -> None:
    got = ledger_to_events([line("L1", "deposit", "USD", "5000"),
                            line("L2", "trade", "XBT", "0.01", refid="T1", price="50000"),
                            line("L3", "trade", "USD", "-500", refid="T1"),
                            line("L4", "trade", "KFEE", "-120", refid="T1", price="0.01")], currency="USD")
    assert sorted(kinds(got.events)) == sorted([(Kind.ACQUIRE, "XBT", D("0.01"), D(500), D(0)),
                                                (Kind.EXPENSE, "KFEE", D(120), D("1.20"), D(0))])


def test_unknown_types_and_missing_prices_are_findings_never_silent() -> None:
    got = ledger_to_events([line("L1", "airdrop", "SOL", "3", price=None)], currency="USD")
    assert [(e.kind, e.amount, e.value, e.cost_assumed) for e in got.events] == [(Kind.ACQUIRE, D(3), D(0), True)]
    assert sorted(f.kind for f in got.findings) == ["no_price", "unclassified"]


def test_an_edited_table_changes_the_treatment() -> None:
    table = {**DEFAULTS, ("staking", ANY): Rule(Treatment.ACQUIRE_OR_DISPOSE, "user: not income")}
    got = ledger_to_events([line("L1", "staking", "DOT", "2", price="6.5")], currency="USD", table=table)
    assert [(e.kind, e.cost_assumed) for e in got.events] == [(Kind.ACQUIRE, True)] and got.findings == []
    assert rule_for(table, "STAKING", "") is table[("staking", ANY)]
    assert rule_for(DEFAULTS, "transfer", "delistingconversion").treatment is Treatment.TRADE


def test_open_lots_follow_the_balance() -> None:
    lines = [line("L1", "deposit", "XBT", "1", price="40000"),
             line("L2", "trade", "XBT", "-0.4", refid="T1", price="41000", minutes=1),
             line("L3", "trade", "ETH", "6", "0.01", refid="T1", price="2700", minutes=1),
             line("L4", "withdrawal", "ETH", "-1", "0.002", price="2700", minutes=2),
             line("L5", "staking", "ETH", "0.03", price="2700", minutes=3)]
    got = ledger_to_events(lines, currency="USD")
    for method in ("fifo", "lifo", "hifo", "average", "uk"):
        books = compute(got.events, method)
        for asset in ("XBT", "ETH"):
            assert books.held(asset) == sum(x.net for x in lines if x.asset == asset), (method, asset)


def test_a_sale_filled_from_spot_and_earn_disposes_of_the_full_amount_once() -> None:
    # BittyTax PR #499: 31.41 ETH sold in one order, drawn from spot (29.86) and an Earn wallet (1.55)
    legs = [line("L1", "trade", "ETH", "-29.86", refid="T1", price="3000"),
            line("L2", "trade", "ETH", "-1.55", refid="T1", price="3000"),
            line("L3", "trade", "USD", "94230", "245", refid="T1")]
    got = ledger_to_events(legs, currency="USD")
    assert kinds(got.events) == [(Kind.DISPOSE, "ETH", D("31.41"), D(94230), D(245))]
    assert got.events[0].entries == ("L1", "L2", "L3") and got.findings == []


def test_a_buy_credited_to_two_wallets_is_one_acquisition() -> None:
    legs = [line("L1", "trade", "EUR", "-900", refid="T1", price="1.1"),
            line("L2", "trade", "XBT", "0.015", refid="T1", price="66000"),
            line("L3", "trade", "XBT", "0.005", "0.00001", refid="T1", price="66000")]
    got = ledger_to_events(legs, currency="USD")
    # no leg in the reporting currency: worth what it received (0.02 x 66,000), one lot of the net 0.01999
    assert sorted(kinds(got.events)) == sorted([(Kind.DISPOSE, "EUR", D(900), D(1320), D(0)),
                                                (Kind.ACQUIRE, "XBT", D("0.01999"), D(1320), D(0))])


def test_buy_crypto_spend_and_receive_are_a_purchase_at_the_fiat_spent() -> None:
    got = ledger_to_events([line("L1", "deposit", "USD", "1015"),
                            line("L2", "spend", "USD", "-1000", "15", refid="S1", minutes=1),
                            line("L3", "receive", "SOL", "6.5", refid="S1", price="160", minutes=1)], currency="USD")
    assert kinds(got.events) == [(Kind.ACQUIRE, "SOL", D("6.5"), D(1015), D(0))] and got.findings == []


def test_buy_crypto_in_another_fiat_is_worth_what_was_spent_fee_included() -> None:
    got = ledger_to_events([line("L1", "spend", "EUR", "-900", "13.5", refid="S1", price="1.1"),
                            line("L2", "receive", "XBT", "0.02", refid="S1", price="60000")], currency="USD")
    assert sorted(kinds(got.events)) == sorted([(Kind.DISPOSE, "EUR", D("913.5"), D("1004.85"), D(0)),
                                                (Kind.ACQUIRE, "XBT", D("0.02"), D("1004.85"), D(0))])


def test_earn_migration_and_a_renamed_asset_are_moves() -> None:
    # DOT.S → DOT in Earn and ETH2.S → ETH: one asset once normalised (DOT, ETH), the lots carry over
    got = ledger_to_events([line("L0", "deposit", "ETH", "2", price="2000"),
                            line("L1", "earn", "DOT", "-40", subtype="migration", refid="E1", price="6"),
                            line("L2", "earn", "DOT", "40", subtype="migration", refid="E1", price="6"),
                            line("L3", "conversion", "ETH", "-2", refid="C1", price="3000", minutes=1),
                            line("L4", "conversion", "ETH", "2", refid="C1", price="3000", minutes=1)],
                           currency="USD")
    assert kinds(got.events) == [(Kind.ACQUIRE, "ETH", D(2), D(4000), D(0))]
    assert [f.kind for f in got.findings] == ["cost_assumed"]


def test_a_conversion_to_another_asset_is_a_swap() -> None:
    got = ledger_to_events([line("L3", "conversion", "LUNA", "-100", refid="C1", price="0.5"),
                            line("L4", "conversion", "LUNA2", "20", refid="C1", price="2")], currency="USD")
    assert sorted(kinds(got.events)) == sorted([(Kind.DISPOSE, "LUNA", D(100), D(40), D(0)),
                                                (Kind.ACQUIRE, "LUNA2", D(20), D(40), D(0))])


def test_an_airdrop_is_an_acquisition_at_fair_value_flagged_unclassified() -> None:
    got = ledger_to_events([line("L1", "airdrop", "SOL", "0.25", price="150"),
                            line("L2", "invite bonus", "USD", "25")], currency="USD")
    assert [(e.kind, e.asset, e.amount, e.value, e.cost_assumed) for e in got.events] == [
        (Kind.ACQUIRE, "SOL", D("0.25"), D("37.50"), True)]
    assert [(f.kind, f.entries) for f in got.findings] == [("unclassified", ("L1",))]


def test_the_migrations_seed_the_defaults() -> None:
    """kraken.treatment is seeded from a frozen copy in the cost_basis migration, updated by margin_books and
    nft_treatments: the result must equal DEFAULTS."""
    import importlib.util
    from pathlib import Path
    from types import ModuleType

    def migration(suffix: str) -> ModuleType:
        path = next((Path(__file__).parents[2] / "migrations" / "versions").glob(f"*_{suffix}.py"))
        spec = importlib.util.spec_from_file_location(f"migration_{suffix}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    seeded = {(t, s): (tr, f, n) for t, s, tr, f, n in migration("cost_basis").SEED}
    seeded.update(migration("margin_books").UPDATES)
    seeded.update(migration("nft_treatments").UPDATES)
    assert seeded == {k: (r.treatment.value, r.flagged, r.note) for k, r in DEFAULTS.items()}
