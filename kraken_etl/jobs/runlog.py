"""The run log of every job: time it, count its calls and waits, write its `sync_run` row.

`RunTimer.start` takes the clock reading and the client's counters at the start; `finish` fills a
`JobResult` with calls, waits, start/finish times and duration. A failed run is logged by `log_failure` in
its own transaction (best effort: the database may be what failed), and the original error propagates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kraken_etl.core.clock import Clock
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.parsing import MalformedRecord
from kraken_etl.core.results import JobResult
from kraken_etl.core.timeutil import from_unix
from kraken_etl.db.runs import Engine, insert_run, update_run
from kraken_etl.kraken.client import ClientStats, KrakenClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunTimer:
    clock: Clock
    started: float
    client: KrakenClient | None = None
    before: ClientStats | None = None

    @classmethod
    def start(cls, clock: Clock, client: KrakenClient | None = None) -> RunTimer:
        return cls(clock, clock.now(), client, client.stats.copy() if client is not None else None)

    def finish(self, result: JobResult) -> JobResult:
        """Stamp `result` with what this run spent so far (it may be stamped again later)."""
        finished = self.clock.now()
        if self.client is not None and self.before is not None:
            result.calls = self.client.stats.calls - self.before.calls
            result.wait_seconds = self.client.stats.wait_seconds - self.before.wait_seconds
        result.started_at = _stamp(self.started)
        result.finished_at = _stamp(finished)
        result.duration_seconds = round(finished - self.started, 3)
        return result


def _stamp(seconds: float) -> datetime:
    return from_unix(Decimal(f"{seconds:.3f}"))


def log_failure(engine: Engine, timer: RunTimer, result: JobResult, exc: BaseException) -> None:
    """Log `result` as failed with `exc`'s one-line message, in its own transaction.

    A run whose row is already committed (`run_id` set: order amends commit chunk by chunk) keeps its counts
    and gets its row marked failed; otherwise nothing of it was committed and a failed row is inserted.
    """
    result.status = "failed"
    message = str(exc) if isinstance(exc, KrakenEtlError | MalformedRecord) else type(exc).__name__
    result.error = message[:500]
    if result.run_id is None:
        result.inserted = result.updated = result.loaded = 0
    timer.finish(result)
    try:
        with engine.begin() as conn:
            if result.run_id is None:
                result.run_id = insert_run(conn, result)
            else:
                update_run(conn, result.run_id, result)
    except Exception:  # never mask the original failure
        log.warning("could not log the failed %s run of %s", result.stream, result.account)
