"""The reporting schema as a contract: declared columns with comments, SQL normalisation equal to Python's,
and a reader that can read everything and write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from kraken_etl.core.assets import ASSET_ALIASES, SUFFIXES, normalize_asset, split_suffix
from models.reporting import FUNCTIONS, MATERIALISED, TABLES, VIEWS


def _columns(conn: Connection, name: str) -> list[tuple[str, str | None]]:
    return [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
        "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
        "WHERE a.attrelid = CAST(:rel AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"),
        {"rel": f"reporting.{name}"})]


def test_views_are_declared_and_commented(conn: Connection) -> None:
    live = dict(conn.execute(text(
        "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'reporting' AND c.relkind IN ('v', 'm', 'r')")).all())
    assert live == {**dict.fromkeys(VIEWS, "v"), **dict.fromkeys(MATERIALISED, "m"), **dict.fromkeys(TABLES, "r")}
    for name, columns in {**VIEWS, **MATERIALISED, **TABLES}.items():
        found = _columns(conn, name)
        assert [c for c, _ in found] == list(columns), name
        assert all(comment for _, comment in found), (name, [c for c, d in found if not d])
        comment = conn.execute(text("SELECT obj_description(CAST(:r AS regclass), 'pg_class')"),
                               {"r": f"reporting.{name}"}).scalar_one()
        assert comment, name


def test_functions_are_declared_and_commented(conn: Connection) -> None:
    rows = dict(conn.execute(text(
        "SELECT p.proname, obj_description(p.oid, 'pg_proc') FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'reporting'")).all())
    assert set(rows) == set(FUNCTIONS)
    assert all(rows.values())
    result = conn.execute(text("SELECT * FROM reporting.balances_at(now())"))
    assert tuple(result.keys()) == FUNCTIONS["balances_at"]


CODES = sorted({
    *ASSET_ALIASES, *(k + s for k in ("XBT", "XXBT", "DOT", "ETH2", "ZUSD", "USD") for s in SUFFIXES),
    "XBT.m", "usd.hold", " XXBT ", "XTZ", "ZEC", "USDT", "KFEE", ".S", ".HOLD", "S", "A.S.S", "X.P.HOLD",
    "FLOW.H", "ETH2.S", "DOT.S", "USD.HOLD", "", "XXBT\t",
})


def test_normalisation_agrees_with_core_assets(conn: Connection) -> None:
    rows = conn.execute(text(
        "SELECT c, reporting.normalize_asset(c), reporting.asset_base_code(c), reporting.asset_suffix(c) "
        "FROM unnest(CAST(:codes AS text[])) AS c"), {"codes": CODES}).all()
    for code, normalised, base, suffix in rows:
        expected_base, expected_suffix = split_suffix(code.strip())
        assert (normalised, base, suffix) == (normalize_asset(code), expected_base, expected_suffix), repr(code)


def test_normalisation_is_inlined_and_fast_enough_for_a_view(conn: Connection) -> None:
    sql = ("EXPLAIN VERBOSE SELECT reporting.normalize_asset(asset), reporting.pair_base(asset), "
           "reporting.pair_quote(asset) FROM kraken.ledger_entry")
    text_plan = "\n".join(r[0] for r in conn.execute(text(sql)))
    assert "reporting." not in text_plan  # inlined to expressions: no per-row function call


@pytest.mark.parametrize(("pair", "base", "quote"), [
    ("XXBTZUSD", "XXBT", "ZUSD"), ("XETHXXBT", "XETH", "XXBT"), ("USDTZUSD", "USDT", "ZUSD"),
    ("DOTUSD", "DOT", "USD"), ("SOLUSD", "SOL", "USD"), ("ETHUSDT", "ETH", "USDT"), ("XBT/EUR", "XBT", "EUR"),
    ("ADAETH", "ADA", "ETH"), ("XBTPYUSD", "XBT", "PYUSD"), ("NOPE", None, None), ("USD", None, None),
    ("A/", None, None),
])
def test_split_pair(conn: Connection, pair: str, base: str | None, quote: str | None) -> None:
    assert tuple(conn.execute(text("SELECT * FROM reporting.split_pair(:p)"), {"p": pair}).one()) == (base, quote)
    scalars = conn.execute(text("SELECT reporting.pair_base(:p), reporting.pair_quote(:p)"), {"p": pair}).one()
    assert tuple(scalars) == (base, quote)


def test_reader_reads_every_view(conn: Connection) -> None:
    conn.execute(text("SET LOCAL ROLE kraken_reader"))
    for name in (*VIEWS, *MATERIALISED, *TABLES):
        conn.execute(text(f"SELECT * FROM reporting.{name} LIMIT 1")).all()
    conn.execute(text("SELECT * FROM reporting.balances_at(now(), 'main')")).all()


@pytest.mark.parametrize("statement", [
    "INSERT INTO reporting.deposits_withdrawals (account, ledger_id) VALUES ('a', 'b')",
    "UPDATE reporting.deposits_withdrawals SET fee = 0",
    "DELETE FROM reporting.deposits_withdrawals",
    "REFRESH MATERIALIZED VIEW reporting.ledger_daily",
    "UPDATE reporting.refresh_state SET covered_before = now()",
    "INSERT INTO reporting.refresh_state VALUES (false, now(), now())",
    "CREATE TABLE reporting.intruder (x int)",
    "CREATE VIEW reporting.intruder AS SELECT 1",
    "DROP VIEW reporting.ledger",
    "CREATE OR REPLACE FUNCTION reporting.normalize_asset(code text) RETURNS text LANGUAGE sql RETURN code",
])
def test_reader_writes_nothing(conn: Connection, statement: str) -> None:
    conn.execute(text("SET LOCAL ROLE kraken_reader"))
    with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
        conn.execute(text(statement))
