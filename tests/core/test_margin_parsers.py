"""Margin payloads as Kraken's reference shows them: position trades, OpenPositions, a full TradeBalance, the
margin ledger types, and the trades export's position columns — parsed exactly, quirks included."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.exportrows import iter_cell_batches
from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.money import loads
from kraken_etl.core.order import parse_closed_order
from kraken_etl.core.parsing import MalformedRecord
from kraken_etl.core.position import parse_open_positions
from kraken_etl.core.trade import parse_trade
from kraken_etl.core.tradebalance import parse_trade_balance
from kraken_etl.jobs.streams import EXPORT_ROWS

AT = datetime(2026, 11, 2, tzinfo=UTC)

OPENING = loads("""{"ordertxid": "OQCLML-BW3P3-BUCMWZ", "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": "XXBTZUSD",
  "time": 1688667796.8802, "type": "buy", "ordertype": "market", "price": "30010.0", "cost": "600.20000",
  "fee": "1.68056", "vol": "0.02000000", "margin": "300.10000", "leverage": "2", "misc": "",
  "posstatus": "closed", "cprice": "30500.0", "ccost": "610.00000", "cfee": "1.58600", "cvol": "0.02000000",
  "cmargin": "300.10000", "net": "9.80000", "trades": ["TCLOSE-AAAAA-BBBBBB"], "trade_id": 1, "maker": false,
  "ledgers": ["LMARGN-AAAAA-BBBBBB"]}""")
CLOSING = loads("""{"ordertxid": "OCLOSE-AAAAA-BBBBBB", "postxid": "THVRQM-33VKH-UCI7BS", "pair": "XXBTZUSD",
  "time": 1688670000.1, "type": "sell", "ordertype": "market", "price": "30500.0", "cost": "610.00000",
  "fee": "1.58600", "vol": "0.02000000", "margin": "300.10000", "leverage": "2", "misc": "closing"}""")


def test_an_opening_trade_keeps_its_position_fields() -> None:
    t = parse_trade("THVRQM-33VKH-UCI7BS", OPENING)
    assert (t.posstatus, t.margin, t.leverage) == ("closed", Decimal("300.10000"), "2")
    assert (t.cprice, t.ccost, t.cfee, t.cvol, t.cmargin, t.net) == (
        Decimal("30500.0"), Decimal("610.00000"), Decimal("1.58600"), Decimal("0.02000000"),
        Decimal("300.10000"), Decimal("9.80000"))
    assert str(t.ccost) == "610.00000"  # the scale Kraken wrote
    assert t.position_trades == ("TCLOSE-AAAAA-BBBBBB",) and t.ledgers == ("LMARGN-AAAAA-BBBBBB",)


def test_a_closing_trade_names_its_position_and_a_spot_trade_has_no_position_fields() -> None:
    t = parse_trade("TCLOSE-AAAAA-BBBBBB", CLOSING)
    assert (t.postxid, t.misc, t.posstatus, t.net, t.position_trades) == (
        "THVRQM-33VKH-UCI7BS", "closing", None, None, None)
    spot = parse_trade("T1", {**CLOSING, "margin": "0.00000", "leverage": "0", "misc": ""})
    assert spot.margin == 0 and spot.posstatus is None


@pytest.mark.parametrize(("net", "expected"), [("+9.8000", "9.8000"), ("-3.2100", "-3.2100"), ("0.0000", "0.0000")])
def test_a_net_with_a_leading_plus_is_the_number(net: str, expected: str) -> None:
    t = parse_trade("THVRQM-33VKH-UCI7BS", {**OPENING, "net": net})
    assert t.net == Decimal(expected) and str(t.net) == expected


@pytest.mark.parametrize("net", ["++1", "+-1", "+", "1+"])
def test_a_net_outside_the_grammar_is_malformed(net: str) -> None:
    with pytest.raises(MalformedRecord, match="net"):
        parse_trade("THVRQM-33VKH-UCI7BS", {**OPENING, "net": net})


POSITIONS = loads("""{
  "TF5GVO-T7ZZ2-6NBKBI": {"ordertxid": "OLWNFG-LLH4R-D6SFFP", "posstatus": "open", "pair": "XXBTZUSD",
    "time": 1605280097.8294, "type": "buy", "ordertype": "limit", "cost": "104610.52842", "fee": "289.06565",
    "vol": "8.82412861", "vol_closed": "0.20200000", "margin": "20922.10568", "value": "258797.5",
    "net": "+154186.9728", "terms": "0.0100% per 4 hours", "rollovertm": "1616672637", "misc": "",
    "oflags": ""},
  "T24DOR-TAFLM-ID3NYP": {"ordertxid": "OIVYGZ-M5EHU-ZRUQXX", "posstatus": "open", "pair": "XXBTZUSD",
    "time": 1607943827.3172, "type": "sell", "ordertype": "limit", "cost": "145756.76856", "fee": "335.24057",
    "vol": "8.00000000", "vol_closed": "0.00000000", "margin": "29151.35371", "value": "240124.0",
    "net": "-94367.2314", "terms": "0.0100% per 4 hours", "rollovertm": 1616672637, "misc": "", "oflags": ""}}""")


def test_open_positions_parse_exactly() -> None:
    long, short = parse_open_positions(POSITIONS, AT)
    assert (long.postxid, long.type, long.vol, long.vol_closed) == (
        "TF5GVO-T7ZZ2-6NBKBI", "buy", Decimal("8.82412861"), Decimal("0.20200000"))
    assert (long.net, short.net) == (Decimal("154186.9728"), Decimal("-94367.2314"))
    assert (long.margin, long.fee, long.value) == (Decimal("20922.10568"), Decimal("289.06565"), Decimal("258797.5"))
    assert (long.rollovertm, short.rollovertm) == ("1616672637", "1616672637")  # a string or a number
    assert long.time_raw == Decimal("1605280097.8294") and long.taken_at == AT
    assert long.raw["net"] == "+154186.9728" and long.raw["terms"] == "0.0100% per 4 hours"


@pytest.mark.parametrize("result", [{}, None])
def test_no_open_position(result: object) -> None:
    assert parse_open_positions(result, AT) == []


@pytest.mark.parametrize(("patch", "field"), [({"vol": "x"}, "vol"), ({"cost": None}, "cost"),
                                              ({"time": None}, "time"), ({"net": "+"}, "net")])
def test_a_broken_position_is_malformed_naming_the_field(patch: dict[str, object], field: str) -> None:
    broken = {**POSITIONS["TF5GVO-T7ZZ2-6NBKBI"], **patch}
    with pytest.raises(MalformedRecord, match=field):
        parse_open_positions({"TF5GVO-T7ZZ2-6NBKBI": broken}, AT)


def test_a_full_trade_balance_keeps_every_margin_field() -> None:
    full = loads('{"eb": "1101.3425", "tb": "392.2264", "m": "7.0354", "n": "-10.0232", "c": "21.1063", '
                 '"v": "31.1297", "e": "382.2032", "mf": "375.1678", "ml": "5432.57", "uv": "0.0000"}')
    parsed = parse_trade_balance(full, "ZUSD", AT)
    assert parsed.eb == Decimal("1101.3425")
    assert {k: str(v) for k, v in parsed.margin.items()} == {
        "tb": "392.2264", "m": "7.0354", "n": "-10.0232", "c": "21.1063", "v": "31.1297", "e": "382.2032",
        "mf": "375.1678", "ml": "5432.57", "uv": "0.0000"}


@pytest.mark.parametrize(("kind", "amount", "fee"), [
    ("margin", "0.0000", "1.6806"), ("margin", "-12.3400", "1.5860"), ("rollover", "0.0000", "0.1200"),
    ("settled", "-600.2000", "0.0000")])
def test_margin_ledger_types_are_ordinary_entries(kind: str, amount: str, fee: str) -> None:
    raw = {"refid": "THVRQM-33VKH-UCI7BS", "time": Decimal("1688667796.8802"), "type": kind, "subtype": "",
           "aclass": "currency", "asset": "ZUSD", "amount": amount, "fee": fee, "balance": "1000.0000"}
    e = parse_ledger_entry("LMARGN-AAAAA-BBBBBB", raw)
    assert (e.type, str(e.amount), str(e.fee), e.refid) == (kind, amount, fee, "THVRQM-33VKH-UCI7BS")


def test_a_margin_order_keeps_margin_and_leverage() -> None:
    order = loads("""{"refid": null, "userref": 0, "status": "closed", "opentm": 1688592012.2317,
      "closetm": 1688592012.2335, "starttm": 0, "expiretm": 0, "descr": {"pair": "XBTUSD", "type": "buy",
      "ordertype": "market", "price": "0", "price2": "0", "leverage": "2:1",
      "order": "buy 0.02000000 XBTUSD @ market", "close": ""}, "vol": "0.02000000", "vol_exec": "0.02000000",
      "cost": "600.2", "fee": "1.68", "price": "30010.0", "misc": "", "oflags": "fciq", "margin": true}""")
    parsed = parse_closed_order("OQCLML-BW3P3-BUCMWZ", order)
    assert (parsed.margin, parsed.leverage) == (True, "2:1")
    assert parse_closed_order("O2", {**order, "margin": None}).margin is None


def test_the_trades_export_keeps_position_columns() -> None:
    text = (
        '"txid","ordertxid","pair","time","type","ordertype","price","cost","fee","vol","margin","misc","ledgers",'
        '"postxid","posstatus","cprice","ccost","cfee","cvol","cmargin","net","trades"\n'
        '"THVRQM-33VKH-UCI7BS","OQCLML-BW3P3-BUCMWZ","XXBTZUSD","2023-07-06 18:23:16.8802","buy","market",'
        '30010.0,600.20000,1.68056,0.02000000,300.10000,"","LMARGN-AAAAA-BBBBBB","TKH2SE-M7IF5-CFI7LT","closed",'
        '30500.0,610.00000,1.58600,0.02000000,300.10000,+9.80000,"TCLOSE-AAAAA-BBBBBB"\n'
        '"TCLOSE-AAAAA-BBBBBB","OCLOSE-AAAAA-BBBBBB","XXBTZUSD","2023-07-06 19:00:00.1000","sell",'
        '"settle position",30500.0,610.00000,0,0.02000000,300.10000,"closing","L2","THVRQM-33VKH-UCI7BS","",'
        ',,,,,,""\n')
    (batch,) = list(iter_cell_batches(io.StringIO(text), EXPORT_ROWS))
    assert not batch.rejected
    columns = EXPORT_ROWS["trades"].columns
    opening, closing = (dict(zip(columns, row, strict=True)) for row in batch.values)
    assert (opening["posstatus"], opening["ccost"], opening["net"], opening["position_trades"]) == (
        "closed", "610.00000", "9.80000", ("TCLOSE-AAAAA-BBBBBB",))
    assert (closing["postxid"], closing["posstatus"], closing["net"], closing["ordertype"]) == (
        "THVRQM-33VKH-UCI7BS", None, None, "settle-position")
