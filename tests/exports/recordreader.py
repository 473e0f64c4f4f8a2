"""Test oracle: Kraken export files read into `LedgerEntry`/`Trade` records, one row at a time.

Imports run `kraken_etl.core.exportrows` (the cells kept as text, numbers checked column by column by
`jobs.cellcheck`). This slower reader builds a record per row, with a Decimal per number and a datetime per
time, the plain way; `tests/exports/test_exportrows.py` checks that both readers agree (the same values,
the same rejections with the same reasons), on the literal samples and on generated files.

Rows that cannot be read (bad number, bad time, wrong field count, a pending ledger row) become `Rejected`
with a reason; a header that is neither a ledgers nor a trades header raises `ExportFileError`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TextIO

from kraken_etl.core.assets import rest_asset
from kraken_etl.core.exportheader import (
    BATCH_ROWS,
    PENDING_REASON,
    ExportFileError,
    ExportHeader,
    ExportKind,
    RowError,
    detect_header,
    first_line,
    split_time,
)
from kraken_etl.core.money import NotADecimal, parse_kraken_number
from kraken_etl.core.records import LedgerEntry, Rejected, Trade


@dataclass(frozen=True, slots=True)
class _Kind:
    required: tuple[str, ...]  # the columns a header must have to be read as this kind


KINDS = {"ledgers": _Kind(("txid", "refid", "time", "type", "asset", "amount", "fee", "balance")),
         "trades": _Kind(("txid", "ordertxid", "pair", "time", "type", "ordertype", "price", "cost", "fee", "vol"))}

# The trades export writes these order types in prose; REST names them (Kraken's trades export).
REST_ORDERTYPES = {
    "stop market": "stop-loss", "touched market": "take-profit", "stop limit": "stop-loss-limit",
    "touched limit": "take-profit-limit", "trailing stop": "trailing-stop",
    "trailing stop limit": "trailing-stop-limit", "settle position": "settle-position",
}

@dataclass(slots=True)
class ExportBatch:
    """One chunk of a file: parsed records and rejected rows, in file order within each list."""

    kind: ExportKind
    records: list[LedgerEntry] | list[Trade] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    rows: int = 0  # data rows read into this batch (records + rejected)


# -- cell readers ---------------------------------------------------------------------------------------


def _dec(value: str, name: str) -> Decimal:
    try:
        return parse_kraken_number(value)
    except NotADecimal as exc:
        raise RowError(f"{name}: {exc}") from None


def _opt_dec(value: str, name: str) -> Decimal | None:
    return None if value == "" else _dec(value, name)


def parse_time(text: str) -> tuple[datetime, Decimal]:
    """An export time (``2024-03-19 19:43:31`` or with a fraction of any length) to (UTC datetime, raw).

    The raw value is unix seconds with exactly the fraction digits the file gave; the datetime is truncated
    to microseconds (PostgreSQL's precision), like `timeutil.parse_export_time` (same result, ~50x faster
    via `fromisoformat`, which matters at a million rows).

    Raises:
        RowError: when the text is not such a time.
    """
    whole, seconds, frac = split_time(text)
    micros = int((frac + "00000")[:6]) if frac else 0
    moment = whole.replace(microsecond=micros, tzinfo=UTC)
    raw = Decimal(f"{seconds}.{frac}") if frac else Decimal(seconds)
    return moment, raw


# -- row parsers ----------------------------------------------------------------------------------------


def parse_ledger_row(row: dict[str, str]) -> LedgerEntry:
    """One ledgers-export row (by column name) to a `LedgerEntry`.

    The export's `txid` column is the ledger id; the asset is translated to its REST id (`rest_asset`);
    empty `refid` means none; empty `balance` means Kraken
    stated none (only pending rows do that, and those are refused here).

    Raises:
        RowError: for a pending row (empty txid), a bad number or a bad time.
    """
    ledger_id = row["txid"]
    if not ledger_id:
        raise RowError(PENDING_REASON)
    moment, raw_time = parse_time(row["time"])
    return LedgerEntry(
        ledger_id=ledger_id,
        refid=row["refid"] or None,
        time=moment,
        time_raw=raw_time,
        type=row["type"],
        subtype=row.get("subtype", ""),
        aclass=row.get("aclass", "currency"),
        asset=rest_asset(row["asset"]),
        amount=_dec(row["amount"], "amount"),
        fee=_dec(row["fee"], "fee"),
        balance=_opt_dec(row["balance"], "balance"),
        subclass=row.get("subclass") or None,
        wallet=row.get("wallet") or None,
        raw=row,
    )


def _ledger_ids(cell: str) -> tuple[str, ...] | None:
    ids = tuple(part.strip() for part in cell.split(",") if part.strip())
    return ids or None


def parse_trade_row(row: dict[str, str]) -> Trade:
    """One trades-export row (by column name) to a `Trade`.

    `postxid`/`posttxid` is the position id; `ledgers` is one comma-joined cell. Fields the export does not
    have (`leverage`, `trade_id`, `maker`) are None, so the loader keeps any value REST gave.

    Raises:
        RowError: for an empty txid, a bad number or a bad time.
    """
    txid = row["txid"]
    if not txid:
        raise RowError("txid: empty trade id")
    moment, raw_time = parse_time(row["time"])
    postxid = row.get("postxid") or row.get("posttxid") or None
    margin = row.get("margin")
    ledgers = row.get("ledgers")
    return Trade(
        txid=txid,
        ordertxid=row["ordertxid"] or None,
        postxid=postxid,
        pair=row["pair"],
        time=moment,
        time_raw=raw_time,
        type=row["type"],
        ordertype=REST_ORDERTYPES.get(row["ordertype"], row["ordertype"]),
        price=_dec(row["price"], "price"),
        cost=_dec(row["cost"], "cost"),
        fee=_dec(row["fee"], "fee"),
        vol=_dec(row["vol"], "vol"),
        margin=_opt_dec(margin, "margin") if margin is not None else None,
        leverage=None,
        misc=row.get("misc", ""),
        trade_id=None,
        maker=None,
        ledgers=_ledger_ids(ledgers) if ledgers else None,
        raw=row,
    )


# -- the stream reader ----------------------------------------------------------------------------------


def iter_export_batches(stream: TextIO, *, batch_rows: int = BATCH_ROWS) -> Iterator[ExportBatch]:
    """Read an export file from a text stream, `batch_rows` data rows at a time.

    Open files with ``newline=""`` (CSV rule) and ``encoding="utf-8-sig"``; a leftover BOM is handled too.

    Args:
        stream: the file's text; only one batch of it is in memory at a time.
        batch_rows: rows per batch (records + rejected).

    Yields:
        `ExportBatch`es; a file with a header and no rows yields nothing.

    Raises:
        ExportFileError: when the header is missing or unknown, or the CSV itself is malformed.
    """
    line, header_line = first_line(stream)
    header = detect_header(line, KINDS)
    yield from _batches(header, stream, batch_rows, header_line)


def _batches(
    header: ExportHeader, stream: Iterable[str], batch_rows: int, header_line: int
) -> Iterator[ExportBatch]:
    columns = header.columns
    width = len(columns)
    stream_name = header.kind
    parse = parse_ledger_row if header.kind == "ledgers" else parse_trade_row
    reader = csv.reader(stream, delimiter=header.delimiter)
    batch = ExportBatch(kind=header.kind)
    records: list[LedgerEntry | Trade] = batch.records  # type: ignore[assignment]
    try:
        for cells in reader:
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue  # blank line between groups (seen in real exports)
            batch.rows += 1
            if len(cells) != width:
                raw = {f"col{i}": cell for i, cell in enumerate(cells)}
                raw["_line"] = str(reader.line_num + header_line)
                batch.rejected.append(
                    Rejected(
                        stream_name, cells[0] or None, f"row has {len(cells)} fields, header has {width}", raw
                    )
                )
            else:
                row = dict(zip(columns, cells, strict=True))
                try:
                    records.append(parse(row))
                except RowError as exc:
                    batch.rejected.append(Rejected(stream_name, row.get("txid") or None, str(exc), row))
            if batch.rows >= batch_rows:
                yield batch
                batch = ExportBatch(kind=header.kind)
                records = batch.records  # type: ignore[assignment]
    except csv.Error as exc:
        line = reader.line_num + header_line
        raise ExportFileError(f"malformed {header.format} near line {line}: {exc}") from None
    if batch.rows:
        yield batch


def read_export_text(text: str, *, batch_rows: int = BATCH_ROWS) -> Iterator[ExportBatch]:
    """`iter_export_batches` over an in-memory string (tests, small files)."""
    return iter_export_batches(io.StringIO(text, newline=""), batch_rows=batch_rows)
