"""Backfill planned from the data: few count calls, one export per report, split by rows, stored, resumed.

A new user's first backfill at small scale: `--from 2000-01-01 --to <tomorrow> --via export` on an account
whose history spans two years asks for exactly one ledgers and one trades export (a calendar plan asked for
one per 90-day chunk), loads closed orders and amends by REST in the same run, and every table equals the
simulator's truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.money import loads
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.backfill import BackfillRequest, backfill, plan
from kraken_etl.jobs.events import Event
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.simulator import RunningSimulator, serve_in_thread
from tests.exports.conftest import SIM_END, LinkedClock, make_client, sim_config
from tests.exports.test_backfill import FAST, add_exports, assert_ledger_equals_truth, assert_trades_equal_truth
from tests.pipeline.truth import compare_closed_orders, compare_order_amends

EPOCH_START = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
TOMORROW = SIM_END + timedelta(days=2)


@pytest.fixture(scope="module")
def two_years() -> Iterator[RunningSimulator]:
    with serve_in_thread(sim_config(seed=14, ledger_entries=2_400, history_days=730)) as running:
        yield running


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture()
def linked(two_years: RunningSimulator) -> LinkedClock:
    return LinkedClock(two_years.ctx.clock)


@pytest.fixture()
def kraken(two_years: RunningSimulator, linked: LinkedClock) -> Iterator[KrakenClient]:
    with make_client(two_years, linked) as client:
        yield client


def _truth(sim: RunningSimulator, kind: str) -> dict[str, object]:
    return loads(httpx.get(f"{sim.rest_url}/_sim/truth/{kind}").content)  # type: ignore[no-any-return]


def test_whole_history_is_one_export_per_report_and_every_table_equals_the_truth(
    engine: Engine, two_years: RunningSimulator, kraken: KrakenClient, linked: LinkedClock, tmp_path: Path
) -> None:
    before = add_exports(two_years)
    events: list[Event] = []
    request = BackfillRequest("acct", EPOCH_START, TOMORROW, via="export")
    results = backfill(request, engine=engine, client=kraken, clock=linked, home=tmp_path, policy=FAST,
                       progress=events.append)
    assert add_exports(two_years) - before == 2, "one ledgers and one trades export, no empty ones"
    assert [(r.stream, r.via) for r in results] == [
        ("ledgers", "export"), ("trades", "export"), ("closed_orders", "rest"), ("order_amends", "rest")]
    plan_lines = [e.message for e in events if e.kind == "plan"]
    assert plan_lines and "2 exports" in plan_lines[-1]
    first_status = next(i for i, e in enumerate(events) if e.kind == "status")
    assert max(i for i, e in enumerate(events) if e.kind == "plan") < first_status, "plan printed first"
    queued = {e.stream: i for i, e in reversed(list(enumerate(events)))
              if e.kind == "status" and e.message.endswith(": queued")}
    first_download = next(i for i, e in enumerate(events) if e.kind == "download")
    assert set(queued) == {"ledgers", "trades"} and max(queued.values()) < first_download, \
        "both exports are asked for before the first is downloaded (Kraken works on them meanwhile)"
    assert_ledger_equals_truth(engine, two_years)
    assert_trades_equal_truth(engine, two_years)
    assert compare_closed_orders(engine, "acct", _truth(two_years, "closed_orders")) == []
    assert compare_order_amends(engine, "acct", _truth(two_years, "order_amends")) == []
    with engine.connect() as conn:
        finished = conn.execute(text("SELECT finished_at IS NOT NULL FROM kraken.backfill_plan")).scalars().all()
    assert finished == [True]


def test_a_history_larger_than_one_export_is_split_by_rows_not_by_calendar(
    engine: Engine, two_years: RunningSimulator, kraken: KrakenClient
) -> None:
    request = BackfillRequest("acct", EPOCH_START, TOMORROW, ("ledgers",), via="export", max_export_rows=1_000)
    planned = plan(request, engine=engine, client=kraken, store=False)
    ledgers = _truth(two_years, "ledgers")["ledger"]
    exports = planned.exports("ledgers")
    assert len(exports) == 3  # 2,400 rows in parts of at most about 1,000
    assert sum(r.rows or 0 for r in exports) == len(ledgers)  # type: ignore[arg-type]
    for earlier, later in pairwise(exports):
        assert earlier.end == later.start, "contiguous: no gap between the parts"
    assert exports[-1].end == TOMORROW
    oldest = min(entry["time"] for entry in ledgers.values())  # type: ignore[attr-defined]
    assert exports[0].start is not None and exports[0].start.timestamp() <= oldest
    assert exports[0].start.timestamp() > oldest - 1, "the plan starts where the history does, not in 2000"
    assert planned.count_calls <= 2 + 2, "count + oldest page + one call per split point"


def test_a_history_a_few_rows_over_the_limit_is_still_one_export(
    engine: Engine, two_years: RunningSimulator, kraken: KrakenClient
) -> None:
    """1,000,003 rows against a 1,000,000-row limit made a full export plus a 3-row one (a whole cycle)."""
    rows = len(_truth(two_years, "ledgers")["ledger"])  # type: ignore[arg-type]
    request = BackfillRequest("acct", EPOCH_START, TOMORROW, ("ledgers",), via="export", max_export_rows=rows - 3)
    planned = plan(request, engine=engine, client=kraken, store=False)
    assert [r.rows for r in planned.exports("ledgers")] == [rows]
    assert planned.count_calls <= 2, "no split point asked for"


def test_split_exports_load_every_row_once(
    engine: Engine, two_years: RunningSimulator, kraken: KrakenClient, linked: LinkedClock, tmp_path: Path
) -> None:
    before = add_exports(two_years)
    request = BackfillRequest("acct", EPOCH_START, TOMORROW, ("ledgers",), via="export", max_export_rows=1_000)
    events: list[Event] = []
    results = backfill(request, engine=engine, client=kraken, clock=linked, home=tmp_path, policy=FAST,
                       progress=events.append)
    assert add_exports(two_years) - before == 3
    downloads = [i for i, e in enumerate(events) if e.kind == "download" and e.message.startswith("retrieving")]

    def queued_before(index: int) -> int:
        return len({e.job_id for e in events[:index] if e.kind == "status" and e.message.endswith(": queued")})

    assert FAST.ahead == 2 and [queued_before(i) for i in downloads] == [2, 3, 3], \
        "at most two exports asked for and not yet loaded"
    assert_ledger_equals_truth(engine, two_years)  # no row lost at a boundary, none doubled (keys)
    assert sum(r.inserted for r in results) == len(_truth(two_years, "ledgers")["ledger"])  # type: ignore[arg-type]


def test_dry_run_requests_nothing_and_stores_nothing(
    engine: Engine, two_years: RunningSimulator, kraken: KrakenClient
) -> None:
    before = add_exports(two_years)
    request = BackfillRequest("acct", EPOCH_START, TOMORROW, via="auto")
    planned = plan(request, engine=engine, client=kraken, store=False)
    assert add_exports(two_years) == before
    assert {r.stream for r in planned.ranges} == {"ledgers", "trades", "closed_orders", "order_amends"}
    assert all(r.via == "rest" for r in planned.ranges if r.stream in ("closed_orders", "order_amends"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM kraken.backfill_plan")).scalar_one() == 0


def test_an_empty_range_is_never_requested(engine: Engine, two_years: RunningSimulator, kraken: KrakenClient) -> None:
    request = BackfillRequest("acct", EPOCH_START, EPOCH_START + timedelta(days=3650), via="export")
    planned = plan(request, engine=engine, client=kraken, store=False)
    assert [r.stream for r in planned.ranges] == ["order_amends"]  # nothing before the history begins


def test_a_rerun_resumes_the_stored_plan_even_after_new_activity(
    engine: Engine, two_years: RunningSimulator, kraken: KrakenClient
) -> None:
    request = BackfillRequest("acct", EPOCH_START, TOMORROW, ("ledgers",), via="export", max_export_rows=1_000)
    first = plan(request, engine=engine, client=kraken)
    assert first.stored_id is not None and not first.resumed
    httpx.post(f"{two_years.rest_url}/_sim/advance", json={"ledger_entries": 300})  # offsets shift
    again = plan(request, engine=engine, client=kraken)
    assert again.resumed and again.stored_id == first.stored_id
    assert again.ranges == first.ranges
