"""Drills for the issue-15 defects in the composition layer (jobs/fileload.py, jobs/validation.py, db/load.py).
Each failed before its fix; they run in `make test`. docs/reliability.md lists what each shows.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from kraken_etl.core.exportheader import BATCH_ROWS
from kraken_etl.jobs.fileload import import_files
from models import LedgerEntryRow, QuarantineRow

HEADER = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'


def _row(ledger_id: str, amount: str, second: int = 0) -> str:
    return (f'"{ledger_id}","R-{ledger_id}","2024-01-01 00:{second // 60 % 60:02d}:{second % 60:02d}","deposit",'
            f'"","currency","ZEUR",{amount},0,1\n')


def _filler(count: int) -> str:
    return "".join(_row(f"LF{i:07d}", "1.0", i) for i in range(count))


def _amount_and_quarantine(engine: Engine, ledger_id: str) -> tuple[str, int]:
    with engine.connect() as conn:
        amount = conn.execute(select(LedgerEntryRow.amount).where(LedgerEntryRow.ledger_id == ledger_id)).scalar_one()
        held = conn.execute(select(func.count()).select_from(QuarantineRow)
                            .where(QuarantineRow.record_id == ledger_id)).scalar_one()
    return str(amount), int(held)


def test_a_conflicting_duplicate_within_one_batch_is_quarantined_first_kept(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "near.csv"
    path.write_text(HEADER + _row("LDUP", "1.0") + _filler(10) + _row("LDUP", "2.0"))
    import_files(engine, [path], account="main")
    assert _amount_and_quarantine(engine, "LDUP") == ("1.0", 1)


def test_a_conflicting_duplicate_more_than_a_batch_apart_follows_the_same_rule(engine: Engine, tmp_path: Path) -> None:
    """Found already: more than a batch apart, the later row silently overwrote the amount."""
    path = tmp_path / "far.csv"
    path.write_text(HEADER + _row("LDUP", "1.0") + _filler(BATCH_ROWS + 5) + _row("LDUP", "2.0"))
    import_files(engine, [path], account="main")
    assert _amount_and_quarantine(engine, "LDUP") == ("1.0", 1)


def test_identical_copies_are_a_no_op(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "same.csv"
    path.write_text(HEADER + _row("LSAME", "1.0") + _filler(10) + _row("LSAME", "1.0"))
    import_files(engine, [path], account="main")
    assert _amount_and_quarantine(engine, "LSAME") == ("1.0", 0)


def test_a_reimport_reports_nothing_loaded(engine: Engine, tmp_path: Path) -> None:
    """Found already: the summary said "loaded 300,000" on a re-import that inserted nothing."""
    path = tmp_path / "again.csv"
    path.write_text(HEADER + _filler(500))
    (first,) = import_files(engine, [path], account="main")
    (second,) = import_files(engine, [path], account="main")
    assert (first.inserted, first.updated) == (500, 0)
    # the summary's "new" and "changed": nothing (500 rows read, all unchanged)
    assert (second.inserted, second.updated, second.fetched) == (0, 0, 500), second


def test_three_conflicting_copies_report_what_the_quarantine_holds(engine: Engine, tmp_path: Path) -> None:
    """Found already: "quarantined 2" for three copies of one id while the table holds 1."""
    path = tmp_path / "three.csv"
    path.write_text(HEADER + _row("LTRI", "1.0") + _row("LTRI", "2.0") + _row("LTRI", "2.0") + _filler(5))
    (result,) = import_files(engine, [path], account="main")
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(QuarantineRow)).scalar_one()
    assert result.quarantined == held, (result.quarantined, held)
