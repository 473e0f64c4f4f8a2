"""Prefect flow `backfill`: the same parameters as `kraken-etl backfill`, one task per account.

Thin: resolve settings → per account, one task that calls `kraken_etl.backfill.backfill` (which plans
chunks, picks export or REST, and resumes export jobs) → return the per-chunk counts. Task retries are
safe: export jobs resume from their committed state and loads are idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, task

from kraken_etl.backfill import BackfillRequest, ExportPolicy, backfill
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, make_engine
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.clock import SystemClock
from kraken_etl.kraken.errors import is_retryable
from kraken_etl.settings import load_settings


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _retryable(task: Any, run: Any, state: Any) -> bool:
    return is_retryable(state.result(raise_on_failure=False))


@task(retries=2, retry_delay_seconds=60, retry_condition_fn=_retryable)
def backfill_account(label: str, start: str, end: str, via: str, streams: list[str], chunk_days: int,
                     export_threshold: int) -> list[dict[str, Any]]:
    settings = load_settings()
    (account,) = settings.select_accounts([label])
    url = effective_url(settings)
    migrate.upgrade(url)
    engine = make_engine(url)
    clock = SystemClock()
    request = BackfillRequest(label, _utc(start), _utc(end), tuple(streams), via,  # type: ignore[arg-type]
                              timedelta(days=chunk_days) if chunk_days > 0 else None, export_threshold)
    with KrakenClient.for_account(settings.api_url, api_key=account.api_key, api_secret=account.api_secret,
                                  tier=account.tier, home=settings.home, clock=clock) as client:
        try:
            results = backfill(request, engine=engine, client=client, clock=clock, home=settings.home,
                               policy=ExportPolicy())
        finally:
            engine.dispose()
    return [{"stream": r.kind, "via": r.via, "rows": r.rows, "loaded": r.loaded, "quarantined": r.quarantined,
             "export_job": r.job_id} for r in results]


@flow(name="backfill")
def backfill_flow(date_from: str, date_to: str, via: str = "auto", streams: list[str] | None = None,
                  accounts: list[str] | None = None, chunk_days: int = 90,
                  export_threshold: int = 5_000) -> dict[str, list[dict[str, Any]]]:
    """Load [date_from, date_to) for each account; never moves the incremental bookmark."""
    labels = [a.label for a in load_settings().select_accounts(accounts)]
    chosen = streams or ["ledgers", "trades"]
    return {label: backfill_account(label, date_from, date_to, via, chosen, chunk_days, export_threshold)
            for label in labels}
