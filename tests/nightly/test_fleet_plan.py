"""`jobs.fleet`: the fan-out's plan without Prefect: at most `limit` accounts at once, every account waited for,
failures named, a rerun starting only what is not done. The orchestrator is a small scripted stand-in for
Prefect's API (runs finish after a set number of polls), not our code."""

from __future__ import annotations

import pytest

from kraken_etl.core.clock import ManualClock
from kraken_etl.jobs.fleet import (
    FleetFailed,
    FleetOutcome,
    RunState,
    accounts_to_run,
    fleet_markdown,
    raise_for_fleet_failures,
    run_fleet,
    with_done_before,
)


class Orchestrator:
    """Runs that finish after `polls[label]` polls in the state `ends[label]` (default COMPLETED)."""

    def __init__(self, polls: dict[str, int], ends: dict[str, RunState] | None = None,
                 refuse: frozenset[str] = frozenset()) -> None:
        self.polls, self.ends, self.refuse = polls, ends or {}, refuse
        self.started: list[str] = []
        self.label: dict[str, str] = {}
        self.seen: dict[str, int] = {}
        self.max_unfinished = 0
        self.unfinished: set[str] = set()

    def start(self, label: str) -> str:
        if label in self.refuse:
            raise RuntimeError("deployment not found")
        run_id = f"run-{len(self.started)}"
        self.started.append(label)
        self.label[run_id] = label
        self.unfinished.add(run_id)
        self.max_unfinished = max(self.max_unfinished, len(self.unfinished))
        return run_id

    def poll(self, run_ids: list[str]) -> dict[str, RunState]:
        states = {}
        for run_id in run_ids:
            label = self.label[run_id]
            self.seen[run_id] = self.seen.get(run_id, 0) + 1
            if self.seen[run_id] >= self.polls.get(label, 1):
                states[run_id] = self.ends.get(label, RunState("COMPLETED"))
                self.unfinished.discard(run_id)
            else:
                states[run_id] = RunState("RUNNING")
        return states


def test_at_most_limit_accounts_run_at_once_and_every_one_is_waited_for() -> None:
    labels = [f"acct-{i}" for i in range(7)]
    prefect = Orchestrator({label: 2 + i % 3 for i, label in enumerate(labels)})
    clock = ManualClock(0.0)
    outcomes = run_fleet(labels, start=prefect.start, poll=prefect.poll, limit=3, clock=clock, poll_seconds=2.0)
    assert [o.account for o in outcomes] == labels
    assert all(o.status == "ok" for o in outcomes)
    assert prefect.started == labels
    assert prefect.max_unfinished == 3
    assert clock.now() > 0  # it waited between polls that saw nothing finish


def test_failed_crashed_and_unstartable_accounts_are_named() -> None:
    labels = ["a", "b", "c", "d"]
    prefect = Orchestrator({"b": 2}, ends={"b": RunState("FAILED", "nightly failed for account 'b': boom"),
                                           "c": RunState("CRASHED", "worker died")}, refuse=frozenset({"d"}))
    outcomes = run_fleet(labels, start=prefect.start, poll=prefect.poll, limit=2, clock=ManualClock(0.0))
    assert [o.status for o in outcomes] == ["ok", "failed", "failed", "failed"]
    assert "boom" in outcomes[1].detail and outcomes[2].detail == "crashed: worker died"
    assert outcomes[3].run_id is None and "deployment not found" in outcomes[3].detail
    with pytest.raises(FleetFailed) as raised:
        raise_for_fleet_failures(outcomes)
    message = str(raised.value)
    assert "3 account(s) failed" in message and "'b'" in message and "'c'" in message and "'d'" in message
    assert "'a'" not in message


def test_a_rerun_starts_only_what_did_not_complete() -> None:
    labels = ["a", "b", "c", "d"]
    earlier = {"a": "COMPLETED", "b": "CRASHED", "c": "RUNNING"}  # c: its worker died without a word
    todo = accounts_to_run(labels, earlier)
    assert todo == ["b", "c", "d"]
    prefect = Orchestrator({})
    outcomes = run_fleet(todo, start=prefect.start, poll=prefect.poll, limit=8, clock=ManualClock(0.0))
    every = with_done_before(labels, outcomes, {"a": "run-a"})
    assert [(o.account, o.status) for o in every] == [("a", "done before"), ("b", "ok"), ("c", "ok"), ("d", "ok")]
    assert every[0].run_id == "run-a"
    raise_for_fleet_failures(every)  # nothing failed


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


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        run_fleet(["a"], start=str, poll=dict, limit=0, clock=ManualClock(0.0))
