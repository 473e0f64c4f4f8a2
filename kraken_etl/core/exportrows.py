"""Kraken export files (ledgers or trades, CSV or TSV) read in batches, each cell kept as text (pure).

Per row the reader derives the tuple of column texts the target table stores (the stream's export
columns, `RowReader.columns`; None is NULL), and keeps the cells for `raw`. It never touches the
network, the database or the clock, and it never holds more than one batch. The numbers are NOT checked
here: the validation step (`jobs.cellcheck`, pandera) checks whole columns against Kraken's number grammar
at once, and a stored numeric is then exactly the text of the file (value and scale).

Layout facts it relies on (Kraken's export documentation and support articles; observed in real files 2020-2026):

- Columns are found by header NAME, never by position: Kraken added `wallet`, `amountusd` (2024),
  `subclass` (late 2025) and USD columns, and the trades file gains position columns (`postxid`, spelled
  `posttxid` with an extra `posstatuscode` in one real header), `costusd`, `aclass`/`subclass`.
- The kind (ledgers or trades) is read from the header; the delimiter too (tab → TSV).
- CRLF or LF, a UTF-8 BOM, blank lines between groups and a missing trailing newline all occur.
- Ledger times have no fraction, trade times four digits. The raw time keeps exactly the digits the file
  gave (``1688464484``, ``1710877411.6798``), so the loader can tell a less precise source from a more
  precise one and keep the finer value (docs/backfill.md, "one truth from three sources"); the timestamp
  is truncated to microseconds (PostgreSQL's precision).
- The asset is translated to its REST id, prose order types to REST's names, `ledgers` is one
  comma-joined cell.
- **Pending ledger rows** (2020-2022 files): a deposit/withdrawal/staking reward first appears with an
  empty `txid` and an empty `balance`, then again as the real, credited row. The pending row is not a
  ledger entry (it has no ledger id, and summing it doubles the movement), so it is returned as a
  `Rejected` with reason ``pending row: not a ledger entry (empty txid)`` and goes to quarantine: kept for
  audit, never loaded as an entry, never silently dropped.

Rows that cannot be read (empty id, bad time, wrong field count) become `Rejected` with a reason; a header
that is neither a ledgers nor a trades header raises `ExportFileError` before any row is read.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from kraken_etl.core.assets import rest_asset
from kraken_etl.core.exportheader import (
    BATCH_ROWS,
    PENDING_REASON,
    POSTXID_COLUMNS,
    ExportFileError,
    ExportHeader,
    ExportKind,
    RowError,
    detect_header,
    first_line,
    split_time,
)
from kraken_etl.core.records import Rejected

Value = str | tuple[str, ...] | None
Converter = Callable[[list[str]], tuple[Value, ...]]


@dataclass(frozen=True, slots=True)
class RowReader:
    """How one export report's rows become target column texts: the header columns it needs (which also
    tell its kind), the target columns, and the converter that fills them in this order for a given header
    (the loader checks the columns against the table)."""

    required: tuple[str, ...]
    columns: tuple[str, ...]
    converter: Callable[[tuple[str, ...]], Converter]


# The trades export writes order types in prose (Kraken's trades export); REST uses these names.
REST_ORDERTYPES: dict[str, str] = {
    "stop market": "stop-loss", "touched market": "take-profit", "stop limit": "stop-loss-limit",
    "touched limit": "take-profit-limit", "trailing stop": "trailing-stop",
    "trailing stop limit": "trailing-stop-limit", "settle position": "settle-position",
}


@dataclass(slots=True)
class CellBatch:
    """One chunk of a file as text: per kept row its cells (for `raw`) and its column texts."""

    kind: ExportKind
    columns: tuple[str, ...]  # the header's column names (the keys of `raw`)
    cells: list[list[str]] = field(default_factory=list)
    values: list[tuple[Value, ...]] = field(default_factory=list)  # in its `RowReader.columns` order
    rejected: list[Rejected] = field(default_factory=list)
    rows: int = 0  # data rows read into this batch (kept + rejected)

    def raw(self, index: int) -> dict[str, str]:
        """The row as Kraken wrote it, by column name (what `raw` stores)."""
        return dict(zip(self.columns, self.cells[index], strict=True))


def time_texts(text: str) -> tuple[str, str]:
    """An export time to (timestamptz text truncated to microseconds, raw unix seconds as written).

    ``2024-03-19 19:43:31`` → ``1710877411``; a fraction keeps exactly its digits in the raw value.

    Raises:
        RowError: when the text is not such a time.
    """
    _, seconds, frac = split_time(text)
    head = text[:19]  # split_time checked it is a whole second
    if frac:
        return f"{head}.{frac[:6]}+00", f"{seconds}.{frac}"
    return f"{head}+00", str(seconds)


def ledger_converter(columns: tuple[str, ...]) -> Converter:
    at = {name: i for i, name in enumerate(columns)}
    txid, refid, time, kind, asset = at["txid"], at["refid"], at["time"], at["type"], at["asset"]
    amount, fee, balance = at["amount"], at["fee"], at["balance"]
    subtype, aclass, subclass, wallet = (at.get(n) for n in ("subtype", "aclass", "subclass", "wallet"))
    assets: dict[str, str] = {}  # a file has few distinct assets

    def convert(cells: list[str]) -> tuple[Value, ...]:
        ledger_id = cells[txid]
        if not ledger_id:
            raise RowError(PENDING_REASON)
        moment, raw_time = time_texts(cells[time])
        code = cells[asset]
        rest = assets.get(code)
        if rest is None:
            rest = assets[code] = rest_asset(code)
        return (ledger_id, cells[refid] or None, moment, raw_time, cells[kind],
                "" if subtype is None else cells[subtype], "currency" if aclass is None else cells[aclass],
                None if subclass is None else cells[subclass] or None, rest,
                None if wallet is None else cells[wallet] or None,
                cells[amount], cells[fee], cells[balance] or None)

    return convert


# A position's amounts in the trades export (and TradesHistory), in the trade table's column order.
POSITION_AMOUNTS = ("cprice", "ccost", "cfee", "cvol", "cmargin", "net")


def _unplus(cell: str) -> str:
    """A position's `net` may be written with a leading ``+``; the number without it."""
    return cell[1:] if cell.startswith("+") else cell


