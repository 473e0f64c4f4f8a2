"""The nightly run fanned out: one flow run per batch of accounts, started through a deployment so that any
worker on any machine can take it, at most `limit` runs at once; the parent waits for all and reports each
account by name. A batch shares one flow-run process, so the imports of Python, Prefect and ours (seconds of
CPU) are paid once per batch, not once per account.

This module is the plan, free of Prefect: `run_fleet` is handed three callables — `start(batch) -> run id`
(the flow starts a run of the per-account deployment with those accounts), `poll(run ids) -> {run id:
RunState}` (the flow reads their states) and `accounts_of(run id) -> {label: RunState}` (each account's own
state inside a finished run: its task's) — and a `Clock` to wait on between polls. What must hold across
machines is not here: one run per account at a time is the account's row lock in the database, and a key's
pace is its call counter, handed from machine to machine through the database (`jobs.exclusive`).

A rerun does only what is not done: `accounts_to_run` drops the accounts whose earlier run (of this fleet run,
retried, or of the last fleet run when asked) completed them; `account_states` says which those are, account
by account, when a batch's run ended without completing every account (a killed worker, one account failing).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from kraken_etl.core.clock import Clock
from kraken_etl.core.errors import KrakenEtlError

# Prefect's state types (by name): a run in one of these is over.
TERMINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
FleetStatus = Literal["ok", "failed", "done before"]


class FleetFailed(KrakenEtlError):
    """At least one account of a fanned-out nightly run did not complete; the message names each and why."""


@dataclass(frozen=True, slots=True)
class RunState:
    """A per-account run as the parent sees it: Prefect's state type name and message."""

    state: str
    message: str = ""
    seconds: float | None = None  # an account's own time inside a batch's run (its task's), when known


@dataclass(frozen=True, slots=True)
class FleetOutcome:
    """One account of a fanned-out run: `ok`, `failed` (with why), or `done before` (an earlier run of it
    completed, so this one did not start it again)."""

    account: str
    status: FleetStatus
    run_id: str | None = None
    detail: str = ""
    seconds: float = 0.0  # from its start to its end, as the parent saw it

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "status": self.status, "run_id": self.run_id, "detail": self.detail,
                "seconds": round(self.seconds, 3)}


def accounts_to_run(labels: Iterable[str], earlier: Mapping[str, str]) -> list[str]:
    """The labels to start, in order: all but those whose earlier run (`earlier`: label → state type name of
    its latest run) completed."""
    return [label for label in dict.fromkeys(labels) if earlier.get(label) != "COMPLETED"]


def batches(labels: Iterable[str], size: int) -> list[list[str]]:
    """The labels (each once, in order) cut into as few consecutive batches of at most `size` as can hold them,
    as even as can be (100 labels at 32: four of 25, not 32, 32, 32 and 4: a small last batch would pay a
    process's imports for a few accounts)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    order = list(dict.fromkeys(labels))
    count = -(-len(order) // size)  # ceil
    if count == 0:
        return []
    small, extra = divmod(len(order), count)  # the first `extra` batches hold one more
    cuts = [i * small + min(i, extra) for i in range(count + 1)]
    return [order[cuts[i]:cuts[i + 1]] for i in range(count)]


def account_states(run: RunState, batch: Iterable[str], tasks: Mapping[str, RunState]) -> dict[str, RunState]:
    """Each account's state in a batch's finished run: its own task's when that ended (an account whose task
    completed is done, even in a run that crashed after it), otherwise the run's (a task still `RUNNING` in a
    run that is over died with its worker; a task never started shares the run's fate)."""
    return {label: tasks[label] if label in tasks and tasks[label].state in TERMINAL else run for label in batch}


ACCOUNT_TAG = "account:"  # the tag of an account's task in a batch's run: how the parent tells accounts apart


def account_tag(label: str) -> str:
    """The tag the nightly flow puts on an account's task run."""
    return ACCOUNT_TAG + label


def tagged_account(tags: Iterable[str]) -> str | None:
    """The account an account's task run is for (its `account_tag`), or None for another task."""
    return next((tag.removeprefix(ACCOUNT_TAG) for tag in tags if tag.startswith(ACCOUNT_TAG)), None)


def _finished(label: str, run_id: str, state: RunState, seconds: float) -> FleetOutcome:
    seconds = state.seconds if state.seconds is not None else seconds
    if state.state == "COMPLETED":
        return FleetOutcome(label, "ok", run_id, "", seconds)
    detail = f"{state.state.lower()}: {state.message}" if state.message else state.state.lower()
    return FleetOutcome(label, "failed", run_id, detail, seconds)


