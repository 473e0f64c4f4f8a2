"""Prefect flow `backfill`: the same parameters as `kraken-etl backfill`, one task per account.

Thin: resolve the period (`kraken_etl.core.period`, the command's convention) and the accounts → per account,
one task that runs `kraken_etl.jobs.backfill.run_backfill`, the command's own entry (the account's lock, the
plan, export or REST per range, export jobs resumed) → return the per-range counts. A task
is retried only when the error's class says so (`flows.sync.retry_if_retryable`); retries are safe: export
jobs resume from their committed state and loads are idempotent. Parameters are labels, never keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, task

from flows.sync import retry_if_retryable
from kraken_etl.core.period import resolve_period
from kraken_etl.jobs.backfill import BACKFILL_STREAMS, run_backfill
from kraken_etl.jobs.wiring import configured_labels


@task(retries=2, retry_delay_seconds=[60, 300], retry_condition_fn=retry_if_retryable,
      task_run_name="backfill {label} {start}..{end} via {via}")
def backfill_account(label: str, start: str, end: str, via: str, streams: list[str], chunk_days: int,
                     export_threshold: int, max_export_rows: int) -> list[dict[str, Any]]:
    # AccountBusy (not retried) when another run holds the account
    _, results = run_backfill(label, start, end, via=via, streams=streams, chunk_days=chunk_days,
                              export_threshold=export_threshold, max_export_rows=max_export_rows)
    return [r.as_dict() for r in results]


@flow(name="backfill")
def backfill_flow(date_from: str, date_to: str, via: str = "auto", streams: list[str] | None = None,
                  accounts: list[str] | None = None, chunk_days: int = 0, export_threshold: int = 5_000,
                  max_export_rows: int = 1_000_000) -> dict[str, list[dict[str, Any]]]:
    """Load `date_from` through `date_to`, both inclusive as `kraken-etl backfill` reads them (a day runs
    through its end; ISO 8601, naive = UTC), of every stream (default) for each account, planned from the data
    (`chunk_days` > 0: calendar chunks instead); never moves the bookmark.

    Raises:
        PeriodError: a range that ends before it starts or starts in the future (before any work).
    """
    period = resolve_period(date_from, date_to, now=datetime.now(UTC))
    labels = accounts or configured_labels()
    chosen = streams or list(BACKFILL_STREAMS)
    start, end = period.start.isoformat(), period.end.isoformat()
    return {label: backfill_account(label, start, end, via, chosen, chunk_days, export_threshold,
                                    max_export_rows)
            for label in labels}
