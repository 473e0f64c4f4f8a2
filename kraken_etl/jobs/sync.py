"""Incremental sync: every stream of one account from its bookmark to ONE signpost ("now").

`sync_account` is the entry (the CLI runs it per account; a Prefect task runs it per stream through
`sync_label`). The signpost is taken once per run and shared by all its streams, so the trades and ledgers
of one run end at the same moment and reconcile at the cut-off. Streams run in `SYNC_ORDER` (amends need
the closed orders stored first).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kraken_etl.core.clock import utcnow
from kraken_etl.core.results import JobResult
from kraken_etl.core.windows import plan_incremental, signpost
from kraken_etl.db.runs import Engine
from kraken_etl.db.state import get_bookmark
from kraken_etl.jobs.amends import sync_order_amends
from kraken_etl.jobs.balances import snapshot_balances
from kraken_etl.jobs.events import Progress, quiet_progress
from kraken_etl.jobs.streams import BALANCES, BY_NAME, SYNC_ORDER
from kraken_etl.jobs.window import run_window
from kraken_etl.jobs.wiring import open_account
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.settings import Settings, SettingsError


def check_streams(streams: Sequence[str] | None) -> list[str]:
    """The chosen streams in dependency order (all of them when none are chosen).

    Raises:
        SettingsError: naming the first unknown stream.
    """
    if not streams:
        return list(SYNC_ORDER)
    unknown = [s for s in streams if s not in SYNC_ORDER]
    if unknown:
        raise SettingsError(f"unknown stream {unknown[0]!r}; choose from {', '.join(SYNC_ORDER)}")
    return [s for s in SYNC_ORDER if s in streams]


def sync_account(
    streams: Sequence[str] | None = None,
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress = quiet_progress,
) -> list[JobResult]:
    """Sync `streams` (default: all) of one account, in order, up to one signpost.

    Args:
        now: the run's signpost (default: the client's clock, read once).
        since: where a stream without a bookmark starts (after an export backfill up to `since`); an
            existing bookmark always wins.

    Raises:
        SettingsError: for an unknown stream.
        KrakenError: the first failure stops the account (later streams would fail the same way).
    """
    end = signpost(now or utcnow(client.clock))
    results = []
    for name in check_streams(streams):
        if name == BALANCES:
            results.append(snapshot_balances(client=client, engine=engine, account=account))
            continue
        spec = BY_NAME[name]
        if spec.paging == "per_order":
            results.append(sync_order_amends(client=client, engine=engine, account=account, progress=progress))
            continue
        with engine.connect() as conn:
            bookmark = get_bookmark(conn, account, spec.name) or since
        window = plan_incremental(bookmark, end, spec.lag)
        results.append(run_window(spec, window, client=client, engine=engine, account=account, progress=progress))
    return results


def sync_label(
    label: str, streams: Sequence[str] | None = None, *, now: datetime | None = None,
    since: datetime | None = None, settings: Settings | None = None,
) -> list[JobResult]:
    """`sync_account` for a configured account named by label (what a Prefect task runs: no secrets passed).

    Raises:
        SettingsError: when the label is not configured; otherwise as `sync_account`.
    """
    with open_account(label, settings) as session:
        return sync_account(streams, client=session.client, engine=session.engine, account=label, now=now,
                            since=since)
