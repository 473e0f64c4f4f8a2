"""`jobs.fleet`: the fan-out's plan without Prefect: batches of accounts, at most `limit` runs at once, every
account waited for, failures named per account (a batch's run that failed or crashed is told apart by each
account's own task), a rerun starting only what is not done. The orchestrator is a small scripted stand-in for
Prefect's API (runs finish after a set number of polls), not our code."""

from __future__ import annotations

import pytest

from kraken_etl.core.clock import ManualClock
from kraken_etl.jobs.fleet import (
    FleetFailed,
    FleetOutcome,
    RunState,
    account_states,
    account_tag,
    accounts_to_run,
    batches,
    fleet_markdown,
    raise_for_fleet_failures,
    run_fleet,
    tagged_account,
    with_done_before,
)


class Orchestrator:
    """Runs of a batch of accounts that finish after as many polls as their slowest account asks
    (`polls[label]`, default 1). Each account's task ends as `ends[label]` (default COMPLETED); an account in
    `killed` has its task left RUNNING and its run CRASHED (its worker died); a run in which any task failed
    ends FAILED. `refuse`: a batch holding one of these labels cannot be started."""

    def __init__(self, polls: dict[str, int], ends: dict[str, RunState] | None = None,
                 refuse: frozenset[str] = frozenset(), killed: frozenset[str] = frozenset()) -> None:
        self.polls, self.ends, self.refuse, self.killed = polls, ends or {}, refuse, killed
        self.started: list[list[str]] = []
        self.batch: dict[str, list[str]] = {}
        self.seen: dict[str, int] = {}
        self.max_unfinished = 0
        self.unfinished: set[str] = set()

    def start(self, batch: list[str]) -> str:
        if self.refuse & set(batch):
            raise RuntimeError("deployment not found")
        run_id = f"run-{len(self.started)}"
        self.started.append(batch)
        self.batch[run_id] = batch
        self.unfinished.add(run_id)
        self.max_unfinished = max(self.max_unfinished, len(self.unfinished))
        return run_id

    def _end(self, run_id: str) -> RunState:
        batch = self.batch[run_id]
        if self.killed & set(batch):
            return RunState("CRASHED", "worker died")
        if any(self.ends.get(label, RunState("COMPLETED")).state != "COMPLETED" for label in batch):
            return RunState("FAILED", "nightly failed")
        return RunState("COMPLETED")

    def poll(self, run_ids: list[str]) -> dict[str, RunState]:
        states = {}
        for run_id in run_ids:
            self.seen[run_id] = self.seen.get(run_id, 0) + 1
            if self.seen[run_id] >= max(self.polls.get(label, 1) for label in self.batch[run_id]):
                states[run_id] = self._end(run_id)
                self.unfinished.discard(run_id)
            else:
                states[run_id] = RunState("RUNNING")
        return states

    def accounts_of(self, run_id: str) -> dict[str, RunState]:
        done = RunState("COMPLETED", "", 1.5)
        return {label: RunState("RUNNING") if label in self.killed else self.ends.get(label, done)
                for label in self.batch[run_id]}


def _run(labels: list[str], prefect: Orchestrator, *, limit: int, batch_size: int = 1,
         clock: ManualClock | None = None) -> list[FleetOutcome]:
    return run_fleet(labels, start=prefect.start, poll=prefect.poll, accounts_of=prefect.accounts_of, limit=limit,
                     batch_size=batch_size, clock=clock or ManualClock(0.0), poll_seconds=2.0)


def test_at_most_limit_runs_at_once_each_a_batch_and_every_account_is_waited_for() -> None:
    labels = [f"acct-{i}" for i in range(7)]
    prefect = Orchestrator({label: 2 + i % 3 for i, label in enumerate(labels)})
    clock = ManualClock(0.0)
    outcomes = _run(labels, prefect, limit=2, batch_size=3, clock=clock)
    assert [o.account for o in outcomes] == labels
    assert all(o.status == "ok" for o in outcomes)
    assert prefect.started == [labels[0:3], labels[3:5], labels[5:]]
    assert prefect.max_unfinished == 2
    assert {o.run_id for o in outcomes[0:3]} == {"run-0"} and outcomes[6].run_id == "run-2"
    assert outcomes[0].seconds == 1.5  # the account's own task's time, not its batch's
    assert clock.now() > 0  # it waited between polls that saw nothing finish


def test_one_run_per_account_when_the_batch_size_is_one() -> None:
    labels = ["a", "b", "c"]
    prefect = Orchestrator({})
    _run([*labels, "a"], prefect, limit=8)
    assert prefect.started == [["a"], ["b"], ["c"]]


