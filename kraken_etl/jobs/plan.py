"""Backfill planning from the data: a few count calls, never one export per calendar chunk.

For each stream of the request the planner asks Kraken's history endpoint twice at most to learn how many
rows the range holds and where its history begins: the first page (`ofs=0`, newest first) gives `count`;
the page at `ofs=count-1` holds the oldest row. A range holding more rows than one export (or one REST
window) should carry is split by ROW COUNT: the row at `ofs = count - k·limit` (one call per split point)
names the moment where the k-th part begins. A size limit carries a tolerance of a tenth
(`SPLIT_SLACK_DIVISOR`): a range is split only when it holds more than ``limit + limit // 10`` rows, so an
account a few rows over the limit (1,000,003 ledger rows against 1,000,000) is still one export instead of a
full one plus a three-row one (a whole export cycle, minutes on the real Kraken, for three rows). An empty
range is never requested. `--chunk-days` keeps the
calendar chunks for those who want them, and each chunk is still counted so an empty one is skipped.

Calls: 2 per stream (count + oldest page), plus one per split point; Ledgers/TradesHistory cost 2 on the
call counter each. Compare: the calendar plan of a 2-year history in 90-day chunks asked for 9 exports per
report, most of them empty.

`via` per range: ``export`` or ``rest`` as asked; ``auto`` picks export for a range of at least
`export_threshold` rows. Streams without an export report (closed orders) go by REST; order amends follow
the closed orders (one call per amended order), so they are planned as one step after them.

The plan is a pure value (`BackfillPlan`), stored with the account before anything is requested
(`db.plans`), so a rerun after a crash resumes the same ranges (and finds their export jobs) even when new
activity has shifted the offsets since.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from kraken_etl.core.parsing import MalformedRecord
from kraken_etl.core.timeutil import as_utc, from_unix
from kraken_etl.core.windows import Window, plan_backfill, to_kraken_params
from kraken_etl.jobs.pages import answer_page
from kraken_etl.jobs.streams import PAGE_SIZE, StreamSpec
from kraken_etl.kraken.client import KrakenClient

Via = Literal["auto", "rest", "export"]
# Export cycle calls for one export: AddExport, ExportStatus polls (about 3 with the default backoff when an
# export takes a minute or two), RetrieveExport, RemoveExport.
EXPORT_CALLS = 6


@dataclass(frozen=True, slots=True)
class PlannedRange:
    """One step of a backfill: a stream's half-open range, how it goes, and what it should hold."""

    stream: str
    start: datetime | None  # None: the order amends step (not windowed)
    end: datetime
    rows: int | None  # Kraken's count for the range (None: not known before, e.g. order amends)
    via: Literal["export", "rest"]

    @property
    def calls(self) -> int | None:
        """Estimated calls: pages for REST, the export cycle's calls for an export."""
        if self.rows is None:
            return None
        return EXPORT_CALLS if self.via == "export" else max(1, math.ceil(self.rows / PAGE_SIZE))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["start"] = self.start.isoformat() if self.start else None
        out["end"] = self.end.isoformat()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedRange:
        start = data.get("start")
        return cls(str(data["stream"]), as_utc(start) if start else None, as_utc(str(data["end"])),
                   None if data.get("rows") is None else int(data["rows"]), data["via"])


@dataclass(frozen=True, slots=True)
class BackfillPlan:
    ranges: tuple[PlannedRange, ...]
    count_calls: int  # calls the planning itself made
    stored_id: int | None = None  # the plan's row (None for a dry run)
    resumed: bool = False  # a stored plan of an interrupted run, taken as it was

    @property
    def estimated_calls(self) -> int:
        return sum(r.calls or 0 for r in self.ranges)

    def exports(self, stream: str | None = None) -> list[PlannedRange]:
        return [r for r in self.ranges if r.via == "export" and (stream is None or r.stream == stream)]

    def lines(self) -> list[str]:
        """The plan as a person reads it (printed before anything is requested)."""
        out = []
        for r in self.ranges:
            span = (f"{r.start:%Y-%m-%d %H:%M}..{r.end:%Y-%m-%d %H:%M}" if r.start
                    else "after closed orders: one call per amended order")
            rows = "?" if r.rows is None else f"{r.rows:,}"
            calls = "?" if r.calls is None else f"~{r.calls:,}"
            out.append(f"{r.stream:<13} {span:<36} {rows:>10} rows  via {r.via:<6} {calls} calls")
        head = "resumed stored plan" if self.resumed else f"planned with {self.count_calls} count calls"
        out.append(f"{len(self.ranges)} steps, {len(self.exports())} exports, ~{self.estimated_calls:,} calls "
                   f"({head})")
        return out


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """How big one step may be (defaults: a typical account is one ledgers and one trades export)."""

    max_export_rows: int = 1_000_000  # per export, up to a tenth more before a range is split
    max_rest_rows: int = 50_000  # a REST window is held in memory whole before it is written
    export_threshold: int = 5_000  # auto: a range with at least this many rows goes by export
    chunk: timedelta | None = None  # calendar chunks instead of data-driven ranges


