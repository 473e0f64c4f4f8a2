"""The nightly run's markdown artifact, built by one pure function from the accounts' outcomes.

What an operator reads in the Prefect UI the morning after: per account, the rows each stream added,
the calls and the seconds waited for the call counter, the reconciliation summary and open findings, the
report's file, how fresh each stream is (bookmark vs the run's signpost), and, for a failed account,
which step failed and why. No secret ever reaches an outcome, so none can reach the artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kraken_etl.jobs.nightly import NightlyOutcome


def _age(bookmark: datetime | None, signpost: datetime) -> str:
    if bookmark is None:
        return "never synced"
    seconds = int((signpost - bookmark).total_seconds())
    if seconds < 0:
        return "ahead of the signpost"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min behind" if hours else f"{rest // 60} min {rest % 60} s behind"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _account(outcome: NightlyOutcome) -> list[str]:
    head = "ok" if outcome.status == "ok" else "**FAILED**"
    lines = [f"## {outcome.account}: {head}", ""]
    if outcome.error:
        lines += [f"Why: {_cell(outcome.error)}", ""]
    if outcome.sync:
        lines += ["| stream | fetched | inserted | updated | quarantined | calls | waited (s) | took (s) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in outcome.sync:
            lines.append(f"| {r.stream} | {r.fetched} | {r.inserted} | {r.updated} | {r.quarantined} | {r.calls} "
                         f"| {r.wait_seconds:.1f} | {r.duration_seconds:.1f} |")
        calls = sum(r.calls for r in outcome.sync)
        waited = sum(r.wait_seconds for r in outcome.sync)
        lines += ["", f"Calls: {calls}, waited {waited:.1f} s for the call counter; "
                      f"account took {outcome.seconds:.1f} s.", ""]
    for step in outcome.steps:
        lines.append(f"- **{step.name}**: {step.status}" + (f" ({_cell(step.detail)})" if step.detail else ""))
    if outcome.steps:
        lines.append("")
    for step in outcome.steps:
        if step.markdown:
            lines += [f"### {step.name}", "", step.markdown.rstrip(), ""]
    if outcome.bookmarks:
        lines += ["| stream | bookmark (UTC) | freshness |", "|---|---|---|"]
        for stream, mark in outcome.bookmarks.items():
            shown = f"{mark:%Y-%m-%d %H:%M:%S}" if mark else "-"
            lines.append(f"| {stream} | {shown} | {_age(mark, outcome.signpost)} |")
        lines.append("")
    return lines


def nightly_markdown(outcomes: Sequence[NightlyOutcome], signpost: datetime) -> str:
    """The artifact text of one nightly run: a headline, then one section per account."""
    failed = [o.account for o in outcomes if o.status == "failed"]
    added = sum(r.inserted for o in outcomes for r in o.sync)
    findings = [s.open_findings for o in outcomes for s in o.steps if s.open_findings is not None]
    verdict = f"FAILED for {', '.join(failed)}" if failed else "all accounts ok"
    lines = [f"# Nightly run to {signpost:%Y-%m-%d %H:%M:%S} UTC: {verdict}", "",
             f"Accounts: {len(outcomes)}; rows added: {added}; open findings: "
             f"{sum(findings) if findings else 'not reconciled'}.", ""]
    for outcome in sorted(outcomes, key=lambda o: (o.status == "ok", o.account)):
        lines += _account(outcome)
    return "\n".join(lines).rstrip() + "\n"
