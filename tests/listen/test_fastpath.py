"""The listener's fast paths keep the exact contract: decoding, the content digest, the batch statement."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from kraken_etl.core.wsdigest import content_digest
from kraken_etl.core.wsmessages import MalformedMessage, classify, decode, parse_balance_update, parse_execution
from kraken_etl.db.ws import store_batch


@pytest.mark.parametrize(("written", "digits", "exponent"), [
    ("0.1", (1,), -1),                      # through float this would be 0.1000000000000000055511151231257827
    ("1.50", (1, 5, 0), -2),                # the scale Kraken wrote is kept
    ("1.5e-05", (1, 5), -6),
    ("2.5E+3", (2, 5), 2),
    ("1e400", (1,), 400),                   # beyond any float
    ("-0.0", (0,), -1),
    ("123456789012345678901234567890.123456789", tuple(int(c) for c in "123456789012345678901234567890123456789"), -9),
])
def test_decode_reads_each_number_from_its_own_text(written: str, digits: tuple[int, ...], exponent: int) -> None:
    value = decode('{"channel":"balances","data":[{"amount":' + written + '}]}')["data"][0]["amount"]
    assert type(value) is Decimal
    assert value.as_tuple().digits == digits and value.as_tuple().exponent == exponent


def test_decode_keeps_big_integers_and_refuses_what_is_not_json() -> None:
    message = decode(b'{"channel":"status","data":[{"connection_id":13834774380200032777,'
                     b'"n":123456789012345678901234}]}')
    assert message["data"][0] == {"connection_id": 13834774380200032777, "n": 123456789012345678901234}
    for bad in ('{"amount": NaN}', '{"amount": Infinity}', '{"a":1', b'\xff\xfe', "[1]", '"text"'):
        with pytest.raises(MalformedMessage):
            decode(bad)


def _by_value(value: Any) -> Any:
    """Every number as its text by value (no exponent, no trailing zero), keys as text, tuples as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        normal = value.normalize()
        return format(normal, "f") if normal != 0 else "0"
    if isinstance(value, dict):
        return {str(k): _by_value(v) for k, v in value.items()}
    return [_by_value(v) for v in value]


def _reference(item: Any) -> str:
    """The digest as the listener has always defined it (stored keys depend on these exact bytes)."""
    text = json.dumps(_by_value(item), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.decimals(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["é", "\x7f", "\u2028", "\x00", '"', "\\", "/", "\U0001f600", "a\nb"]),
)
_items = st.dictionaries(st.text(max_size=8), st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8), max_size=8)


@settings(max_examples=150, deadline=None)
@given(_items)
def test_fast_digest_writes_the_reference_bytes(item: dict[str, Any]) -> None:
    assert content_digest(item) == _reference(item)


def test_digest_compares_numbers_by_value() -> None:
    base = {"order_id": "O1", "exec_type": "canceled", "cum_qty": Decimal("0.0050"), "order_userref": 7}
    assert content_digest(base) == content_digest({**base, "cum_qty": Decimal("5e-3")})
    assert content_digest(base) == content_digest({**base, "order_userref": Decimal(7)})
    assert content_digest(base) != content_digest({**base, "cum_qty": Decimal("0.006")})


def test_fast_parsers_fall_back_to_the_checks() -> None:
    item = {"ledger_id": "L1", "timestamp": "2023-09-22T10:33:05.5+02:00", "type": "trade", "asset": "USD",
            "amount": "1.25", "balance": 3, "wallet_type": 5}
    rec = parse_balance_update(item, sequence=None)
    assert rec.timestamp == datetime(2023, 9, 22, 8, 33, 5, 500000, tzinfo=UTC)
    assert (rec.amount, rec.balance, rec.wallet_type, rec.fee) == (Decimal("1.25"), Decimal(3), "5", Decimal(0))
    for field, value in (("amount", Decimal("NaN")), ("ref_id", ["x"]), ("timestamp", "2023-09-22Z")):
        with pytest.raises(MalformedMessage) as err:
            parse_balance_update({**item, field: value}, sequence=None)
        assert err.value.field == field
    execution = {"order_id": "O1", "exec_type": "trade", "exec_id": "T1", "timestamp": "2023-09-22T10:33:05Z",
                 "last_qty": Decimal("0.5"), "cost": 2, "fees": [{"asset": "USD", "qty": Decimal("0.1")},
                                                                {"asset": "EUR", "qty": Decimal("0.02")}]}
    rec2 = parse_execution(execution, sequence=3, is_snapshot=False)
    assert (rec2.last_qty, rec2.cost, rec2.fee, rec2.fee_asset) == (
        Decimal("0.5"), Decimal(2), Decimal("0.12"), "EUR,USD")
    with pytest.raises(MalformedMessage) as err:
        parse_execution({**execution, "last_price": Decimal("Infinity")}, sequence=3, is_snapshot=False)
    assert err.value.field == "last_price"