def test_failed_killed_and_unstartable_accounts_are_named_each() -> None:
    labels = ["a", "b", "c", "d", "e", "f"]
    # [a, b]: b's task failed; [c, d]: the worker died after c completed, while d ran; [e, f]: not started
    prefect = Orchestrator({"b": 2}, ends={"b": RunState("FAILED", "nightly failed for account 'b': boom")},
                           killed=frozenset({"d"}), refuse=frozenset({"e"}))
    outcomes = _run(labels, prefect, limit=2, batch_size=2)
    assert [o.status for o in outcomes] == ["ok", "failed", "ok", "failed", "failed", "failed"]
    assert outcomes[1].detail == "failed: nightly failed for account 'b': boom"
    assert outcomes[3].detail == "crashed: worker died"
    assert all(o.run_id is None and "deployment not found" in o.detail for o in outcomes[4:])
    with pytest.raises(FleetFailed) as raised:
        raise_for_fleet_failures(outcomes)
    message = str(raised.value)
    assert "4 account(s) failed" in message
    assert all(f"'{label}'" in message for label in "bdef")
    assert all(f"'{label}'" not in message for label in "ac")


def test_an_account_takes_its_runs_state_unless_its_own_task_ended() -> None:
    crashed = RunState("CRASHED", "worker died")
    tasks = {"done": RunState("COMPLETED"), "cut": RunState("RUNNING"), "bad": RunState("FAILED", "x")}
    states = account_states(crashed, ["done", "cut", "bad", "never"], tasks)
    assert states == {"done": RunState("COMPLETED"), "cut": crashed, "bad": RunState("FAILED", "x"),
                      "never": crashed}


def test_a_rerun_starts_only_what_did_not_complete() -> None:
    labels = ["a", "b", "c", "d"]
    earlier = {"a": "COMPLETED", "b": "CRASHED", "c": "RUNNING"}  # c: its worker died without a word
    todo = accounts_to_run(labels, earlier)
    assert todo == ["b", "c", "d"]
    prefect = Orchestrator({})
    outcomes = _run(todo, prefect, limit=8, batch_size=2)
    assert prefect.started == [["b", "c"], ["d"]]
    every = with_done_before(labels, outcomes, {"a": "run-a"})
    assert [(o.account, o.status) for o in every] == [("a", "done before"), ("b", "ok"), ("c", "ok"), ("d", "ok")]
    assert every[0].run_id == "run-a"
    raise_for_fleet_failures(every)  # nothing failed


def test_an_accounts_task_is_told_by_its_tag() -> None:
    assert tagged_account(["nightly-fleet", account_tag("acct-7")]) == "acct-7"
    assert tagged_account(["nightly-fleet"]) is None
    assert batches(["a", "b", "a", "c", "d"], 3) == [["a", "b"], ["c", "d"]]  # as even as can be
    assert [len(b) for b in batches([str(i) for i in range(100)], 32)] == [25, 25, 25, 25]
    assert [len(b) for b in batches([str(i) for i in range(7)], 3)] == [3, 2, 2]
    assert batches([], 3) == [] and batches(["a"], 3) == [["a"]]


def test_the_markdown_lists_every_account() -> None:
    outcomes = [FleetOutcome("a", "ok", "r1", "", 1.25), FleetOutcome("b", "failed", "r2", "failed: x | y", 2.0)]
    text = fleet_markdown(outcomes)
    assert text.startswith("# nightly fan-out: 1 ok, 1 failed, 0 done before")
    assert "| a | ok | 1.2 | r1 |  |" in text and "failed: x \\| y" in text


def test_the_refresh_after_every_account_is_told_and_its_failure_fails_the_run() -> None:
    outcomes = [FleetOutcome("a", "ok", "r1", "", 1.0)]
    assert fleet_markdown(outcomes, "reporting refreshed in 2.0 s").endswith("\n\nreporting refreshed in 2.0 s\n")
    raise_for_fleet_failures(outcomes, None)
    with pytest.raises(FleetFailed) as raised:
        raise_for_fleet_failures(outcomes, "reporting refresh failed: OperationalError: gone")
    assert str(raised.value) == "nightly fan-out: reporting refresh failed: OperationalError: gone"


def test_a_limit_or_a_batch_below_one_is_refused() -> None:
    prefect = Orchestrator({})
    with pytest.raises(ValueError, match="limit"):
        _run(["a"], prefect, limit=0)
    with pytest.raises(ValueError, match="batch size"):
        _run(["a"], prefect, limit=1, batch_size=0)
