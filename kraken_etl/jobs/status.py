"""What `kraken-etl status` shows, read in one place: `read_status(settings)` returns one `Status`.

Bookmarks and the last runs cover every account in the database; where the next sync starts is listed for
the configured accounts only (the accounts a `sync` would run: the TOML file's when KRAKEN_ETL_CONFIG is
set, else the one of KRAKEN_ACCOUNT), since another label's start says nothing about the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kraken_etl.core.windows import StartPoint
from kraken_etl.db.locks import held_locks
from kraken_etl.db.recon_store import last_runs as last_reconciliations
from kraken_etl.db.summary import bookmarks, last_runs, open_quarantine, row_counts
from kraken_etl.db.wscheck import listener_health_lines
from kraken_etl.jobs.sync import start_points
from kraken_etl.jobs.wiring import database
from kraken_etl.settings import Settings


@dataclass(frozen=True, slots=True)
class Status:
    """The database at a glance (see the module docstring)."""

    bookmarks: list[tuple[str, str, object, object]]  # account, stream, bookmark, updated
    starts: list[tuple[str, str, StartPoint]]  # account, stream, where its next sync starts
    runs: list[dict[str, Any]]  # the latest sync runs, newest first
    row_counts: dict[str, int]
    open_quarantine: int
    reconciliations: list[dict[str, Any]]  # the latest per account
    listener_lines: list[str]
    held_locks: list[str]


def read_status(settings: Settings) -> Status:
    """Read the status of the effective database (migrated first).

    Raises:
        SettingsError, DatabaseUnreachable: see `jobs.wiring.database`.
    """
    labels = [a.label for a in settings.select_accounts(None)]
    with database(settings, upgrade=True) as engine:
        return Status(bookmarks(engine), start_points(engine, labels), last_runs(engine), row_counts(engine),
                      open_quarantine(engine), last_reconciliations(engine), listener_health_lines(engine),
                      held_locks(engine))
