"""Incremental sync: every stream of one account from its bookmark to ONE signpost ("now").

`run_sync` is the entry (the `sync` command and the flow's task both run it per account: the account's
lock, then `sync_account` over its streams). The signpost is taken once per run and shared by all its
streams, so the trades and ledgers of one run end at the same moment and reconcile at the cut-off. Streams
run in `SYNC_ORDER` (amends need the closed orders stored first).

Where a stream starts (`start_for`, shown by `kraken-etl status` too): its bookmark minus the lag; without a
bookmark, `since` when given; without it, where the stream's stored rows end (the latest row's time minus
the lag, whatever loaded them: an export backfill, a file import, REST; rows inside a listener gap fill's
window do not count, `db.state.stored_end` says why), so a sync after a backfill reads only what arrived
since; else the beginning of the history. A window of more than
`window_rows` rows (a first sync, a long gap) is walked in committed sub-windows (`jobs.window`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kraken_etl.core.clock import utcnow
from kraken_etl.core.results import JobResult
from kraken_etl.core.windows import StartPoint, signpost, start_point, window_from
from kraken_etl.db.runs import Engine
from kraken_etl.db.state import get_bookmark, stored_end
from kraken_etl.jobs.amends import sync_order_amends
from kraken_etl.jobs.balances import snapshot_balances
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.exclusive import locked_account
from kraken_etl.jobs.streams import BALANCES, BY_NAME, STREAMS, SYNC_ORDER, StreamSpec
from kraken_etl.jobs.wallets import wallets_settled
from kraken_etl.jobs.window import DEFAULT_WINDOW_ROWS, run_window
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


def cursor_column(spec: StreamSpec) -> str:
    """The timestamp column a stream's windows are cut on (ledger/trade `time`, closed order `closetm`)."""
    for column, raw in spec.target.time_pairs:
        if raw == spec.rules.cursor:
            return column
    raise ValueError(f"{spec.name}: no timestamp column for its cursor {spec.rules.cursor!r}")


def start_for(engine: Engine, spec: StreamSpec, account: str, since: datetime | None = None) -> StartPoint:
    """Where the stream's next incremental window starts, and why (see the module docstring)."""
    with engine.connect() as conn:
        bookmark = get_bookmark(conn, account, spec.name)
        stored = None
        if bookmark is None and since is None:
            stored = stored_end(conn, account, spec.target.table, cursor_column(spec), spec.name)
    return start_point(bookmark, since, stored, spec.lag)


def start_points(engine: Engine, accounts: Sequence[str]) -> list[tuple[str, str, StartPoint]]:
    """(account, stream, start) of every windowed stream of `accounts`, as a sync without `since` starts."""
    return [(account, spec.name, start_for(engine, spec, account))
            for account in accounts for spec in STREAMS if spec.paging == "window"]


def sync_account(
    streams: Sequence[str] | None = None,
    *,
    client: KrakenClient,
    engine: Engine,
    account: str,
    now: datetime | None = None,
    since: datetime | None = None,
    progress: Progress = quiet_progress,
    window_rows: int = DEFAULT_WINDOW_ROWS,
) -> list[JobResult]:
    """Sync `streams` (default: all) of one account, in order, up to one signpost.

    Args:
        now: the run's signpost (default: the client's clock, read once).
        since: where a stream without a bookmark starts; an existing bookmark always wins. Without it, a
            stream without a bookmark starts where its stored rows end (or at the beginning).
        window_rows: a window holding more rows is walked in committed sub-windows of about this many.

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
        start = start_for(engine, spec, account, since)
        progress(Event("status", f"{account} {spec.name}: starts from {start.describe()}", spec.name))
        window = window_from(start, end)
        results.append(run_window(spec, window, client=client, engine=engine, account=account, progress=progress,
                                  max_rows=window_rows))
    return results


def run_sync(
    label: str, streams: Sequence[str] | None = None, *, now: datetime | None = None,
    since: datetime | None = None, settings: Settings | None = None, progress: Progress = quiet_progress,
    window_rows: int | None = None,
) -> list[JobResult]:
    """The one entry of a sync (the `sync` command and the Prefect task both run it): the configured account
    `label`, under its lock for all its streams, `sync_account` up to the signpost `now`. Labels, never keys.

    Raises:
        SettingsError: when the label is not configured; MissingCredentials without a key.
        AccountBusy: when another run holds the account (nothing was touched).
        KrakenError: as `sync_account`.
    """
    with locked_account(label, settings, purpose="sync") as session, wallets_settled(session.engine, label):
        return sync_account(streams, client=session.client, engine=session.engine, account=label, now=now,
                            since=since, progress=progress,
                            window_rows=window_rows or session.settings.sync_window_rows)
