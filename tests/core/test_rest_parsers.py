"""REST parsers against Kraken's documented payload shapes, exact Decimals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.amend import parse_order_amend
from kraken_etl.core.balance import parse_balance, parse_balance_ex
from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.money import loads
from kraken_etl.core.order import parse_closed_order
from kraken_etl.core.parsing import MalformedRecord, count_of, unix_seconds
from kraken_etl.core.trade import parse_trade

LEDGER_PAGE = loads("""{"error": [], "result": {
  "ledger": {
    "L4UESK-KG3EQ-UFO4T5": {"refid": "TJKLXF-PGMUI-4NTLXU", "time": 1688464484.1787, "type": "trade",
      "subtype": "", "aclass": "currency", "asset": "ZGBP", "amount": "-24.5000", "fee": "0.0490",
      "balance": "459567.9171"},
    "LMKZCZ-Z3GVL-CXKK4H": {"refid": "TBZIP2-F6QOU-TMB6FY", "time": 1688444262.8888, "type": "trade",
      "subtype": "", "aclass": "currency", "asset": "ZUSD", "amount": "0.9852", "fee": "0.0010",
      "balance": "52732.1132"}},
  "count": 2}}""")["result"]

TRADES = loads("""{"count": 1, "trades": {
  "THVRQM-33VKH-UCI7BS": {"ordertxid": "OQCLML-BW3P3-BUCMWZ", "postxid": "TKH2SE-M7IF5-CFI7LT",
    "pair": "XXBTZUSD", "time": 1688667796.8802, "type": "buy", "ordertype": "limit",
    "price": "30010.00000", "cost": "600.20000", "fee": "0.00000", "vol": "0.02000000",
    "margin": "0.00000", "leverage": "0", "misc": "", "trade_id": 40274859, "maker": true,
    "ledgers": ["L4UESK-KG3EQ-UFO4T5", "LMKZCZ-Z3GVL-CXKK4H"]}}}""")

CLOSED = loads("""{"count": 2, "closed": {
  "O37652-RJWRT-IMO74O": {"refid": null, "userref": 1, "cl_ord_id": null, "status": "canceled",
    "reason": "User requested", "opentm": 1688148493.7708, "closetm": 1688148610.0482,
    "starttm": 0, "expiretm": 0,
    "descr": {"pair": "XBTGBP", "type": "buy", "ordertype": "stop-loss-limit", "price": "23667.0",
      "price2": "0", "leverage": "none", "order": "buy 0.00100000 XBTGBP @ limit 23667.0", "close": ""},
    "vol": "0.00100000", "vol_exec": "0.00000000", "cost": "0.00000", "fee": "0.00000",
    "price": "0.00000", "stopprice": "0.00000", "limitprice": "0.00000", "misc": "",
    "oflags": "fciq", "trigger": "index"},
  "OMMDB2-FSB6Z-7W3HPO": {"refid": null, "userref": 0, "status": "closed", "reason": null,
    "opentm": 1688592012.2317, "closetm": 1688592012.2335, "starttm": 0, "expiretm": 0,
    "descr": {"pair": "XBTUSD", "type": "sell", "ordertype": "market", "price": "0", "price2": "0",
      "leverage": "none", "order": "sell 0.25000000 XBTUSD @ market", "close": ""},
    "vol": "0.25000000", "vol_exec": "0.25000000", "cost": "7500.0", "fee": "7.5", "price": "30000.0",
    "misc": "", "oflags": "fcib", "trades": ["TJUW2K-FLX2N-AR2FLU"]}}}""")

AMENDS = loads("""{"count": 3, "amends": [
  {"amend_id": "TSUN4B-EX2XN-WQ6GKG", "amend_type": "original", "order_qty": "0.01000000",
   "remaining_qty": "0.01000000", "limit_price": "61032.8", "timestamp": 1724158070287557853},
  {"amend_id": "TF6VAW-VUWMX-6SXTCH", "amend_type": "user", "order_qty": "0.01000000",
   "remaining_qty": "0.01000000", "limit_price": "61032.7", "timestamp": 1724158076936755587},
  {"amend_id": "TUMY4K-E4MPE-CSL2N3", "amend_type": "user", "order_qty": "0.01000000",
   "remaining_qty": "0.01000000", "limit_price": "61032.6", "timestamp": 1724158214879659945}]}""")


@pytest.mark.parametrize(
    ("ledger_id", "field", "expected"),
    [
        ("L4UESK-KG3EQ-UFO4T5", "amount", Decimal("-24.5000")),
        ("L4UESK-KG3EQ-UFO4T5", "fee", Decimal("0.0490")),
        ("L4UESK-KG3EQ-UFO4T5", "balance", Decimal("459567.9171")),
        ("L4UESK-KG3EQ-UFO4T5", "time_raw", Decimal("1688464484.1787")),
        ("L4UESK-KG3EQ-UFO4T5", "time", datetime(2023, 7, 4, 9, 54, 44, 178700, tzinfo=UTC)),
        ("L4UESK-KG3EQ-UFO4T5", "refid", "TJKLXF-PGMUI-4NTLXU"),
        ("L4UESK-KG3EQ-UFO4T5", "asset", "ZGBP"),
        ("L4UESK-KG3EQ-UFO4T5", "subtype", ""),
        ("L4UESK-KG3EQ-UFO4T5", "wallet", None),
        ("LMKZCZ-Z3GVL-CXKK4H", "amount", Decimal("0.9852")),
        ("LMKZCZ-Z3GVL-CXKK4H", "fee", Decimal("0.0010")),
    ],
)
def test_ledger_fields(ledger_id: str, field: str, expected: object) -> None:
    entry = parse_ledger_entry(ledger_id, LEDGER_PAGE["ledger"][ledger_id])
    value = getattr(entry, field)
    assert value == expected and type(value) is type(expected)
    if isinstance(expected, Decimal):
        assert str(value) == str(expected)  # scale kept exactly


def test_ledger_raw_keeps_numbers_as_strings() -> None:
    entry = parse_ledger_entry("L4UESK-KG3EQ-UFO4T5", LEDGER_PAGE["ledger"]["L4UESK-KG3EQ-UFO4T5"])
    assert entry.raw["time"] == "1688464484.1787" and entry.raw["amount"] == "-24.5000"
    assert count_of(LEDGER_PAGE, "ledgers") == 2


@pytest.mark.parametrize(
    ("patch", "field", "expected"),
    [
        ({"refid": None}, "refid", None),
        ({"refid": "None"}, "refid", None),
        ({"time": "1688464484.1787"}, "time_raw", Decimal("1688464484.1787")),
        ({"time": 1688464484}, "time_raw", Decimal("1688464484")),
        ({"time": 1688464484178}, "time_raw", Decimal("1688464484.178")),
        ({"time": loads("1680777419.8115911")}, "time_raw", Decimal("1680777419.8115911")),
        ({"amount": loads("1.5e-05")}, "amount", Decimal("0.000015")),
        ({"balance": ""}, "balance", None),
        ({"wallet": "spot / main", "subclass": "fiat"}, "wallet", "spot / main"),
        ({"refid": "FTQqzsk-V6Za8qrWnhzTx67rYHz8Tg"}, "refid", "FTQqzsk-V6Za8qrWnhzTx67rYHz8Tg"),
    ],
)
def test_ledger_quirks(patch: dict[str, object], field: str, expected: object) -> None:
    raw = {**LEDGER_PAGE["ledger"]["L4UESK-KG3EQ-UFO4T5"], **patch}
    assert getattr(parse_ledger_entry("L1", raw), field) == expected


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"amount": None}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": 1.5}, "amount"),  # a float never passes
        ({"time": "yesterday"}, "time"),
        ({"asset": 5}, "asset"),
        ({"type": None}, "type"),
    ],
)
def test_ledger_broken_contract_raises_malformed_record(patch: dict[str, object], field: str) -> None:
    raw = {**LEDGER_PAGE["ledger"]["L4UESK-KG3EQ-UFO4T5"], **patch}
    with pytest.raises(MalformedRecord) as info:
        parse_ledger_entry("L1", raw)
    assert info.value.field == field and info.value.record_id == "L1" and "ledgers" in str(info.value)


def test_trade_fields() -> None:
    t = parse_trade("THVRQM-33VKH-UCI7BS", TRADES["trades"]["THVRQM-33VKH-UCI7BS"])
    assert (t.price, t.cost, t.fee, t.vol, t.margin) == (
        Decimal("30010.00000"), Decimal("600.20000"), Decimal("0.00000"), Decimal("0.02000000"),
        Decimal("0.00000"))
    assert str(t.price) == "30010.00000"
    assert t.time_raw == Decimal("1688667796.8802") and t.pair == "XXBTZUSD" and t.type == "buy"
    assert t.trade_id == 40274859 and t.maker is True and t.leverage == "0"
    assert t.ledgers == ("L4UESK-KG3EQ-UFO4T5", "LMKZCZ-Z3GVL-CXKK4H")
    assert t.ordertxid == "OQCLML-BW3P3-BUCMWZ" and t.postxid == "TKH2SE-M7IF5-CFI7LT"
    assert count_of(TRADES, "trades") == 1


def test_trade_optional_fields_absent() -> None:
    raw = {k: v for k, v in TRADES["trades"]["THVRQM-33VKH-UCI7BS"].items()
           if k not in ("margin", "leverage", "trade_id", "maker", "ledgers", "misc")}
    t = parse_trade("T1", raw)
    assert (t.margin, t.leverage, t.trade_id, t.maker, t.ledgers, t.misc) == (None, None, None, None, None, "")


def test_closed_orders() -> None:
    o = parse_closed_order("O37652-RJWRT-IMO74O", CLOSED["closed"]["O37652-RJWRT-IMO74O"])
    assert o.status == "canceled" and o.reason == "User requested" and o.userref == 1
    assert o.refid is None and o.cl_ord_id is None
    assert o.opentm_raw == Decimal("1688148493.7708") and o.closetm_raw == Decimal("1688148610.0482")
    assert o.starttm_raw == Decimal(0) and o.expiretm_raw == Decimal(0)
    assert (o.pair, o.side, o.ordertype) == ("XBTGBP", "buy", "stop-loss-limit")
    assert o.descr_price == Decimal("23667.0") and o.descr_price2 == Decimal("0")
    assert o.leverage == "none" and o.order_descr == "buy 0.00100000 XBTGBP @ limit 23667.0"
    assert (o.vol, o.vol_exec, o.cost, o.fee, o.price) == (
        Decimal("0.00100000"), Decimal("0.00000000"), Decimal("0.00000"), Decimal("0.00000"),
        Decimal("0.00000"))
    assert o.stopprice == Decimal("0.00000") and o.trigger == "index" and o.oflags == "fciq"
    assert o.trades is None and o.amended is False

    m = parse_closed_order("OMMDB2-FSB6Z-7W3HPO", CLOSED["closed"]["OMMDB2-FSB6Z-7W3HPO"])
    assert m.userref == 0 and m.reason is None and m.trades == ("TJUW2K-FLX2N-AR2FLU",)
    assert m.cost == Decimal("7500.0") and m.fee == Decimal("7.5") and m.stopprice is None


@pytest.mark.parametrize(
    ("patch", "field", "expected"),
    [
        ({"userref": "0"}, "userref", 0),
        ({"refid": "None"}, "refid", None),
        ({"closetm": 0}, "closetm", None),
        ({"amended": True}, "amended", True),
        ({"misc": "partial,amended"}, "amended", True),
        ({"descr": {"pair": "XBTUSD", "type": "sell", "ordertype": "trailing-stop", "price": "+1.0000%",
                    "price2": "0", "leverage": "none", "order": "x"}}, "descr_price", None),
    ],
)
def test_closed_order_quirks(patch: dict[str, object], field: str, expected: object) -> None:
    raw = {**CLOSED["closed"]["OMMDB2-FSB6Z-7W3HPO"], **patch}
    assert getattr(parse_closed_order("O1", raw), field) == expected


def test_closed_order_without_descr_is_malformed() -> None:
    raw = {k: v for k, v in CLOSED["closed"]["OMMDB2-FSB6Z-7W3HPO"].items() if k != "descr"}
    with pytest.raises(MalformedRecord):
        parse_closed_order("O1", raw)


def test_order_amends() -> None:
    trail = [parse_order_amend("OABC", a) for a in AMENDS["amends"]]
    assert [a.amend_type for a in trail] == ["original", "user", "user"]
    first = trail[0]
    assert first.order_txid == "OABC" and first.amend_id == "TSUN4B-EX2XN-WQ6GKG"
    assert first.timestamp_ns == 1724158070287557853
    assert first.timestamp == datetime(2024, 8, 20, 12, 47, 50, 287557, tzinfo=UTC)
    assert first.limit_price == Decimal("61032.8") and first.order_qty == Decimal("0.01000000")
    assert first.display_qty is None and first.post_only is None
    assert first.raw["timestamp"] == 1724158070287557853


def test_order_amend_timestamp_as_string() -> None:
    raw = {**AMENDS["amends"][0], "timestamp": "1724158070287557853"}
    assert parse_order_amend("O", raw).timestamp_ns == 1724158070287557853


def test_balances() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    result = loads('{"ZUSD": "171288.6158", "XXBT": "1011.1908877900", "ETH2.S": "198.3970800000", '
                   '"KFEE": 4399.43, "DOT": 2}')
    snaps = {s.asset: s for s in parse_balance(result, at)}
    assert snaps["ZUSD"].balance == Decimal("171288.6158") and str(snaps["XXBT"].balance) == "1011.1908877900"
    assert snaps["KFEE"].balance == Decimal("4399.43") and snaps["DOT"].balance == Decimal(2)
    assert snaps["ETH2.S"].source == "Balance" and snaps["ETH2.S"].taken_at == at
    assert parse_balance(None, at) == []

    ex = loads('{"ZEUR": {"balance": "500.0000", "hold_trade": "0.0000"}, '
               '"XXBT": {"balance": "2.1031709100", "hold_trade": "0.1401000000", "credit": "1", '
               '"credit_used": "0.5"}}')
    snaps = {s.asset: s for s in parse_balance_ex(ex, at)}
    assert snaps["XXBT"].hold_trade == Decimal("0.1401000000") and snaps["XXBT"].credit_used == Decimal("0.5")
    assert snaps["ZEUR"].credit is None and snaps["ZEUR"].source == "BalanceEx"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(1688464484, "1688464484"), ("1688464484.5", "1688464484.5"), (1688464484123, "1688464484.123"),
     (1688464484123456, "1688464484.123456"), (1724158070287557853, "1724158070.287557853")],
)
def test_unix_seconds_scales(value: object, seconds: str) -> None:
    assert unix_seconds(value) == Decimal(seconds)  # type: ignore[arg-type]


def test_count_as_string_quirk() -> None:
    assert count_of({"count": "630"}, "ledgers") == 630
    assert count_of({}, "ledgers") is None
    with pytest.raises(MalformedRecord):
        count_of({"count": "-1"}, "ledgers")


# Regression: amounts Kraken never writes are a MalformedRecord (quarantined by the pipeline with the reason).
@pytest.mark.parametrize("amount", ["1E+1000000", "1_000", "\uff11\uff12", "+5", " 12 ", "9" * 400, "NaN", "1,5",
                                    "1e5", "Infinity"])
def test_ledger_amounts_outside_krakens_grammar_are_malformed(amount: str) -> None:
    raw = dict(LEDGER_PAGE["ledger"]["L4UESK-KG3EQ-UFO4T5"], amount=amount)
    with pytest.raises(MalformedRecord) as info:
        parse_ledger_entry("L4UESK-KG3EQ-UFO4T5", raw)
    assert info.value.field == "amount" and "amount" in str(info.value)


def test_a_huge_json_number_in_a_rest_answer_is_one_malformed_record() -> None:
    page = loads('{"L1": {"refid": "R", "time": 1688464484.1787, "type": "trade", "subtype": "",'
                 ' "aclass": "currency", "asset": "ZGBP", "amount": 1E+1000000, "fee": "0", "balance": "1"}}')
    with pytest.raises(MalformedRecord):
        parse_ledger_entry("L1", page["L1"])
