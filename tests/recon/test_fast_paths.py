"""A full run's fast passes judge exactly as the plain SQL does.

A full `trade_ledger` proves the common trades clean in one merge pass and judges only the rest with the
SQL an incremental run uses; `order_trades` reads orders and their trades' sums from two ordered indexes.
Here every trade / order shape is judged both ways (full, and incremental over all rows: the exact SQL
alone) and the verdicts must be the same, and the expected ones.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from kraken_etl.db import recon_links, recon_orders

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
]

# (order txid, vol_exec, cost, fee, [(trade txid, vol, cost, fee)], mismatch?)
ORDERS = [
    ("OCLEAN", "1.5", "30000", "78", [("TO1", "1", "20000", "52"), ("TO2", "0.5", "10000", "26")], False),
    ("OVOL", "1.6", "30000", "78", [("TO3", "1", "20000", "52"), ("TO4", "0.5", "10000", "26")], True),
    ("OROUND", "1.5", "30000.0", "78", [("TO5", "1", "20000.04", "52"), ("TO6", "0.5", "9999.98", "26")], False),
    ("OCOST", "1.5", "30001", "78", [("TO7", "1", "20000", "52"), ("TO8", "0.5", "10000", "26")], True),
    ("ONONE", "1", "100", "1", [], True),
]


def _load(engine: Engine) -> None:
    legs, trades, orders = [], [], []
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
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, asset, amount, fee,
                balance, source, raw)
            VALUES ('a', :id, :refid, to_timestamp(:t), :t, 'trade', :asset, CAST(:amount AS numeric),
                    CAST(:fee AS numeric), 0, 'rest', '{}')"""), legs)
        conn.execute(text("""
            INSERT INTO kraken.trade (account, txid, ordertxid, pair, time, time_raw, type, ordertype, price, cost,
                fee, vol, ledgers, source, raw)
            VALUES ('a', :txid, :ord, 'XBTUSD', to_timestamp(:t), :t, :type, 'limit', CAST(:price AS numeric),
                    CAST(:cost AS numeric), CAST(:fee AS numeric), CAST(:vol AS numeric), CAST(:ledgers AS text[]),
                    'rest', '{}')"""), trades)
        conn.execute(text("""
            INSERT INTO kraken.closed_order (account, txid, status, opentm, opentm_raw, closetm, closetm_raw, pair,
                side, ordertype, vol, vol_exec, cost, fee, price, source, raw)
            VALUES ('a', :txid, 'closed', to_timestamp(:t), :t, to_timestamp(:t), :t, 'XBTUSD', 'buy', 'limit',
                    CAST(:vol_exec AS numeric), CAST(:vol_exec AS numeric), CAST(:cost AS numeric),
                    CAST(:fee AS numeric), 0, 'rest', '{}')"""), orders)


def test_full_trade_pass_gives_the_exact_verdict_for_every_trade_shape(db_url: str) -> None:
    from kraken_etl.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        _load(engine)
        with engine.connect() as conn:
            examined, _, full = recon_links.trade_mismatches(conn, "a", AS_OF)
            _, ids, exact = recon_links.trade_mismatches(conn, "a", AS_OF, BEFORE)
    finally:
        engine.dispose()
    assert examined == len(ids or []) == len(TRADES)
    verdicts = {r["txid"]: r["verdict"] for r in full}
    assert verdicts == {r["txid"]: r["verdict"] for r in exact}
    assert verdicts == {t[0]: t[-1] for t in TRADES if t[-1] is not None}
    assert {r["txid"]: r["leg_ids"] for r in full} == {r["txid"]: r["leg_ids"] for r in exact}


def test_full_order_pass_gives_the_exact_verdict_for_every_order_shape(db_url: str) -> None:
    from kraken_etl.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        _load(engine)
        with engine.connect() as conn:
            examined, _, full = recon_orders.order_mismatches(conn, "a", AS_OF)
            _, ids, exact = recon_orders.order_mismatches(conn, "a", AS_OF, BEFORE)
    finally:
        engine.dispose()
    assert examined == len(ids or []) == len(ORDERS)
    keys = ("txid", "vol_exec", "cost", "fee", "n", "vol", "tcost", "tfee", "ids")
    assert [{k: r[k] for k in keys} for r in full] == [{k: r[k] for k in keys} for r in exact]
    assert [r["txid"] for r in full] == [o[0] for o in ORDERS if o[-1]]


# The trades the fast pass proves clean itself: the whole fee on the quote leg, or on the base leg within
# fee/50 of the trade's fee at its price (TBASEFEE). Every other shape is left to the exact SQL.
FAST_CLEAN = {"TBUY", "TSELL", "TBASEFEE", "TSCALE", "TNOLIST"}


def test_the_fast_pass_proves_quote_and_base_fee_trades_clean_and_leaves_the_rest(db_url: str) -> None:
    from kraken_etl.db.engine import make_engine

    engine = make_engine(db_url)
    try:
        _load(engine)
        with engine.connect() as conn:
            examined, suspects = recon_links.trade_suspects(conn, "a", AS_OF)
    finally:
        engine.dispose()
    assert examined == len(TRADES)
    assert sorted(suspects) == sorted(t[0] for t in TRADES if t[0] not in FAST_CLEAN)
