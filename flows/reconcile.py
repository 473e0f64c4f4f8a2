"""The reconcile flow: every account (or the chosen ones), through `kraken_etl.jobs.reconcile` like
`kraken-etl reconcile`.

One task per account; each publishes a markdown artifact (summary table and open findings) under the key
``reconciliation-<account>``. Parameters are account labels, a moment and check names, never keys. `as_of`
reads like the command's `--as-of`: a day through its end, a moment as written (UTC when naive).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact

from kraken_etl.core.period import as_of_moment
from kraken_etl.jobs.reconcile import artifact_key, reconcile_accounts, stored_labels


@task
def reconcile_task(account: str, as_of: str | None = None, checks: list[str] | None = None,
                   full: bool = False) -> dict[str, Any]:
    (result,) = reconcile_accounts([account], as_of=as_of_moment(as_of) if as_of else None, checks=checks,
                                   full=full)
    key = artifact_key(account)
    create_markdown_artifact(key=key, markdown=result.to_markdown(), description=f"reconciliation of {account}")
    return {"account": account, "run_id": result.run_id, "breaks": result.breaks,
            "open_findings": len(result.open_findings), "rows_examined": result.rows_examined,
            "incremental": result.incremental, "artifact_key": key}


@flow(name="kraken-reconcile")
def reconcile_flow(accounts: list[str] | None = None, as_of: str | None = None, checks: list[str] | None = None,
                   full: bool = False) -> list[dict[str, Any]]:
    """Reconcile `accounts` (default: every account with stored rows) as of `as_of` (a day through its end,
    or an ISO 8601 moment; default now)."""
    futures = [reconcile_task.submit(label, as_of, checks, full) for label in accounts or stored_labels()]
    return [f.result() for f in futures]
