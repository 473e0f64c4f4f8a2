"""`reconcile_accounts`: the one entry that reconciles stored accounts, for `kraken-etl reconcile` and the
`kraken-reconcile` flow alike.

It opens the configured database (migrated first), checks that every asked label has stored data (a typo
must neither print "clean" nor record a run), then runs `kraken_etl.recon.reconcile` per account. No Kraken
key is needed: reconciliation reads the stored copy only.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import datetime

from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.db.recon_store import stored_accounts
from kraken_etl.jobs.wiring import database
from kraken_etl.recon import ReconResult, reconcile
from kraken_etl.settings import Settings, load_settings


class UnknownAccounts(KrakenEtlError):
    """Asked labels with no stored ledger entries or trades (nothing was run or recorded)."""


def reconcile_accounts(labels: Sequence[str] | None, *, as_of: datetime | None = None,
                       checks: Sequence[str] | None = None, full: bool = False,
                       settings: Settings | None = None) -> list[ReconResult]:
    """Reconcile `labels` (default: every account with stored rows), in the order given, each as of `as_of`
    (default: now).

    Raises:
        UnknownAccounts: when a label has no stored data (checked before anything runs).
        ReconError, SettingsError: an unknown check name, an unreadable database setting.
    """
    with database(settings or load_settings(), upgrade=True) as engine:
        stored = stored_accounts(engine)
        chosen = list(dict.fromkeys(labels)) if labels else stored
        unknown = [label for label in chosen if label not in stored]
        if unknown:
            raise UnknownAccounts(no_data_line(unknown, stored))
        return [reconcile(engine, label, as_of=as_of, checks=checks, full=full) for label in chosen]


def stored_labels(settings: Settings | None = None) -> list[str]:
    """Accounts with stored rows in the configured database."""
    with database(settings or load_settings()) as engine:
        return stored_accounts(engine)


def artifact_key(label: str) -> str:
    """A Prefect artifact key for an account (lowercase letters, digits and dashes only)."""
    return "reconciliation-" + (re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-") or "account")


def no_data_line(unknown: Sequence[str], stored: Sequence[str]) -> str:
    """One line: which labels have no stored data, what is known, and the likely typo."""
    names = ", ".join(repr(label) for label in unknown)
    known = ", ".join(stored) if stored else "none (nothing is stored yet: sync, backfill or import first)"
    line = f"--account {names}: no stored ledger entries or trades; known accounts: {known}"
    close = difflib.get_close_matches(unknown[0], list(stored), n=1, cutoff=0.6) if len(unknown) == 1 else []
    return line + (f"; did you mean {close[0]!r}?" if close else "")
