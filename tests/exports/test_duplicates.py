"""One rule for a repeated id in a file, near or far apart: the first copy is kept; an identical copy is a
no-op; a conflicting copy is quarantined with its reason, never merged over the first."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.fileload import import_files

HEADER = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'


def _row(n: int, amount: str = "10.0000") -> str:
    return (f'"L{n:05d}-AAAAA-BBBBBB","R{n:05d}-CCCCC-DDDDDD","2021-01-01 00:{n // 60:02d}:{n % 60:02d}",'
            f'"deposit","","currency","ZEUR",{amount},0.0000,{100 + n}.0000\n')


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _amounts(engine: Engine) -> dict[str, Decimal]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT ledger_id, amount FROM kraken.ledger_entry")).all())  # type: ignore[arg-type]


def _reasons(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT reason FROM kraken.quarantine ORDER BY id")).scalars())


@pytest.mark.parametrize("batch_rows", [1_000, 2], ids=["same batch", "batches apart"])
def test_identical_copies_are_a_no_op(engine: Engine, tmp_path: Path, batch_rows: int) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + _row(1) + _row(2) + _row(1) + _row(3) + _row(4) + _row(1))
    (result,) = import_files(engine, [path], account="acct", batch_rows=batch_rows)
    assert result.error is None
    assert (result.fetched, result.inserted, result.quarantined) == (6, 4, 0)
    assert result.details["identical_copies"] == 2
    assert len(_amounts(engine)) == 4 and _reasons(engine) == []


@pytest.mark.parametrize("batch_rows", [1_000, 2], ids=["same batch", "batches apart"])
def test_a_conflicting_copy_is_quarantined_and_the_first_copy_kept(
    engine: Engine, tmp_path: Path, batch_rows: int
) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + _row(1, "10.0000") + _row(2) + _row(3) + _row(4) + _row(1, "99.0000"))
    (result,) = import_files(engine, [path], account="acct", batch_rows=batch_rows)
    assert (result.inserted, result.quarantined) == (4, 1)
    assert _amounts(engine)["L00001-AAAAA-BBBBBB"] == Decimal("10.0000"), "the first copy wins"
    (reason,) = _reasons(engine)
    assert "conflicting copy of L00001-AAAAA-BBBBBB" in reason


def test_a_reimport_inserts_nothing_and_says_so(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + "".join(_row(n) for n in range(1, 8)))
    import_files(engine, [path], account="acct", batch_rows=3)
    (again,) = import_files(engine, [path], account="acct", batch_rows=3)
    assert (again.fetched, again.inserted, again.updated, again.loaded, again.quarantined) == (7, 0, 0, 7, 0)
