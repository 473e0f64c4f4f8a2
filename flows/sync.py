"""The sync flow: every configured account, every stream, the same code as `kraken-etl sync`.

Accounts run concurrently; one account's streams run in order (amends need the closed orders stored,
and they share the key's call counter anyway). A task is retried only when the error's class says so
(`is_retryable`: pagination drift, exhausted request retries, …); fatal errors (invalid key, missing
permission) fail at once. Parameters are account labels, never keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task
from prefect.client.schemas.objects import State, TaskRun

from kraken_etl.kraken.errors import is_retryable
from kraken_etl.pipeline import configured_labels, sync_label
from kraken_etl.streams import SYNC_ORDER


def retry_if_retryable(task: Any, task_run: TaskRun, state: State[Any]) -> bool:
    """Prefect `retry_condition_fn`: retry only errors whose class is retryable."""
    try:
        state.result(raise_on_failure=True)
    except BaseException as exc:  # the task's own exception, re-raised by Prefect
        return is_retryable(exc)
    return False


@task(retries=3, retry_delay_seconds=[10, 60, 300], retry_condition_fn=retry_if_retryable)
def sync_stream_task(account: str, stream: str, since: str | None = None) -> dict[str, Any]:
    return sync_label(account, stream, since=datetime.fromisoformat(since) if since else None).as_dict()


@flow(name="kraken-sync")
def sync_flow(
    accounts: list[str] | None = None, streams: list[str] | None = None, since: str | None = None
) -> list[dict[str, Any]]:
    """Sync `streams` (default: all) of `accounts` (default: every configured one).

    `since` (ISO 8601): where streams without a bookmark start, e.g. the end of an export backfill.
    """
    labels = accounts or configured_labels()
    names = [s for s in SYNC_ORDER if not streams or s in streams]
    futures = []
    for label in labels:
        previous = None
        for name in names:
            previous = sync_stream_task.submit(
                label, name, since, return_state=False, wait_for=[previous] if previous else []
            )
            futures.append(previous)
    return [f.result() for f in futures]
