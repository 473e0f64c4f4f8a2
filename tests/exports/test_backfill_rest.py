"""Backfill through REST windows (`jobs.window.run_window`), `auto` planning, and the one-truth merge rule.

The simulator runs in this process with a manual clock (see conftest); the database is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.parsing import unix_seconds
from kraken_etl.core.timeutil import from_unix
from kraken_etl.core.windows import Window, kraken_bounds
from kraken_etl.db.engine import make_engine
from kraken_etl.db.state import get_bookmark, set_bookmark
from kraken_etl.jobs.backfill import BackfillRequest, backfill
from kraken_etl.jobs.fileload import import_files
from kraken_etl.kraken import exports as kx
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.simulator import RunningSimulator
from tests.exports.conftest import SIM_END, LinkedClock
from tests.exports.test_backfill import END, FAST, START, add_exports, truth
from tests.pipeline.truth import compare_ledgers, compare_trades

# Trade columns a (13-column) trades export does not carry and REST does: REST fills them in.
EXPORT_LACKS = {"postxid", "leverage", "trade_id", "maker"}
A = SIM_END - timedelta(days=30)
B = SIM_END - timedelta(days=9)


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def in_bounds(records: dict[str, Any], window: Window) -> dict[str, Any]:
    """The truth Kraken returns for `window` (its whole-second, start-exclusive/end-inclusive bounds)."""
    low, high = kraken_bounds(window)
    return {k: v for k, v in records.items() if (low is None or unix_seconds(v["time"]) > low)
            and unix_seconds(v["time"]) <= high}


def runs(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT kind, stream, status FROM kraken.sync_run ORDER BY id")).all()
    return [(r[0], r[1], r[2]) for r in rows]


def typed_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every typed value of both tables except the time pair, raw, source and bookkeeping columns."""
    skip = {"time", "time_raw", "raw", "source", "first_seen_at", "updated_at", "flags"}
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for table, key in (("ledger_entry", "ledger_id"), ("trade", "txid")):
            for row in conn.execute(text(f"SELECT * FROM kraken.{table}")).mappings():
                out[row[key]] = {k: v for k, v in row.items() if k not in skip}
    return out


def times(engine: Engine) -> dict[str, Decimal]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ledger_id, time_raw FROM kraken.ledger_entry UNION ALL "
                                 "SELECT txid, time_raw FROM kraken.trade")).all()
    return {key: value for key, value in rows}


def test_backfill_via_rest_equals_the_truth_and_never_moves_the_bookmark(
    engine: Engine, sim: RunningSimulator, client: KrakenClient, clock: LinkedClock, home: Path
) -> None:
    old_bookmark = A - timedelta(days=60)  # older than the range: a backfill writing it would move it
    with engine.begin() as conn:
        set_bookmark(conn, "acct", "ledgers", old_bookmark)
    request = BackfillRequest("acct", A, B, ("ledgers", "trades"), "rest", chunk=timedelta(days=7))
    results = backfill(request, engine=engine, client=client, clock=clock, home=home, policy=FAST)
    assert [(r.stream, r.via) for r in results] == [("ledgers", "rest")] * 3 + [("trades", "rest")] * 3
    whole = Window(A, B)
    ledger = in_bounds(truth(sim, "ledgers")["ledger"], whole)
    trades = in_bounds(truth(sim, "trades")["trades"], whole)
    assert ledger and trades
    assert compare_ledgers(engine, "acct", {"ledger": ledger}) == []
    assert compare_trades(engine, "acct", {"trades": trades}) == []
    assert sum(r.inserted for r in results) == len(ledger) + len(trades)
    with engine.connect() as conn:
        assert get_bookmark(conn, "acct", "ledgers") == old_bookmark
        assert get_bookmark(conn, "acct", "trades") is None
    assert runs(engine) == [("backfill", "ledgers", "ok")] * 3 + [("backfill", "trades", "ok")] * 3


