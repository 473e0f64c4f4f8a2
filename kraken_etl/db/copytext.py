"""The one COPY text writer of the loader: one line per row, built in Python (pure, no connection).

Two inputs, one format: records (`line_builder`: REST sync, an amend, a test) and an export file's rows
kept as text (`cell_lines`: a file import, where a stored numeric is the text Kraken wrote, with no
Decimal or datetime per cell). Both write ``account, <the target's columns>, flags, source, raw``.

COPY's text format (PostgreSQL docs, "COPY … File Formats → Text Format"): tab-separated, ``\\N`` for NULL,
and backslash, newline, carriage return and tab escaped with a backslash. Building the lines here is several
times cheaper than psycopg's per-row `write_row` (measured: bench/bench_import.py). The SQL that reads them
lives in `kraken_etl.db.load` (merge) and `kraken_etl.db.cellcopy` (direct COPY).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

import orjson

from kraken_etl.core.money import dumps
from kraken_etl.core.records import ClosedOrder, LedgerEntry, OrderAmend, Trade

Record = LedgerEntry | Trade | ClosedOrder | OrderAmend

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_NULL = "\\N"
COPY_CHUNK_ROWS = 5_000  # lines joined per write to the COPY stream


def copy_str(value: str) -> str:
    if "\\" in value or not value.isprintable():
        return value.translate(_COPY_ESCAPES)
    return value


def _array_item(value: Any) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _copy_bool(value: bool) -> str:
    return "t" if value else "f"


def _copy_null(value: None) -> str:
    return _NULL


def _copy_array(value: tuple[Any, ...] | list[Any]) -> str:
    return copy_str("{" + ",".join(_array_item(item) for item in value) + "}")


# One formatter per Python type: a dict lookup per cell instead of a chain of type tests (a million-row
# import formats ~15 million cells).
_FORMATTERS: dict[type, Callable[[Any], str]] = {
    str: copy_str, Decimal: str, int: str, bool: _copy_bool, datetime: datetime.isoformat,
    type(None): _copy_null, tuple: _copy_array, list: _copy_array,
}


def copy_text(value: Any) -> str:
    """One value in COPY text format (the same text psycopg's dumpers send for these types)."""
    formatter = _FORMATTERS.get(type(value))
    if formatter is None:  # a subclass (e.g. a str enum): the first matching base type's formatter
        formatter = next((f for kind, f in _FORMATTERS.items() if isinstance(value, kind)), None)
        if formatter is None:
            raise TypeError(f"no COPY text form for {type(value).__name__}")
    return formatter(value)


def _decimal_as_string(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _raw_json(raw: Any) -> str:
    """The raw record as JSON for the ``raw`` JSONB column: Decimals as strings, like `money.dumps`.

    orjson is ~7x faster than the standard encoder here (a million-row import writes a million of these);
    its output can differ from `money.dumps` only in spelling (non-ASCII written as UTF-8 instead of
    ``\\u`` escapes), never in the JSONB value. What orjson refuses (integers beyond 64 bits) goes through
    `money.dumps`.
    """
    try:
        return orjson.dumps(raw, default=_decimal_as_string).decode()
    except orjson.JSONEncodeError:
        return dumps(raw)


def line_builder(columns: list[str]) -> Callable[[Record, str, str, str], str]:
    """A function (record, account cell, source cell, flags cell) → one COPY line, for these columns.

    The record attributes are read with one `attrgetter` call; `account`, `source`, `flags` and `raw` are
    not record attributes taken as they are (raw is written as JSON).
    """
    special = ("account", "source", "flags", "raw")
    names = [name for name in columns if name not in special]
    getter = attrgetter(*names)
    inserts = [(position, name) for position, name in enumerate(columns) if name in special]
    formatters = _FORMATTERS
    fallback = copy_text

    def build(record: Record, account: str, source: str, flags: str) -> str:
        cells = [(formatters.get(type(v)) or fallback)(v) for v in getter(record)]
        given = {"account": account, "source": source, "flags": flags}
        for position, name in inserts:  # ascending positions: each insert lands where the column is
            # raw: JSON escapes control characters itself; COPY needs its backslashes doubled
            cell = _raw_json(record.raw).replace("\\", "\\\\") if name == "raw" else given[name]
            cells.insert(position, cell)
        return "\t".join(cells) + "\n"

    return build


def chunked(lines: list[str]) -> list[str]:
    """The lines joined, `COPY_CHUNK_ROWS` per chunk (one write to the COPY stream each)."""
    return ["".join(lines[i:i + COPY_CHUNK_ROWS]) for i in range(0, len(lines), COPY_CHUNK_ROWS)]


def cell_lines(account: str, rows: Sequence[tuple[tuple[Any, ...], list[str], tuple[str, ...]]],
               names: Sequence[str], source: str) -> list[str]:
    """One COPY line per row given as (column texts, raw cells, flags); `names` are the raw cells' names.

    A column text is a str, a tuple of str (an array) or None (NULL); `raw` is the cells as a JSON object.
    """
    head = copy_str(account) + "\t"
    tail_source = "\t" + source + "\t"
    no_flags = copy_text(())
    names = tuple(names)
    dumps = orjson.dumps
    lines: list[str] = []
    append = lines.append
    for values, cells, flags in rows:
        joined = "".join(cells)  # every column text derives from these cells: one escape test per row
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            body = "\t".join([copy_text(v) for v in values])
        else:
            body = "\t".join([v if v.__class__ is str else (_NULL if v is None else copy_text(v))
                              for v in values])
        raw = dumps(dict(zip(names, cells, strict=False))).decode()  # rows of the header width
        if "\\" in raw:
            raw = raw.replace("\\", "\\\\")
        append(head + body + "\t" + (copy_text(flags) if flags else no_flags) + tail_source + raw + "\n")
    return lines
