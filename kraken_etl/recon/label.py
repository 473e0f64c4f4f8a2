"""Reconcile by account label with the configured database (what the Prefect task runs: no secrets)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kraken_etl.core.timeutil import as_utc
from kraken_etl.recon.runner import reconcile


def artifact_key(label: str) -> str:
    """A Prefect artifact key for an account (lowercase letters, digits and dashes only)."""
    return "reconciliation-" + (re.sub(r"[^a-z0-9-]+", "-", label.lower()).strip("-") or "account")


def reconcile_label(label: str, *, as_of: str | None = None, checks: Sequence[str] | None = None,
                    full: bool = False) -> dict[str, Any]:
    """Reconcile one account of the configured database; returns a plain summary with the markdown.

    Raises:
        ReconError, SettingsError: see `reconcile` and the settings.
    """
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.db.migrate import upgrade
    from kraken_etl.settings import load_settings

    url = effective_url(load_settings())
    upgrade(url)
    engine = make_engine(url)
    try:
        moment = as_utc(as_of) if as_of else None  # any ISO date or time; naive means UTC
        result = reconcile(engine, label, as_of=moment, checks=checks, full=full)
    finally:
        engine.dispose()
    return {"account": label, "run_id": result.run_id, "breaks": result.breaks,
            "open_findings": len(result.open_findings), "rows_examined": result.rows_examined,
            "incremental": result.incremental, "markdown": result.to_markdown(), "artifact_key": artifact_key(label)}


def stored_labels() -> list[str]:
    """Accounts with stored rows in the configured database."""
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.db.recon_store import stored_accounts
    from kraken_etl.settings import load_settings

    engine = make_engine(effective_url(load_settings()))
    try:
        return stored_accounts(engine)
    finally:
        engine.dispose()
