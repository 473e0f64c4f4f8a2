"""Compare what the sync stored with the simulator's ground truth, field by field, exact decimals.

An oracle must not share code with what it checks: the expected values are derived here from the truth's
JSON with the standard library only (never the product's `D`, `unix_seconds` or `rawify`). Decimals are
compared by value AND by text, so a lost or added trailing zero (a scale error) is a difference.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from models import BalanceSnapshotRow, ClosedOrderRow, LedgerEntryRow, OrderAmendRow, TradeRow


def _decimal(value: Any) -> Decimal:
    """The truth's number (a JSON string or number) as the exact Decimal its text spells."""
    assert not isinstance(value, float), "truth must be decoded with parse_float=Decimal"
    return Decimal(str(value))


def _seconds(value: Any) -> Decimal:
    """REST times are unix seconds already (with Kraken's fraction digits)."""
    return _decimal(value)


def _raw(value: Any) -> Any:
    """The record as JSONB keeps it: every Decimal as its text, containers recursively, the rest as is."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _raw(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_raw(v) for v in value]
    return value


def _rows(engine: Engine, table: Any, account: str, key: str) -> dict[str, Any]:
    t = table.__table__
    with engine.connect() as conn:
        return {getattr(r, key): r for r in conn.execute(select(t).where(t.c.account == account))}


def _dec_eq(stored: Decimal | None, truth: Any) -> bool:
    if truth is None:
        return stored is None
    expected = _decimal(truth)
    return stored is not None and stored == expected and str(stored) == str(expected)


def _decs(problems: list[str], where: str, row: Any, rec: dict[str, Any], fields: tuple[str, ...]) -> None:
    for field in fields:
        stored, truth = getattr(row, field), rec.get(field)
        _check(problems, where, field, _dec_eq(stored, truth), stored, truth)


def _check(problems: list[str], where: str, field: str, ok: bool, stored: Any, truth: Any) -> None:
    if not ok:
        problems.append(f"{where}.{field}: stored {stored!r} != truth {truth!r}")


def compare_ledgers(engine: Engine, account: str, truth: dict[str, Any]) -> list[str]:
    rows = _rows(engine, LedgerEntryRow, account, "ledger_id")
    expected = truth["ledger"]
    problems = [f"missing ledger {i}" for i in expected.keys() - rows.keys()]
    problems += [f"extra ledger {i}" for i in rows.keys() - expected.keys()]
    for lid, rec in expected.items():
        row = rows.get(lid)
        if row is None:
            continue
        w = f"ledger {lid}"
        _decs(problems, w, row, rec, ("amount", "fee", "balance"))
        _check(problems, w, "time_raw", row.time_raw == _seconds(rec["time"]), row.time_raw, rec["time"])
        for field in ("refid", "type", "subtype", "aclass", "asset"):
            _check(problems, w, field, getattr(row, field) == rec.get(field), getattr(row, field), rec.get(field))
        rest_raw = {k: v for k, v in rec.items() if k != "wallet"}  # REST has no wallet; truth adds it
        _check(problems, w, "raw", row.raw == _raw(rest_raw), row.raw, rest_raw)
    return problems


def compare_trades(engine: Engine, account: str, truth: dict[str, Any]) -> list[str]:
    rows = _rows(engine, TradeRow, account, "txid")
    expected = truth["trades"]
    problems = [f"missing trade {i}" for i in expected.keys() - rows.keys()]
    problems += [f"extra trade {i}" for i in rows.keys() - expected.keys()]
    for txid, rec in expected.items():
        row = rows.get(txid)
        if row is None:
            continue
        w = f"trade {txid}"
        _decs(problems, w, row, rec, ("price", "cost", "fee", "vol", "margin"))
        _check(problems, w, "time_raw", row.time_raw == _seconds(rec["time"]), row.time_raw, rec["time"])
        for field in ("ordertxid", "postxid", "pair", "type", "ordertype", "misc", "trade_id", "maker"):
            _check(problems, w, field, getattr(row, field) == rec.get(field), getattr(row, field), rec.get(field))
        lev = rec.get("leverage")
        _check(problems, w, "leverage", row.leverage == (None if lev is None else str(lev)), row.leverage, lev)
        _check(problems, w, "ledgers", row.ledgers == rec.get("ledgers"), row.ledgers, rec.get("ledgers"))
        _check(problems, w, "raw", row.raw == _raw(rec), row.raw, rec)
    return problems


def compare_closed_orders(engine: Engine, account: str, truth: dict[str, Any]) -> list[str]:
    rows = _rows(engine, ClosedOrderRow, account, "txid")
    expected = truth["closed"]
    problems = [f"missing order {i}" for i in expected.keys() - rows.keys()]
    problems += [f"extra order {i}" for i in rows.keys() - expected.keys()]
    for txid, rec in expected.items():
        row = rows.get(txid)
        if row is None:
            continue
        w = f"order {txid}"
        _decs(problems, w, row, rec, ("vol", "vol_exec", "cost", "fee", "price", "stopprice", "limitprice"))
        _check(problems, w, "opentm_raw", row.opentm_raw == _seconds(rec["opentm"]), row.opentm_raw, rec["opentm"])
        _check(problems, w, "closetm_raw", row.closetm_raw == _seconds(rec["closetm"]), row.closetm_raw,
               rec["closetm"])
        for field in ("status", "reason", "misc", "oflags", "cl_ord_id", "trigger"):
            _check(problems, w, field, getattr(row, field) == rec.get(field), getattr(row, field), rec.get(field))
        userref = rec.get("userref")
        _check(problems, w, "userref", row.userref == (None if userref is None else int(userref)), row.userref, userref)
        d = rec["descr"]
        _check(problems, w, "pair", row.pair == d["pair"], row.pair, d["pair"])
        _check(problems, w, "side", row.side == d["type"], row.side, d["type"])
        _check(problems, w, "ordertype", row.ordertype == d["ordertype"], row.ordertype, d["ordertype"])
        _check(problems, w, "descr_price", _dec_eq(row.descr_price, d.get("price")), row.descr_price, d.get("price"))
        _check(problems, w, "amended", row.amended == bool(rec.get("amended")), row.amended, rec.get("amended"))
        _check(problems, w, "trades", row.trades == rec.get("trades"), row.trades, rec.get("trades"))
        _check(problems, w, "raw", row.raw == _raw(rec), row.raw, rec)
    return problems


def compare_order_amends(engine: Engine, account: str, truth: dict[str, Any]) -> list[str]:
    rows = _rows(engine, OrderAmendRow, account, "amend_id")
    expected = {a["amend_id"]: (order, a) for order, trail in truth["amends"].items() for a in trail}
    problems = [f"missing amend {i}" for i in expected.keys() - rows.keys()]
    problems += [f"extra amend {i}" for i in rows.keys() - expected.keys()]
    for amend_id, (order, rec) in expected.items():
        row = rows.get(amend_id)
        if row is None:
            continue
        w = f"amend {amend_id}"
        _check(problems, w, "order_txid", row.order_txid == order, row.order_txid, order)
        _decs(problems, w, row, rec, ("order_qty", "display_qty", "remaining_qty", "limit_price", "trigger_price"))
        _check(problems, w, "timestamp_ns", row.timestamp_ns == int(rec["timestamp"]), row.timestamp_ns,
               rec["timestamp"])
        for field in ("amend_type", "reason", "post_only"):
            _check(problems, w, field, getattr(row, field) == rec.get(field), getattr(row, field), rec.get(field))
        _check(problems, w, "raw", row.raw == _raw(rec), row.raw, rec)
    return problems


def compare_balances(engine: Engine, account: str, truth: dict[str, Any]) -> list[str]:
    t = BalanceSnapshotRow.__table__
    with engine.connect() as conn:
        rows = list(conn.execute(select(t).where(t.c.account == account)))
    problems: list[str] = []
    if not rows:
        return ["no balance snapshot"]
    latest = max(r.taken_at for r in rows)
    stored = {(r.source, r.asset): r for r in rows if r.taken_at == latest}
    for asset, value in truth["balance"].items():
        row = stored.get(("Balance", asset))
        _check(problems, f"Balance {asset}", "balance", row is not None and _dec_eq(row.balance, value),
               row and row.balance, value)
    for asset, entry in truth["balance_ex"].items():
        row = stored.get(("BalanceEx", asset))
        ok = row is not None and _dec_eq(row.balance, entry["balance"]) and \
            _dec_eq(row.hold_trade, entry.get("hold_trade"))
        _check(problems, f"BalanceEx {asset}", "balance", ok, row and row.balance, entry)
    expected_keys = {("Balance", a) for a in truth["balance"]} | {("BalanceEx", a) for a in truth["balance_ex"]}
    problems += [f"extra balance {k}" for k in stored.keys() - expected_keys]
    return problems


COMPARERS = {
    "ledgers": compare_ledgers,
    "trades": compare_trades,
    "closed_orders": compare_closed_orders,
    "order_amends": compare_order_amends,
    "balances": compare_balances,
}


def compare_all(engine: Engine, account: str, truths: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    for kind, compare in COMPARERS.items():
        problems += compare(engine, account, truths[kind])
    return problems
