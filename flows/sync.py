"""The sync flow: every configured account, every stream, the same entry as `kraken-etl sync`.

One run, one signpost: the flow reads "now" once and every account syncs up to it, so the streams of a run
end at the same moment. One task per account runs `kraken_etl.jobs.sync.run_sync` (the account's lock held
for all its streams, which run in order: amends need the closed orders stored); accounts run concurrently.
A task is retried only when the error's class says so (`is_retryable`): a retry re-reads only from the
bookmarks its first attempt committed. Fatal errors (invalid key, missing permission) and a busy account
fail at once. Parameters are account labels, never keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.client.schemas.objects import State, TaskRun

from kraken_etl.core.clock import waits_stop_with_block
from kraken_etl.core.timeutil import as_utc
from kraken_etl.jobs.events import Event, Progress
from kraken_etl.jobs.sync import check_streams, run_sync
from kraken_etl.jobs.wiring import configured_labels
from kraken_etl.kraken.errors import is_retryable


def retry_if_retryable(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect `retry_condition_fn`: retry only errors whose class is retryable."""
    try:
        state.result(raise_on_failure=True)
    except BaseException as exc:  # the task's own exception, re-raised by Prefect
        return is_retryable(exc)
    return False


def run_log_progress() -> Progress:
    """A progress callback writing start points and committed sub-windows to the task run's log, as plain
    lines (for use inside a task)."""
    logger = get_run_logger()

    def log_progress(event: Event) -> None:
        if event.kind in ("status", "commit"):
            logger.info("%s", event.message)

    return log_progress


@task(retries=3, retry_delay_seconds=[10, 60, 300], retry_condition_fn=retry_if_retryable,
      task_run_name="sync {account} to {now}")
def sync_account_task(account: str, streams: list[str], now: str, since: str | None = None,
                      window_rows: int | None = None) -> list[dict[str, Any]]:
    results = run_sync(account, streams, now=as_utc(now), since=as_utc(since) if since else None,
                       progress=run_log_progress(), window_rows=window_rows)
    return [r.as_dict() for r in results]


@flow(name="kraken-sync")
def sync_flow(
    accounts: list[str] | None = None, streams: list[str] | None = None, since: str | None = None,
    window_rows: int | None = None,
) -> list[dict[str, Any]]:
    """Sync `streams` (default: all) of `accounts` (default: every configured one).

    `since` (ISO 8601 date or time, naive = UTC): where streams without a bookmark start (default: where
    their stored rows end). `window_rows`: the sub-window size of long walks (default: the setting).
    """
    labels = accounts or configured_labels()
    names = check_streams(streams)
    now = datetime.now(UTC).isoformat()  # the run's one signpost
    start = as_utc(since).isoformat() if since else None
    futures = [sync_account_task.submit(label, names, now, start, window_rows) for label in labels]
    with waits_stop_with_block():  # SIGTERM: the tasks' retry waits end, so the task runner can shut down
        return [result for f in futures for result in f.result()]
