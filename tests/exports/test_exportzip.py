"""Zip verification: corrupt, truncated, two members, path traversal, bombs, encryption — built here."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from kraken_etl.core.exportheader import ExportFileError
from kraken_etl.core.exportrows import iter_cell_batches
from kraken_etl.jobs.exportzip import ExportLimits, open_export_text, verify_export_file
from kraken_etl.jobs.streams import EXPORT_ROWS

HEADER = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'
ROW = '"L{i:05d}","R1","2024-01-01 00:00:00","deposit","","currency","ZEUR",1.0000,0.0000,{i}.0000\n'


def ledger_csv(rows: int = 3) -> str:
    return HEADER + "".join(ROW.format(i=i) for i in range(rows))


def make_zip(path: Path, members: dict[str, str | bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_good_zip_verifies_and_streams(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "export.zip", {"ledgers.csv": ledger_csv(5)})
    verified = verify_export_file(path)
    assert verified.is_zip and verified.member == "ledgers.csv"
    assert verified.header.kind == "ledgers" and verified.header.format == "CSV"
    assert verified.data_size == len(ledger_csv(5).encode())
    assert len(verified.sha256) == 64
    with open_export_text(path) as text:
        batches = list(iter_cell_batches(text, EXPORT_ROWS))
    assert sum(len(b.values) for b in batches) == 5


def test_directory_entries_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(zipfile.ZipInfo("report/"), b"")
        archive.writestr("report/ledgers.tsv", ledger_csv().replace(",", "\t"))
    assert verify_export_file(path).header.format == "TSV"


def test_plain_csv_and_tsv(tmp_path: Path) -> None:
    csv_path = tmp_path / "ledgers.csv"
    csv_path.write_text(ledger_csv(), encoding="utf-8")
    verified = verify_export_file(csv_path)
    assert not verified.is_zip and verified.header.kind == "ledgers"


def test_zip_without_zip_suffix_is_sniffed(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "download.bin", {"ledgers.csv": ledger_csv()})
    assert verify_export_file(path).is_zip


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("../../etc/ledgers.csv", "path traversal"),
        ("/abs/ledgers.csv", "path traversal"),
        ("C:/x/ledgers.csv", "path traversal"),
        ("..\\..\\ledgers.csv", "path traversal"),
        ("ledgers.txt", "not a .csv or .tsv"),
    ],
)
def test_malicious_or_wrong_member_names(tmp_path: Path, name: str, match: str) -> None:
    path = make_zip(tmp_path / "bad.zip", {name: ledger_csv()})
    with pytest.raises(ExportFileError, match=match):
        verify_export_file(path)


def test_two_members(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "two.zip", {"a.csv": ledger_csv(), "b.csv": ledger_csv()})
    with pytest.raises(ExportFileError, match="exactly one"):
        verify_export_file(path)


def test_empty_zip(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "empty.zip", {})
    with pytest.raises(ExportFileError, match="exactly one"):
        verify_export_file(path)


def test_corrupt_bytes(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 100)
    with pytest.raises(ExportFileError, match="corrupt or truncated"):
        verify_export_file(path)


def test_truncated_zip(tmp_path: Path) -> None:
    good = make_zip(tmp_path / "good.zip", {"ledgers.csv": ledger_csv(2000)})
    data = good.read_bytes()
    path = tmp_path / "truncated.zip"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportFileError, match="corrupt or truncated"):
        verify_export_file(path)


def test_damaged_member_data_fails_crc(tmp_path: Path) -> None:
    good = make_zip(tmp_path / "good.zip", {"ledgers.csv": ledger_csv(200)}, method=zipfile.ZIP_STORED)
    data = bytearray(good.read_bytes())
    offset = data.index(b"L00100")
    data[offset : offset + 6] = b"LXXXXX"
    path = tmp_path / "crc.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ExportFileError, match="corrupt"):
        verify_export_file(path)


def test_bomb_by_declared_ratio(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "bomb.zip", {"ledgers.csv": HEADER + "0" * 5_000_000})
    with pytest.raises(ExportFileError, match="decompression bomb"):
        verify_export_file(path)


def test_bomb_with_lying_header_is_caught_while_streaming(tmp_path: Path) -> None:
    """A member whose header claims a small size: the streaming count stops it anyway."""
    payload = (HEADER + "0" * 3_000_000).encode()
    path = make_zip(tmp_path / "liar.zip", {"ledgers.csv": payload})
    data = bytearray(path.read_bytes())
    # rewrite the uncompressed size in the local header (offset 22) and the central directory entry
    local_size = struct.unpack_from("<I", data, 22)[0]
    assert local_size == len(payload)
    struct.pack_into("<I", data, 22, 100)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)
    path.write_bytes(bytes(data))
    with pytest.raises(ExportFileError, match=r"decompression bomb|corrupt"):
        verify_export_file(path)


def test_absolute_uncompressed_cap(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "big.zip", {"ledgers.csv": ledger_csv(2000)})
    with pytest.raises(ExportFileError, match=r"limit|more than"):
        verify_export_file(path, ExportLimits(max_uncompressed_bytes=10_000))


def test_file_size_limit(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "big.zip", {"ledgers.csv": ledger_csv(200)})
    with pytest.raises(ExportFileError, match="limit"):
        verify_export_file(path, ExportLimits(max_file_bytes=100))


def test_encrypted_member_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "enc.zip", {"ledgers.csv": ledger_csv()}, method=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[6] |= 0x1  # general purpose flag bit 0 in the local header ...
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # ... and in the central directory
    path.write_bytes(bytes(data))
    with pytest.raises(ExportFileError, match="encrypted"):
        verify_export_file(path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + b'"L1","R\xe9","2024-01-01 00:00:00","deposit","","currency","ZEUR",1,0,1\n')
    with pytest.raises(ExportFileError, match="not UTF-8"):
        verify_export_file(path)


def test_not_an_export(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "other.zip", {"report.csv": "a,b,c\n1,2,3\n"})
    with pytest.raises(ExportFileError, match="not a Kraken"):
        verify_export_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExportFileError, match="cannot read"):
        verify_export_file(tmp_path / "nope.zip")
