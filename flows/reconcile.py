"""The reconcile flow: every account (or the chosen ones), the same code as `kraken-etl reconcile`.

One task per account; each publishes a markdown artifact (summary table and open findings) under the key
``reconciliation-<account>``. Parameters are account labels, a moment and check names, never keys.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from kraken_etl.recon.label import reconcile_label, stored_labels


@task
def reconcile_task(account: str, as_of: str | None = None, checks: list[str] | None = None,
                   full: bool = False) -> dict[str, Any]:
    summary = reconcile_label(account, as_of=as_of, checks=checks, full=full)
    create_markdown_artifact(key=summary["artifact_key"], markdown=summary["markdown"],
                             description=f"reconciliation of {account}")
    return summary


@flow(name="kraken-reconcile")
def reconcile_flow(accounts: list[str] | None = None, as_of: str | None = None, checks: list[str] | None = None,
                   full: bool = False) -> list[dict[str, Any]]:
    """Reconcile `accounts` (default: every account with stored rows) as of `as_of` (ISO 8601; default now)."""
    futures = [reconcile_task.submit(label, as_of, checks, full) for label in accounts or stored_labels()]
    return [f.result() for f in futures]
