"""The four ways data arrives, against the in-process simulator (FakeClock shared with the client).

REST sync only; export backfill only; export backfill then REST sync (after new activity); file import
of a downloaded export. Each loads one account into the given database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from kraken_etl.jobs.backfill import BackfillRequest, backfill
from kraken_etl.jobs.exportcycle import ExportPolicy
from kraken_etl.jobs.fileload import import_files
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.kraken import exports as kx
from tests.pipeline.conftest import InProcessSim

START = datetime(2024, 6, 1, tzinfo=UTC)
END = datetime(2026, 11, 3, tzinfo=UTC)
FAST = ExportPolicy(poll_initial=2.0, poll_max=30.0, timeout=600.0)
MODES = ("rest", "export", "export_then_rest", "import")


def arrive(mode: str, sim: InProcessSim, engine: Engine, account: str, home: Path, start: datetime = START) -> None:
    """Load `account` from `sim` the way `mode` says (the export modes from `start`: before the history's first
    row)."""
    client = sim.client()
    if mode == "rest":
        sync_account(SYNC_ORDER, client=client, engine=engine, account=account)
    elif mode in ("export", "export_then_rest"):
        request = BackfillRequest(account, start, END, ("ledgers", "trades"), "export", chunk=None)
        results = backfill(request, engine=engine, client=client, clock=sim.clock, home=home, policy=FAST)
        assert all(r.error is None for r in results), results
        if mode == "export_then_rest":
            sim.clock.advance(120)
            sim.advance(60)
            sim.clock.advance(5)
            sync_account(SYNC_ORDER, client=client, engine=engine, account=account)
    elif mode == "import":
        import_export(sim, engine, account, home, start, END)
    else:
        raise ValueError(mode)


def download(sim: InProcessSim, home: Path, start: datetime, end: datetime, name: str = "manual") -> Path:
    """A ledgers export of [start, end] downloaded the way a person would (then removed on Kraken)."""
    client = sim.client()
    export_id = kx.add_export(client, report="ledgers", description=name, starttm=int(start.timestamp()),
                              endtm=int(end.timestamp()))
    sim.clock.sleep(60)
    home.mkdir(parents=True, exist_ok=True)
    got = kx.retrieve_export(client, export_id, home / f"{name}.zip")
    kx.remove_export(client, export_id, "delete")
    return got.path


def import_export(sim: InProcessSim, engine: Engine, account: str, home: Path, start: datetime,
                  end: datetime) -> None:
    """Download a ledgers export and import the file."""
    (result,) = import_files(engine, [download(sim, home, start, end)], account=account)
    assert result.error is None, result.error
