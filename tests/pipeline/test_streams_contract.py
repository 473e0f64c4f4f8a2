"""The generic contract every StreamSpec must honour (STYLE §11), driven by one payload per stream."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.core.callcounter import cost_of
from kraken_etl.core.windows import Window, kraken_bounds
from kraken_etl.db.load import TARGETS, table_for
from kraken_etl.streams import BY_NAME, STREAMS, SYNC_ORDER, StreamSpec
from kraken_etl.validation import RULES, validate_batch
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
    if spec.paged:
        return [(key, spec.parse(key, value)) for key, value in payload.items()]
    return [(value["amend_id"], spec.parse("OPARENT", value)) for value in payload]


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_parse_returns_records_whose_id_is_the_key(spec: StreamSpec) -> None:
    for key, record in _records(spec):
        assert getattr(record, spec.id_field) == key


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_records_validate_inside_the_window(spec: StreamSpec) -> None:
    records = [r for _, r in _records(spec)]
    out = validate_batch(spec.name, records, bounds=kraken_bounds(WINDOW))
    assert out.rejected == [] and len(out.valid) == len(records)
    low, high = kraken_bounds(WINDOW)
    for rec in records:
        cursor = getattr(rec, RULES[spec.name].cursor)
        value = Decimal(cursor).scaleb(-RULES[spec.name].cursor_scale) if isinstance(cursor, int) else cursor
        if value is not None:
            assert low is not None and low < value <= high


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_row_class_is_unique_on_account_and_id(spec: StreamSpec) -> None:
    table = table_for(spec.name)
    assert table.name == spec.table
    assert [c.name for c in table.primary_key.columns] == ["account", TARGETS[spec.name].key]
    assert TARGETS[spec.name].key == spec.id_field


@pytest.mark.parametrize("spec", STREAMS, ids=lambda s: s.name)
def test_spec_declarations(spec: StreamSpec) -> None:
    assert spec.cost > 0 and spec.cost == cost_of(spec.method)
    assert spec.path == f"/0/private/{spec.method}"
    assert spec.page_size == 50 and spec.lag.total_seconds() > 0
    assert spec.name in SYNC_ORDER and BY_NAME[spec.name] is spec


def test_history_endpoints_cost_two() -> None:
    assert BY_NAME["ledgers"].cost == 2 and BY_NAME["trades"].cost == 2