def test_batch_statement_stores_the_written_text(engine: Engine) -> None:
    text_ = ('{"channel":"balances","type":"update","sequence":2,"data":[{"ledger_id":"LFAST-1","ref_id":"R",'
             '"timestamp":"2026-12-02T01:02:03.000456Z","type":"trade","asset":"BTC","wallet_type":"spot",'
             '"wallet_id":"main","amount":1.5e-05,"fee":1.50,"balance":123456789012345678901234567890.123456789}]}')
    update = parse_balance_update(classify(decode(text_)).data[0], sequence=2)
    exec_text = ('{"channel":"executions","type":"update","sequence":2,"data":[{"order_id":"OFAST","exec_type":'
                 '"canceled","timestamp":"2026-12-02T01:02:03Z","cum_qty":0.0,"fees":[{"asset":"USD","qty":1E-8}]}]}')
    execution = parse_execution(classify(decode(exec_text)).data[0], sequence=2, is_snapshot=False)
    with engine.begin() as conn:
        counts = store_batch(conn, "fast", executions=[execution, execution], balance_updates=[update, update])
        again = store_batch(conn, "fast", executions=[execution], balance_updates=[update])
        row = conn.execute(text(
            "SELECT amount::text, fee::text, balance::text, timestamp, raw->>'amount', raw->>'fee' "
            "FROM kraken.ws_balance_update WHERE account = 'fast'")).one()
        ex = conn.execute(text("SELECT event_key, fee::text, raw->'fees'->0->>'qty' FROM kraken.ws_execution "
                               "WHERE account = 'fast'")).one()
    assert (counts.executions, counts.balance_updates, again.executions, again.balance_updates) == (1, 1, 0, 0)
    assert row == ("0.000015", "1.50", "123456789012345678901234567890.123456789",
                   datetime(2026, 12, 2, 1, 2, 3, 456, tzinfo=UTC), "0.000015", "1.50")
    assert ex == (execution.event_key, "0.00000001", "1E-8")


def test_a_zero_fee_keeps_its_written_scale() -> None:
    item = {"ledger_id": "L1", "timestamp": "2023-09-22T10:33:05Z", "type": "trade", "asset": "USD",
            "amount": Decimal("1.25"), "balance": Decimal(3), "fee": Decimal("0.000")}
    assert parse_balance_update(item, sequence=None).fee.as_tuple().exponent == -3
    assert parse_balance_update({**item, "fee": None}, sequence=None).fee == Decimal(0)


def test_the_batch_moves_the_session_by_what_it_inserted(engine: Engine) -> None:
    from kraken_etl.db.ws import start_session

    base = {"ledger_id": "LS-1", "timestamp": "2026-12-02T01:02:03Z", "type": "trade", "asset": "BTC",
            "amount": Decimal("1"), "balance": Decimal("2")}
    first = parse_balance_update(base, sequence=1)
    second = parse_balance_update({**base, "ledger_id": "LS-2"}, sequence=2)
    early, late = datetime(2026, 12, 2, 1, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 5, tzinfo=UTC)
    with engine.begin() as conn:
        sid = start_session(conn, "sess", early, None)
        store_batch(conn, "sess", balance_updates=[first], session_id=sid, messages=1, last_message_at=late)
        again = store_batch(conn, "sess", balance_updates=[first, second], session_id=sid, messages=3,
                            last_message_at=early)  # an older time never moves it back
        store_batch(conn, "sess", session_id=sid, messages=1)  # only quarantined/ignored messages
        row = conn.execute(text("SELECT messages, executions, balance_updates, last_message_at "
                                "FROM kraken.listener_session WHERE id = :i"), {"i": sid}).one()
    assert again.balance_updates == 1
    assert tuple(row) == (5, 0, 2, late)
