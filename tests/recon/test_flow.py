"""The Prefect reconcile flow against a real database: one task per account, a markdown artifact each."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from flows.reconcile import reconcile_flow
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.reconcile import artifact_key
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from tests.pipeline.conftest import make_sim

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


async def _artifact(key: str) -> str | None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    return str(found[0].data) if found else None


def test_flow_reconciles_each_account_and_publishes_markdown(db_env: str, tmp_path: Path) -> None:
    engine = make_engine(db_env)
    try:
        sim = make_sim(seed=61, ledger_entries=300, history_days=100)
        sim.faults("balance_drift=1,seed=1")
        sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="Ops_Desk")
    finally:
        engine.dispose()
    (summary,) = reconcile_flow(as_of="2026-11-05T00:00:00+00:00")
    assert summary["account"] == "Ops_Desk" and summary["breaks"] == 1
    assert summary["artifact_key"] == artifact_key("Ops_Desk") == "reconciliation-ops-desk"
    markdown = asyncio.run(_artifact(summary["artifact_key"]))
    assert markdown is not None and "| ledger_vs_exchange |" in markdown and "1 break(s)" in markdown
