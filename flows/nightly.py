"""The `nightly` flow: per account, sync every stream to one signpost (balances too), reconcile, refresh
the reporting schema, write the report; then one markdown artifact for the whole run.

Thin: the signpost is read once → one task per account (`jobs.nightly.run_nightly`, under the account's
lock), up to `CONCURRENT_ACCOUNTS` at once, tagged with its account (`jobs.fleet.account_tag`) and Failed when
its account failed, so Prefect holds each account's outcome by name (the fan-out reads it from a batch's run)
→ the artifact (`jobs.artifact.nightly_markdown`) → the run ends Failed when any account failed
(`raise_for_failures` names which and why). A failing account never stops the others. A task is retried only
when its error's class says so; a busy account (`AccountBusy`) is not retried: the run that holds it is doing
the work. Parameters are labels, never keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows.sync import retry_if_retryable, run_log_progress
from kraken_etl.core.clock import waits_stop_with_block
from kraken_etl.jobs.artifact import nightly_markdown
from kraken_etl.jobs.fleet import account_tag
from kraken_etl.jobs.nightly import (
    CONCURRENT_ACCOUNTS,
    NightlyOutcome,
    RefreshMode,
    failed_outcome,
    raise_for_failures,
    raise_if_failed,
    run_nightly,
)
from kraken_etl.jobs.wiring import configured_labels

ARTIFACT_KEY = "nightly-run"


@task(retries=2, retry_delay_seconds=[30, 300], retry_condition_fn=retry_if_retryable,
      task_run_name="nightly {account} to {now}")
def nightly_account(account: str, now: str, since: str | None = None,
                    refresh: RefreshMode = "always", charts: bool = True) -> NightlyOutcome:
    return raise_if_failed(run_nightly(account, now=now, since=since, progress=run_log_progress(), refresh=refresh,
                                       charts=charts))


def _run_name() -> str:
    chosen = flow_run.parameters.get("accounts")
    return "nightly " + (", ".join(chosen) if chosen else "every account")


@flow(name="nightly", flow_run_name=_run_name,
      task_runner=ThreadPoolTaskRunner(max_workers=CONCURRENT_ACCOUNTS))  # type: ignore[arg-type]
def nightly_flow(accounts: list[str] | None = None, since: str | None = None,
                 refresh: RefreshMode = "always", charts: bool = True) -> dict[str, Any]:
    """The nightly run of `accounts` (default: every configured one).

    `since` (ISO 8601, naive = UTC): where streams without a bookmark start (after an export backfill).
    `refresh`: `when_stale` when the run is one account of the fan-out (its parent refreshes the reporting
    schema once after every account); `always` otherwise. `charts`: False for a report of tables only, without
    the chart engine (the fan-out's runs; `kraken-etl report` draws them when asked).
    """
    labels = accounts or configured_labels()
    now = datetime.now(UTC)  # the run's one signpost
    futures = {label: nightly_account.with_options(tags=[account_tag(label)]).submit(
        label, now.isoformat(), since, refresh, charts) for label in labels}
    outcomes = []
    with waits_stop_with_block():  # SIGTERM: the tasks' retry waits end, so the task runner can shut down
        for label, future in futures.items():
            future.wait()
            state = future.state
            outcomes.append(state.result() if state.is_completed()
                            else failed_outcome(label, now, state.result(raise_on_failure=False)))
    create_markdown_artifact(markdown=nightly_markdown(outcomes, now), key=ARTIFACT_KEY,
                             description=f"nightly run to {now:%Y-%m-%d %H:%M} UTC")
    raise_for_failures(outcomes)
    return {o.account: o.as_dict() for o in outcomes}
