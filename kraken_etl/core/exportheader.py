"""The header line of a Kraken export file: its kind (ledgers or trades), its delimiter, its columns.

Pure. Columns are found by header NAME, never by position (see `kraken_etl.core.exportrows` for the layout
facts); a header that is neither a ledgers nor a trades header raises `ExportFileError` before any row is
read.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, TextIO

from kraken_etl.core.errors import KrakenEtlError

ExportKind = Literal["ledgers", "trades"]

BATCH_ROWS = 20_000
PENDING_REASON = "pending row: not a ledger entry (empty txid)"

# The position id column: `postxid` in most files, `posttxid` in one real header.
POSTXID_COLUMNS = ("postxid", "posttxid")


class Reader(Protocol):
    """What header detection needs of a kind's row reader: the columns a header must have to be read as
    that kind (every real variant has them)."""

    @property
    def required(self) -> tuple[str, ...]: ...


class ExportFileError(KrakenEtlError, ValueError):
    """An export file (or its zip) cannot be read at all; nothing from it is loaded."""


class RowError(KrakenEtlError, ValueError):
    """One row cannot become a record; the message is the quarantine reason."""


@dataclass(frozen=True, slots=True)
class ExportHeader:
    """What the header line says: the kind, the delimiter and the column names (normalised)."""

    kind: ExportKind
    delimiter: str
    columns: tuple[str, ...]

    @property
    def format(self) -> str:
        return "TSV" if self.delimiter == "\t" else "CSV"


def _split_header(line: str) -> tuple[str, list[str]]:
    line = line.lstrip("\ufeff").rstrip("\r\n")
    delimiter = "\t" if "\t" in line else ","
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return delimiter, [cell.strip().lstrip("\ufeff").strip().lower() for cell in cells]


def detect_header(line: str, readers: Mapping[ExportKind, Reader]) -> ExportHeader:
    """Read the header line of an export file.

    Args:
        line: the first non-blank line of the file (BOM and line ending allowed).
        readers: the reader of each kind; the kind is the one whose required columns are all present (the
            kind requiring more columns first, so a header with both sets is the more specific kind).

    Returns:
        The kind, delimiter and normalised (lower-case, unquoted) column names.

    Raises:
        ExportFileError: when the line is no kind's header, or repeats a column.
    """
    delimiter, columns = _split_header(line)
    if len(set(columns)) != len(columns):
        raise ExportFileError(f"export header repeats a column: {columns}")
    present = set(columns)
    kinds = sorted(readers, key=lambda k: -len(readers[k].required))
    for kind in kinds:
        if all(name in present for name in readers[kind].required):
            return ExportHeader(kind=kind, delimiter=delimiter, columns=tuple(columns))
    lacks = " / ".join(f"{', '.join(n for n in readers[k].required if n not in present)} ({k})"
                       for k in sorted(readers))
    raise ExportFileError(f"not a Kraken {' or '.join(sorted(readers))} export: header lacks {lacks}")


def first_line(stream: TextIO) -> tuple[str, int]:
    for number, line in enumerate(stream, start=1):
        if line.strip().lstrip("\ufeff").strip():
            return line, number
    raise ExportFileError("empty export file: no header line")


_EPOCH = datetime(1970, 1, 1)  # naive: export times are naive UTC strings


def split_time(text: str) -> tuple[datetime, int, str]:
    """An export time (``2024-03-19 19:43:31`` or with a fraction of any length) checked and split into
    (the whole second as a naive datetime, its unix seconds, the fraction digits as written).

    Raises:
        RowError: when the text is not such a time.
    """
    head, dot, frac = text.partition(".")
    if len(head) != 19 or head[10] != " " or (dot and not frac.isdigit()):
        raise RowError(f"time: {text!r} is not 'YYYY-MM-DD HH:MM:SS[.fraction]'")
    try:
        whole = datetime.fromisoformat(head)
    except ValueError:
        raise RowError(f"time: {text!r} is not a valid time") from None
    delta = whole - _EPOCH
    return whole, delta.days * 86_400 + delta.seconds, frac
