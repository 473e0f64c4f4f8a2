"""Property-based drills: any input to the REST parsers, the JSON decoder and the export-file reader an
import runs (the text reader and its validation) yields a record, a quarantine reason, or a typed error —
never an unhandled exception.

Inputs are both arbitrary JSON-like values and mutations of real Kraken records (one field replaced by
anything, including the numbers Kraken never writes). `derandomize=True` keeps CI reproducible.
"""

from __future__ import annotations

import io
import string
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kraken_etl.core.amend import parse_order_amend
from kraken_etl.core.balance import parse_balance, parse_balance_ex
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.exportheader import ExportFileError
from kraken_etl.core.exportrows import iter_cell_batches
from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.money import D, NotADecimal
from kraken_etl.core.order import parse_closed_order
from kraken_etl.core.parsing import MalformedRecord
from kraken_etl.core.trade import parse_trade
from kraken_etl.jobs.cellcheck import check_cells
from kraken_etl.jobs.exportzip import verify_export_file
from kraken_etl.jobs.streams import BY_REPORT, EXPORT_ROWS
from kraken_etl.kraken.errors import KrakenError
from kraken_etl.kraken.http import decode_body

FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

NASTY_NUMBERS = ["1E+1000000", "1_000", "\uff11\uff12", "\u0661\u0662", "+5", " 12 ", "9" * 400, "NaN", "Infinity",
                 "1,5", "1e5", "-", "", "0x1F", "1.", ".5", "-0", "0.00000000001"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**40, max_value=10**60),
    st.decimals(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.sampled_from(NASTY_NUMBERS),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)

LEDGER = {"refid": "TJKLXF-PGMUI-4NTLXU", "time": Decimal("1688464484.1787"), "type": "trade", "subtype": "",
          "aclass": "currency", "asset": "ZGBP", "amount": "-24.5000", "fee": "0.0490", "balance": "459567.9171"}
TRADE = {"ordertxid": "OQCLML-BW3P3-BUCMWZ", "postxid": "TKH2SE-M7IF5-CFI7LT", "pair": "XXBTZUSD",
         "time": Decimal("1688667796.8802"), "type": "buy", "ordertype": "limit", "price": "30010.00000",
         "cost": "600.20000", "fee": "0.00000", "vol": "0.02000000", "margin": "0.00000", "leverage": "0",
         "misc": "", "trade_id": 40274859, "maker": True, "ledgers": ["L4UESK-KG3EQ-UFO4T5"]}
ORDER = {"refid": None, "userref": 0, "status": "closed", "reason": None, "opentm": Decimal("1688592012.2317"),
         "closetm": Decimal("1688592012.2335"), "starttm": 0, "expiretm": 0,
         "descr": {"pair": "XBTUSD", "type": "sell", "ordertype": "market", "price": "0", "price2": "0",
                   "leverage": "none", "order": "sell 0.25 XBTUSD @ market", "close": ""},
         "vol": "0.25000000", "vol_exec": "0.25000000", "cost": "7500.0", "fee": "7.5", "price": "30000.0",
         "misc": "", "oflags": "fcib", "trades": ["TJUW2K-FLX2N-AR2FLU"]}
AMEND = {"amend_id": "TL7LSB-ZUMBO-ZZJ7FH", "amend_type": "original", "order_qty": "1.00000000",
         "remaining_qty": "1.00000000", "limit_price": "30000.0", "timestamp": 1724234370081862100}

PARSERS = [(parse_ledger_entry, LEDGER), (parse_trade, TRADE), (parse_closed_order, ORDER),
           (parse_order_amend, AMEND)]


def _outcome(parse: Any, key: str, raw: Any) -> str:
    try:
        parse(key, raw)
    except MalformedRecord as exc:
        assert str(exc) and "\n" not in str(exc)[:200]
        return "quarantined"
    return "record"


@FUZZ
@given(index=st.integers(0, len(PARSERS) - 1), raw=json_values)
def test_any_value_is_a_record_or_a_quarantine_reason(index: int, raw: Any) -> None:
    parse, _ = PARSERS[index]
    _outcome(parse, "ID-1", raw)


@FUZZ
@given(index=st.integers(0, len(PARSERS) - 1), data=st.data())
def test_a_real_record_with_one_field_replaced_by_anything(index: int, data: st.DataObject) -> None:
    parse, sample = PARSERS[index]
    field = data.draw(st.sampled_from(sorted(sample)))
    value = data.draw(json_values)
    raw = dict(sample, **{field: value})
    outcome = _outcome(parse, "ID-1", raw)
    if field in ("amount", "fee", "price", "cost", "vol") and isinstance(value, str) and value in NASTY_NUMBERS:
        assert outcome == "quarantined"  # Kraken's grammar: never loaded silently


@FUZZ
@given(result=json_values)
def test_balances_are_snapshots_or_a_typed_error(result: Any) -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    for parse in (parse_balance, parse_balance_ex):
        try:
            parse(result, at)
        except (MalformedRecord, KrakenError):
            pass


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
def test_any_answer_body_is_a_result_or_a_typed_kraken_error(body: bytes) -> None:
    try:
        decode_body(body, "api.kraken.com", "Ledgers")
    except KrakenError:
        pass


@FUZZ
@given(value=st.one_of(st.text(max_size=50), st.sampled_from(NASTY_NUMBERS), st.decimals(), st.integers()))
def test_d_is_exact_or_refuses(value: Any) -> None:
    try:
        result = D(value)
    except NotADecimal:
        return
    assert result.is_finite() and result == Decimal(value)
    if isinstance(value, str):  # the scale Kraken wrote is kept
        fraction = value.partition(".")[2]
        assert result.as_tuple().exponent == -len(fraction)


HEADER = '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"'
cells = st.one_of(st.text(alphabet=string.printable, max_size=12), st.sampled_from(NASTY_NUMBERS),
                  st.just("2024-01-01 00:00:00"), st.just('"quoted, with comma"'), st.just('"unterminated'))
rows = st.lists(cells, min_size=0, max_size=12).map(lambda cs: ",".join(cs))


@FUZZ
@given(lines=st.lists(rows, max_size=12), header=st.one_of(st.just(HEADER), st.text(max_size=60)),
       eol=st.sampled_from(["\n", "\r\n"]))
def test_any_export_text_is_records_rejections_or_a_file_error(lines: list[str], header: str, eol: str) -> None:
    text = eol.join([header, *lines])
    try:
        batches = list(iter_cell_batches(io.StringIO(text, newline=""), EXPORT_ROWS, batch_rows=5))
    except ExportFileError as exc:
        assert isinstance(exc, KrakenEtlError) and str(exc)
        return
    checked = [check_cells(b, BY_REPORT[b.kind]) for b in batches]  # what an import runs on each batch
    read = sum(b.rows for b in batches)
    # nothing lost, nothing doubled: every row read is kept, an identical copy, or rejected with a reason
    assert read == sum(len(c.keep) + c.identical + len(c.rejected) for c in checked)
    assert all(r.reason for c in checked for r in c.rejected)


@FUZZ
@given(data=st.binary(max_size=400), prefix=st.sampled_from([b"", HEADER.encode() + b"\n", b"PK\x03\x04"]))
def test_any_file_bytes_verify_or_are_refused_naming_the_file(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    path = tmp_path / "fuzzed.csv"
    path.write_bytes(prefix + data)
    try:
        verify_export_file(path)
    except ExportFileError as exc:
        assert "fuzzed.csv" in str(exc)
