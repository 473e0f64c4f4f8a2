"""The invariants the crash drills check after every kill (see tests/drills/crash.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, text

from kraken_etl.simulator import RunningSimulator
from tests.e2e.sync_support import truths
from tests.oracle import seconds

TIME_FIELDS = {"ledgers": ("ledger", "ledger_entry", "ledger_id", "time"),
               "trades": ("trades", "trade", "txid", "time"),
               "closed_orders": ("closed", "closed_order", "txid", "closetm")}


def reset_database(engine: Engine) -> None:
    """Empty every data table of the `kraken` schema (a fresh account for the next kill moment); the
    migration version stays, so the next command does not migrate again."""
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'kraken' AND tablename <> 'alembic_version'"))]
        conn.execute(text("TRUNCATE " + ", ".join(f"kraken.{t}" for t in tables) + " RESTART IDENTITY CASCADE"))


def duplicates(engine: Engine) -> list[str]:
    problems = []
    with engine.connect() as conn:
        for table, key in (("ledger_entry", "ledger_id"), ("trade", "txid"), ("closed_order", "txid"),
                           ("order_amend", "amend_id")):
            total, distinct = conn.execute(text(
                f"SELECT count(*), count(DISTINCT (account, {key})) FROM kraken.{table}")).one()
            if total != distinct:
                problems.append(f"{table}: {total - distinct} doubled rows")
    return problems


def bookmarks_not_ahead(engine: Engine, truth: dict[str, dict[str, Any]], account: str = "main") -> list[str]:
    """Every truth record at or before a stream's bookmark is in the database."""
    problems = []
    with engine.connect() as conn:
        marks = dict(conn.execute(text(
            "SELECT stream, extract(epoch FROM bookmark) FROM kraken.sync_state WHERE account = :a"),
            {"a": account}).all())
        for stream, (result_key, table, key, time_field) in TIME_FIELDS.items():
            mark = marks.get(stream)
            if mark is None:
                continue
            have = {row[0] for row in conn.execute(text(f"SELECT {key} FROM kraken.{table} WHERE account = :a"),
                                                   {"a": account})}
            records = truth[stream][result_key]
            due = {rid for rid, rec in records.items() if seconds(rec[time_field]) <= mark}
            missing = due - have
            if missing:
                problems.append(f"{stream}: bookmark ahead of the data, {len(missing)} records before it missing")
    return problems


def amends_have_a_run(engine: Engine) -> list[str]:
    """Every order_amend row was written by a logged run: rows <= the inserts its sync_run rows report."""
    with engine.connect() as conn:
        amends = conn.execute(text("SELECT count(*) FROM kraken.order_amend")).scalar_one()
        logged = conn.execute(text("SELECT coalesce(sum(inserted), 0) FROM kraken.sync_run "
                                   "WHERE stream = 'order_amends'")).scalar_one()
    return [f"{amends - logged} order_amend rows without an order_amends sync_run row"] if amends > logged else []


def after_kill(engine: Engine, sim: RunningSimulator) -> list[str]:
    return duplicates(engine) + bookmarks_not_ahead(engine, truths(sim)) + amends_have_a_run(engine)


def ledger_ids(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text("SELECT ledger_id FROM kraken.ledger_entry"))}


