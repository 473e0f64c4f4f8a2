"""run_window against a scripted Kraken: frozen-window paging, drift, quarantine, bookmark atomicity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from kraken_etl.core.windows import Window
from kraken_etl.db.state import get_bookmark
from kraken_etl.jobs.streams import LEDGERS
from kraken_etl.jobs.window import fetch_window, run_window
from kraken_etl.kraken import errors as e
from models import LedgerEntryRow, QuarantineRow, SyncRunRow
from tests.kraken.conftest import FakeClock, ScriptedKraken, envelope, make_client

END = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = Window(END - timedelta(days=1), END)


def ledger(i: int, **patch: Any) -> tuple[str, dict[str, Any]]:
    t = Decimal(int(END.timestamp()) - 100 - i) + Decimal("0.1234")
    return f"L{i:05d}", {"refid": f"R{i}", "time": t, "type": "deposit", "subtype": "", "aclass": "currency",
                         "asset": "ZUSD", "amount": "1.0000", "fee": "0.0000", "balance": f"{i}.0000", **patch}


class PagedLedgers:
    """Serves `rows` newest first, 50 per page, honouring ofs; hooks can change the world mid-walk."""

    def __init__(self, rows: list[tuple[str, dict[str, Any]]], page: int = 50) -> None:
        self.rows = rows
        self.page = page
        self.calls: list[dict[str, str]] = []
        self.before_page: Any = None

    def __call__(self, path: str, params: dict[str, str]) -> httpx.Response:
        self.calls.append(params)
        if self.before_page:
            self.before_page(self, params)
        ofs = int(params.get("ofs", 0))
        chunk = dict(self.rows[ofs: ofs + self.page])
        return envelope({"ledger": chunk, "count": len(self.rows)})


def test_pages_walk_ofs_inside_a_fixed_end(clock: FakeClock) -> None:
    server = PagedLedgers([ledger(i) for i in range(120)])
    with make_client(ScriptedKraken(server), clock) as client:
        raw, pages = fetch_window(LEDGERS, WINDOW, client)
    assert len(raw) == 120 and pages == 3
    assert [c["ofs"] for c in server.calls] == ["0", "50", "100"]
    assert {c["end"] for c in server.calls} == {str(int(END.timestamp()))}
    assert {c["start"] for c in server.calls} == {str(int(WINDOW.start.timestamp()) - 1)}  # type: ignore[union-attr]


def test_count_change_is_drift(clock: FakeClock) -> None:
    server = PagedLedgers([ledger(i) for i in range(120)])

    def grow(s: PagedLedgers, params: dict[str, str]) -> None:
        if params["ofs"] == "50":
            s.rows.insert(0, ledger(999))

    server.before_page = grow
    with make_client(ScriptedKraken(server), clock) as client, pytest.raises(e.PaginationDrift):
        fetch_window(LEDGERS, WINDOW, client)


def test_early_empty_page_is_drift(clock: FakeClock) -> None:
    server = PagedLedgers([ledger(i) for i in range(120)])

    def empty(s: PagedLedgers, params: dict[str, str]) -> None:
        if params["ofs"] == "50":
            s.page = 0

    server.before_page = empty
    with make_client(ScriptedKraken(server), clock) as client, pytest.raises(e.PaginationDrift):
        fetch_window(LEDGERS, WINDOW, client)


def test_duplicates_across_pages_without_count_change_are_drift(clock: FakeClock) -> None:
    rows = [ledger(i) for i in range(100)]
    rows[60] = rows[10]  # the same id on two pages: one id would be missing
    with make_client(ScriptedKraken(PagedLedgers(rows)), clock) as client, pytest.raises(e.PaginationDrift):
        fetch_window(LEDGERS, WINDOW, client)


def test_drifted_window_is_retried_whole_and_loads_once(clock: FakeClock, db_url: str) -> None:
    from kraken_etl.db.engine import make_engine

    engine = make_engine(db_url)
    server = PagedLedgers([ledger(i) for i in range(120)])
    drifts = {"left": 1}

    def grow(s: PagedLedgers, params: dict[str, str]) -> None:
        if params["ofs"] == "50" and drifts["left"]:
            drifts["left"] -= 1
            s.rows.insert(0, ledger(999))

    server.before_page = grow
    with make_client(ScriptedKraken(server), clock) as client:
        result = run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main")
    assert result.attempts == 2 and result.fetched == 121 and result.inserted == 121
    assert [c["ofs"] for c in server.calls] == ["0", "50", "0", "50", "100"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one() == 121
        assert get_bookmark(conn, "main", "ledgers") == END
    engine.dispose()


def test_persistent_drift_fails_without_moving_the_bookmark(clock: FakeClock, engine: Engine) -> None:
    server = PagedLedgers([ledger(i) for i in range(120)])
    counter = {"n": 1000}

    def grow(s: PagedLedgers, params: dict[str, str]) -> None:
        if params["ofs"] == "50":
            counter["n"] += 1
            s.rows.insert(0, ledger(counter["n"]))

    server.before_page = grow
    with make_client(ScriptedKraken(server), clock) as client, pytest.raises(e.PaginationDrift):
        run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main", max_window_attempts=3)
    with engine.connect() as conn:
        assert get_bookmark(conn, "main", "ledgers") is None
        assert conn.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one() == 0
        assert conn.execute(select(SyncRunRow.status)).scalar_one() == "failed"


def test_bad_records_are_quarantined_and_the_rest_load(clock: FakeClock, engine: Engine) -> None:
    rows = [ledger(i) for i in range(10)]
    rows[3] = ledger(3, amount="not-a-number")
    rows[4] = ledger(4, time=Decimal(int(END.timestamp()) + 3600))  # outside the requested window
    rows[5] = ledger(5, type="brand-new-type", asset="NEWCOIN")  # loads, flagged
    with make_client(ScriptedKraken(PagedLedgers(rows)), clock) as client:
        result = run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main")
        again = run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main")
    assert (result.inserted, result.quarantined) == (8, 2)
    assert (again.inserted, again.updated, again.quarantined) == (0, 0, 2)
    with engine.connect() as conn:
        reasons = dict(conn.execute(select(QuarantineRow.record_id, QuarantineRow.reason)).all())
        flags = conn.execute(select(LedgerEntryRow.flags).where(LedgerEntryRow.ledger_id == "L00005")).scalar_one()
    assert set(reasons) == {"L00003", "L00004"}  # stored once despite two runs
    assert "amount" in reasons["L00003"] and "outside the requested window" in reasons["L00004"]
    assert flags == ["unknown_type", "unknown_asset"]


def test_malformed_answer_fails_the_window(clock: FakeClock, engine: Engine) -> None:
    fake = ScriptedKraken(lambda path, params: envelope({"ledger": {}}))  # no count
    with make_client(fake, clock) as client, pytest.raises(e.MalformedResponse):
        run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main")
