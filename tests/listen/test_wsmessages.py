"""Parsers of WS v2 private messages, from Kraken's documented payload shapes (WebSocket v2)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.wsgaps import Backoff, SequenceGap, SequenceTracker
from kraken_etl.core.wsmessages import (
    MalformedMessage,
    classify,
    decode,
    execution_key,
    parse_balance_snapshot,
    parse_balance_update,
    parse_execution,
)

PENDING = ('{"channel":"executions","type":"update","sequence":8,"data":[{"order_id":"OK4GJX-KSTLS-7DZZO5",'
           '"order_userref":3,"symbol":"BTC/USD","order_qty":0.005,"cum_cost":0.0,"time_in_force":"GTC",'
           '"exec_type":"pending_new","side":"sell","order_type":"limit","limit_price":26500.0,'
           '"order_status":"pending_new","fee_ccy_pref":"fciq","timestamp":"2023-09-22T10:33:05.709950Z"}]}')
NEW = ('{"channel":"executions","type":"update","sequence":9,"data":[{"order_id":"OK4GJX-KSTLS-7DZZO5",'
       '"order_userref":3,"exec_type":"new","order_status":"new","timestamp":"2023-09-22T10:33:05.709982Z"}]}')
TRADE = ('{"channel":"executions","type":"update","sequence":10,"data":[{"order_id":"OK4GJX-KSTLS-7DZZO5",'
         '"order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,'
         '"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t",'
         '"cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z",'
         '"order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,'
         '"fees":[{"asset":"USD","qty":0.3458}]}]}')
BALANCE = ('{"channel":"balances","type":"update","sequence":10,"data":[{"ledger_id":"A5KS77-LQRMP-SMMN4B",'
           '"ref_id":"AGBB7L-HT5LX-J3BB4A","timestamp":"2023-09-22T10:33:05.710082Z","type":"trade",'
           '"asset":"USD","asset_class":"currency","category":"trade","wallet_type":"spot","wallet_id":"main",'
           '"amount":132.9995,"fee":0.3458,"balance":500}]}')
SNAPSHOT = ('{"channel":"balances","type":"snapshot","sequence":1,"data":['
            '{"asset":"BTC","asset_class":"currency","balance":1.2,"wallets":[{"type":"spot","id":"main",'
            '"balance":1.2}]},{"asset":"MATIC","asset_class":"currency","balance":500,"wallets":['
            '{"type":"spot","id":"main","balance":300},{"type":"earn","id":"flex","balance":200}]}]}')


def test_trade_execution_is_exact_and_keyed_by_exec_id() -> None:
    frame = classify(decode(TRADE))
    assert (frame.kind, frame.channel, frame.type, frame.sequence) == ("data", "executions", "update", 10)
    rec = parse_execution(frame.data[0], sequence=frame.sequence, is_snapshot=False)
    assert rec.event_key == "exec:trade:TGBB7L-HT5LX-J3BZ4A"
    assert rec.last_qty == Decimal("0.005") and rec.last_price == Decimal("26599.9")
    assert rec.cost == Decimal("132.9995") and rec.fee == Decimal("0.3458") and rec.fee_asset == "USD"
    assert rec.timestamp == datetime(2023, 9, 22, 10, 33, 5, 709993, tzinfo=UTC)
    assert rec.raw["last_qty"] == Decimal("0.005") and rec.raw["trade_id"] == 62887576  # as received, exact


def test_exponent_numbers_are_exact() -> None:
    text = BALANCE.replace('"amount":132.9995', '"amount":1.5e-05').replace('"fee":0.3458', '"fee":1E-10')
    item = classify(decode(text)).data[0]
    rec = parse_balance_update(item, sequence=10)
    assert rec.amount == Decimal("0.000015") and rec.amount.as_tuple().digits == (1, 5)
    assert rec.fee == Decimal("1E-10") and rec.balance == Decimal(500)


def test_balance_update_names_ledger_and_wallet() -> None:
    rec = parse_balance_update(classify(decode(BALANCE)).data[0], sequence=10)
    assert (rec.ledger_id, rec.ref_id, rec.asset, rec.wallet_type, rec.wallet_id) == (
        "A5KS77-LQRMP-SMMN4B", "AGBB7L-HT5LX-J3BB4A", "USD", "spot", "main")
    assert rec.amount == Decimal("132.9995") and rec.fee == Decimal("0.3458")


def test_updates_without_exec_id_get_distinct_replay_stable_keys() -> None:
    pending = classify(decode(PENDING)).data[0]
    new = classify(decode(NEW)).data[0]
    keys = {execution_key(pending), execution_key(new)}
    assert len(keys) == 2 and all(k.startswith("OK4GJX-KSTLS-7DZZO5:") for k in keys)
    # a replay (same content, another sequence, numbers written differently) has the same key
    replay = classify(decode(NEW.replace('"sequence":9', '"sequence":3'))).data[0]
    assert execution_key(replay) == execution_key(new)
    respelled = classify(decode(PENDING.replace("0.005", "5e-3"))).data[0]
    assert execution_key(respelled) == execution_key(pending)
    # two cancels of one order at one moment but with different content stay distinct
    cancel = {"order_id": "O1", "exec_type": "canceled", "timestamp": "2023-09-22T10:33:06.000000Z",
              "cum_qty": Decimal("0")}
    other = {**cancel, "reason": "User requested"}
    assert execution_key(cancel) != execution_key(other)


def test_balance_snapshot_per_wallet() -> None:
    rows = parse_balance_snapshot(classify(decode(SNAPSHOT)).data)
    assert [(r.asset, r.wallet, r.balance) for r in rows] == [
        ("BTC", "spot / main", Decimal("1.2")), ("MATIC", "spot / main", Decimal(300)),
        ("MATIC", "earn / flex", Decimal(200))]


@pytest.mark.parametrize(("text", "kind"), [
    ('{"channel":"heartbeat"}', "heartbeat"),
    ('{"method":"pong","req_id":101,"time_in":"x","time_out":"y"}', "pong"),
    ('{"method":"subscribe","result":{"channel":"balances","snapshot":true},"success":true}', "ack"),
    ('{"method":"subscribe","success":false,"error":"EAPI:Invalid token"}', "error"),
    ('{"channel":"status","type":"update","data":[{"connection_id":13834774380200032777}]}', "status"),
])
def test_classify_control_messages(text: str, kind: str) -> None:
    frame = classify(decode(text))
    assert frame.kind == kind
    if kind == "status":
        assert frame.data[0]["connection_id"] == 13834774380200032777


@pytest.mark.parametrize(("item", "field"), [
    ({"ref_id": "x", "timestamp": "2023-09-22T10:33:05Z", "type": "trade", "asset": "USD", "amount": 1,
      "balance": 1}, "ledger_id"),
    ({"ledger_id": "L", "timestamp": "2023-09-22T10:33:05Z", "type": "trade", "asset": "USD", "amount": "x",
      "balance": 1}, "amount"),
    ({"ledger_id": "L", "timestamp": "yesterday", "type": "trade", "asset": "USD", "amount": 1,
      "balance": 1}, "timestamp"),
    ({"ledger_id": "L", "timestamp": "2023-09-22T10:33:05Z", "type": "trade", "asset": "USD", "amount": 0.5,
      "balance": 1}, "amount"),
])
def test_malformed_balance_updates_name_the_field(item: dict[str, object], field: str) -> None:
    with pytest.raises(MalformedMessage) as err:
        parse_balance_update(item, sequence=None)
    assert err.value.field == field


def test_decode_rejects_non_objects() -> None:
    with pytest.raises(MalformedMessage):
        decode("[1, 2]")
    with pytest.raises(MalformedMessage):
        decode("{not json")


def test_sequence_tracker_finds_jumps_and_ignores_replays() -> None:
    t = SequenceTracker()
    assert t.observe("balances", "snapshot", 1) is None
    assert t.observe("balances", "update", 2) is None
    assert t.observe("balances", "update", 5) == SequenceGap("balances", 3, 5)
    assert t.observe("balances", "update", 4) is None  # late/replayed
    assert t.observe("executions", "update", 7) is None  # first of a channel starts the count
    assert t.observe("executions", "update", 9) == SequenceGap("executions", 8, 9)
    assert t.observe("balances", "snapshot", 1) is None  # resubscribed: count restarts
    assert t.observe("balances", "update", 2) is None


def test_backoff_grows_with_jitter_and_caps() -> None:
    rng = random.Random(1)
    b = Backoff(base=0.5, cap=4.0, floor=0.01)
    samples = [[b.delay(n, rng) for _ in range(200)] for n in range(6)]
    assert all(0.01 <= s <= min(4.0, 0.5 * 2**n) for n, row in enumerate(samples) for s in row)
    assert max(samples[0]) < 0.5 < max(samples[3]) and max(samples[5]) <= 4.0
    assert len({round(s, 6) for s in samples[4]}) > 150  # jittered, not a fixed schedule
