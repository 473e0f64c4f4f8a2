"""What a reconciliation returns: `ReconResult` (per-check counts, the open findings) and its markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kraken_etl.recon.finding import Finding


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 or word == "info" else f"{n} {word}s"


def severity_counts(findings: Sequence[Finding]) -> str:
    """Findings counted by severity, acknowledged ones said apart: "2 breaks, 0 warnings, 1 info"."""
    parts = [_plural(sum(1 for f in findings if f.severity == s), w)
             for s, w in (("break", "break"), ("warning", "warning"), ("info", "info"))]
    acked = sum(1 for f in findings if f.ack_note)
    return ", ".join(parts) + (f" ({acked} acknowledged)" if acked else "")


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """One check's counts in one run."""

    name: str
    rows_examined: int
    breaks: int
    warnings: int
    infos: int
    incremental: bool = False
    seconds: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class ReconResult:
    """One reconciliation of one account."""

    run_id: int
    account: str
    as_of: datetime
    checks: tuple[CheckSummary, ...]
    open_findings: tuple[Finding, ...]
    duration_seconds: Decimal
    incremental: bool = False
    wallets_assigned: int = 0

    @property
    def breaks(self) -> int:
        """Open findings of severity break."""
        return sum(1 for f in self.open_findings if f.severity == "break")

    def open_counts(self) -> str:
        """The open findings by severity, for people: "0 breaks, 1 warning, 2 info (1 acknowledged)"."""
        return severity_counts(self.open_findings)

    @property
    def rows_examined(self) -> int:
        """Rows examined over all checks."""
        return sum(c.rows_examined for c in self.checks)

    def to_markdown(self, limit: int = 50) -> str:
        """A summary table and the open findings (breaks first), for a Prefect artifact or a report."""
        verdict = "**clean**" if self.breaks == 0 else f"**{self.breaks} break(s)**"
        counts = severity_counts(self.open_findings)
        lines = [
            f"# Reconciliation of `{self.account}` as of {self.as_of:%Y-%m-%d %H:%M:%S} UTC",
            "",
            f"Run {self.run_id} ({'incremental' if self.incremental else 'full'}): {verdict}, "
            f"open: {counts}; {self.rows_examined:,} rows examined in "
            f"{self.duration_seconds:.3f} s.",
            "",
            "| check | rows examined | breaks | warnings | info |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [f"| {c.name} | {c.rows_examined:,} | {c.breaks} | {c.warnings} | {c.infos} |" for c in self.checks]
        if self.open_findings:
            lines += ["", "## Open findings", "", "| id | severity | check | asset | wallet | difference | what |",
                      "|---:|---|---|---|---|---:|---|"]
            for f in self.open_findings[:limit]:
                what = f.message.replace("|", "\\|")
                lines.append(f"| {f.id or ''} | {f.severity} | {f.check} | {f.asset or ''} | {f.wallet or ''} | "
                             f"{'' if f.difference is None else f.difference} | {what} |")
            if len(self.open_findings) > limit:
                lines.append(f"\n… and {len(self.open_findings) - limit} more.")
        return "\n".join(lines) + "\n"
