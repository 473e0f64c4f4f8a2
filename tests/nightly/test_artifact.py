"""The nightly artifact text (pure) and the nightly job's optional steps."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from kraken_etl.core.results import JobResult
from kraken_etl.jobs.artifact import nightly_markdown
from kraken_etl.jobs.nightly import (
    AccountFailed,
    NightlyFailed,
    NightlyOutcome,
    StepOutcome,
    failed_outcome,
    raise_for_failures,
    raise_if_failed,
)

NOW = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


def _ok(account: str) -> NightlyOutcome:
    outcome = NightlyOutcome(account, NOW, started_at=10.0, finished_at=14.5)
    outcome.sync = [
        JobResult(account, "ledgers", "incremental", fetched=120, inserted=100, updated=2, calls=6, wait_seconds=1.25,
                  duration_seconds=3.0),
        JobResult(account, "balances", "snapshot", fetched=9, inserted=9, calls=2),
    ]
    outcome.steps = [
        StepOutcome("reconcile", "ok", "2 open finding(s)", markdown="| check | breaks |\n|---|---|\n| chain | 2 |",
                    open_findings=2),
        StepOutcome("refresh_reporting", "failed", "OperationalError: the database went away"),
        StepOutcome("report", "ok", "written to /r/x.html", path="/r/x.html"),
    ]
    outcome.bookmarks = {"ledgers": NOW - timedelta(minutes=5), "trades": None}
    return outcome


def test_the_artifact_shows_rows_calls_waits_findings_and_freshness() -> None:
    text = nightly_markdown([_ok("main")], NOW)
    assert text.startswith("# Nightly run to 2026-12-01 02:30:00 UTC: all accounts ok")
    assert "rows added: 109; open findings: 2." in text
    assert "| ledgers | 120 | 100 | 2 | 0 | 6 | 1.2 | 3.0 |" in text
    assert "Calls: 8, waited 1.2 s for the call counter; account took 4.5 s." in text
    assert "- **reconcile**: ok (2 open finding(s))" in text and "| chain | 2 |" in text
    assert "- **refresh_reporting**: failed (OperationalError: the database went away)" in text
    assert "| ledgers | 2026-12-01 02:25:00 | 5 min 0 s behind |" in text
    assert "| trades | - | never synced |" in text


def test_a_failed_account_comes_first_with_why_and_the_headline_names_it() -> None:
    bad = failed_outcome("bad", NOW, ValueError("EAPI:Invalid key | on Ledgers"))
    text = nightly_markdown([_ok("main"), bad], NOW)
    assert "FAILED for bad" in text.splitlines()[0]
    assert text.index("## bad: **FAILED**") < text.index("## main: ok")
    assert "Why: ValueError: EAPI:Invalid key \\| on Ledgers" in text  # a pipe cannot break a table


def test_no_reconciliation_says_so() -> None:
    outcome = NightlyOutcome("main", NOW)
    assert "open findings: not reconciled." in nightly_markdown([outcome], NOW)


def test_raise_for_failures_names_every_failed_account() -> None:
    raise_for_failures([_ok("main")])  # nothing failed: no error
    with pytest.raises(NightlyFailed) as caught:
        raise_for_failures([_ok("main"), failed_outcome("x", NOW, "boom"), failed_outcome("y", NOW, "bang")])
    assert str(caught.value) == "nightly failed for account 'x': boom; account 'y': bang"




def test_an_account_with_a_failed_step_fails_its_task_and_keeps_every_step_for_the_artifact() -> None:
    ok = _ok("fine")
    assert raise_if_failed(ok) is ok
    bad = _ok("broken")
    bad.steps.append(StepOutcome("report", "failed", "ReportError: disk full"))
    bad.status, bad.error = "failed", "report: ReportError: disk full"
    with pytest.raises(AccountFailed) as raised:
        raise_if_failed(bad)
    assert str(raised.value) == "nightly failed for account 'broken': report: ReportError: disk full"
    # the flow reads the task's exception back (Prefect may have pickled it): the outcome with every step
    for error in (raised.value, pickle.loads(pickle.dumps(raised.value))):
        outcome = failed_outcome("broken", NOW, error)
        assert outcome.status == "failed" and [s.name for s in outcome.steps] == [s.name for s in bad.steps]
        assert outcome.sync == bad.sync