def trade_converter(columns: tuple[str, ...]) -> Converter:
    at = {name: i for i, name in enumerate(columns)}
    txid, ordertxid, pair, time, kind, ordertype = (at[n] for n in ("txid", "ordertxid", "pair", "time", "type",
                                                                    "ordertype"))
    price, cost, fee, vol = (at[n] for n in ("price", "cost", "fee", "vol"))
    postxid = [at[n] for n in POSTXID_COLUMNS if n in at]
    margin, misc, ledgers = at.get("margin"), at.get("misc"), at.get("ledgers")
    position = [at.get(n) for n in ("posstatus", *POSITION_AMOUNTS)]
    closing = at.get("trades")

    def convert(cells: list[str]) -> tuple[Value, ...]:
        trade_id = cells[txid]
        if not trade_id:
            raise RowError("txid: empty trade id")
        moment, raw_time = time_texts(cells[time])
        posid = next((cells[i] for i in postxid if cells[i]), None)
        ids = None
        if ledgers is not None and cells[ledgers]:
            ids = tuple(part.strip() for part in cells[ledgers].split(",") if part.strip()) or None
        kind_text = cells[ordertype]
        closed_by = None
        if closing is not None and cells[closing]:
            closed_by = tuple(part.strip() for part in cells[closing].split(",") if part.strip()) or None
        return (trade_id, cells[ordertxid] or None, posid, cells[pair], moment, raw_time, cells[kind],
                REST_ORDERTYPES.get(kind_text, kind_text), cells[price], cells[cost], cells[fee], cells[vol],
                None if margin is None else cells[margin] or None, None,
                "" if misc is None else cells[misc], None, None, ids,
                *(None if i is None else _unplus(cells[i]) or None for i in position), closed_by)

    return convert


# The export parsers of the ledgers and trades streams (their declarations in `jobs.streams` name them).
LEDGER_ROWS = RowReader(("txid", "refid", "time", "type", "asset", "amount", "fee", "balance"),
                        ("ledger_id", "refid", "time", "time_raw", "type", "subtype", "aclass", "subclass",
                         "asset", "wallet", "amount", "fee", "balance"), ledger_converter)
TRADE_ROWS = RowReader(("txid", "ordertxid", "pair", "time", "type", "ordertype", "price", "cost", "fee", "vol"),
                       ("txid", "ordertxid", "postxid", "pair", "time", "time_raw", "type", "ordertype", "price",
                        "cost", "fee", "vol", "margin", "leverage", "misc", "trade_id", "maker", "ledgers",
                        "posstatus", *POSITION_AMOUNTS, "position_trades"),
                       trade_converter)


def iter_cell_batches(stream: TextIO, readers: Mapping[ExportKind, RowReader], *,
                      batch_rows: int = BATCH_ROWS) -> Iterator[CellBatch]:
    """Read an export file from a text stream, `batch_rows` data rows at a time, keeping cells as text.

    `readers` gives the `RowReader` of each export kind (the stream declarations hold them).

    Open files with ``newline=""`` (CSV rule) and ``encoding="utf-8-sig"``; a leftover BOM is handled too.

    Raises:
        ExportFileError: when the header is missing or unknown, or the CSV itself is malformed.
    """
    line, header_line = first_line(stream)
    header = detect_header(line, readers)
    yield from _batches(header, readers[header.kind].converter(header.columns), stream, batch_rows, header_line)


def _batches(header: ExportHeader, convert: Converter, stream: TextIO, batch_rows: int,
             header_line: int) -> Iterator[CellBatch]:
    columns = header.columns
    width = len(columns)
    kind = header.kind
    reader = csv.reader(stream, delimiter=header.delimiter)
    batch = CellBatch(kind, columns)
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line between groups (seen in real exports)
            batch.rows += 1
            if len(cells) != width:
                raw = {f"col{i}": cell for i, cell in enumerate(cells)}
                raw["_line"] = str(reader.line_num + header_line)
                batch.rejected.append(Rejected(kind, cells[0] or None,
                                               f"row has {len(cells)} fields, header has {width}", raw))
            else:
                try:
                    batch.values.append(convert(cells))
                except RowError as exc:
                    row = dict(zip(columns, cells, strict=True))
                    batch.rejected.append(Rejected(kind, row.get("txid") or None, str(exc), row))
                else:
                    batch.cells.append(cells)
            if batch.rows >= batch_rows:
                yield batch
                batch = CellBatch(kind, columns)
    except csv.Error as exc:
        line = reader.line_num + header_line
        raise ExportFileError(f"malformed {header.format} near line {line}: {exc}") from None
    if batch.rows:
        yield batch
