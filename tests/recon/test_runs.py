"""Runs and findings: a rerun updates a finding instead of copying it, resolves it when it no longer
holds, an accountant can acknowledge one; incremental reruns re-examine only what changed."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.cli.demo_cmd import _steps_lines
from kraken_etl.jobs.fileload import import_files
from kraken_etl.jobs.nightly import reconcile_step
from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.recon import CHECKS, ReconError, acknowledge, reconcile
from tests.exports.test_duplicates import HEADER, _row
from tests.pipeline.conftest import InProcessSim, make_sim


def _synced(engine: Engine, seed: int = 41) -> InProcessSim:
    sim = make_sim(seed=seed, ledger_entries=600, history_days=200)
    sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="main")
    return sim


def _spot_row(engine: Engine, asset: str = "ZUSD", newest: bool = False) -> str:
    order = "DESC" if newest else "ASC"
    with engine.connect() as conn:
        # a row in the middle of its chain (not its first or last), so the damage is visible on both sides
        return str(conn.execute(text(f"""
            SELECT ledger_id FROM (
                SELECT ledger_id, time, row_number() OVER (ORDER BY time, ledger_id) AS k, count(*) OVER () AS n
                FROM kraken.ledger_entry e WHERE asset = :asset) x
            WHERE k > 2 AND k < n - 1 AND NOT EXISTS (  -- alone in its second: no tie group around it
                SELECT 1 FROM kraken.ledger_entry o WHERE o.asset = :asset AND o.ledger_id <> x.ledger_id
                  AND date_trunc('second', o.time) = date_trunc('second', x.time))
            ORDER BY time {order} LIMIT 1"""), {"asset": asset}).scalar_one())


def _shift_balance(engine: Engine, ledger_id: str, by: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE kraken.ledger_entry SET balance = balance + CAST(:by AS numeric), updated_at = now() "
                          "WHERE ledger_id = :id"), {"by": by, "id": ledger_id})


def _finding_rows(engine: Engine) -> list[tuple[int, str, str, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(  # type: ignore[misc]
            "SELECT id, kind, status, last_seen_run_id FROM kraken.reconciliation_finding ORDER BY id"))]


def test_rerun_updates_then_resolves_and_ack_keeps_a_note(engine: Engine) -> None:
    sim = _synced(engine)
    assert reconcile(engine, "main", clock=sim.clock).open_findings == ()
    row = _spot_row(engine)
    _shift_balance(engine, row, "1.5")
    first = reconcile(engine, "main", clock=sim.clock, full=True)
    (finding,) = first.open_findings
    assert (finding.kind, finding.source_ids, finding.difference) == ("balance_altered", (row,), Decimal("1.5"))
    second = reconcile(engine, "main", clock=sim.clock, full=True)
    assert [f.id for f in second.open_findings] == [finding.id]  # updated, not copied
    assert _finding_rows(engine) == [(finding.id, "balance_altered", "open", second.run_id)]

    (done,) = acknowledge(engine, "bank confirmed: Kraken support ticket 123", ids=[finding.id or 0])
    assert (done.finding_id, done.earlier_notes) == (finding.id, 0)
    (again,) = acknowledge(engine, "ticket 123 closed", ids=[finding.id or 0])
    assert again.earlier_notes == 1
    with engine.connect() as conn:
        note, stamped = conn.execute(text("SELECT ack_note, acknowledged_at IS NOT NULL FROM "
                                          "kraken.reconciliation_finding")).one()
        history = conn.execute(text("SELECT note FROM reporting.reconciliation_acks ORDER BY ack_id")).scalars().all()
    assert (note, stamped) == ("ticket 123 closed", True)
    assert history == ["bank confirmed: Kraken support ticket 123", "ticket 123 closed"]  # the first note is kept
    shown_run = reconcile(engine, "main", clock=sim.clock, full=True)
    (shown,) = shown_run.open_findings
    assert [n for _, n in shown.acks] == history and shown.ack_note == "ticket 123 closed"
    with pytest.raises(ReconError, match="no reconciliation finding"):
        acknowledge(engine, "x", ids=[999_999])

    _shift_balance(engine, row, "-1.5")  # repaired
    third = reconcile(engine, "main", clock=sim.clock, full=True)
    assert third.open_findings == ()
    assert _finding_rows(engine) == [(finding.id, "balance_altered", "resolved", shown_run.run_id)]
    with pytest.raises(ReconError, match=r"resolved .* only open findings are acknowledged"):
        acknowledge(engine, "too late", ids=[finding.id or 0])
    with pytest.raises(ReconError, match="no open findings of account 'main'"):
        acknowledge(engine, "nothing open", account="main")
    with engine.connect() as conn:
        runs = conn.execute(text("SELECT status, breaks, incremental, checks FROM kraken.reconciliation_run "
                                 "ORDER BY id")).all()
    assert [tuple(r[:3]) for r in runs] == [("ok", 0, False), ("ok", 1, False), ("ok", 1, False),
                                              ("ok", 1, False), ("ok", 0, False)]
    assert list(runs[0][3]) == list(CHECKS)


def test_incremental_rerun_examines_only_what_changed_and_finds_new_damage(engine: Engine) -> None:
    sim = _synced(engine, seed=42)
    full = reconcile(engine, "main", clock=sim.clock)
    assert not full.incremental and full.open_findings == ()
    sim.clock.advance(60)
    added = sim.advance(80)
    sim.clock.advance(5)
    sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="main")
    again = reconcile(engine, "main", clock=sim.clock)
    assert again.incremental and again.open_findings == ()
    by_name = {c.name: c for c in again.checks}
    full_by_name = {c.name: c for c in full.checks}
    assert 0 < by_name["balance_chain"].rows_examined < full_by_name["balance_chain"].rows_examined / 2
    assert by_name["trade_ledger"].rows_examined <= len(added["trade_ids"]) + 5
    assert by_name["order_trades"].rows_examined <= len(added["order_ids"]) + 5

    new_row = _spot_row(engine, newest=True)
    assert new_row in added["ledger_ids"]
    _shift_balance(engine, new_row, "0.25")
    found = reconcile(engine, "main", clock=sim.clock)
    assert found.incremental
    assert [(f.kind, f.source_ids) for f in found.open_findings] == [("balance_altered", (new_row,))]
    full_again = reconcile(engine, "main", clock=sim.clock, full=True)  # the same finding, by fingerprint
    assert [f.id for f in full_again.open_findings] == [f.id for f in found.open_findings]
    _shift_balance(engine, new_row, "-0.25")
    assert reconcile(engine, "main", clock=sim.clock).open_findings == ()  # resolved incrementally


def test_unknown_check_is_an_error_and_one_check_runs_alone(engine: Engine) -> None:
    sim = _synced(engine, seed=43)
    with pytest.raises(ReconError, match="unknown check"):
        reconcile(engine, "main", checks=["nope"], clock=sim.clock)
    only = reconcile(engine, "main", checks=["order_trades"], clock=sim.clock)
    assert [c.name for c in only.checks] == ["order_trades"]
    assert "| order_trades |" in only.to_markdown() and "**clean**" in only.to_markdown()


def test_a_snapshot_after_the_cut_off_is_named_not_called_missing(engine: Engine) -> None:
    sim = _synced(engine)  # the sync's balance snapshot is taken after its ledgers
    with engine.connect() as conn:
        taken = conn.execute(text("SELECT max(taken_at) FROM kraken.balance_snapshot")).scalar_one()
    before = reconcile(engine, "main", as_of=taken - timedelta(seconds=1), clock=sim.clock, full=True)
    (info,) = [f for f in before.open_findings if f.kind == "no_balance_snapshot"]
    assert f"the one taken at {taken:%Y-%m-%d %H:%M:%S} is after it" in info.message
    after = reconcile(engine, "main", as_of=taken, clock=sim.clock, full=True)
    assert [f.kind for f in after.open_findings if f.kind.endswith("balance_snapshot")] == []


def test_info_findings_are_counted_apart_from_breaks_and_warnings(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "later.csv"  # deposits whose balances chain from 100: a history that starts later
    path.write_text(HEADER + _row(1, "1.0000") + _row(2, "1.0000"))
    (loaded,) = import_files(engine, [path], account="later")
    assert loaded.error is None
    step = reconcile_step(engine, "later", datetime(2026, 1, 1, tzinfo=UTC))
    assert step.status == "ok"
    assert step.detail == "open: 0 breaks, 0 warnings, 2 info"  # the partial chain and its missing snapshot
    assert _steps_lines({"steps": [asdict(step)]}) == ["reconciliation: open: 0 breaks, 0 warnings, 2 info"]
    assert "open: 0 breaks, 0 warnings, 2 info" in (step.markdown or "")
