"""The `nightly-fleet` flow: the nightly run fanned out, one flow run of the `nightly/nightly-account`
deployment per batch of KRAKEN_FLEET_BATCH_SIZE accounts, so any worker of the pool, on any machine, takes any
batch, and a batch's accounts share one process (its imports paid once).

Thin: the accounts (parameter, or every configured one) → those not done yet (`jobs.fleet.accounts_to_run`:
a retry of this run skips the accounts it completed; `rerun_failed` also skips those the last fan-out
completed; an account is completed by its own task in a batch's run, `jobs.fleet.account_states`) →
`jobs.fleet.run_fleet` starts them in batches through `run_deployment`, at most KRAKEN_FLEET_CONCURRENCY runs at
once, polls their states, and reads each account's own task state in a run that did not complete → the
reporting schema refreshed once for all (`jobs.refresh.refresh_once_for_fleet`;
each account's run refreshes only when its own load made it due) → one markdown artifact → Failed naming every
account that did not complete (or the refresh, when it failed).
One run per account at a time and each key's pace hold in the database (`jobs.exclusive`), whichever worker
runs it. Parameters are labels, never keys.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, FlowRunFilter, FlowRunFilterId, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun, State, TaskRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment
from prefect.runtime import flow_run

from kraken_etl.core.clock import SystemClock
from kraken_etl.jobs.fleet import (
    RunState,
    account_states,
    accounts_to_run,
    fleet_markdown,
    raise_for_fleet_failures,
    run_fleet,
    tagged_account,
    with_done_before,
)
from kraken_etl.jobs.refresh import refresh_once_for_fleet
from kraken_etl.settings import load_settings

ACCOUNT_DEPLOYMENT = "nightly/nightly-account"  # prefect.yaml: the nightly flow, for a batch of accounts
FLEET_FLOW = "nightly-fleet"
ARTIFACT_KEY = "nightly-fleet"


def _tag(parent: str) -> str:
    return f"fleet-run:{parent}"


def _state(state: State | None, seconds: float | None = None) -> RunState:
    return RunState(state.type.name, state.message or "", seconds) if state is not None else RunState("PENDING")


def _accounts_of(run_id: str) -> dict[str, RunState]:
    """Each account's own state in a batch's run: its task's (tagged with the account by the nightly flow)."""
    with get_client(sync_client=True) as client:
        tasks: list[TaskRun] = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(run_id)])))
    found = {}
    for task in sorted(tasks, key=lambda t: t.expected_start_time or t.created or 0):
        label = tagged_account(task.tags)
        if label is not None:
            found[label] = _state(task.state, task.total_run_time.total_seconds())
    return found


def earlier_runs(parent: str) -> dict[str, tuple[str, str]]:
    """The accounts a fan-out `parent` started: per account, its latest run's id and the account's own state
    in it (Prefect's state type name)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[_tag(parent)])),
                                     sort=FlowRunSort.EXPECTED_START_TIME_ASC)
    found: dict[str, tuple[str, str]] = {}
    for run in runs:
        batch = run.parameters.get("accounts") or []
        state = _state(run.state)
        tasks = {} if state.state == "COMPLETED" else _accounts_of(str(run.id))
        for label, each in account_states(state, batch, tasks).items():
            found[label] = (str(run.id), each.state)
    return found


def last_fan_out(besides: str) -> str | None:
    """The latest fan-out run other than `besides` (None when there is none)."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[FLEET_FLOW])),
                                     sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=5)
    return next((str(r.id) for r in runs if str(r.id) != besides), None)


def _poll(run_ids: list[str]) -> dict[str, RunState]:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(i) for i in run_ids])))
    return {str(run.id): _state(run.state) for run in runs}


def _run_name() -> str:
    chosen = flow_run.parameters.get("accounts")
    return "nightly fan-out " + (", ".join(chosen) if chosen else "every account")


@flow(name=FLEET_FLOW, flow_run_name=_run_name)
def nightly_fleet_flow(accounts: list[str] | None = None, since: str | None = None,
                       rerun_failed: bool = False) -> dict[str, Any]:
    """The nightly run of `accounts` (default: every configured one), one `nightly-account` run per batch.

    `since`: as for the nightly flow. `rerun_failed`: start only the accounts the last fan-out did not complete.
    """
    settings = load_settings()
    labels = [a.label for a in settings.select_accounts(accounts)]
    parent = str(flow_run.get_id())
    earlier = earlier_runs(parent)  # this very run, retried: its completed accounts are done
    if rerun_failed:
        last = last_fan_out(parent)
        earlier = {**(earlier_runs(last) if last else {}), **earlier}
    done = {label: state for label, (_, state) in earlier.items()}

    def start(batch: list[str]) -> str:
        # each account refreshes the reporting schema only when its own load made it due (this run refreshes
        # once after every account), and its report is tables only (`kraken-etl report` draws the charts)
        parameters = {"accounts": batch, "since": since, "refresh": "when_stale", "charts": False}
        name = f"nightly {batch[0]}" + (f" and {len(batch) - 1} more" if len(batch) > 1 else "")
        child = run_deployment(ACCOUNT_DEPLOYMENT, parameters=parameters, timeout=0, flow_run_name=name,
                               tags=[FLEET_FLOW, _tag(parent)])
        assert isinstance(child, FlowRun)  # called from a sync flow: the run itself, not a coroutine
        return str(child.id)

    outcomes = run_fleet(accounts_to_run(labels, done), start=start, poll=_poll, accounts_of=_accounts_of,
                         limit=settings.fleet_concurrency, batch_size=settings.fleet_batch_size,
                         clock=SystemClock(), poll_seconds=settings.fleet_poll_seconds)
    outcomes = with_done_before(labels, outcomes, {label: run_id for label, (run_id, _) in earlier.items()})
    try:
        refreshed = refresh_once_for_fleet(settings).line()
        refresh_failed = False
    except Exception as exc:  # the artifact still tells every account's outcome
        refreshed, refresh_failed = f"reporting refresh failed: {type(exc).__name__}: {exc}", True
    create_markdown_artifact(markdown=fleet_markdown(outcomes, refreshed), key=ARTIFACT_KEY,
                             description="nightly fan-out: one run per account")
    raise_for_fleet_failures(outcomes, refreshed if refresh_failed else None)
    return {o.account: o.as_dict() for o in outcomes}
