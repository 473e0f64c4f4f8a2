"""A ledger id (or trade txid) written differently never loads as a second row: ``ID ``, `` ID``, ``id``,
``ID\\u200b`` next to a stored ``ID`` are quarantined as look-alikes naming both ids, through the file
import (fast COPY path and merge path, in one batch or batches apart) and through the REST path
(validation and the loader); genuine ids, mixed case included, all still load."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.db.load import upsert_records
from kraken_etl.jobs.fileload import import_files
from kraken_etl.jobs.streams import BY_NAME
from kraken_etl.jobs.validation import validate_batch
from kraken_etl.recon.runner import reconcile

HEADER = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'
ID = "LQ2VYM-4TOQK-DB6BXV"
LOOKALIKES = [f"{ID} ", f" {ID}", ID.lower(), f"{ID}\u200b", f"{ID}\u202e", f"\t{ID}", f"{ID}\u00a0"]


def _row(ledger_id: str, n: int = 1) -> str:
    quoted = ledger_id.replace('"', '""')
    return (f'"{quoted}","FTQqzsk-V6Za8qrWnhzTx67rYHz8T{n}","2024-01-01 00:00:{n:02d}","deposit","","currency",'
            f'"ZEUR",100.0000,0.0000,{100 * n}.0000\n')


def _stored(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT ledger_id FROM kraken.ledger_entry ORDER BY ledger_id")).scalars())


def _reasons(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT reason FROM kraken.quarantine ORDER BY id")).scalars())


def _names_both(reason: str, lookalike: str) -> bool:
    return "look-alike id" in reason and ascii(lookalike) in reason and (ascii(ID) in reason or
                                                                         ascii(ID.lower()) in reason)


def test_reimporting_a_stored_row_with_its_id_written_differently_adds_no_row(engine: Engine,
                                                                             tmp_path: Path) -> None:
    first = tmp_path / "ledgers.csv"
    first.write_text(HEADER + _row(ID))
    assert import_files(engine, [first], account="acct")[0].inserted == 1
    again = tmp_path / "again.csv"  # the merge path: the account has rows
    again.write_text(HEADER + "".join(_row(lookalike) for lookalike in LOOKALIKES))
    (result,) = import_files(engine, [again], account="acct")
    assert _stored(engine) == [ID]
    assert (result.inserted, result.quarantined) == (0, len(LOOKALIKES))
    reasons = _reasons(engine)
    assert len(reasons) == len(LOOKALIKES)
    for lookalike in LOOKALIKES:
        assert any(_names_both(r, lookalike) for r in reasons), (lookalike, reasons)
    with engine.connect() as conn:
        balance = conn.execute(text("SELECT sum(amount) FROM kraken.ledger_entry")).scalar_one()
    assert balance == Decimal("100.0000")


@pytest.mark.parametrize("batch_rows", [1_000, 1], ids=["same batch", "batches apart"])
def test_lookalikes_within_one_new_file_keep_the_first_id_only(engine: Engine, tmp_path: Path,
                                                               batch_rows: int) -> None:
    path = tmp_path / "ledgers.csv"  # a new account: the fast COPY path
    path.write_text(HEADER + _row(ID) + "".join(_row(lookalike) for lookalike in LOOKALIKES))
    (result,) = import_files(engine, [path], account="fresh", batch_rows=batch_rows)
    assert _stored(engine) == [ID]
    assert (result.inserted, result.quarantined) == (1, len(LOOKALIKES))
    assert all("look-alike id" in r for r in _reasons(engine))


def test_genuine_ids_all_load_mixed_case_and_odd_alphabets_included(engine: Engine, tmp_path: Path) -> None:
    genuine = [ID, "LMKZCZ-Z3GVL-CXKK4H", "FTQqzsk-V6Za8qrWnhzTx67rYHz8Tg", "FTQqzsk-V6Za8qrWnhzTx67rYHz8Th",
               "QCCA6ZN-5V5YRZ-GFXN7W", "L-with-a-new-format-2030", "Lé-non-ascii-but-visible"]
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + "".join(_row(g, n) for n, g in enumerate(genuine, start=1)))
    (result,) = import_files(engine, [path], account="acct", batch_rows=2)
    assert (result.inserted, result.quarantined) == (len(genuine), 0)
    again = tmp_path / "again.csv"  # re-importing them exactly: unchanged, nothing quarantined
    again.write_text(path.read_text())
    (second,) = import_files(engine, [again], account="acct")
    assert (second.inserted, second.quarantined, second.loaded) == (0, 0, len(genuine))
    assert sorted(_stored(engine)) == sorted(genuine) and _reasons(engine) == []


def _entry(ledger_id: str, n: int = 1) -> object:
    return parse_ledger_entry(ledger_id, {
        "refid": f"TJKLXF-PGMUI-4NTLX{n}", "time": f"168846448{n}.1787", "type": "deposit", "subtype": "",
        "aclass": "currency", "asset": "ZEUR", "amount": "100.0000", "fee": "0.0000", "balance": "100.0000"})


def test_the_rest_path_refuses_lookalikes_in_a_batch_and_of_stored_ids(engine: Engine) -> None:
    spec = BY_NAME["ledgers"]
    batch = validate_batch(spec, [_entry(ID), _entry(f"{ID}\u200b", 2), _entry(ID.lower(), 3)])
    assert [r.ledger_id for r in batch.valid] == [ID]  # type: ignore[attr-defined]
    assert [r.reason.split(":")[0] for r in batch.rejected] == [f"look-alike id {ID + chr(0x200b)!a}",
                                                                f"look-alike id {ID.lower()!a} of {ID!a} "
                                                                "(earlier in the same batch)"]
    with engine.begin() as conn:
        upsert_records(conn, "acct", spec.target, batch.valid, "rest")
    later = validate_batch(spec, [_entry(ID.lower(), 3), _entry("LMKZCZ-Z3GVL-CXKK4H", 4)])
    assert len(later.valid) == 2  # nothing to compare with inside this batch: the loader compares with stored
    with engine.begin() as conn:
        counts = upsert_records(conn, "acct", spec.target, later.valid, "rest")
    assert counts.inserted == 1 and [item[:2] for item in counts.lookalikes] == [(ID.lower(), ID)]
    assert _stored(engine) == ["LMKZCZ-Z3GVL-CXKK4H", ID]
    assert [_names_both(r, ID.lower()) for r in _reasons(engine)] == [True]


def test_asset_codes_with_invisible_or_bidi_characters_load_and_are_a_coverage_finding(engine: Engine,
                                                                                       tmp_path: Path) -> None:
    codes = ["\u202eCTB", "B\u200bTC", "ZEUR"]
    path = tmp_path / "ledgers.csv"
    path.write_text(HEADER + "".join(
        f'"L{n}QQQQ-AAAAA-BBBBBB","R{n}","2024-01-01 00:00:0{n}","deposit","","currency","{code}",1.0000,0.0000,'
        f'1.0000\n' for n, code in enumerate(codes, start=1)))
    (result,) = import_files(engine, [path], account="acct")
    assert (result.inserted, result.quarantined) == (3, 0)  # loaded, never rejected
    found = reconcile(engine, "acct", checks=["coverage"], full=True)
    hidden = [f for f in found.open_findings if f.kind == "hidden_characters_asset"]
    assert sorted(f.message.split(" holds")[0] for f in hidden) == ["asset code 'B\\u200bTC'",
                                                                   "asset code '\\u202eCTB'"]
    assert all(f.severity == "warning" and f.message.isascii() for f in hidden)
    assert "display as 'BTC'" in " ".join(f.message for f in hidden)
