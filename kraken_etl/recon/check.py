"""The one shape every check has: `check(CheckInput) -> CheckReport`.

A check reads through `kraken_etl.db` (SQL does the heavy lifting), returns findings and the number of
rows it examined, and never raises for a data problem. `since` is None for a full check; otherwise the
check may re-examine only what changed after it and says so in `scopes` (scope key → moment from which
it re-examined, None: the whole scope), so that only findings inside are resolved when not seen again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from kraken_etl.db.recon_store import Connection
from kraken_etl.recon.finding import Finding


@dataclass(frozen=True, slots=True)
class CheckInput:
    """What a check is given: an open connection (the run's transaction), the account and the moment."""

    conn: Connection
    account: str
    as_of: datetime
    since: datetime | None = None  # incremental: only what changed after this


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What a check returns."""

    rows_examined: int
    findings: list[Finding] = field(default_factory=list)
    scopes: dict[str, str | None] | None = None  # None: the check looked at everything


Check = Callable[[CheckInput], CheckReport]