def run_fleet(labels: Iterable[str], *, start: Callable[[list[str]], str],
              poll: Callable[[list[str]], Mapping[str, RunState]],
              accounts_of: Callable[[str], Mapping[str, RunState]], limit: int, clock: Clock,
              batch_size: int = 1, poll_seconds: float = 1.0) -> list[FleetOutcome]:
    """Start one run per batch of `batch_size` labels, keeping at most `limit` runs unfinished at once, and wait
    for all; then each account's outcome, by name.

    Args:
        start: creates the run of one batch of accounts and returns its id (raising: those failed to start).
        poll: the states of the given runs (a run missing from the answer is still pending).
        accounts_of: each account's own state inside a finished run (its task's; an account missing from the
            answer, or not finished in it, takes the run's state: `account_states`).
        limit: how many runs at once (KRAKEN_FLEET_CONCURRENCY).
        clock: waits `poll_seconds` between polls that saw nothing finish.
        batch_size: accounts per run (KRAKEN_FLEET_BATCH_SIZE).

    Returns:
        one outcome per label, in the labels' order (`seconds`: its run's, from start to end).
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    order = list(dict.fromkeys(labels))
    waiting = deque(batches(order, batch_size))
    running: dict[str, tuple[list[str], float]] = {}  # run id -> (batch, started)
    outcomes: dict[str, FleetOutcome] = {}
    while waiting or running:
        while waiting and len(running) < limit:
            batch = waiting.popleft()
            try:
                running[start(batch)] = (batch, clock.now())
            except Exception as exc:  # one batch that cannot start never stops the others
                for label in batch:
                    outcomes[label] = FleetOutcome(label, "failed", None,
                                                   f"not started: {type(exc).__name__}: {exc}")
        if not running:
            continue
        states = poll(list(running))
        done = [run_id for run_id, state in states.items() if run_id in running and state.state in TERMINAL]
        for run_id in done:
            batch, started = running.pop(run_id)
            seconds = clock.now() - started
            each = account_states(states[run_id], batch, accounts_of(run_id))
            for label in batch:
                outcomes[label] = _finished(label, run_id, each[label], seconds)
        if running and not done:
            clock.sleep(poll_seconds)
    return [outcomes[label] for label in order]


def with_done_before(labels: Iterable[str], outcomes: list[FleetOutcome],
                     earlier_runs: Mapping[str, str]) -> list[FleetOutcome]:
    """Every label's outcome, in order: this run's, or `done before` (with the earlier run's id) for a label
    that was not started again."""
    ran = {o.account: o for o in outcomes}
    return [ran.get(label) or FleetOutcome(label, "done before", earlier_runs.get(label), "completed earlier")
            for label in dict.fromkeys(labels)]


def fleet_markdown(outcomes: list[FleetOutcome], refreshed: str = "") -> str:
    """The fanned-out run's artifact: one row per account (labels are checked names: safe in markdown), then
    the line of the reporting refresh after them (`refreshed`, when given)."""
    counts = {s: sum(o.status == s for o in outcomes) for s in ("ok", "failed", "done before")}
    lines = [f"# nightly fan-out: {counts['ok']} ok, {counts['failed']} failed, {counts['done before']} done before",
             "", "| account | status | seconds | run | detail |", "|---|---|---|---|---|"]
    for o in outcomes:
        detail = o.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {o.account} | {o.status} | {o.seconds:.1f} | {o.run_id or ''} | {detail} |")
    if refreshed:
        lines += ["", refreshed.replace("\n", " ")]
    return "\n".join(lines) + "\n"


def raise_for_fleet_failures(outcomes: list[FleetOutcome], refresh_error: str | None = None) -> None:
    """End a fanned-out run Failed when any account failed, naming each and why, or when the reporting
    refresh after them failed (`refresh_error`).

    Raises:
        FleetFailed: listing the failed accounts (and the refresh's error).
    """
    failed = [o for o in outcomes if o.status == "failed"]
    parts = [f"{len(failed)} account(s) failed: " + "; ".join(f"{o.account!r} ({o.detail})" for o in failed)
             ] if failed else []
    if refresh_error:
        parts.append(refresh_error)
    if parts:
        raise FleetFailed("nightly fan-out: " + "; ".join(parts))
