"""run_window past its row bound: committed sub-windows, oldest first, cut on whole seconds (ties kept whole),
drift retried per sub-window, and a crash losing only the sub-window in flight."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from kraken_etl.core.timeutil import to_unix
from kraken_etl.core.windows import Window
from kraken_etl.db.state import get_bookmark
from kraken_etl.jobs.events import Event
from kraken_etl.jobs.streams import LEDGERS
from kraken_etl.jobs.window import run_window
from kraken_etl.kraken import errors as e
from models import LedgerEntryRow, SyncRunRow
from tests.kraken.conftest import FakeClock, ScriptedKraken, envelope, make_client

END = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = Window(END - timedelta(days=1), END)
TIE = 30  # rows sharing one timestamp
BASE = int(END.timestamp()) - 40_000


def ledger(i: int) -> tuple[str, dict[str, Any]]:
    second = BASE + (i // TIE) * 600  # groups ten minutes apart: the 15-minute lag re-reads about two
    # every other group sits exactly on a whole second (the hardest case for an inclusive `end`)
    t = Decimal(second) if (i // TIE) % 2 else Decimal(second) + Decimal("0.5")
    return f"L{i:05d}", {"refid": f"R{i}", "time": t, "type": "deposit", "subtype": "", "aclass": "currency",
                         "asset": "ZUSD", "amount": "1.0000", "fee": "0.0000", "balance": f"{i}.0000"}


class Ledgers:
    """Kraken's paging over `rows`: (start, end] in whole seconds, newest first, 50 per page, `count`."""

    def __init__(self, rows: list[tuple[str, dict[str, Any]]]) -> None:
        self.rows = rows
        self.calls: list[dict[str, str]] = []
        self.before: Any = None

    def __call__(self, path: str, params: dict[str, str]) -> httpx.Response:
        self.calls.append(params)
        if self.before:
            reply = self.before(self, params)
            if reply is not None:
                return reply  # type: ignore[no-any-return]
        low = int(params["start"]) if "start" in params else None
        high = int(params["end"])
        chosen = [r for r in self.rows if (low is None or r[1]["time"] > low) and r[1]["time"] <= high]
        chosen.sort(key=lambda r: (r[1]["time"], r[0]), reverse=True)
        ofs = int(params.get("ofs", 0))
        return envelope({"ledger": dict(chosen[ofs: ofs + 50]), "count": len(chosen)})


def stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one())


def parts(engine: Engine) -> list[tuple[datetime | None, datetime | None, int, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(  # type: ignore[misc]
            SyncRunRow.window_start, SyncRunRow.window_end, SyncRunRow.fetched, SyncRunRow.status
        ).order_by(SyncRunRow.id))]


def test_a_window_past_the_bound_is_walked_oldest_first_in_committed_sub_windows(
    clock: FakeClock, engine: Engine
) -> None:
    rows = [ledger(i) for i in range(1_000)]
    server = Ledgers(rows)
    events: list[Event] = []
    with make_client(ScriptedKraken(server), clock) as client:
        result = run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main", max_rows=100,
                            progress=events.append)
    assert stored(engine) == 1_000  # nothing lost at a boundary, nothing doubled (natural keys)
    logged = parts(engine)
    assert len(logged) == result.details["sub_windows"] >= 10
    assert all(status == "ok" for *_, status in logged)
    ends = [end for _, end, _, _ in logged]
    assert ends == sorted(ends) and ends[-1] == END  # oldest first, the last one ends at the window's end
    assert all(fetched <= 100 + TIE for _, _, fetched, _ in logged)  # the bound, plus at most one second's rows
    assert [start for start, *_ in logged[1:]] == ends[:-1]  # consecutive: each starts where the last ended
    with engine.connect() as conn:
        assert get_bookmark(conn, "main", "ledgers") == END
    minimum = math.ceil(1_000 / 50)
    assert len(server.calls) == result.calls <= minimum + 2 * len(logged) + 1
    assert sum(r[2] for r in logged) == result.fetched >= 1_000
    commits = [ev for ev in events if ev.kind == "commit"]
    assert len(commits) == len(logged) and commits[-1].done == commits[-1].total == 1_000
    assert "left at the starter tier's pace" in commits[0].message


