"""Done-when: an export file of one asset, or of a date range in the middle of the history, imports and
reconciles with zero chain breaks (a chain starts at its first stored row, whose balance is given)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.jobs.fileload import import_files
from kraken_etl.recon import reconcile
from tests.pipeline.conftest import make_sim
from tests.recon.arrival import END, START, download, import_export


def _one_asset_file(source: Path, asset: str, target: Path) -> int:
    """The ledgers CSV of `source` (a downloaded zip) with only `asset`'s rows, as a person would filter it."""
    with zipfile.ZipFile(source) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".csv"))
        reader = csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig")))
        rows = [row for row in reader if row["asset"] == asset]
        fields = reader.fieldnames or []
    with target.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields, quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_a_date_range_in_the_middle_of_the_history_has_no_breaks(seed: int, engine: Engine, tmp_path: Path) -> None:
    sim = make_sim(seed=seed, ledger_entries=800, history_days=300)
    import_export(sim, engine, "mid", tmp_path, datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 15, tzinfo=UTC))
    result = reconcile(engine, "mid", clock=sim.clock)
    assert [f.message for f in result.open_findings if f.severity != "info"] == []
    assert result.checks[0].rows_examined > 50
    with engine.connect() as conn:
        first = conn.execute(text("SELECT min(time) FROM kraken.ledger_entry")).scalar_one()
    assert first > START  # really a middle slice


@pytest.mark.parametrize("asset", ["BTC", "USD", "SOL"])
def test_an_export_of_one_asset_has_no_breaks(asset: str, engine: Engine, tmp_path: Path) -> None:
    sim = make_sim(seed=31, ledger_entries=800, history_days=300)
    one = tmp_path / f"{asset}.csv"
    assert _one_asset_file(download(sim, tmp_path, START, END), asset, one) > 20
    (loaded,) = import_files(engine, [one], account="one")
    assert loaded.error is None
    result = reconcile(engine, "one", clock=sim.clock)
    assert [f.message for f in result.open_findings if f.severity != "info"] == []
    assert {f.kind for f in result.open_findings} <= {"no_balance_snapshot"}
