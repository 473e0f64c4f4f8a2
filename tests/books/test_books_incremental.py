"""Incremental books over real PostgreSQL: after new entries appear (appended, and one inserted months in the
past, as a backfill would), a run that resumes each changed asset from its checkpoint stores exactly the rows
a run from the first entry stores; a run with nothing new changes nothing; a removed entry, a new price and
a changed treatment are followed too. A seeded ledger built here (trades against USD and between coins,
rewards, deposits drawing on an imported opening lot, withdrawals) with daily candles."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs import books

CODES = {"ZUSD": "USD", "XXBT": "BTC", "XETH": "ETH", "DOT.S": "DOT", "DOT": "DOT"}
PRICES = {"BTC": 40000, "ETH": 2500, "DOT": 7}
START = datetime(2024, 1, 1, tzinfo=UTC)
TABLES = ("book_disposal", "book_income", "book_holding", "book_finding", "book_checkpoint")
Row = tuple[str, str, datetime, str, str, str, D, D]  # ledger id, refid, time, type, subtype, code, amount, fee


def ledger(seed: int, n: int, start: datetime, prefix: str) -> list[Row]:
    """Entry groups every few hours: several a day, so same-day and 30-day matches happen for uk."""
    rng = random.Random(seed)
    at, rows = start, []
    for i in range(n):
        at += timedelta(hours=rng.randint(2, 20))
        code = rng.choice(["XXBT", "XETH"])
        price = D(PRICES[CODES[code]] * rng.randint(90, 110)) / 100
        quantity = D(rng.randint(1, 200)) / 100
        usd = (quantity * price).quantize(D("0.01"))
        ref, roll = f"{prefix}{i}", rng.random()
        if roll < 0.05:
            rows.append((f"L{ref}", f"D{ref}", at, "deposit", "", "XXBT", quantity / 10, D(0)))
        elif roll < 0.12:
            rows.append((f"L{ref}", f"R{ref}", at, "staking", "", "DOT.S", quantity, D(0)))
        elif roll < 0.15:
            rows.append((f"L{ref}", f"W{ref}", at, "withdrawal", "", code, -quantity / 20, D("0.0001")))
        elif roll < 0.22:  # coin for coin: valued at the received leg's fair value
            rows.append((f"L{ref}a", f"T{ref}", at, "trade", "tradespot", "XETH", -quantity, D(0)))
            rows.append((f"L{ref}b", f"T{ref}", at, "trade", "tradespot", "XXBT", quantity / 16, D(0)))
        else:
            sign = 1 if roll < 0.62 else -1
            rows.append((f"L{ref}a", f"T{ref}", at, "trade", "tradespot", "ZUSD", -sign * usd, usd / 400))
            rows.append((f"L{ref}b", f"T{ref}", at, "trade", "tradespot", code, sign * quantity, D(0)))
    return rows


BASE = ledger(5, 420, START, "a")  # about four months
APPENDED = ledger(6, 25, BASE[-1][2] - timedelta(days=1), "n")  # a day before the last entry, and after it
PAST = ledger(7, 4, BASE[150][2] - timedelta(hours=1), "p")  # a backfill weeks before the end


def insert(engine: Engine, rows: list[Row]) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, asset, "
            "amount, fee, source, raw) VALUES ('main', :lid, :refid, :at, extract(epoch FROM CAST(:at AS "
            "timestamptz)), :type, :subtype, :asset, :amount, :fee, 'rest', '{}')"),
            [{"lid": r[0], "refid": r[1], "at": r[2], "type": r[3], "subtype": r[4], "asset": r[5], "amount": r[6],
              "fee": r[7]} for r in rows])


def candles(engine: Engine, days: int, first: datetime = START, bump: int = 0) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, trades, "
            "source, complete) VALUES (:pair, 1440, :day, :base, 'USD', :c, :c, :c, :c, 1, 1, 'ohlc', true) "
            "ON CONFLICT (pair, interval, start) DO UPDATE SET close = excluded.close, open = excluded.open, "
            "high = excluded.high, low = excluded.low, fetched_at = now()"),
            [{"pair": f"{base}USD", "day": first + timedelta(days=d), "base": base,
              "c": D(price) * (100 + (d * 7 + bump) % 13 - 6) / 100}
             for base, price in PRICES.items() for d in range(days)])


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    with made.begin() as conn:
        for code, canonical in CODES.items():
            conn.execute(text("INSERT INTO kraken.asset_identity (code, canonical, price_asset) VALUES (:c, :n, :n)"),
                         {"c": code, "n": canonical})
    candles(made, 150)
    insert(made, BASE)
    books.import_lots(made, "lots.csv", b"asset,amount,cost,currency,acquired_at\n"
                                        b"BTC,0.3,6000,USD,2023-05-01\nBTC,0.2,9000,USD,2023-08-01\n")
    try:
        yield made
    finally:
        made.dispose()


def stored(engine: Engine, method: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the computation, by primary key (the run row without its time and watermark)."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            out[table] = [tuple(r) for r in conn.execute(text(
                f"SELECT * FROM kraken.{table} WHERE entity = 'main' AND method = :m ORDER BY asset, "
                f"{'at' if table == 'book_checkpoint' else 'seq'}"), {"m": method})]
        out["book_run"] = [tuple(r) for r in conn.execute(text(
            "SELECT accounts, entries, last_entry_time, fee_rule, inputs FROM kraken.book_run "
            "WHERE entity = 'main' AND method = :m"), {"m": method})]
    return out


def run(engine: Engine, method: str, *, full: bool = False) -> books.RunResult:
    return books.run(engine, entity="main", accounts=["main"], method=method, currency="USD", full=full)


@pytest.mark.parametrize("method", ["fifo", "lifo", "hifo", "average", "uk"])
def test_new_entries_appended_and_in_the_past_give_the_rows_of_a_full_run(engine: Engine, method: str) -> None:
    first = run(engine, method)
    assert not first.incremental and first.disposals > 50
    insert(engine, APPENDED + PAST)
    candles(engine, 10, START + timedelta(days=150))
    again = run(engine, method)
    assert again.incremental and set(again.assets) >= {"BTC", "ETH"}
    assert again.entries == len(BASE) + sum(1 for _ in APPENDED + PAST)
    resumed = stored(engine, method)
    whole = run(engine, method, full=True)
    assert not whole.incremental
    assert stored(engine, method) == resumed
    assert resumed["book_checkpoint"] and resumed["book_disposal"]
    rules = {r[0] for r in _rules(engine, method)}
    if method == "uk":
        assert {"same_day", "thirty_day", "pool"} <= rules
    assert any(r[1] for r in _rules(engine, method)), "the opening lots are drawn on"


def _rules(engine: Engine, method: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT rule, 'lots.csv:2' = ANY(acquisition_entries) OR 'lots.csv:3' = ANY(acquisition_entries) "
            "FROM kraken.book_disposal WHERE method = :m"), {"m": method})]


def test_a_run_with_nothing_new_changes_nothing(engine: Engine) -> None:
    run(engine, "uk")
    before = stored(engine, "uk")
    with engine.connect() as conn:
        stamp = conn.execute(text("SELECT computed_at, watermark FROM kraken.book_run WHERE method = 'uk'")).one()
    again = run(engine, "uk")
    assert again.unchanged and again.incremental and again.disposals == 0
    assert stored(engine, "uk") == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT computed_at, watermark FROM kraken.book_run WHERE method = 'uk'")).one() \
            == stamp


@pytest.mark.parametrize("change", ["removed_entry", "new_price", "treatment", "opening_lot"])
def test_other_changes_are_followed(engine: Engine, change: str) -> None:
    run(engine, "fifo")
    with engine.begin() as conn:
        if change == "removed_entry":
            conn.execute(text("DELETE FROM kraken.ledger_entry WHERE ledger_id = :lid"), {"lid": BASE[200][0]})
        elif change == "treatment":
            conn.execute(text("UPDATE kraken.treatment SET treatment = 'ignore' WHERE ledger_type = 'staking'"))
    if change == "new_price":
        candles(engine, 20, START + timedelta(days=60), bump=5)  # prices of 20 days corrected
    if change == "opening_lot":
        books.import_lots(engine, "more.csv", b"asset,amount,cost,currency,acquired_at\nETH,1,100,USD,2023-01-01\n")
    again = run(engine, "fifo")
    assert again.incremental == (change == "new_price")
    after = stored(engine, "fifo")
    run(engine, "fifo", full=True)
    assert stored(engine, "fifo") == after


def test_an_incremental_write_over_books_another_run_stored_meanwhile_is_refused(engine: Engine) -> None:
    from kraken_etl.db import book_runs as store

    run(engine, "fifo")
    before = stored(engine, "fifo")
    with engine.connect() as conn:
        mark = conn.execute(text("SELECT watermark FROM kraken.book_run WHERE method = 'fifo'")).scalar_one()
    facts = store.RunFacts(["main"], 1, None, "acquisition_cost", mark, "x", True)
    with engine.begin() as conn:  # read before the stored run's watermark: another run wrote since
        assert not store.replace_assets(conn, entity="main", method="fifo", currency="USD", facts=facts,
                                        starts={"BTC": (START, {})}, tables={}, checkpoints=[],
                                        read_watermark=mark - timedelta(seconds=1))
    assert stored(engine, "fifo") == before
