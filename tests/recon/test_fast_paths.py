"""`trade_ledger` and `order_trades` judge every trade / order shape as the oracle does, full and incremental.

The product proves the common trades clean in one fast SQL pass and judges the rest in Python
(`kraken_etl.recon.links`); orders come from one SQL statement over two ordered indexes. The oracle
(tests/recon/oracle_links.py) is the plain SQL the checks once ran, every row judged in one statement. Here
hand-picked shapes must get their expected verdict both ways, and generated trades (hypothesis) must get
the oracle's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from kraken_etl.db import recon_links
from kraken_etl.recon.check import CheckInput
from kraken_etl.recon.links import check_order_trades, check_trade_ledger
from tests.recon import oracle_links

T0 = 1_700_000_000
BEFORE = datetime(2001, 1, 1, tzinfo=UTC)  # `since` earlier than every row: incremental = every row, exact SQL
AS_OF = datetime(2030, 1, 1, tzinfo=UTC)

# (txid, type, vol, cost, fee, price, ledgers listed (None: not given), legs [(id, asset, amount, fee)], verdict)
TRADES = [
    ("TBUY", "buy", "0.5", "10000.0", "26.0", "20000", ["LB1", "LB2"],
     [("LB1", "XXBT", "0.5", "0"), ("LB2", "ZUSD", "-10000.0", "26.0")], None),
    ("TSELL", "sell", "2", "3000", "7.8", "1500", ["LS1", "LS2"],
     [("LS1", "XETH", "-2", "0"), ("LS2", "ZUSD", "3000", "7.8")], None),
    ("TBASEFEE", "buy", "1", "20000", "52", "20000", ["LF1", "LF2"],
     [("LF1", "XXBT", "1", "0.0026"), ("LF2", "ZUSD", "-20000", "0")], None),
    # Small trades with the fee on the base leg (the demo account's own rows): Kraken's trade fee is the quote
    # amount rounded to the quote's precision (0.0001 USD), the base leg's fee is the rate on the base
    # amount, so in quote terms they differ by up to one unit of the quote leg's precision (0.000017 here,
    # over the fee/50 allowance for a fee this small).
    ("TSMALLDOT", "sell", "0.05880798", "0.32310", "0.00050", "5.4951", ["LD1", "LD2"],
     [("LD1", "DOT", "-0.0588079800", "0.0000940927"), ("LD2", "ZUSD", "0.3231", "0")], None),
    ("TSMALLBTC", "sell", "0.00003832", "1.18120", "0.00300", "30826.7", ["LD3", "LD4"],
     [("LD3", "XXBT", "-0.0000383200", "0.0000000996"), ("LD4", "ZEUR", "1.1812", "0")], None),
    ("TSMALLOFF", "sell", "0.05880798", "0.32310", "0.00050", "5.4951", ["LD5", "LD6"],
     [("LD5", "DOT", "-0.0588079800", "0.0001200000"), ("LD6", "ZUSD", "0.3231", "0")], "leg_fee_mismatch"),
    # A fee on both legs: the base leg's share alone is not within fee/50 of the trade's fee, so the fast pass
    # leaves it to the exact SQL, which adds the quote leg's share.
    ("TBOTH", "buy", "1", "20000", "52", "20000", ["LH1", "LH2"],
     [("LH1", "XXBT", "1", "0.0013"), ("LH2", "ZUSD", "-20000", "26")], None),
    ("TBASEOFF", "buy", "1", "20000", "52", "20000", ["LO1", "LO2"],
     [("LO1", "XXBT", "1", "0.003"), ("LO2", "ZUSD", "-20000", "0")], "leg_fee_mismatch"),
    ("TSCALE", "buy", "0.5", "10000", "26.0", "20000", ["LC1", "LC2"],
     [("LC1", "XXBT", "0.50", "0.00"), ("LC2", "ZUSD", "-10000.00", "26")], None),
    ("TNOLIST", "buy", "0.5", "10000", "26", "20000", None,
     [("LN1", "XXBT", "0.5", "0"), ("LN2", "ZUSD", "-10000", "26")], None),
    ("TVOLCOST", "buy", "5", "5", "0.01", "1", ["LV1", "LV2"],
     [("LV1", "DOT", "5", "0"), ("LV2", "ZUSD", "-5", "0.01")], "leg_amount_mismatch"),
    ("TMISSING", "buy", "0.5", "10000", "26", "20000", ["LM1", "LM2"],
     [("LM1", "XXBT", "0.5", "0")], "missing_leg"),
    ("TAMOUNT", "buy", "0.5", "10000", "26", "20000", ["LA1", "LA2"],
     [("LA1", "XXBT", "0.5001", "0"), ("LA2", "ZUSD", "-10000", "26")], "leg_amount_mismatch"),
    ("TFEE", "sell", "0.5", "10000", "26", "20000", ["LE1", "LE2"],
     [("LE1", "XXBT", "-0.5", "0"), ("LE2", "ZUSD", "10000", "27")], "leg_fee_mismatch"),
    ("TEXTRA", "buy", "0.5", "10000", "26", "20000", ["LX1", "LX2"],
     [("LX1", "XXBT", "0.5", "0"), ("LX2", "ZUSD", "-10000", "26"), ("LX3", "ZUSD", "-1", "0")],
     "leg_amount_mismatch"),
    ("TKFEE", "buy", "0.5", "10000", "26", "20000", ["LK1", "LK2", "LK3"],
     [("LK1", "XXBT", "0.5", "0"), ("LK2", "ZUSD", "-10000", "0"), ("LK3", "KFEE", "0", "2600")], None),
    ("TNOLEGS", "buy", "0.5", "10000", "26", "20000", None, [], "no_legs"),
    ("TEMPTY", "buy", "0.5", "10000", "26", "20000", [], [], None),
    ("TWRONGSIDE", "sell", "0.5", "10000", "26", "20000", ["LW1", "LW2"],
     [("LW1", "XXBT", "0.5", "0"), ("LW2", "ZUSD", "-10000", "26")], "leg_amount_mismatch"),
    # One order filled from spot and an Earn wallet (BittyTax PR #499's 31.41 ETH sale: 29.86 + 1.55): two
    # base legs of one asset, on the sold side, that add up to `vol`.
    ("TMULTI", "sell", "31.41", "94230", "245", "3000", ["LW3", "LW4", "LW5"],
     [("LW3", "XETH", "-29.86", "0"), ("LW4", "XETH", "-1.55", "0"), ("LW5", "ZUSD", "94230", "245")], None),
    ("TMULTISUM", "sell", "31.41", "94230", "245", "3000", ["LW6", "LW7", "LW8"],
     [("LW6", "XETH", "-29.86", "0"), ("LW7", "XETH", "-1.56", "0"), ("LW8", "ZUSD", "94230", "245")],
     "leg_amount_mismatch"),
    ("TMULTIASSET", "sell", "31.41", "94230", "245", "3000", ["LW9", "LWA", "LWB"],
     [("LW9", "XETH", "-29.86", "0"), ("LWA", "ETH2", "-1.55", "0"), ("LWB", "ZUSD", "94230", "245")],
     "leg_amount_mismatch"),
    ("TMULTISIDE", "sell", "31.41", "94230", "245", "3000", ["LWC", "LWD", "LWE"],
     [("LWC", "XETH", "-32.96", "0"), ("LWD", "XETH", "1.55", "0"), ("LWE", "ZUSD", "94230", "245")],
     "leg_amount_mismatch"),
    ("TMULTIFEE", "sell", "31.41", "94230", "245", "3000", ["LWF", "LWG", "LWH"],
     [("LWF", "XETH", "-29.86", "0.05"), ("LWG", "XETH", "-1.55", "0.0317"), ("LWH", "ZUSD", "94230", "0")], None),
]

# (order txid, vol_exec, cost, fee, [(trade txid, vol, cost, fee)], mismatch?)
ORDERS = [
    ("OCLEAN", "1.5", "30000", "78", [("TO1", "1", "20000", "52"), ("TO2", "0.5", "10000", "26")], False),
    ("OVOL", "1.6", "30000", "78", [("TO3", "1", "20000", "52"), ("TO4", "0.5", "10000", "26")], True),
    ("OROUND", "1.5", "30000.0", "78", [("TO5", "1", "20000.04", "52"), ("TO6", "0.5", "9999.98", "26")], False),
    ("OCOST", "1.5", "30001", "78", [("TO7", "1", "20000", "52"), ("TO8", "0.5", "10000", "26")], True),
    ("ONONE", "1", "100", "1", [], True),
]


_INSERT_LEGS = """
    INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, asset, amount, fee,
        balance, source, raw)
    VALUES (:account, :id, :refid, to_timestamp(:t), :t, 'trade', :asset, CAST(:amount AS numeric),
            CAST(:fee AS numeric), 0, 'rest', '{}')"""
_INSERT_TRADES = """
    INSERT INTO kraken.trade (account, txid, ordertxid, pair, time, time_raw, type, ordertype, price, cost,
        fee, vol, ledgers, source, raw)
    VALUES (:account, :txid, :ord, 'XBTUSD', to_timestamp(:t), :t, :type, 'limit', CAST(:price AS numeric),
            CAST(:cost AS numeric), CAST(:fee AS numeric), CAST(:vol AS numeric), CAST(:ledgers AS text[]),
            'rest', '{}')"""


def _load(conn: Connection) -> None:
    legs: list[dict[str, Any]] = []
    trades: list[dict[str, Any]] = []
    orders: list[dict[str, Any]] = []
    for k, (txid, side, vol, cost, fee, price, listed, rows, _) in enumerate(TRADES):
        t = T0 + 10 * k
        trades.append({"txid": txid, "ord": None, "type": side, "vol": vol, "cost": cost, "fee": fee, "price": price,
                       "ledgers": listed, "t": t})
        legs += [{"id": i, "refid": txid, "asset": a, "amount": m, "fee": f, "t": t} for i, a, m, f in rows]
    for k, (otxid, vol_exec, cost, fee, fills, _) in enumerate(ORDERS):
        t = T0 + 1000 + 10 * k
        orders.append({"txid": otxid, "vol_exec": vol_exec, "cost": cost, "fee": fee, "t": t})
        trades += [{"txid": txid, "ord": otxid, "type": "buy", "vol": v, "cost": c, "fee": f, "price": "1",
                    "ledgers": None, "t": t} for txid, v, c, f in fills]
    # the ledger's span ends before the orders' trades: trade_ledger does not judge those (no legs stored)
    legs.append({"id": "LLAST", "refid": None, "asset": "ZUSD", "amount": "1", "fee": "0", "t": T0 + 500})
    conn.execute(text(_INSERT_LEGS), [{"account": "a", **leg} for leg in legs])
    conn.execute(text(_INSERT_TRADES), [{"account": "a", **trade} for trade in trades])
    conn.execute(text("""
        INSERT INTO kraken.closed_order (account, txid, status, opentm, opentm_raw, closetm, closetm_raw, pair,
            side, ordertype, vol, vol_exec, cost, fee, price, source, raw)
        VALUES ('a', :txid, 'closed', to_timestamp(:t), :t, to_timestamp(:t), :t, 'XBTUSD', 'buy', 'limit',
                CAST(:vol_exec AS numeric), CAST(:vol_exec AS numeric), CAST(:cost AS numeric),
                CAST(:fee AS numeric), 0, 'rest', '{}')"""), orders)


def _trade_kinds(conn: Connection, account: str, since: datetime | None) -> tuple[int, dict[str, str]]:
    report = check_trade_ledger(CheckInput(conn, account, AS_OF, since))
    kinds: dict[str, str] = {}
    for f in report.findings:
        assert kinds.setdefault(f.scope, f.kind) == f.kind  # one verdict per trade (one finding per missing leg)
    return report.rows_examined, kinds


def _disagreeing(verdicts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in verdicts.items() if v}


def test_every_trade_shape_gets_its_verdict_full_and_incremental(shared_engine: Engine) -> None:
    with shared_engine.connect() as conn:
        _load(conn)
        examined, full = _trade_kinds(conn, "a", None)
        examined_since, incremental = _trade_kinds(conn, "a", BEFORE)
        missing = {f.source_ids for f in check_trade_ledger(CheckInput(conn, "a", AS_OF)).findings
                   if f.kind == "missing_leg"}
        oracle = _disagreeing(oracle_links.trade_verdicts(conn, "a", AS_OF))
        conn.rollback()
    assert examined == examined_since == len(TRADES)
    assert full == incremental == oracle == {t[0]: t[-1] for t in TRADES if t[-1] is not None}
    assert missing == {("TMISSING", "LM2")}


def test_every_order_shape_gets_its_verdict_full_and_incremental(shared_engine: Engine) -> None:
    with shared_engine.connect() as conn:
        _load(conn)
        full = check_order_trades(CheckInput(conn, "a", AS_OF))
        incremental = check_order_trades(CheckInput(conn, "a", AS_OF, BEFORE))
        oracle = _disagreeing(oracle_links.order_verdicts(conn, "a", AS_OF))
        conn.rollback()
    assert full.rows_examined == incremental.rows_examined == len(ORDERS)
    assert [f.message for f in full.findings] == [f.message for f in incremental.findings]
    assert [f.scope for f in full.findings] == [o[0] for o in ORDERS if o[-1]]
    assert {f.scope for f in full.findings} == set(oracle)
    assert incremental.scopes is not None and set(incremental.scopes) == {o[0] for o in ORDERS}


# The trades the fast pass proves clean itself: the whole fee on the quote leg, or on the base leg within
# fee/50 of the trade's fee at its price (TBASEFEE). Every other shape is judged in Python.
FAST_CLEAN = {"TBUY", "TSELL", "TBASEFEE", "TSCALE", "TNOLIST"}


def test_the_fast_pass_proves_quote_and_base_fee_trades_clean_and_leaves_the_rest(shared_engine: Engine) -> None:
    with shared_engine.connect() as conn:
        _load(conn)
        examined, _, suspects = recon_links.suspect_trades(conn, "a", AS_OF)
        _, ids, changed = recon_links.suspect_trades(conn, "a", AS_OF, BEFORE)
        conn.rollback()
    assert examined == len(ids or []) == len(TRADES)
    assert sorted(r["txid"] for r in suspects) == sorted(r["txid"] for r in changed) == sorted(
        t[0] for t in TRADES if t[0] not in FAST_CLEAN)


# -- generated trades: the product and the oracle must agree on each ----------------------------------------

_DIGITS = st.integers(1, 10**7)


def _dec(digits: int, scale: int) -> Decimal:
    return Decimal(digits).scaleb(-scale)


@st.composite
def _trade(draw: st.DrawFn, k: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A trade and its legs: well-formed, with its fee where Kraken puts it, then maybe damaged."""
    buy = draw(st.booleans())
    qscale = draw(st.integers(2, 5))
    vol = _dec(draw(_DIGITS), draw(st.integers(0, 8)))
    price = _dec(draw(_DIGITS), draw(st.integers(0, 4)))
    cost = (vol * price).quantize(Decimal(1).scaleb(-qscale)) or Decimal(1)
    rate = Decimal(draw(st.sampled_from(["0", "0.0016", "0.0026", "0.004"])))
    fee = (cost * rate).quantize(Decimal(1).scaleb(-qscale))
    quote = draw(st.sampled_from(["ZUSD", "ZEUR", "USD"]))
    where = draw(st.sampled_from(["quote", "base", "kfee", "both"]))
    base_fee = quote_fee = Decimal(0)
    k_fee: Decimal | None = None
    if where == "quote":
        quote_fee = fee
    elif where == "base":
        base_fee = (fee / price).quantize(Decimal("1E-10"))
    elif where == "kfee":
        k_fee = fee * 100
    else:
        quote_fee = (fee / 2).quantize(Decimal(1).scaleb(-qscale))
        base_fee = ((fee - quote_fee) / price).quantize(Decimal("1E-10"))
    txid = f"T{k}"
    legs = [{"id": f"L{k}B", "asset": "XXBT", "amount": vol if buy else -vol, "fee": base_fee},
            {"id": f"L{k}Q", "asset": quote, "amount": -cost if buy else cost, "fee": quote_fee}]
    if k_fee is not None:
        legs.append({"id": f"L{k}K", "asset": "KFEE", "amount": Decimal(0), "fee": k_fee})
    listed: list[str] | None = [leg["id"] for leg in legs]
    damage = draw(st.sampled_from(["none", "none", "fee_unit", "amount_unit", "drop", "extra", "sign", "pad",
                                   "unlisted", "listed_more", "listed_empty", "no_legs", "fee_swap"]))
    unit = Decimal(1).scaleb(-draw(st.integers(0, 10)))
    victim = legs[draw(st.integers(0, len(legs) - 1))]
    if damage == "fee_unit":
        victim["fee"] += unit
    elif damage == "amount_unit":
        victim["amount"] += unit
    elif damage == "drop":
        legs.remove(victim)
    elif damage == "extra":
        legs.append({"id": f"L{k}X", "asset": quote, "amount": -unit, "fee": Decimal(0)})
    elif damage == "sign":
        victim["amount"] = -victim["amount"]
    elif damage == "pad":
        victim["amount"] = victim["amount"].quantize(Decimal("1E-12"))
    elif damage == "unlisted":
        listed = None
    elif damage == "listed_more":
        listed = [*listed, f"L{k}Z"]
    elif damage == "listed_empty":
        listed = []
    elif damage == "no_legs":
        legs, listed = [], draw(st.sampled_from([None, [], [f"L{k}B"]]))
    elif damage == "fee_swap":
        legs[0]["fee"], legs[1]["fee"] = legs[1]["fee"], legs[0]["fee"]
    trade = {"txid": txid, "ord": None, "type": "buy" if buy else "sell", "vol": vol, "cost": cost, "fee": fee,
             "price": price, "ledgers": listed}
    return trade, [{**leg, "refid": txid} for leg in legs]


@st.composite
def _trades(draw: st.DrawFn) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return [draw(_trade(k)) for k in range(draw(st.integers(1, 12)))]


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(_trades())
def test_generated_trades_get_the_oracles_verdict(shared_engine: Engine,
                                                  generated: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
    legs = [{"account": "h", "t": T0 + k, **leg} for k, (_, trade_legs) in enumerate(generated) for leg in trade_legs]
    # an unrelated row opens the ledger's span before every trade and one closes it after
    legs += [{"account": "h", "id": f"SPAN{n}", "refid": None, "asset": "ZUSD", "amount": Decimal(1),
              "fee": Decimal(0), "t": t} for n, t in enumerate((T0 - 1, T0 + 100))]
    trades = [{"account": "h", "t": T0 + k, **trade} for k, (trade, _) in enumerate(generated)]
    with shared_engine.connect() as conn:
        conn.execute(text(_INSERT_LEGS), legs)
        conn.execute(text(_INSERT_TRADES), trades)
        _, full = _trade_kinds(conn, "h", None)
        _, incremental = _trade_kinds(conn, "h", BEFORE)
        oracle = _disagreeing(oracle_links.trade_verdicts(conn, "h", AS_OF))
        conn.rollback()
    assert full == incremental == oracle
