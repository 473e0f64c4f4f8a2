"""Every query of docs/sql-guide.md runs as kraken_reader and answers what the simulator's truth implies."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from kraken_etl.core.assets import normalize_asset
from kraken_etl.core.money import D
from kraken_etl.core.parsing import unix_seconds
from kraken_etl.jobs.demo import FIRST_QUERY
from kraken_etl.simulator import catalog
from tests.report import truth as t
from tests.report.conftest import Loaded

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "sql-guide.md"
README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"(?:<!-- check: (?P<name>\w+) -->\n)?```sql\n(?P<sql>.*?)```", re.DOTALL)
Y2025 = (Decimal(int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())),
         Decimal(int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())))


def guide_queries() -> dict[str, str]:
    found = [(m["name"], m["sql"]) for m in BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))]
    assert all(name for name, _ in found), "every ```sql block in the guide needs a <!-- check: name --> line"
    return dict(found)  # type: ignore[arg-type]


def _end_of(day: date) -> Decimal:
    return Decimal(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86_400) - Decimal("1e-7")


def _in_2025(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if Y2025[0] <= r["at"] < Y2025[1]]


def _year_end(loaded: Loaded) -> list[tuple[Any, ...]]:
    chain = t.balances_by_chain(t.entries(loaded.truths), _end_of(date(2025, 12, 31)))
    return sorted((a, w, b) for (a, w), b in chain.items() if b != 0)


def check_year_end_holdings(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    assert rows == _year_end(loaded) and len(rows) >= 5


def check_balances_at_moment(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    assert rows == _year_end(loaded)


def check_quarter_ends(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    entries = t.entries(loaded.truths)
    quarters = [t.balances_by_chain(entries, _end_of(d)) for d in
                (date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 30), date(2025, 12, 31))]
    assets = sorted({a for q in quarters for a, _ in q})
    assert rows == [(a, *(q.get((a, None)) for q in quarters)) for a in assets]


def check_holdings_by_base_asset(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    chain = t.balances_by_chain(t.entries(loaded.truths), _end_of(date(2025, 12, 31)))
    by_base: dict[str, Decimal] = defaultdict(Decimal)
    for (asset, _), balance in chain.items():
        by_base[t.base_of(asset)] += balance
    assert rows == sorted(by_base.items())
    assert any(base == "DOT" for base, _ in rows)


def check_fees_per_month(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    expected = t.fees_by_month(_in_2025(t.entries(loaded.truths)))
    assert {(m, a): f for m, a, f, _, _ in rows} == expected
    assert all(f == (tf or 0) + (of or 0) for _, _, f, tf, of in rows)
    assert len({m for m, *_ in rows}) == 12


def check_fees_per_asset(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    totals: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for r in _in_2025(t.entries(loaded.truths)):
        if D(r["fee"]) != 0:
            totals[normalize_asset(r["asset"])][0] += D(r["fee"])
            totals[normalize_asset(r["asset"])][1] += 1
    assert rows == sorted((a, f, n) for a, (f, n) in totals.items())


def check_deposits_withdrawals_totals(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    expected = t.deposits_withdrawals(_in_2025(t.entries(loaded.truths)))
    assert rows == sorted((a, k, n, s, f, s - f) for (a, k), (n, s, f) in expected.items())


def check_deposits_withdrawals_list(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    expected = [r for r in _in_2025(t.entries(loaded.truths)) if r["type"] in ("deposit", "withdrawal")]
    assert sorted(r[5] for r in rows) == sorted(r["id"] for r in expected)
    by_id = {r["id"]: r for r in expected}
    assert all((a, f) == (D(by_id[i]["amount"]), D(by_id[i]["fee"])) for _, _, _, a, f, i, _ in rows)
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)


def check_earn_income(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    expected: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for (_, asset, kind), net in t.rewards(_in_2025(t.entries(loaded.truths))).items():
        expected[(t.base_of(asset), asset, kind)] += net
    assert {(b, a, k): n for b, a, k, _, _, n in rows} == expected
    assert all(r - f == n for *_, r, f, n in rows)


def _trades_2025(loaded: Loaded) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in loaded.truths["trades"]["trades"].items()
            if Y2025[0] <= unix_seconds(v["time"]) < Y2025[1]}


def check_trades_per_pair(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    tickers = {p.key: (catalog.ASSETS[p.base].ticker, catalog.ASSETS[p.quote].ticker) for p in catalog.PAIRS}
    groups: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0), Decimal(0), Decimal(0)])
    for rec in _trades_2025(loaded).values():
        g = groups[(*tickers[rec["pair"]], rec["type"])]
        g[0] += 1
        g[1] += D(rec["vol"])
        g[2] += D(rec["cost"])
        g[3] += D(rec["fee"])
    assert rows == sorted((*k, *v) for k, v in groups.items())


def check_trade_with_legs(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    trades = _trades_2025(loaded)
    txid = min(trades, key=lambda k: (-D(trades[k]["cost"]), k))
    legs = {lid: rec for lid, rec in loaded.truths["ledgers"]["ledger"].items() if rec["refid"] == txid}
    assert {r[0] for r in rows} == {txid}
    assert {r[8]: (r[10], r[11]) for r in rows} == {lid: (D(r["amount"]), D(r["fee"])) for lid, r in legs.items()}
    assert rows[0][6] == D(trades[txid]["cost"])


def _seed_reconciliation(conn: Connection) -> int:
    run = conn.execute(text(
        "INSERT INTO kraken.reconciliation_run (account, as_of, started_at, finished_at, status, findings, breaks) "
        "VALUES ('demo', '2026-11-30', now(), now(), 'ok', 2, 1) RETURNING id")).scalar_one()
    conn.execute(text(
        "INSERT INTO kraken.reconciliation_finding (run_id, account, check_name, kind, severity, asset, expected, "
        "actual, difference, message, fingerprint, acknowledged_at) VALUES "
        "(:r, 'demo', 'balance_chain', 'gap', 'break', 'XXBT', 2, 1.5, -0.5, 'a row is missing', 'f1', NULL), "
        "(:r, 'demo', 'snapshot', 'drift', 'warning', 'ZUSD', 10, 11, 1, 'snapshot differs', 'f2', now())"),
        {"r": run})
    return int(run)


def check_reconciliation_status(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    run = conn.info["run"]
    assert [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows] == [("demo", run, "ok", 1, 1, 1)]


def check_open_findings(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    assert [(r[0], r[2], r[6]) for r in rows] == [("break", "BTC", Decimal("-0.5")), ("warning", "USD", Decimal(1))]


def check_freshness(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    streams = {r[1]: r for r in rows if r[0] == "demo"}
    assert {"ledgers", "trades", "closed_orders", "order_amends", "balances"} <= set(streams)
    assert all(r[2] is not None and r[4] == "ok" for r in streams.values())
    assert streams["ledgers"][5] == 1  # the quarantined record seeded for this check


def check_quarantine(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    assert [(r[0], r[2], r[3]) for r in rows] == [("ledgers", "LBAD-1", "amount is not a number")]


def _seed_prices(conn: Connection) -> None:
    """Identities for every simulator asset and a daily USD candle for each market over 2025 at the
    simulator's reference price, then the hourly series rebuilt (the demo loads no market data)."""
    for a in catalog.ASSETS:
        base = normalize_asset(a.id).split(".")[0]
        fixed = a.id == "KFEE"
        conn.execute(text(
            "INSERT INTO kraken.asset_identity (code, canonical, price_asset, fixed_price, fixed_currency) "
            "VALUES (:code, :canonical, :pa, CAST(:fixed AS numeric), :cur)"),
            {"code": a.id, "canonical": normalize_asset(a.id), "pa": None if fixed else base,
             "fixed": a.usd_price if fixed else None, "cur": "USD" if fixed else None})
        if not fixed and base != "USD" and normalize_asset(a.id) == base:
            conn.execute(text(
                "INSERT INTO kraken.price (pair, interval, start, base, quote, open, high, low, close, volume, "
                "source, complete) SELECT :pair, 1440, d, :base, 'USD', :p, :p, :p, :p, 1, 'file', true "
                "FROM generate_series(TIMESTAMPTZ '2025-01-01 00:00+00', '2025-12-31 00:00+00', "
                "interval '1 day') d"), {"pair": f"{base}USD", "base": base, "p": D(a.usd_price)})
    conn.execute(text("REFRESH MATERIALIZED VIEW reporting.price_hourly"))


