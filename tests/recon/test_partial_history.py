"""Done-when: an export file of one asset, or of a date range in the middle of the history, imports and
reconciles with zero chain breaks (a chain starts at its first stored row, whose balance is given)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.assets import normalize_asset
from kraken_etl.db.reporting import refresh_reporting
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


def _krakens_last_balances(engine: Engine, account: str) -> dict[tuple[str, str | None], Decimal]:
    """Kraken's running balance of the last stored entry of each (asset, wallet) chain, keyed as the views are."""
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT DISTINCT ON (asset, coalesce(wallet_resolved, wallet))
                   asset, coalesce(wallet_resolved, wallet), balance
            FROM kraken.ledger_entry WHERE account = :a
            ORDER BY asset, coalesce(wallet_resolved, wallet), time DESC, ledger_id DESC"""), {"a": account}).all()
    return {(normalize_asset(asset), wallet): balance for asset, wallet, balance in rows}


def _view_balances(engine: Engine, account: str) -> tuple[dict[tuple[str, str | None], Decimal], ...]:
    with engine.connect() as conn:
        at = conn.execute(text("SELECT asset, wallet, balance FROM reporting.balances_at(now(), :a)"),
                          {"a": account}).all()
        daily = conn.execute(text("SELECT asset, wallet, balance FROM reporting.balance_daily "
                                  "WHERE account = :a AND day = (now() AT TIME ZONE 'UTC')::date"),
                             {"a": account}).all()
    return ({(a, w): b for a, w, b in at}, {(a, w): b for a, w, b in daily})


def test_a_mid_range_import_shows_krakens_balances_and_reconciles_with_info(engine: Engine, tmp_path: Path) -> None:
    sim = make_sim(seed=21, ledger_entries=800, history_days=300)
    import_export(sim, engine, "newbooks", tmp_path, datetime(2026, 3, 1, tzinfo=UTC),
                  datetime(2026, 6, 15, tzinfo=UTC))
    kraken = _krakens_last_balances(engine, "newbooks")
    assert any(b != 0 for b in kraken.values())
    at, daily = _view_balances(engine, "newbooks")  # nothing materialised yet: read live
    assert at == kraken and daily == kraken
    refresh_reporting(engine)
    at, daily = _view_balances(engine, "newbooks")  # materialised daily sums and openings
    assert at == kraken and daily == kraken

    result = reconcile(engine, "newbooks", clock=sim.clock)
    assert result.breaks == 0
    partial = [f for f in result.open_findings if f.kind == "partial_history"]
    assert partial and {f.severity for f in partial} == {"info"}
    with engine.connect() as conn:
        openings = {(r.asset_code, r.wallet): r.opening_balance for r in conn.execute(text(
            "SELECT asset_code, wallet, opening_balance FROM reporting.opening_balance "
            "WHERE account = 'newbooks' AND partial_history"))}
    assert {(f.asset, f.wallet): f.actual for f in partial} == openings  # the opening the views took, each named
    refresh_reporting(engine)  # wallets resolved by the reconciliation: the views still show Kraken's balances
    assert _view_balances(engine, "newbooks") == (_krakens_last_balances(engine, "newbooks"),) * 2


def test_a_history_from_the_start_opens_at_zero(engine: Engine, tmp_path: Path) -> None:
    sim = make_sim(seed=21, ledger_entries=300, history_days=120)
    import_export(sim, engine, "whole", tmp_path, START, END)
    result = reconcile(engine, "whole", clock=sim.clock)
    assert [f for f in result.open_findings if f.kind == "partial_history"] == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*), count(*) FILTER (WHERE opening_balance <> 0) "
                                 "FROM reporting.opening_balance WHERE account = 'whole'")).one() == (
            conn.execute(text("SELECT count(DISTINCT (asset, coalesce(wallet_resolved, wallet, ''))) "
                              "FROM kraken.ledger_entry WHERE account = 'whole'")).scalar_one(), 0)
