"""The contract every StreamSpec must honour, driven by one real payload shape per stream.

Each test asks something a declaration could get wrong and the code would not notice by itself: that the
parser keys records by the target's key, that the validation rules name real record attributes, that the
target's key is the table's primary key, and that the load of a real payload round-trips.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.core.windows import Window, kraken_bounds
from kraken_etl.jobs.streams import STREAMS, StreamSpec
from kraken_etl.jobs.validation import validate_batch
from tests.core.test_rest_parsers import AMENDS, CLOSED, LEDGER_PAGE, TRADES

PAYLOADS: dict[str, dict[str, Any]] = {
    "ledgers": LEDGER_PAGE,
    "trades": TRADES,
    "closed_orders": CLOSED,
    "order_amends": AMENDS,
}
WINDOW = Window(datetime(2023, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))


def _records(spec: StreamSpec) -> list[tuple[str, Any]]:
    payload = PAYLOADS[spec.name][spec.result_key]
    if spec.paging == "window":
        return [(key, spec.parse(key, value)) for key, value in payload.items()]
    return [(value["amend_id"], spec.parse("OPARENT", value)) for value in payload]


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_parse_returns_records_whose_target_key_is_the_id(spec: StreamSpec) -> None:
    for key, record in _records(spec):
        assert isinstance(record, spec.target.record_type)
        assert getattr(record, spec.target.key) == key


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_rules_name_attributes_of_the_record(spec: StreamSpec) -> None:
    names = {f.name for f in fields(spec.target.record_type)}
    rules = spec.rules
    flagged = {column for _, column, _ in rules.flags}
    assert {spec.target.key, rules.cursor, *rules.money, *rules.optional_money, *flagged} <= names


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_records_validate_inside_the_window(spec: StreamSpec) -> None:
    records = [r for _, r in _records(spec)]
    out = validate_batch(spec, records, bounds=kraken_bounds(WINDOW))
    assert out.rejected == [] and len(out.valid) == len(records)
    low, high = kraken_bounds(WINDOW)
    for rec in records:
        cursor = getattr(rec, spec.rules.cursor)
        value = Decimal(cursor).scaleb(-spec.rules.cursor_scale) if isinstance(cursor, int) else cursor
        if value is not None:
            assert low is not None and low < value <= high


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_target_key_is_the_tables_primary_key(spec: StreamSpec) -> None:
    table = spec.target.table
    assert [c.name for c in table.primary_key.columns] == ["account", spec.target.key]
    for ts, raw in spec.target.time_pairs:
        assert ts in table.columns and raw in table.columns


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_export_reports_exist_only_for_windowed_streams(spec: StreamSpec) -> None:
    assert spec.export_report is None or (spec.paging == "window" and spec.export_report == spec.name)
    assert (spec.export_report is None) == (spec.export_rows is None)


@pytest.mark.parametrize("spec", [s for s in STREAMS if s.export_rows], ids=lambda s: s.name)
def test_export_rows_fill_the_record_columns_the_rules_read(spec: StreamSpec) -> None:
    assert spec.export_rows is not None
    columns = set(spec.export_rows.columns)
    rules = spec.rules
    assert columns <= {f.name for f in fields(spec.target.record_type)}
    assert {spec.target.key, *rules.money, *rules.optional_money, *(c for _, c, _ in rules.flags)} <= columns
    assert {c for pair in spec.target.time_pairs for c in pair} <= columns


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_the_declared_cost_and_permission_are_kraken_s(spec: StreamSpec) -> None:
    """The cost and permission a stream declares (what the client charges and names) agree with the
    simulator's own model of Kraken, a table written apart from the product's."""
    from kraken_etl.simulator.config import METHOD_COSTS, METHOD_PERMISSIONS

    assert spec.call.cost == spec.cost == METHOD_COSTS.get(spec.method, 1)
    assert set(spec.call.permission.split(" or ")) <= METHOD_PERMISSIONS[spec.method]
