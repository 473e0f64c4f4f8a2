"""The reader imports run (`core.exportrows` + `jobs.cellcheck`) agrees with the record reader oracle
(`tests.exports.recordreader` + `jobs.validation`).

Every ledger era and trade variant of `test_exportfile` is read both ways; each column text must be the
record's value written as text with the same scale (numbers are the file's own text, never re-printed).
Generated files (hypothesis: hostile numbers, bad times, blank, repeated and look-alike ids, short rows)
must give both ways the same rows kept with the same values and flags, the same rejections with the same
reasons, and the same count of identical copies.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kraken_etl.core.exportheader import PENDING_REASON, RowError
from kraken_etl.core.exportrows import LEDGER_ROWS, TRADE_ROWS, iter_cell_batches, time_texts
from kraken_etl.core.records import LedgerEntry, Trade
from kraken_etl.jobs.cellcheck import check_cells
from kraken_etl.jobs.streams import BY_REPORT, EXPORT_ROWS
from kraken_etl.jobs.validation import validate_batch
from tests.exports.recordreader import read_export_text
from tests.exports.test_exportfile import LEDGER_HEADERS, SAMPLE_ROWS, TRADE_VARIANTS, render


def _texts(text: str) -> tuple[list[tuple[object, ...]], list[tuple[str | None, str]]]:
    values: list[tuple[object, ...]] = []
    rejected: list[tuple[str | None, str]] = []
    for batch in iter_cell_batches(io.StringIO(text, newline=""), EXPORT_ROWS, batch_rows=2):
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
        _compare(record, texts, LEDGER_ROWS.columns)


@pytest.mark.parametrize("variant", list(TRADE_VARIANTS))
def test_every_trade_variant_gives_the_record_parsers_values_as_text(variant: str) -> None:
    header, row, _ = TRADE_VARIANTS[variant]
    text = header + "\n" + row + "\n"
    (record,) = [r for b in read_export_text(text) for r in b.records]
    (texts,), rejected = _texts(text)
    assert rejected == []
    _compare(record, texts, TRADE_ROWS.columns)


def test_tsv_trade_with_prose_ordertype_and_ledger_list() -> None:
    header, row, _ = TRADE_VARIANTS["aclass+subclass"]
    cells = next(csv.reader([row]))
    columns = next(csv.reader([header]))
    cells[columns.index("ordertype")] = "stop market"
    text = "\t".join(columns) + "\n" + "\t".join(cells) + "\n"
    (record,) = [r for b in read_export_text(text) for r in b.records]
    (texts,), _ = _texts(text)
    assert texts[TRADE_ROWS.columns.index("ordertype")] == "stop-loss"
    _compare(record, texts, TRADE_ROWS.columns)


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


# -- differential: generated files, both readers --------------------------------------------------------

IDS = ["L1", "L2", "l1", " ", "L1\u200b", "L3 "]
NUMBERS = ["1.0", "1.00", "-0.5", "0", "-0", "", "1_000", "1E+5", "+5", " 12 ", "NaN", "\uff11", "9" * 40]
TIMES = ["2024-03-19 19:43:31", "2024-03-19 19:43:31.0000", "2024-03-19 19:43:31.1", "2024-02-30 00:00:00", ""]
TRADE_HEADER, TRADE_LINE, _ = TRADE_VARIANTS["position"]
TRADE_BASE = dict(zip(next(csv.reader([TRADE_HEADER])), next(csv.reader([TRADE_LINE])), strict=True))
FIELDS = {
    "ledgers": {"txid": [*IDS, ""], "time": TIMES, "type": ["trade", "wat"], "asset": ["BTC", "NOPE"],
                "amount": NUMBERS, "fee": NUMBERS, "balance": NUMBERS, "wallet": ["spot / main", ""]},
    "trades": {"txid": IDS, "time": TIMES, "type": ["buy", "hold"], "ordertype": ["limit", "stop market"],
               "price": NUMBERS, "cost": NUMBERS, "fee": NUMBERS, "vol": NUMBERS, "margin": NUMBERS,
               "ledgers": ["L1,L2", "L1, L2", ""]},
}


def _respelled(value: str) -> str:
    """The same number or time written with one more zero (a time: a zero fraction), else `value`."""
    if value[:1].isdigit() and len(value) == 19:
        return value + ".0000"
    digits = value.removeprefix("-").replace(".", "", 1)
    if digits.isascii() and digits.isdigit():
        return value + ("0" if "." in value else ".0")
    return value


@st.composite
def export_files(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["ledgers", "trades"]))
    if kind == "ledgers":
        columns = next(csv.reader([draw(st.sampled_from(list(LEDGER_HEADERS.values())))]))
        base = draw(st.sampled_from(SAMPLE_ROWS))
    else:
        columns, base = list(TRADE_BASE), TRADE_BASE
    choices = FIELDS[kind]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(0, 8))):
        if rows and draw(st.booleans()):  # an earlier row again, one value spelled another way (or not)
            row = dict(draw(st.sampled_from(rows)))
            name = draw(st.sampled_from(["time", *(n for n in choices if choices[n] is NUMBERS and n in columns)]))
            row[name] = _respelled(row[name])
        else:
            row = {**base, **draw(st.fixed_dictionaries({}, optional={
                name: st.sampled_from(values) for name, values in choices.items() if name in columns}))}
        rows.append(row)
        cells = [row[c] for c in columns]
        writer.writerow(cells[:-1] if draw(st.integers(0, 15)) == 0 else cells)  # now and then a short row
    return out.getvalue()


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(text=export_files(), batch_rows=st.sampled_from([3, 1000]))
def test_the_import_reader_agrees_with_the_record_oracle(text: str, batch_rows: int) -> None:
    spec = BY_REPORT["trades" if text.startswith("txid,ordertxid") else "ledgers"]
    assert spec.export_rows is not None
    oracle_kept: list[tuple[LedgerEntry | Trade, tuple[str, ...]]] = []
    oracle_rejected: list[tuple[str | None, str]] = []
    oracle_identical = 0
    for batch in read_export_text(text, batch_rows=batch_rows):
        checked = validate_batch(spec, batch.records)
        key = spec.target.key
        oracle_kept += [(r, checked.flags.get(getattr(r, key), ())) for r in checked.valid]
        oracle_rejected += [(r.record_id, r.reason) for r in batch.rejected + checked.rejected]
        oracle_identical += checked.identical_copies
    kept: list[tuple[tuple[object, ...], tuple[str, ...]]] = []
    rejected: list[tuple[str | None, str]] = []
    identical = 0
    for cells in iter_cell_batches(io.StringIO(text, newline=""), EXPORT_ROWS, batch_rows=batch_rows):
        done = check_cells(cells, spec)
        kept += [(cells.values[i], flags) for i, flags in zip(done.keep, done.flags, strict=True)]
        rejected += [(r.record_id, r.reason) for r in done.rejected]
        identical += done.identical
    assert sorted(rejected, key=repr) == sorted(oracle_rejected, key=repr)
    assert identical == oracle_identical
    assert len(kept) == len(oracle_kept)
    for (record, oracle_flags), (values, flags) in zip(oracle_kept, kept, strict=True):
        _compare(record, values, spec.export_rows.columns)
        assert flags == oracle_flags
