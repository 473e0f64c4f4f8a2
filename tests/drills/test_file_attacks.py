"""Bad files and hostile zips: each is refused with one line naming the file, and a
file with a few bad rows loads the rest and quarantines those rows with their reason.

Defects found here once: path traversal, bad CRC and unknown-header rejections did not name the file;
`1E+1000000` in an export ended the load with NumericValueOutOfRange and rejected the whole file.
"""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from kraken_etl.core.exportheader import ExportFileError
from kraken_etl.jobs.exportzip import ExportLimits, verify_export_file
from kraken_etl.jobs.fileload import import_files
from models import LedgerEntryRow, QuarantineRow

HEADER = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'


def ledger_csv(rows: int = 3, amount: str = "1.2500") -> str:
    lines = [f'"L{i:05d}","R{i:05d}","2024-01-01 00:00:{i % 60:02d}","deposit","","currency","ZEUR",'
             f"{amount},0.0000,{i}.0000\n" for i in range(rows)]
    return HEADER + "".join(lines)


def write_zip(path: Path, members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED,
              symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            if name == symlink:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, data)
    return path


def _bad_crc(path: Path) -> Path:
    write_zip(path, {"ledgers.csv": ledger_csv(50).encode()}, method=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    at = data.index(b"L00010")
    data[at] = ord("X")  # change one stored byte: the CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def _nested(path: Path) -> Path:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("ledgers.csv", ledger_csv())
    return write_zip(path, {"ledgers.csv": inner.getvalue()})


def _truncated(path: Path) -> Path:
    write_zip(path, {"ledgers.csv": ledger_csv(2000).encode()})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


ATTACKS: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "empty": ("empty.csv", lambda p: (p.write_bytes(b""), p)[1], "empty"),
    "blank lines only": ("blank.csv", lambda p: (p.write_text("\n\n  \n"), p)[1], "empty"),
    "binary": ("binary.csv", lambda p: (p.write_bytes(bytes(range(256)) * 64), p)[1], "UTF-8"),
    "NUL bytes": ("nul.csv", lambda p: (p.write_bytes(HEADER.encode() + b"\x00" * 100), p)[1], "binary"),
    "non-UTF-8": ("latin1.csv", lambda p: (p.write_bytes((ledger_csv() + "caf\xe9\n").encode("latin-1")), p)[1],
                  "UTF-8"),
    "unknown header": ("other.csv", lambda p: (p.write_text("date,amount,note\n2024-01-01,1,x\n"), p)[1],
                       "not a Kraken ledgers or trades export"),
    "repeated column": ("repeat.csv", lambda p: (p.write_text(HEADER.strip() + ',"fee"\n'), p)[1], "repeats"),
    "not a zip": ("fake.zip", lambda p: (p.write_bytes(b"PK\x03\x04 this is not a zip"), p)[1], "zip"),
    "truncated zip": ("cut.zip", _truncated, "zip"),
    "bad CRC": ("crc.zip", _bad_crc, "corrupt"),
    "path traversal": ("trav.zip", lambda p: write_zip(p, {"../../etc/ledgers.csv": ledger_csv().encode()}),
                       "path traversal"),
    "absolute name": ("abs.zip", lambda p: write_zip(p, {"/tmp/ledgers.csv": ledger_csv().encode()}),
                      "path traversal"),
    "drive letter": ("drive.zip", lambda p: write_zip(p, {"C:\\x\\ledgers.csv": ledger_csv().encode()}),
                     "path traversal"),
    "symlink": ("link.zip", lambda p: write_zip(p, {"ledgers.csv": b"/etc/passwd"}, symlink="ledgers.csv"),
                "symbolic link"),
    "two members": ("two.zip", lambda p: write_zip(p, {"a.csv": ledger_csv().encode(),
                                                     "b.csv": ledger_csv().encode()}), "exactly one"),
    "many members": ("many.zip", lambda p: write_zip(p, {f"m{i}.csv": b"x" for i in range(500)}), "members"),
    "no members": ("none.zip", lambda p: write_zip(p, {}), "exactly one"),
    "wrong member type": ("exe.zip", lambda p: write_zip(p, {"ledgers.exe": ledger_csv().encode()}),
                          "not a .csv"),
    "nested zip": ("nested.zip", _nested, "nested zip"),
    "decompression bomb": ("bomb.zip", lambda p: write_zip(p, {"ledgers.csv": HEADER.encode() + b"0" * 50_000_000}),
                           "decompression bomb"),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_bad_file_is_refused_with_one_line_naming_it(attack: str, tmp_path: Path) -> None:
    name, make, words = ATTACKS[attack]
    path = make(tmp_path / name)
    with pytest.raises(ExportFileError) as info:
        verify_export_file(path)
    message = str(info.value)
    assert name in message and words in message, message
    assert "\n" not in message


def test_a_bomb_that_lies_about_its_size_is_stopped_while_streaming(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "liar.zip", {"ledgers.csv": HEADER.encode() + b"0" * 5_000_000})
    data = bytearray(path.read_bytes())
    # rewrite the declared uncompressed size (local header and central directory) to look harmless
    small = (len(HEADER) + 10).to_bytes(4, "little")
    real = (len(HEADER) + 5_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(data).replace(real, small))
    with pytest.raises(ExportFileError) as info:
        verify_export_file(path, ExportLimits(max_ratio=10_000, max_uncompressed_bytes=1_000_000))
    assert "liar.zip" in str(info.value)


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_rejected_files_load_nothing_and_good_files_still_load(engine: Engine, tmp_path: Path) -> None:
    bad = [ATTACKS[a][1](tmp_path / ATTACKS[a][0]) for a in ("path traversal", "bad CRC", "unknown header",
                                                           "nested zip", "symlink")]
    good = write_zip(tmp_path / "good.zip", {"ledgers.csv": ledger_csv(40).encode()})
    results = import_files(engine, [*bad, good], account="main")
    for path, result in zip(bad, results, strict=False):
        assert result.error and path.name in result.error, result
    assert results[-1].error is None and results[-1].loaded == 40
    assert _count(engine, LedgerEntryRow) == 40 and _count(engine, QuarantineRow) == 0


@pytest.mark.parametrize("amount", ["1E+1000000", "1e5", "NaN", "Infinity", '"1,5"', "9" * 60, "+5", "1_000"])
def test_a_file_with_an_impossible_amount_loads_the_rest_and_quarantines_that_row(
    engine: Engine, tmp_path: Path, amount: str
) -> None:
    """`1E+1000000` ended the load with NumericValueOutOfRange and rejected the whole file."""
    text = ledger_csv(30)
    bad_row = f'"LBAD01","RBAD01","2024-01-02 00:00:00","deposit","","currency","ZEUR",{amount},0,1\n'
    path = tmp_path / "ledgers.csv"
    path.write_text(text + bad_row)
    (result,) = import_files(engine, [path], account="main")
    assert result.error is None, result.error
    assert _count(engine, LedgerEntryRow) == 30
    with engine.connect() as conn:
        rows = conn.execute(select(QuarantineRow.record_id, QuarantineRow.reason)).all()
    assert [r.record_id for r in rows] == ["LBAD01"] and rows[0].reason.startswith("amount:")


HOSTILE = ["'; DROP TABLE kraken.ledger_entry; --", "$(rm -rf /tmp/x)", "`id`", "a\\tb", "Robert'); --",
           "%s %(x)s {0}", "\u202eRTL", "x\\\\N"]


def test_names_that_look_like_sql_or_shell_are_stored_verbatim(engine: Engine, tmp_path: Path) -> None:
    header = HEADER.rstrip("\n")
    lines = [header] + [
        f'"LH{i:03d}","R{i}","2024-01-01 00:00:0{i}","deposit","{name}","currency","{name}",1.0,0,1.0'
        for i, name in enumerate(HOSTILE)
    ]
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join(lines) + "\n")
    (result,) = import_files(engine, [path], account="main")
    assert result.error is None and result.loaded == len(HOSTILE)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(LedgerEntryRow.ledger_id, LedgerEntryRow.subtype)).all())
    assert [stored[f"LH{i:03d}"] for i in range(len(HOSTILE))] == HOSTILE
    assert _count(engine, LedgerEntryRow) == len(HOSTILE)  # the table is still there
