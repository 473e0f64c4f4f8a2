"""Filling a gap: the missed interval read again from REST (ledgers, then trades) through `run_window`,
the same loader as the nightly sync (parse, validate, quarantine, idempotent upsert, `sync_run` log), as a
stateless window (no bookmark moves). Each gap row is pending before its fill and filled (or failed)
after, with the counts and the two `sync_run` ids.

Gaps whose windows overlap or touch are merged into one REST window (a burst of sequence gaps costs one
pair of REST reads, not one per gap).
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from datetime import timedelta

from kraken_etl.core.clock import Clock
from kraken_etl.core.results import RunKind
from kraken_etl.core.windows import Window
from kraken_etl.db.recon_wallets import assign_listener_wallets
from kraken_etl.db.runs import Engine
from kraken_etl.db.ws import GapRow, finish_gap, open_gaps
from kraken_etl.jobs.streams import LEDGERS, TRADES
from kraken_etl.jobs.window import run_window
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import KrakenError
from kraken_etl.listen.batch import as_datetime

log = logging.getLogger(__name__)
FILL_KIND: RunKind = "listener_gap"


@dataclass(frozen=True, slots=True)
class FillResult:
    """What filling a group of gaps did."""

    gap_ids: tuple[int, ...]
    window: Window
    fetched: int
    inserted: int
    ok: bool
    error: str | None = None


def merge(gaps: list[GapRow], margin: timedelta) -> list[tuple[Window, list[GapRow]]]:
    """Group gaps into REST windows: each gap widened by `margin`, overlapping ones merged."""
    groups: list[tuple[Window, list[GapRow]]] = []
    for gap in sorted(gaps, key=lambda g: g.gap_start):
        start, end = gap.gap_start - margin, gap.gap_end + margin
        if groups and start <= groups[-1][0].end:
            window, members = groups[-1]
            groups[-1] = (Window(window.start, max(window.end, end)), [*members, gap])
        else:
            groups.append((Window(start, end), [gap]))
    return groups


def fill(gaps: list[GapRow], *, client: KrakenClient, engine: Engine, account: str, clock: Clock,
         margin: float) -> list[FillResult]:
    """Fill `gaps` from REST; a failed window marks its gaps `failed` (retried at the next fill/start).

    Raises:
        FatalKrakenError: when the key cannot read ledgers or trades (the listener cannot repair gaps).
    """
    results = []
    for window, members in merge(gaps, timedelta(seconds=margin)):
        ids = tuple(g.id for g in members)
        try:
            ledgers = run_window(LEDGERS, window, client=client, engine=engine, account=account,
                                 kind=FILL_KIND, write_bookmark=False)
            trades = run_window(TRADES, window, client=client, engine=engine, account=account,
                                kind=FILL_KIND, write_bookmark=False)
        except KrakenError as exc:
            if not exc.retryable:
                _finish(engine, ids, clock, "failed", error=str(exc))
                raise
            log.warning("%s: gap fill %s..%s failed: %s", account, window.start, window.end, exc)
            _finish(engine, ids, clock, "failed", error=str(exc))
            results.append(FillResult(ids, window, 0, 0, False, str(exc)))
            continue
        fetched = ledgers.fetched + trades.fetched
        inserted = ledgers.inserted + trades.inserted
        with engine.begin() as conn:
            at = as_datetime(clock.now())
            for gap_id in ids:
                finish_gap(conn, gap_id, status="filled", at=at, fetched=fetched, inserted=inserted,
                           ledgers_run_id=ledgers.run_id, trades_run_id=trades.run_id)
            assign_listener_wallets(conn, account)
        results.append(FillResult(ids, window, fetched, inserted, True))
    return results


def warm_up() -> None:
    """Load what a fill needs on first use (pandas and pandera, for `run_window`'s validation: about a
    second of CPU holding the GIL) now, before the listener subscribes: loaded lazily by the first fill,
    it stalls reading while messages arrive and shows as seconds of latency."""
    import pandera.pandas  # noqa: F401 - loaded for its side effect, at a moment we choose


def _finish(engine: Engine, ids: tuple[int, ...], clock: Clock, status: str, error: str) -> None:
    try:
        with engine.begin() as conn:
            for gap_id in ids:
                finish_gap(conn, gap_id, status=status, at=as_datetime(clock.now()), error=error)
    except Exception:  # the database may be what failed; the gap stays pending and a restart retries it
        log.warning("could not record the failed fill of gaps %s", ids)


class GapFiller:
    """Fills gaps on a background thread, so a REST fill (seconds, rate-limited) never stalls the
    WebSocket reading and committing. Gap ids are queued; each round fills every queued gap still open
    (merged into as few REST windows as possible). A fatal error is kept for the listener to raise and
    sets `stop`."""

    def __init__(self, *, client: KrakenClient, engine: Engine, account: str, clock: Clock, margin: float,
                 stop: threading.Event) -> None:
        self.client, self.engine, self.account, self.clock, self.margin = client, engine, account, clock, margin
        self.stop = stop
        self.filled = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue[list[int] | None] = queue.Queue()
        self._abandon = False
        self._thread = threading.Thread(target=self._run, name=f"gapfill-{account}", daemon=True)
        self._thread.start()

    def submit(self, gap_ids: list[int]) -> None:
        """Queue gaps for filling."""
        if gap_ids:
            self._queue.put(list(gap_ids))

    def close(self, timeout: float = 300.0) -> None:
        """Stop after the fill in progress; queued gaps stay `pending` (a restart fills them), so a stop
        during a REST outage does not wait for fills that cannot succeed."""
        self._abandon = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            wanted: set[int] = set()
            done = item is None
            if item is not None:
                wanted.update(item)
            while not self._queue.empty():  # take everything queued meanwhile: one merged round
                more = self._queue.get()
                if more is None:
                    done = True
                else:
                    wanted.update(more)
            if wanted and self.error is None and not self._abandon:
                self._fill(wanted)
            if done:
                return

    def _fill(self, wanted: set[int]) -> None:
        try:
            with self.engine.connect() as conn:
                gaps = [g for g in open_gaps(conn, self.account) if g.id in wanted]
            results = fill(gaps, client=self.client, engine=self.engine, account=self.account, clock=self.clock,
                           margin=self.margin)
            self.filled += sum(len(r.gap_ids) for r in results if r.ok)
        except BaseException as exc:  # fatal: the listener raises it after stopping
            log.error("%s: gap fill failed: %s", self.account, exc)
            self.error = exc
            self.stop.set()