SPLIT_SLACK_DIVISOR = 10  # a limit may be exceeded by up to limit // 10 rows before a range is split


def over_limit(count: int, limit: int) -> bool:
    """Whether `count` rows need more than one step of `limit` rows (the tolerance included)."""
    return count > limit + limit // SPLIT_SLACK_DIVISOR


class _Prober:
    """Count calls against one history endpoint, counted for the plan's summary."""

    def __init__(self, client: KrakenClient, spec: StreamSpec) -> None:
        self.client, self.spec, self.calls = client, spec, 0

    def page(self, window: Window, ofs: int) -> tuple[int, list[Decimal]]:
        """Kraken's `count` for the window, and the cursor times of the page at `ofs`."""
        spec = self.spec
        result = self.client.private(spec.call, {**spec.params, **to_kraken_params(window), "ofs": ofs})
        self.calls += 1
        page, count = answer_page(spec, result)  # the same answer checks as a window's pages
        times = []
        for key, value in page.items():
            try:
                moment = getattr(spec.parse(key, value), spec.rules.cursor)
            except MalformedRecord:
                continue  # a broken record is the load's business (quarantine), not the plan's
            if moment is not None:
                times.append(moment)
        return count, times


def _moment(seconds: Decimal, *, up: bool) -> datetime:
    whole = math.ceil(seconds) if up else math.floor(seconds)
    return from_unix(Decimal(whole))


def _cuts(prober: _Prober, window: Window, count: int, limit: int) -> list[datetime]:
    """Where each part of about `limit` rows begins, counted from the oldest row (one call per cut).

    Pages are newest first, so the oldest k·limit rows sit at offsets ``count - k·limit`` and beyond; the
    newest of them is the first row of the page at that offset, and the next part begins just after it.
    """
    cuts = []
    for k in range(1, math.ceil(count / limit)):
        _, times = prober.page(window, count - k * limit)
        if times:
            cuts.append(_moment(max(times), up=True))
    return cuts


def _ranges_for(prober: _Prober, window: Window, limits: PlanLimits, via: Via) -> list[PlannedRange]:
    """The data-driven ranges of one window of one stream (oldest first; empty when the window is)."""
    spec = prober.spec
    assert window.start is not None
    count, newest = prober.page(window, 0)
    if count == 0:
        return []
    oldest = newest if count <= len(newest) else prober.page(window, count - 1)[1]
    begin = max(window.start, _moment(min(oldest or newest), up=False))
    if begin >= window.end:  # the only rows sit on the window's last second
        begin = window.start
    chosen: Literal["export", "rest"]
    if spec.export_report is None or via == "rest":
        chosen = "rest"
    elif via == "export":
        chosen = "export"
    else:
        chosen = "export" if count >= limits.export_threshold else "rest"
    limit = limits.max_export_rows if chosen == "export" else limits.max_rest_rows
    cuts = _cuts(prober, window, count, limit) if over_limit(count, limit) else []
    lowers = sorted({begin, *[c for c in cuts if begin < c < window.end]})
    uppers = [*lowers[1:], window.end]
    # the count is known for the window; each newer part holds about `limit` rows, the oldest the rest
    sizes = [min(limit, count)] * len(lowers)
    sizes[0] = max(0, count - limit * (len(lowers) - 1))
    return [PlannedRange(spec.name, lo, hi, n, chosen) for lo, hi, n in zip(lowers, uppers, sizes, strict=True)]


def plan_backfill_ranges(
    client: KrakenClient,
    specs: Sequence[StreamSpec],
    start: datetime,
    end: datetime,
    via: Via,
    limits: PlanLimits = PlanLimits(),
) -> BackfillPlan:
    """Plan a backfill of `specs` over ``[start, end)`` from Kraken's counts (see the module docstring).

    Raises:
        KrakenError: from the count calls.
    """
    start, end = as_utc(start), as_utc(end)
    windows = plan_backfill(start, end, limits.chunk) if limits.chunk else [Window(start, end)]
    ranges: list[PlannedRange] = []
    calls = 0
    for spec in specs:
        if spec.paging == "per_order":
            ranges.append(PlannedRange(spec.name, None, end, None, "rest"))
            continue
        prober = _Prober(client, spec)
        for window in windows:
            ranges += _ranges_for(prober, window, limits, via)
        calls += prober.calls
    return BackfillPlan(tuple(ranges), calls)
