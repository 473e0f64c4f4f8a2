"""Refresh the reporting schema's materialised parts: on demand, and after a load that needs it.

The reporting views read the live ledger after `refresh_state.covered_before` and materialised daily sums
before it. A load of recent rows shows at once; a load of older rows (an import of last year's export, a
backfill, a first sync after a refresh) lands in days already summed and would not show until the next
refresh. So every load refreshes when it wrote such rows (`refresh_after_load`), and only then: a routine
sync of new activity costs nothing extra.

A refresh rebuilds the materialised parts for every account, so a fan-out over N accounts refreshes once,
in its parent after all of them (`refresh_once_for_fleet`), not N times: each account's run refreshes only
when its own load made it due (`jobs.nightly`, `refresh="when_stale"`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kraken_etl.db.reporting import Engine, refresh_reporting, stale_rows
from kraken_etl.jobs.wiring import database
from kraken_etl.settings import Settings


@dataclass(frozen=True, slots=True)
class Refreshed:
    """One refresh: how many loaded rows made it due (None: asked for), and how long it took."""

    stale_rows: int | None
    seconds: float

    def line(self) -> str:
        """What to tell the user."""
        why = "" if self.stale_rows is None else (
            f" ({self.stale_rows:,} loaded row(s) fell in days it had already summed)")
        return f"reporting refreshed in {self.seconds:.1f} s{why}"


def refresh(engine: Engine, currencies: Mapping[str, str] | None = None,
            default_currency: str | None = None) -> Refreshed:
    """Refresh now (`kraken-etl refresh`), writing the accounts' reporting currencies first when given."""
    started = time.monotonic()
    refresh_reporting(engine, currencies, default_currency)
    return Refreshed(None, time.monotonic() - started)


def refresh_after_load(engine: Engine, accounts: Sequence[str]) -> Refreshed | None:
    """Refresh when `accounts` have rows written since the last refresh into days it summed; else None.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    stale = stale_rows(engine, accounts)
    if not stale:
        return None
    started = time.monotonic()
    refresh_reporting(engine)
    return Refreshed(stale, time.monotonic() - started)



def refresh_once_for_fleet(settings: Settings) -> Refreshed:
    """The fan-out's one refresh after all its accounts ran (the configured reporting currencies first).

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    with database(settings) as engine:
        return refresh(engine, settings.currency_by_account(), settings.reporting_currency)