def _reference_price(asset: str) -> Decimal:
    """The simulator's reference USD price of the market that prices `asset` (DOT.S as DOT)."""
    base = asset.split(".")[0]
    return next(D(a.usd_price) for a in catalog.ASSETS if normalize_asset(a.id) == base)


def _year_end_by_asset(loaded: Loaded) -> dict[str, Decimal]:
    by_asset: dict[str, Decimal] = defaultdict(Decimal)
    for asset, _wallet, balance in _year_end(loaded):
        by_asset[asset] += balance
    return {a: b for a, b in by_asset.items() if b != 0}


def check_worth_year_end(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    expected = [(a, b, "USD", _reference_price(a), b * _reference_price(a))
                for a, b in sorted(_year_end_by_asset(loaded).items())]
    assert rows == expected and len(rows) >= 5


def check_worth_year_end_total(loaded: Loaded, rows: list[tuple[Any, ...]], conn: Connection) -> None:
    total = sum(b * _reference_price(a) for a, b in _year_end_by_asset(loaded).items())
    assert rows == [("USD", total, 0)]


CHECKS: dict[str, Callable[[Loaded, list[tuple[Any, ...]], Connection], None]] = {
    name.removeprefix("check_"): fn for name, fn in globals().items() if name.startswith("check_")
}


def test_every_query_of_the_guide_has_a_check() -> None:
    assert set(guide_queries()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_guide_query(demo_loaded: Loaded, name: str) -> None:
    loaded = demo_loaded
    sql = guide_queries()[name]
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.info["run"] = _seed_reconciliation(conn)
            conn.execute(text(
                "INSERT INTO kraken.quarantine (account, stream, source, record_id, reason, fingerprint, raw) "
                "VALUES ('demo', 'ledgers', 'rest', 'LBAD-1', 'amount is not a number', 'q1', '{}')"))
            if name.startswith("worth_"):
                _seed_prices(conn)
            conn.execute(text("SET LOCAL ROLE kraken_reader"))
            rows = [tuple(r) for r in conn.exec_driver_sql(sql)]
            assert rows, f"{name} returns no rows on the demo account"
            CHECKS[name](loaded, rows, conn)
        finally:
            tx.rollback()


def test_the_readme_queries_run_as_printed_on_the_demo_account(demo_loaded: Loaded) -> None:
    """The README's SQL (the query `kraken-etl demo` suggests too) reads the reporting schema and answers."""
    blocks = [sql.strip() for sql in re.findall(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)]
    assert FIRST_QUERY in blocks
    with demo_loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(text("SET LOCAL ROLE kraken_reader"))
            for sql in blocks:
                assert "kraken." not in sql.replace("reporting.", ""), sql
                assert conn.exec_driver_sql(sql).all(), sql
        finally:
            tx.rollback()
