"""`JobResult`: what one run of a job did, the one result type of the composition layer.

A REST window, an order-amends pass, a balance snapshot, a file import and an export load all answer with
a `JobResult`; the `sync_run` log row is written from it (`kraken_etl.db.runs`), the CLI prints it, and a
Prefect task returns `as_dict()`. Counts are plain integers; durations and waits are seconds (not money).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

RunKind = Literal["incremental", "backfill", "snapshot", "export", "import", "listener_gap"]
Via = Literal["rest", "export", "import"]


@dataclass(slots=True)
class JobResult:
    """One run of one stream (or file) for one account.

    `fetched` counts what was read (records fetched from REST, data rows read from a file); `loaded` what
    went through the loader (new, changed or unchanged); `inserted`/`updated` what changed in the table;
    `quarantined` what was rejected with a reason.
    """

    account: str
    stream: str
    kind: RunKind
    via: Via = "rest"
    window_start: datetime | None = None
    window_end: datetime | None = None
    name: str = ""  # a file's name, or a label for the run
    status: Literal["ok", "failed"] = "ok"
    fetched: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    quarantined: int = 0
    pending: int = 0  # export "pending" rows (no txid, no balance): kept for audit, not entries
    calls: int = 0
    wait_seconds: float = 0.0  # seconds, not money
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_seconds: float = 0.0
    pages: int = 0
    attempts: int = 1
    run_id: int | None = None  # the sync_run row that logged this run
    job_id: int | None = None  # the export job, for export loads
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def unchanged(self) -> int:
        """Rows that went through the loader and were already stored exactly so (neither new nor changed)."""
        return self.loaded - self.inserted - self.updated

    @property
    def window(self) -> tuple[datetime, datetime] | None:
        if self.window_end is None:
            return None
        return (self.window_start or self.window_end, self.window_end)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (a Prefect task's return value): times as ISO 8601 strings."""
        out = asdict(self)
        for name in ("window_start", "window_end", "started_at", "finished_at"):
            if out[name] is not None:
                out[name] = out[name].isoformat()
        return out
