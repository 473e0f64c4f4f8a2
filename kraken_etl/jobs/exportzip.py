"""Opening export files safely: Kraken's zips (verified before a byte is parsed) and plain CSV/TSV files.

A zip from Kraken (or one a person downloaded, or one a hostile party crafted) is checked before parsing:

- the file itself is under `ExportLimits.max_file_bytes`;
- it is a readable zip (corrupt or truncated → `ExportFileError`);
- it holds exactly one file member, named ``*.csv`` or ``*.tsv``, not encrypted, not a symbolic link,
  not itself a zip, with no absolute path, drive letter or ``..`` component (we never extract to disk, but
  such a name marks a malicious file); a zip listing more than 64 entries is refused before any is read;
- decompression-bomb guard: the declared ratio and size are checked up front, and the real byte count is
  checked *while streaming* (a lying header cannot get past it): at most `max_ratio` x the compressed size
  and at most `max_uncompressed_bytes` in absolute terms;
- a full verification pass (`verify_export_file`) streams the member once, so CRC errors and truncation
  surface before anything is parsed — a rejected file loads nothing.

`open_export_text` then yields the member (or the plain file) as a text stream for `core.exportrows`.
Every `ExportFileError` from here (or raised while the stream is read) names the file.
This module does no HTTP and no SQL.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TextIO

from kraken_etl.core.exportheader import ExportFileError, ExportHeader, detect_header
from kraken_etl.jobs.streams import EXPORT_ROWS

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ExportLimits:
    """Size limits for export files (defaults fit a multi-million-row account with room to spare)."""

    max_file_bytes: int = 4 << 30  # the zip or plain file on disk
    max_uncompressed_bytes: int = 16 << 30  # the CSV inside a zip
    max_ratio: int = 200  # uncompressed / compressed; real CSVs compress 5-20x


DEFAULT_LIMITS = ExportLimits()


@dataclass(frozen=True, slots=True)
class VerifiedFile:
    """What verification found: the member to read (None for a plain file), sizes, digest and header."""

    path: Path
    member: str | None
    file_size: int
    data_size: int
    sha256: str
    header: ExportHeader

    @property
    def is_zip(self) -> bool:
        return self.member is not None


class _GuardedReader(io.RawIOBase):
    """A binary reader that fails as soon as more than `cap` bytes come out of it."""

    def __init__(self, inner: IO[bytes], cap: int, what: str) -> None:
        self._inner = inner
        self._cap = cap
        self._what = what
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer)
        try:
            data = self._inner.read(len(view))
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ExportFileError(f"{self._what}: corrupt or truncated zip ({exc})") from None
        except Exception as exc:  # zlib.error and friends from a damaged deflate stream
            raise ExportFileError(f"{self._what}: corrupt or truncated zip ({exc})") from None
        self.count += len(data)
        if self.count > self._cap:
            raise ExportFileError(
                f"{self._what}: refusing it: it decompresses to more than {self._cap:,} bytes"
                " (decompression bomb?)"
            )
        view[: len(data)] = data
        return len(data)


_S_IFMT = 0o170000
_S_IFLNK = 0o120000


def _check_member(info: zipfile.ZipInfo, path: Path) -> None:
    name = info.filename
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":") or ".." in parts:
        raise ExportFileError(f"{path.name}: refusing zip member {name!r}: absolute path or '..' (path traversal)")
    if (info.external_attr >> 16) & _S_IFMT == _S_IFLNK:
        raise ExportFileError(f"{path.name}: refusing zip member {name!r}: a symbolic link")


def _named(path: Path, exc: ExportFileError) -> ExportFileError:
    """`exc` with the file's name in front, unless the message already names it."""
    text = str(exc)
    return exc if path.name in text else ExportFileError(f"{path.name}: {text}")


def _select_member(archive: zipfile.ZipFile, path: Path, limits: ExportLimits) -> zipfile.ZipInfo:
    infos = archive.infolist()
    if len(infos) > 64:
        raise ExportFileError(f"{path.name}: {len(infos):,} zip members; a Kraken export holds one file")
    for info in infos:
        _check_member(info, path)
    files = [info for info in infos if not info.is_dir()]
    if len(files) != 1:
        names = ", ".join(info.filename for info in files[:5]) or "none"
        raise ExportFileError(
            f"{path.name}: expected exactly one CSV/TSV file in the zip, found {len(files)} ({names})"
        )
    info = files[0]
    if not info.filename.lower().endswith((".csv", ".tsv")):
        raise ExportFileError(f"{path.name}: zip member {info.filename!r} is not a .csv or .tsv file")
    if info.flag_bits & 0x1:
        raise ExportFileError(f"{path.name}: zip member {info.filename!r} is encrypted")
    if info.file_size > limits.max_uncompressed_bytes:
        raise ExportFileError(
            f"refusing {path.name}: member declares {info.file_size:,} bytes,"
            f" limit {limits.max_uncompressed_bytes:,}"
        )
    if info.file_size > max(info.compress_size, 1) * limits.max_ratio:
        raise ExportFileError(
            f"refusing {path.name}: compression ratio above {limits.max_ratio} (decompression bomb?)"
        )
    return info


