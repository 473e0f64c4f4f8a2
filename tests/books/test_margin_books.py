"""Margin entries in the books (figures worked by hand): a position's realised profit or loss is a gain that
draws on no lots, its opening, closing and rollover fees are expenses, a settlement is a trade."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kraken_etl.books.lots import compute
from kraken_etl.books.lots_model import Kind, Method
from kraken_etl.books.treatments import DEFAULTS, Treatment
from kraken_etl.books.treatments_events import ledger_to_events
from tests.books.test_treatments import kinds, line


def test_margin_types_are_classified_without_a_flag() -> None:
    assert {t: DEFAULTS[(t, "*")].treatment for t in ("margin", "rollover", "settled")} == {
        "margin": Treatment.MARGIN, "rollover": Treatment.FEE, "settled": Treatment.TRADE}
    assert not any(DEFAULTS[(t, "*")].flagged for t in ("margin", "rollover", "settled"))


def test_a_position_in_the_reporting_currency_pays_fees_and_realises_a_gain() -> None:
    lines = [line("L1", "margin", "USD", "0", "1.6806", refid="T1"),  # opening: the trade and opening fees
             line("L2", "rollover", "USD", "0", "0.1200", refid="T1", minutes=240),
             line("L3", "margin", "USD", "9.8000", "1.5860", refid="T2", minutes=300)]  # closing: profit, fee
    got = ledger_to_events(lines, currency="USD")
    assert got.findings == []
    assert kinds(got.events) == [(Kind.EXPENSE, "USD", D("1.6806"), D("1.6806"), D(0)),
                                 (Kind.EXPENSE, "USD", D("0.1200"), D("0.1200"), D(0)),
                                 (Kind.EXPENSE, "USD", D("1.5860"), D("1.5860"), D(0)),
                                 (Kind.GAIN, "USD", D("9.8000"), D("9.8000"), D(0))]
    books = compute(got.events, Method.FIFO)
    (gain,) = books.disposals
    assert (gain.rule, gain.proceeds, gain.cost, gain.gain, gain.disposal_entries) == (
        "margin", D("9.8000"), D(0), D("9.8000"), ("L3",))
    assert sum(e.value for e in books.expenses) == D("3.3866") and books.lots == {}


@pytest.mark.parametrize("method", list(Method))
def test_a_loss_is_a_negative_gain_in_every_method(method: Method) -> None:
    got = ledger_to_events([line("L3", "margin", "USD", "-4.2500", "1.5", refid="T2")], currency="USD")
    (loss,) = compute(got.events, method).disposals
    assert (loss.proceeds, loss.cost, loss.gain, loss.rule) == (D(0), D("4.2500"), D("-4.2500"), "margin")


def test_a_position_quoted_in_another_currency_also_moves_that_currencys_lots() -> None:
    lines = [line("L0", "deposit", "EUR", "100", price="1.05"),
             line("L1", "rollover", "EUR", "0", "0.5", refid="T1", price="1.1", minutes=1),
             line("L2", "margin", "EUR", "-10", "2", refid="T2", price="1.1", minutes=2),
             line("L3", "margin", "EUR", "4", "0", refid="T3", price="1.2", minutes=3)]
    got = ledger_to_events(lines, currency="USD")
    margin = [e for e in got.events if e.entries != ("L0",)]
    assert kinds(margin) == [(Kind.DISPOSE, "EUR", D("0.5"), D("0.55"), D(0)),
                             (Kind.EXPENSE, "EUR", D("0.5"), D("0.55"), D(0)),
                             (Kind.DISPOSE, "EUR", D(2), D("2.2"), D(0)),
                             (Kind.EXPENSE, "EUR", D(2), D("2.2"), D(0)),
                             (Kind.GAIN, "EUR", D(10), D("-11.0"), D(0)),
                             (Kind.DISPOSE, "EUR", D(10), D("11.0"), D(0)),
                             (Kind.GAIN, "EUR", D(4), D("4.8"), D(0)),
                             (Kind.ACQUIRE, "EUR", D(4), D("4.8"), D(0))]
    books = compute(got.events, Method.FIFO)
    assert books.held("EUR") == sum(x.net for x in lines)  # the lots follow the balance
    gains = sorted((d.rule, d.gain) for d in books.disposals if d.rule == "margin")
    assert gains == [("margin", D("-11.0")), ("margin", D("4.8"))]


def test_a_settlement_is_a_trade_at_the_positions_cost() -> None:
    got = ledger_to_events([line("L1", "settled", "XBT", "0.02", refid="S1", price="31000"),
                            line("L2", "settled", "USD", "-600.2", refid="S1")], currency="USD")
    assert got.findings == []
    assert kinds(got.events) == [(Kind.ACQUIRE, "XBT", D("0.02"), D("600.2"), D(0))]


def test_a_position_closed_in_two_parts_realises_each_part_when_it_closes() -> None:
    lines = [line("L1", "margin", "USD", "0", "1.6806", refid="T1"),  # opening
             line("L2", "margin", "USD", "4.0000", "0.5000", refid="T2", minutes=60),  # a partial close: profit
             line("L3", "margin", "USD", "-1.5000", "0.9000", refid="T3", minutes=120)]  # the rest: a loss
    got = ledger_to_events(lines, currency="USD")
    assert got.findings == []
    books = compute(got.events, Method.FIFO)
    assert sorted((d.disposal_entries, d.rule, d.gain) for d in books.disposals) == [
        (("L2",), "margin", D("4.0000")), (("L3",), "margin", D("-1.5000"))]
    assert sum(e.value for e in books.expenses) == D("3.0806") and books.lots == {}
