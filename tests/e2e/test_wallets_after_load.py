"""Every load gives its rows their wallets: after a mid-range export import and a REST sync (no `reconcile`
between), `reporting.balances_at` equals Kraken's balances, per asset code.

Rows from an export carry their wallet; rows from REST do not. Left unassigned, the REST rows of an asset
would form a second balance chain beside the export's, and the asset would be counted twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from kraken_etl.core.money import loads
from kraken_etl.db.engine import make_engine
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.jobs.imports import run_import
from kraken_etl.jobs.sync import run_sync
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from tests.e2e.sync_support import RATE_SCALE, sim_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture()
def sim() -> Iterator[RunningSimulator]:
    with serve_in_thread(SimConfig(seed=23, ledger_entries=800, tier="pro", rate_scale=RATE_SCALE,
                                   history_days=120)) as running:
        yield running


def _get(sim: RunningSimulator, path: str) -> dict[str, object]:
    with httpx.Client(base_url=sim.rest_url, timeout=60) as http:
        response = http.get(path)
        response.raise_for_status()
        return loads(response.content)  # type: ignore[no-any-return]


def _export(sim: RunningSimulator, folder: Path, start: int, end: int) -> Path:
    """A ledgers export (CSV zip) of [start, end], as the simulator's RetrieveExport serves it."""
    book = sim.ctx.exports
    export_id = book.add({"report": "ledgers", "description": "mid", "format": "CSV", "starttm": str(start),
                          "endtm": str(end)}, now=datetime.now(UTC).timestamp(), stuck=False)
    path = folder / "ledgers-mid.zip"
    path.write_bytes(Path(book.zip_path(book.jobs[export_id], corrupt=False)).read_bytes())
    return path


def test_balances_are_krakens_after_an_import_and_a_sync_without_reconcile(
        sim: RunningSimulator, db_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in sim_env(sim, db_env, tmp_path).items():
        monkeypatch.setenv(name, value)
    entries = _get(sim, "/_sim/truth/ledgers")["ledger"]
    assert isinstance(entries, dict)
    times = sorted(Decimal(str(e["time"])) for e in entries.values())
    start, end = int(times[len(times) // 3]), int(times[2 * len(times) // 3])

    imported = run_import([_export(sim, tmp_path, start, end)], account="main")
    assert imported.rejected == 0 and imported.results[0].inserted > 100
    run_sync("main", since=datetime.fromtimestamp(int(times[0]), UTC))
    engine = make_engine(db_env)
    try:
        refresh_reporting(engine)
        with engine.connect() as conn:
            wallets = dict(conn.execute(text(
                "SELECT coalesce(wallet_source, 'none'), count(*) FROM kraken.ledger_entry GROUP BY 1")).all())
            ours: dict[str, Decimal] = defaultdict(Decimal)
            for asset, balance in conn.execute(text("SELECT asset, balance FROM reporting.balances_at(now(), 'main')")):
                ours[asset] += balance
            kraken = _get(sim, "/_sim/truth/balances")["balance"]
            assert isinstance(kraken, dict)
            expected: dict[str, Decimal] = defaultdict(Decimal)
            for code, amount in kraken.items():  # Kraken's codes under the schema's names (DOT.S and DOT: DOT)
                expected[conn.execute(text("SELECT reporting.normalize_asset(:c)"), {"c": code}).scalar_one()] += (
                    Decimal(str(amount)))
    finally:
        engine.dispose()
    assert "none" not in wallets and wallets.get("export", 0) > 100, wallets  # every row placed by the load
    assert {a: v for a, v in ours.items() if v != 0} == {a: v for a, v in expected.items() if v != 0}