def test_cuts_fall_on_whole_seconds_and_lose_no_tie(clock: FakeClock, engine: Engine) -> None:
    server = Ledgers([ledger(i) for i in range(600)])  # groups of 30 equal times; a bound of 45 cuts inside them
    with make_client(ScriptedKraken(server), clock) as client:
        run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main", max_rows=45)
    logged = parts(engine)
    assert len(logged) >= 10
    for _, end, _, _ in logged[:-1]:
        assert end is not None and to_unix(end) == int(to_unix(end))  # whole seconds only
    assert stored(engine) == 600


def test_drift_retries_only_the_sub_window_it_hit(clock: FakeClock, engine: Engine) -> None:
    server = Ledgers([ledger(i) for i in range(300)])
    drifted: list[int] = []

    def grow(s: Ledgers, params: dict[str, str]) -> None:
        # a later page of a sub-window past the first: a row appears inside that sub-window (count changes)
        if not drifted and len(s.calls) > 8 and params["ofs"] == "50" and "start" in params:
            drifted.append(len(s.calls))
            late = ledger(0)[1] | {"refid": "late", "time": Decimal(params["end"])}
            s.rows.append(("X00999", late))

    server.before = grow
    with make_client(ScriptedKraken(server), clock) as client:
        result = run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main", max_rows=120)
    assert drifted
    assert result.attempts == result.details["sub_windows"] + 1  # one sub-window fetched twice, the others once
    assert stored(engine) == 301
    assert all(status == "ok" for *_, status in parts(engine))


def test_a_crash_mid_walk_keeps_the_committed_sub_windows_and_the_rerun_resumes_there(
    clock: FakeClock, engine: Engine
) -> None:
    rows = [ledger(i) for i in range(1_000)]
    full = Ledgers(rows)
    with make_client(ScriptedKraken(full), clock) as client:
        run_window(LEDGERS, WINDOW, client=client, engine=engine, account="other", max_rows=100)
    from_zero = len(full.calls)

    server = Ledgers(rows)

    def fail(s: Ledgers, params: dict[str, str]) -> httpx.Response | None:
        return envelope(errors=["EGeneral:Permission denied"]) if len(s.calls) == 12 else None

    server.before = fail
    with make_client(ScriptedKraken(server), clock) as client, pytest.raises(e.PermissionDenied):
        run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main", max_rows=100)
    with engine.connect() as conn:
        mark = get_bookmark(conn, "main", "ledgers")
        have = {r[0] for r in conn.execute(select(LedgerEntryRow.ledger_id).where(LedgerEntryRow.account == "main"))}
    assert mark is not None and WINDOW.start < mark < END
    due = {rid for rid, rec in rows if rec["time"] <= to_unix(mark)}
    assert due and due <= have  # the bookmark never outruns the data
    assert have - due == set()  # and nothing past it was committed (the sub-window in flight rolled back)

    server.before = None
    server.calls.clear()
    with make_client(ScriptedKraken(server), clock) as client:
        run_window(LEDGERS, Window(mark - LEDGERS.lag, END), client=client, engine=engine, account="main",
                   max_rows=100)
    assert int(server.calls[0]["start"]) == math.ceil(to_unix(mark - LEDGERS.lag)) - 1  # resumed at the bookmark
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(LedgerEntryRow)
                             .where(LedgerEntryRow.account == "main")).scalar_one()
    assert count == 1_000
    assert len(server.calls) < from_zero


def test_a_window_within_the_bound_is_one_frozen_window(clock: FakeClock, engine: Engine) -> None:
    server = Ledgers([ledger(i) for i in range(120)])
    with make_client(ScriptedKraken(server), clock) as client:
        result = run_window(LEDGERS, WINDOW, client=client, engine=engine, account="main", max_rows=120)
    assert [c["ofs"] for c in server.calls] == ["0", "50", "100"]  # the count page is the walk's first page
    assert len(parts(engine)) == 1 and result.pages == 3 and "sub_windows" not in result.details