def _member_cap(info: zipfile.ZipInfo, limits: ExportLimits) -> int:
    # Whatever the header claims, never more than ratio x compressed and never more than the absolute cap.
    return min(limits.max_uncompressed_bytes, max(info.compress_size, 1) * limits.max_ratio)


def _check_file_size(path: Path, limits: ExportLimits) -> int:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ExportFileError(f"cannot read {path}: {exc.strerror}") from None
    if size > limits.max_file_bytes:
        raise ExportFileError(f"refusing {path.name}: {size:,} bytes, limit {limits.max_file_bytes:,}")
    return size


def _sniff_zip(path: Path) -> bool:
    with path.open("rb") as handle:
        magic = handle.read(4)
    return magic in (ZIP_MAGIC, EMPTY_ZIP_MAGIC) or path.suffix.lower() == ".zip"


@contextmanager
def _open_zip(path: Path) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ExportFileError(f"{path.name}: corrupt or truncated zip ({exc})") from None
    with archive:
        yield archive


@contextmanager
def _binary_stream(path: Path, limits: ExportLimits) -> Iterator[tuple[IO[bytes], str | None]]:
    if not _sniff_zip(path):
        with path.open("rb") as handle:
            yield handle, None
        return
    with _open_zip(path) as archive:
        info = _select_member(archive, path, limits)
        try:
            member = archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise ExportFileError(f"{path.name}: cannot open zip member ({exc})") from None
        with member:
            guarded = _GuardedReader(member, _member_cap(info, limits), path.name)
            yield io.BufferedReader(guarded, buffer_size=_CHUNK), info.filename


def verify_export_file(path: str | Path, limits: ExportLimits = DEFAULT_LIMITS) -> VerifiedFile:
    """Check a zip/CSV/TSV export completely (one streaming pass) before anything is parsed or loaded.

    Args:
        path: a Kraken export zip, or a CSV/TSV file.
        limits: size and ratio limits.

    Returns:
        The verified member, sizes, the file's SHA-256 and its header (kind and format).

    Raises:
        ExportFileError: corrupt or truncated zip, wrong member count or name, path traversal, encryption,
            size/ratio limits exceeded, not UTF-8, or a header that is not a Kraken ledgers/trades header.
    """
    path = Path(path)
    try:
        return _verify(path, limits)
    except ExportFileError as exc:
        raise _named(path, exc) from None


def _verify(path: Path, limits: ExportLimits) -> VerifiedFile:
    size = _check_file_size(path, limits)
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    data_size = 0
    first = b""
    decoder = _Utf8Check(path.name)
    with _binary_stream(path, limits) as (stream, member):
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            if len(first) < 64 * 1024:
                first += chunk[: 64 * 1024]
            if member is not None and first.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
                raise ExportFileError(f"{path.name}: zip member {member!r} is itself a zip (nested zip)")
            data_size += len(chunk)
            decoder.feed(chunk)
            if b"\x00" in chunk:
                raise ExportFileError(f"{path.name}: binary data (NUL bytes), not a CSV/TSV export")
        decoder.finish()
    header = detect_header(_header_line(first, path.name), EXPORT_ROWS)
    return VerifiedFile(path, member, size, data_size, digest.hexdigest(), header)


class _Utf8Check:
    """Incremental UTF-8 validation (a file that is not text fails verification, not mid-load)."""

    def __init__(self, name: str) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._name = name

    def feed(self, chunk: bytes) -> None:
        try:
            self._utf8.decode(chunk)
        except UnicodeDecodeError as exc:
            raise ExportFileError(f"{self._name}: not UTF-8 text ({exc.reason})") from None

    def finish(self) -> None:
        try:
            self._utf8.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise ExportFileError(f"{self._name}: not UTF-8 text ({exc.reason})") from None


def _header_line(first: bytes, name: str) -> str:
    text = first.decode("utf-8", errors="replace").lstrip("\ufeff")
    for line in text.splitlines():
        if line.strip():
            return line
    raise ExportFileError(f"{name}: empty export file: no header line")


@contextmanager
def open_export_text(path: str | Path, limits: ExportLimits = DEFAULT_LIMITS) -> Iterator[TextIO]:
    """The export's CSV/TSV text as a stream (the zip member, or the plain file), guarded while read.

    Call `verify_export_file` first: this opens the same checks again but only fails mid-stream.

    Raises:
        ExportFileError: as `verify_export_file`, when the file changed since it was verified.
    """
    path = Path(path)
    try:
        _check_file_size(path, limits)
        with _binary_stream(path, limits) as (stream, _member):
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
            try:
                yield text
            finally:
                text.detach()
    except ExportFileError as exc:  # raised by the checks, or by the reader of the stream mid-file
        raise _named(path, exc) from None
