"""Commodity and account names the tools accept, for hostile Kraken codes, labels and wallets."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from kraken_etl.books.journal_names import Chart, ChartError, commodity, is_account, ledger_commodity, quoted
from tests.books.conftest import bean_check, hledger_check

HOSTILE = ["BTC", "DOT.S", "ETH2.S", "USD.HOLD", "KFEE", "XBT.M", "1INCH", "1inch", "eth", "ETH ", " ETH", "B", "Z",
           "A" * 30, "BTC.", ".S", "-", "", "X\"Y", "X'Y", "\x1b[2J", "B\u200bTC", "\u202eCTB", "ÄÖ", "BTC;X",
           "BTC USD", "USD.hold", "DOT-S", "DOT_S", "9", "LUNA2", "A/B", "{BTC}", "@@"]
BEANCOUNT_CURRENCY = re.compile(r"[A-Z][A-Z0-9'._-]*[A-Z0-9]")


def test_kraken_codes_the_tools_accept_are_kept() -> None:
    for code in ("BTC", "DOT.S", "ETH2.S", "USD.HOLD", "KFEE", "XBT.M", "LUNA2", "DOT-S", "DOT_S"):
        assert commodity(code) == code


@pytest.mark.parametrize("code", HOSTILE, ids=repr)
def test_every_name_is_a_beancount_commodity(code: str) -> None:
    name = commodity(code)
    assert BEANCOUNT_CURRENCY.fullmatch(name), name
    assert len(name) <= 24


def test_names_never_collide() -> None:
    names = [commodity(c) for c in HOSTILE]
    assert len(set(names)) == len(set(HOSTILE))


def test_a_leading_digit_gets_a_prefix_and_a_digest() -> None:
    assert re.fullmatch(r"K1INCH-[0-9A-F]{6}", commodity("1INCH"))
    assert commodity("1INCH") != commodity("1inch")


def test_ledger_quotes_all_but_letters() -> None:
    assert ledger_commodity("BTC") == "BTC"
    assert ledger_commodity("DOT.S") == '"DOT.S"'
    assert ledger_commodity("ETH2") == '"ETH2"'


def _file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "names.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bean_check_and_hledger_accept_every_hostile_name(tmp_path: Path) -> None:
    """Each hostile code as a commodity, with its asset posting, a balance assertion and a hostile narration."""
    bean = ["2024-01-01 open Assets:Kraken:X", "2024-01-01 open Equity:Transfers"]
    ledger = ["decimal-mark ."]
    for i, code in enumerate(HOSTILE):
        name, amount = commodity(code), Decimal("1.0000000001") + i
        bean += [f'2024-01-02 * "Kraken" {quoted(code)}', f"  refid: {quoted(code)}",
                 f"  Assets:Kraken:X  {amount} {name}", f"  Equity:Transfers  {-amount} {name}",
                 f"2024-01-03 balance Assets:Kraken:X  {amount} ~ 0 {name}"]
        ledger += [f"2024-01-02 * deposit {i}", f"    Assets:Kraken:X  {amount} {ledger_commodity(name)}",
                   f"    Equity:Transfers  {-amount} {ledger_commodity(name)}",
                   f"2024-01-02 * check {i}",
                   f"    Assets:Kraken:X  0 {ledger_commodity(name)} = {amount} {ledger_commodity(name)}"]
    checked = bean_check(_file(tmp_path, bean))
    assert checked.code == 0, checked.output[:2000]
    hledger = hledger_check(_file(tmp_path, ledger))
    assert hledger.code == 0, hledger.output[:2000]


def test_chart_renames_by_prefix_on_component_boundaries() -> None:
    chart = Chart({"Equity:Transfers": "Assets:Bank:Clearing", "Assets:Kraken": "Assets:Exchanges:Kraken",
                   "Assets:Kraken:Main:Spot": "Assets:Hot"})
    assert chart.name("Equity:Transfers") == "Assets:Bank:Clearing"
    assert chart.name("Assets:Kraken:Main:Earn:Flexible:BTC") == "Assets:Exchanges:Kraken:Main:Earn:Flexible:BTC"
    assert chart.name("Assets:Kraken:Main:Spot:BTC") == "Assets:Hot:BTC"  # the longest prefix wins
    assert chart.name("Assets:KrakenX:BTC") == "Assets:KrakenX:BTC"  # not a component boundary
    assert chart.name("Expenses:Kraken:Fees") == "Expenses:Kraken:Fees"


@pytest.mark.parametrize("target", ["assets:bank", "Bank:Clearing", "Assets:bank", "Assets:Bank Clearing", "Assets:"])
def test_chart_refuses_names_the_tools_refuse(target: str) -> None:
    assert not is_account(target)
    with pytest.raises(ChartError):
        Chart({"Equity:Transfers": target})


def test_chart_file(tmp_path: Path) -> None:
    path = tmp_path / "chart.toml"
    path.write_text('[accounts]\n"Equity:Transfers" = "Assets:Bank:Clearing"\n', encoding="utf-8")
    assert Chart.load(path).name("Equity:Transfers") == "Assets:Bank:Clearing"
    path.write_text('[accounts]\n"Equity:Transfers" = "nope"\n', encoding="utf-8")
    with pytest.raises(ChartError):
        Chart.load(path)
