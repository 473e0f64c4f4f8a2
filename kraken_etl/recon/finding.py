"""What a check reports: a `Finding` (data, never an exception) and its stable fingerprint.

A finding names what is wrong as exactly as the data allows: the check and kind, the asset and wallet,
the rows involved (`source_ids`), the expected and actual values and their difference. Its fingerprint
hashes (check, kind, account, asset, wallet, ids) and nothing that moves between runs (no amounts, no
times), so a rerun finds the same row in `reconciliation_finding` and updates it instead of adding a copy.
This module must stay pure: no SQL, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Severity = Literal["break", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("break", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem one check found.

    `scope` is the unit of re-examination it belongs to (a chain ``asset|wallet``, a trade or order id,
    or "" for account-wide checks); an incremental run resolves only findings inside what it re-examined.
    `at` is the moment it refers to (ISO text) when it has one.
    """

    check: str
    kind: str
    severity: Severity
    message: str
    asset: str | None = None
    wallet: str | None = None
    expected: Decimal | None = None
    actual: Decimal | None = None
    difference: Decimal | None = None
    source_ids: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""
    at: str | None = None
    id: int | None = None  # the stored finding's id (set on findings read back from the database)
    ack_note: str | None = None  # the newest acknowledgement's note
    acks: tuple[tuple[str, str], ...] = ()  # every acknowledgement, oldest first: (when, ISO text; note)

    def fingerprint(self, account: str) -> str:
        """The stable identity of this finding across runs (sha256 hex)."""
        parts = (self.check, self.kind, account, self.asset or "", self.wallet or "", *self.source_ids)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def chain_scope(asset: str, wallet: str | None) -> str:
    """The scope key of one balance chain."""
    return f"{asset}|{wallet or ''}"
