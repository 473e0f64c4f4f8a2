"""The text path of a file import (`core.exportrows`) derives exactly what the record parser does.

Every ledger era and trade variant of `test_exportfile` is read both ways; each column text must be the
record's value written as text with the same scale (numbers are the file's own text, never re-printed).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest

from kraken_etl.core.exportfile import read_export_text
from kraken_etl.core.exportheader import PENDING_REASON, RowError
from kraken_etl.core.exportrows import LEDGER_COLUMNS, TRADE_COLUMNS, iter_cell_batches, time_texts
from kraken_etl.core.records import LedgerEntry, Trade
from tests.exports.test_exportfile import LEDGER_HEADERS, SAMPLE_ROWS, TRADE_VARIANTS, render


def _texts(text: str) -> tuple[list[tuple[object, ...]], list[tuple[str | None, str]]]:
    values: list[tuple[object, ...]] = []
    rejected: list[tuple[str | None, str]] = []
    for batch in iter_cell_batches(io.StringIO(text, newline=""), batch_rows=2):
        values.extend(batch.values)
        rejected.extend((r.record_id, r.reason) for r in batch.rejected)
    return values, rejected


def _same(value: object, text: object) -> None:
    """`text` is `value` as the loader must store it (Decimals: equal and the same exponent)."""
    if isinstance(value, Decimal):
        assert isinstance(text, str)
        assert Decimal(text) == value and Decimal(text).as_tuple().exponent == value.as_tuple().exponent
    elif isinstance(value, datetime):
        assert isinstance(text, str)
        assert datetime.fromisoformat(text.replace("+00", "+00:00")) == value
    else:
        assert text == value


def _compare(record: LedgerEntry | Trade, texts: tuple[object, ...], columns: tuple[str, ...]) -> None:
    for name, text in zip(columns, texts, strict=True):
        _same(getattr(record, name), text)


@pytest.mark.parametrize("era", list(LEDGER_HEADERS))
@pytest.mark.parametrize("sep", [",", "\t"])
def test_every_ledger_era_gives_the_record_parsers_values_as_text(era: str, sep: str) -> None:
    text = render(LEDGER_HEADERS[era], SAMPLE_ROWS, sep=sep)
    records = [r for b in read_export_text(text) for r in b.records]
    values, rejected = _texts(text)
    assert rejected == [] and len(values) == len(records) == len(SAMPLE_ROWS)
    for record, texts in zip(records, values, strict=True):
        _compare(record, texts, LEDGER_COLUMNS)


@pytest.mark.parametrize("variant", list(TRADE_VARIANTS))
def test_every_trade_variant_gives_the_record_parsers_values_as_text(variant: str) -> None:
    header, row, _ = TRADE_VARIANTS[variant]
    text = header + "\n" + row + "\n"
    (record,) = [r for b in read_export_text(text) for r in b.records]
    (texts,), rejected = _texts(text)
    assert rejected == []
    _compare(record, texts, TRADE_COLUMNS)


def test_tsv_trade_with_prose_ordertype_and_ledger_list() -> None:
    header, row, _ = TRADE_VARIANTS["aclass+subclass"]
    cells = next(csv.reader([row]))
    columns = next(csv.reader([header]))
    cells[columns.index("ordertype")] = "stop market"
    text = "\t".join(columns) + "\n" + "\t".join(cells) + "\n"
    (record,) = [r for b in read_export_text(text) for r in b.records]
    (texts,), _ = _texts(text)
    assert texts[TRADE_COLUMNS.index("ordertype")] == "stop-loss"
    _compare(record, texts, TRADE_COLUMNS)


@pytest.mark.parametrize(("text", "moment", "raw"), [
    ("2024-03-19 19:43:31", "2024-03-19 19:43:31+00", "1710877411"),
    ("2024-03-19 19:43:31.6798", "2024-03-19 19:43:31.6798+00", "1710877411.6798"),
    ("2024-03-19 19:43:31.123456789", "2024-03-19 19:43:31.123456+00", "1710877411.123456789"),
])
def test_time_texts_truncate_to_microseconds_and_keep_every_raw_digit(text: str, moment: str, raw: str) -> None:
    assert time_texts(text) == (moment, raw)


@pytest.mark.parametrize("text", ["2024-13-19 19:43:31", "2024-03-19T19:43:31", "2024-03-19 19:43:31.", "1710877411"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(RowError, match=r"^time: "):
        time_texts(text)


def test_pending_rows_bad_times_and_short_rows_are_rejected_like_the_record_parser() -> None:
    header = LEDGER_HEADERS["legacy"]
    good = dict(SAMPLE_ROWS[0])
    pending = {**good, "txid": "", "balance": ""}
    bad_time = {**good, "txid": "LBADTIME", "time": "2025-02-30 22:18:09"}
    text = render(header, [good, pending, bad_time]) + '"LSHORT","R"\n'
    old = [(r.record_id, r.reason) for b in read_export_text(text) for r in b.rejected]
    values, rejected = _texts(text)
    assert rejected == old
    assert rejected[0][1] == PENDING_REASON
    assert len(values) == 1