def test_auto_exports_a_big_chunk_and_pages_a_small_one(
    engine: Engine, sim: RunningSimulator, client: KrakenClient, clock: LinkedClock, home: Path
) -> None:
    before = add_exports(sim)
    # START..END is 131 days: a 125-day chunk (most of the 1,500 rows) and a 6-day one (a few dozen)
    request = BackfillRequest("acct", START, END, ("ledgers",), "auto", chunk=timedelta(days=125),
                              export_threshold=400)
    results = backfill(request, engine=engine, client=client, clock=clock, home=home, policy=FAST)
    assert [r.via for r in results] == ["export", "rest"]
    assert results[0].fetched >= 400 > results[1].fetched > 0
    assert add_exports(sim) - before == 1
    expected = truth(sim, "ledgers")["ledger"]
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ledger_id, amount FROM kraken.ledger_entry")).all()
        stored = {r[0]: r[1] for r in rows}
        mark = get_bookmark(conn, "acct", "ledgers")
    # the range reaches the present: the stream is bookmarked where its newest range was read, never later
    assert mark is not None and mark <= from_unix(Decimal(str(clock.now())))
    assert stored == {k: Decimal(v["amount"]) for k, v in expected.items()}
    assert [kind for kind, _, _ in runs(engine)] == ["export", "backfill"]


def test_import_then_rest_over_the_same_range_changes_nothing_but_the_time_precision(
    engine: Engine, sim: RunningSimulator, client: KrakenClient, clock: LinkedClock, home: Path, tmp_path: Path
) -> None:
    files = []
    reports: tuple[kx.Report, ...] = ("ledgers", "trades")
    for report in reports:
        export_id = kx.add_export(client, report=report, description=f"manual {report}",
                                  starttm=int(START.timestamp()), endtm=int(END.timestamp()))
        clock.sleep(60)
        files.append(kx.retrieve_export(client, export_id, tmp_path / f"{report}.zip").path)
        kx.remove_export(client, export_id, "delete")
    imported = import_files(engine, files, account="acct")
    assert [r.error for r in imported] == [None, None]
    values, coarse = typed_rows(engine), times(engine)
    with engine.connect() as conn:
        quarantined = conn.execute(text("SELECT count(*) FROM kraken.quarantine")).scalar_one()
    assert any(v.get("wallet") for v in values.values()), "exports carry the wallet"

    request = BackfillRequest("acct", START, END, ("ledgers", "trades"), "rest", chunk=None)
    rest = backfill(request, engine=engine, client=client, clock=clock, home=home, policy=FAST)
    assert sum(r.inserted for r in rest) == 0, "no new rows"
    after = typed_rows(engine)
    assert after.keys() == values.keys()
    filled = set()
    for key, old in values.items():
        for column, value in old.items():
            if after[key][column] != value:
                # a value both sources have never changes; REST only fills what the export lacks
                assert value is None and column in EXPORT_LACKS, (key, column, value, after[key][column])
                filled.add(column)
    assert filled <= EXPORT_LACKS and "trade_id" in filled
    assert all(v["wallet"] == after[k]["wallet"] for k, v in values.items() if "wallet" in v), \
        "a REST re-read never erases the export's wallet"
    fine = times(engine)
    assert fine.keys() == coarse.keys()
    for key, before in coarse.items():
        # only a more precise time may be taken: the same instant, cut to the export's digits
        exponent = Decimal(1).scaleb(before.as_tuple().exponent)  # type: ignore[arg-type]
        assert fine[key].quantize(exponent, rounding=ROUND_FLOOR) == before, key
        assert -fine[key].as_tuple().exponent >= -before.as_tuple().exponent  # type: ignore[operator]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kraken.quarantine")).scalar_one() == quarantined
        mark = get_bookmark(conn, "acct", "ledgers")
    assert mark is not None and mark <= from_unix(Decimal(str(clock.now())))  # the range reaches the present

    again = backfill(request, engine=engine, client=client, clock=clock, home=home, policy=FAST)
    assert [(r.inserted, r.updated) for r in again] == [(0, 0), (0, 0)], "a second REST run changes nothing"
    assert times(engine) == fine
    assert [kind for kind, _, _ in runs(engine)] == ["import", "import"] + ["backfill"] * 4
