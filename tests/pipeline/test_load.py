"""The loader against a real PostgreSQL: idempotence, counts, the merge rule, quarantine, bookmarks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Connection, select, text

from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.money import dumps, loads
from kraken_etl.core.order import parse_closed_order
from kraken_etl.core.records import LedgerEntry, Rejected
from kraken_etl.core.timeutil import from_unix
from kraken_etl.core.trade import parse_trade
from kraken_etl.db.load import UpsertCounts, upsert_records
from kraken_etl.db.quarantine import fingerprint, insert_balances, quarantine
from kraken_etl.db.state import get_bookmark, mark_amends_synced, orders_needing_amends, set_bookmark
from kraken_etl.jobs.streams import CLOSED_ORDERS, LEDGERS, TRADES
from models import ClosedOrderRow, LedgerEntryRow, QuarantineRow, TradeRow

RAW = loads('{"refid": "TJKLXF-PGMUI-4NTLXU", "time": 1688464484.1787, "type": "trade", "subtype": "", '
            '"aclass": "currency", "asset": "ZGBP", "amount": "-24.5000", "fee": "0.0490", '
            '"balance": "459567.9171"}')


def entry(ledger_id: str = "L1", **changes: object) -> LedgerEntry:
    return dataclasses.replace(parse_ledger_entry(ledger_id, RAW), **changes)  # type: ignore[arg-type]


def row(conn: Connection, ledger_id: str = "L1", account: str = "main") -> Any:
    t = LedgerEntryRow.__table__
    return conn.execute(select(t).where(t.c.account == account, t.c.ledger_id == ledger_id)).one()


def test_insert_then_rerun_changes_nothing(conn: Connection) -> None:
    records = [entry("L1"), entry("L2", amount=Decimal("1.0000"))]
    assert upsert_records(conn, "main", LEDGERS.target, records, "rest") == UpsertCounts(2, 0, 0)
    assert upsert_records(conn, "main", LEDGERS.target, records, "rest") == UpsertCounts(0, 0, 2)
    stored = row(conn)
    assert stored.amount == Decimal("-24.5000") and str(stored.amount) == "-24.5000"
    assert stored.time_raw == Decimal("1688464484.1787") and stored.time == from_unix("1688464484.1787")
    assert stored.raw["amount"] == "-24.5000" and stored.raw["time"] == "1688464484.1787"
    assert stored.source == "rest" and stored.flags == [] and stored.wallet is None


def test_a_change_is_an_update(conn: Connection) -> None:
    upsert_records(conn, "main", LEDGERS.target, [entry()], "rest")
    changed = entry(balance=Decimal("1.0000"), raw={**RAW, "balance": "1.0000"})
    assert upsert_records(conn, "main", LEDGERS.target, [changed], "rest") == UpsertCounts(0, 1, 0)
    assert row(conn).balance == Decimal("1.0000")


def test_accounts_are_kept_apart(conn: Connection) -> None:
    upsert_records(conn, "a", LEDGERS.target, [entry()], "rest")
    assert upsert_records(conn, "b", LEDGERS.target, [entry()], "rest") == UpsertCounts(1, 0, 0)
    assert row(conn, account="a").account == "a" and row(conn, account="b").account == "b"


def test_duplicates_in_one_batch_keep_the_last(conn: Connection) -> None:
    counts = upsert_records(conn, "main", LEDGERS.target, [entry(fee=Decimal("1")), entry(fee=Decimal("2"))], "rest")
    assert counts.inserted == 1 and row(conn).fee == Decimal("2")


def test_flags_are_stored(conn: Connection) -> None:
    upsert_records(conn, "main", LEDGERS.target, [entry()], "rest", flags={"L1": ("unknown_type",)})
    assert row(conn).flags == ["unknown_type"]


def test_merge_export_after_rest_fills_wallet_keeps_precise_time_and_rest_raw(conn: Connection) -> None:
    upsert_records(conn, "main", LEDGERS.target, [entry()], "rest")
    whole = Decimal("1688464484")
    export = entry(time=from_unix(whole), time_raw=whole, wallet="spot / main", subclass="fiat",
                   raw={"txid": "L1", "time": "2023-07-04 09:54:44"})
    assert upsert_records(conn, "main", LEDGERS.target, [export], "export") == UpsertCounts(0, 1, 0)
    stored = row(conn)
    assert stored.wallet == "spot / main" and stored.subclass == "fiat"
    assert stored.time_raw == Decimal("1688464484.1787")
    assert stored.raw["time"] == "1688464484.1787" and stored.source == "rest"
    # REST again (no wallet): wallet stays, nothing else changes
    assert upsert_records(conn, "main", LEDGERS.target, [entry()], "rest") == UpsertCounts(0, 0, 1)
    assert row(conn).wallet == "spot / main"
    # the same export again: nothing changes
    assert upsert_records(conn, "main", LEDGERS.target, [export], "export") == UpsertCounts(0, 0, 1)


def test_merge_rest_after_export_takes_precise_time_and_raw_keeps_wallet(conn: Connection) -> None:
    whole = Decimal("1688464484")
    export = entry(time=from_unix(whole), time_raw=whole, wallet="earn / flexible", raw={"txid": "L1"})
    upsert_records(conn, "main", LEDGERS.target, [export], "export")
    assert upsert_records(conn, "main", LEDGERS.target, [entry()], "rest") == UpsertCounts(0, 1, 0)
    stored = row(conn)
    assert stored.time_raw == Decimal("1688464484.1787") and stored.source == "rest"
    assert stored.wallet == "earn / flexible" and stored.raw["amount"] == "-24.5000"


def test_merge_import_never_overwrites_export(conn: Connection) -> None:
    export = entry(wallet="spot / main", raw={"from": "export"})
    upsert_records(conn, "main", LEDGERS.target, [export], "export")
    imported = entry(amount=Decimal("999"), raw={"from": "import"})
    upsert_records(conn, "main", LEDGERS.target, [imported], "import")
    stored = row(conn)
    assert stored.amount == Decimal("-24.5000") and stored.raw == {"from": "export"}
    assert stored.source == "export"


def test_trades_and_orders_round_trip_arrays_and_booleans(conn: Connection) -> None:
    trade = parse_trade("T1", loads(
        '{"ordertxid": "O1", "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": "XXBTZUSD", "time": 1688667796.8802, '
        '"type": "buy", "ordertype": "limit", "price": "30010.00000", "cost": "600.20000", "fee": "0.00000", '
        '"vol": "0.02000000", "margin": "0.00000", "leverage": "0", "misc": "", "trade_id": 40274859, '
        '"maker": true, "ledgers": ["LA", "LB"]}'))
    assert upsert_records(conn, "main", TRADES.target, [trade], "rest").inserted == 1
    stored = conn.execute(select(TradeRow.__table__)).one()
    assert stored.ledgers == ["LA", "LB"] and stored.maker is True and stored.trade_id == 40274859
    assert stored.price == Decimal("30010.00000")


def _order(txid: str, amended: bool, vol_exec: str = "0.25000000") -> object:
    return parse_closed_order(txid, loads(
        '{"refid": null, "userref": 0, "status": "closed", "reason": null, "opentm": 1688592012.2317, '
        '"closetm": 1688592012.2335, "starttm": 0, "expiretm": 0, "descr": {"pair": "XBTUSD", "type": "sell", '
        '"ordertype": "limit", "price": "30000.0", "price2": "0", "leverage": "none", "order": "x", '
        f'"close": ""}}, "vol": "0.25000000", "vol_exec": "{vol_exec}", "cost": "7500.0", "fee": "7.5", '
        f'"price": "30000.0", "misc": "", "oflags": "fcib", "amended": {str(amended).lower()}}}'))


def test_orders_needing_amends(conn: Connection) -> None:
    upsert_records(conn, "main", CLOSED_ORDERS.target, [_order("O1", True), _order("O2", False)], "rest")  # type: ignore[list-item]
    assert orders_needing_amends(conn, "main") == ["O1"]
    mark_amends_synced(conn, "main", ["O1"])
    assert orders_needing_amends(conn, "main") == []
    # unchanged re-read: still not needed
    upsert_records(conn, "main", CLOSED_ORDERS.target, [_order("O1", True)], "rest")  # type: ignore[list-item]
    assert orders_needing_amends(conn, "main") == []
    # the order changed: fetch again (updated_at moves past amends_synced_at)
    conn.execute(text("UPDATE kraken.closed_order SET amends_synced_at = now() - interval '1 hour'"))
    upsert_records(conn, "main", CLOSED_ORDERS.target, [_order("O1", True, "0.20000000")], "rest")  # type: ignore[list-item]
    assert orders_needing_amends(conn, "main") == ["O1"]
    assert conn.execute(select(ClosedOrderRow.vol_exec).where(ClosedOrderRow.txid == "O1")).scalar_one() == \
        Decimal("0.20000000")


def test_quarantine_is_idempotent(conn: Connection) -> None:
    bad = [Rejected("ledgers", "L9", "amount is missing", {"amount": None, "time": Decimal("1.5")})]
    assert quarantine(conn, "main", "ledgers", "rest", bad, None) == 1
    assert quarantine(conn, "main", "ledgers", "rest", bad, None) == 0
    stored = conn.execute(select(QuarantineRow.__table__)).one()
    assert stored.reason == "amount is missing" and stored.raw == {"amount": None, "time": "1.5"}
    assert stored.fingerprint == fingerprint("amount is missing", bad[0].raw)


def test_bookmark_never_moves_backwards(conn: Connection) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert get_bookmark(conn, "main", "ledgers") is None
    set_bookmark(conn, "main", "ledgers", t0)
    set_bookmark(conn, "main", "ledgers", t0 - timedelta(days=1))
    assert get_bookmark(conn, "main", "ledgers") == t0


def test_balances_insert_once(conn: Connection) -> None:
    from kraken_etl.core.balance import parse_balance

    snaps = parse_balance({"ZUSD": "1.0000", "XXBT": "0.5000000000"}, datetime(2026, 1, 1, tzinfo=UTC))
    assert insert_balances(conn, "main", snaps) == 2
    assert insert_balances(conn, "main", snaps) == 0


@pytest.mark.parametrize("big", ["9007199254740993", "123456789012345678901234567890"],
                         ids=["orjson", "beyond-64-bit-fallback"])
def test_raw_is_stored_as_the_same_json_value_whatever_it_holds(conn: Connection, big: str) -> None:
    """The fast raw encoder (orjson) and its fallback store the value `money.dumps` describes."""
    raw = loads('{"time": 1688464484.1787, "amount": "-24.5000", "nested": {"list": [1, 2.50, "x"]}, '
                '"note": "caf\\u00e9 \\"quoted\\" back\\\\slash tab\\t nl\\n", "big": ' + big + '}')
    stored = entry(raw=raw)
    upsert_records(conn, "main", LEDGERS.target, [stored], "rest")
    in_db = conn.execute(text("SELECT raw = CAST(:expected AS jsonb) FROM kraken.ledger_entry "
                              "WHERE ledger_id = 'L1'"), {"expected": dumps(raw)}).scalar_one()
    assert in_db is True
    assert conn.execute(text("SELECT raw->>'big', raw->'nested'->'list'->>1, raw->>'note' "
                             "FROM kraken.ledger_entry")).one() == (
        big, "2.50", 'café "quoted" back\\slash tab\t nl\n')
