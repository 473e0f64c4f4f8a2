"""Batch validation with pandera: split parsed records into loadable ones and `Rejected` items.

Validate what matters for the books (docs/architecture.md, decision 7), per stream:

- the id is present, non-empty and unique within the batch: a second copy equal to the first is a no-op
  (dropped, counted), a conflicting copy is rejected and the first copy kept, never merged over it;
- every money column the books need is a non-null `Decimal` (the frame column is ``object`` dtype, never
  ``float64``: a float would already be a lost digit);
- the cursor time lies inside the interval Kraken was asked for (``(low, high]`` in unix seconds) when a
  window is given.

Not rejected, but loaded and *flagged* (the table's ``flags`` column; the rules are the stream's
`StreamRules.flags`, shared with the export path `jobs.cellcheck`) so reconciliation can look:
unknown ledger types (``unknown_type``), unknown assets (``unknown_asset``), a negative fee
(``negative_fee``: seen on real rows), a ledger entry without a balance (``no_balance``,
export pending rows), a trade side other than buy/sell (``unknown_side``). Id formats are not checked:
Kraken has changed them before (mixed-case ``FT…`` refids since 2024). Look-alike ids are refused
(`core.idcheck`: whitespace or invisible characters, or the same id as an earlier one of the batch in
another case), the first one kept; the loader refuses a look-alike of a stored id the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kraken_etl.core.assets import is_known_asset
from kraken_etl.core.idcheck import batch_lookalikes
from kraken_etl.core.ledger import LEDGER_TYPES
from kraken_etl.core.records import ClosedOrder, LedgerEntry, OrderAmend, Rejected, Trade
from kraken_etl.core.trade import TRADE_SIDES

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

    from kraken_etl.jobs.streams import StreamSpec

# pandas and pandera are imported on first use: they cost about a second at start-up, which a command
# that fails fast (an invalid key) should not pay.

R = TypeVar("R", LedgerEntry, Trade, ClosedOrder, OrderAmend)


# A flag rule: (flag, column, test): the row is flagged when the test holds for the column's value. The
# value is what the record holds (a Decimal for a number) or, on the export path, the file's text.
FlagRule = tuple[str, str, Callable[[Any], bool]]


@dataclass(frozen=True, slots=True)
class StreamRules:
    """What one stream's batch must satisfy (its id is the target's key), and what gets a row flagged."""

    money: tuple[str, ...]  # non-null Decimal
    optional_money: tuple[str, ...]  # Decimal or None
    cursor: str  # attribute holding exact unix seconds (Decimal) or nanoseconds (int)
    cursor_scale: int = 0  # 9 for nanoseconds
    flags: tuple[FlagRule, ...] = ()


def unknown_ledger_type(value: Any) -> bool:
    return value not in LEDGER_TYPES


@lru_cache(maxsize=4096)  # a file has few distinct assets
def unknown_asset(value: str) -> bool:
    return not is_known_asset(value)


def negative(value: Any) -> bool:
    """A number below zero: a Decimal, or a number's text (one Decimal only for a text with a minus)."""
    if isinstance(value, str):
        return value.startswith("-") and Decimal(value) < 0
    return value is not None and value < 0


def missing(value: Any) -> bool:
    return value is None


def unknown_side(value: Any) -> bool:
    return value not in TRADE_SIDES


def flag_rows(rules: StreamRules, rows: Sequence[Any],
              getter: Callable[[str], Callable[[Any], Any]]) -> list[tuple[str, ...]]:
    """The flags of each row (`rules.flags`, in order); `getter(column)` reads a column of a row
    (`attrgetter` for records, an `itemgetter` for the export path's tuples of column texts).

    Column by column (`map` runs each test over the whole column): a million-row import flags every row.
    """
    out: list[tuple[str, ...]] = [()] * len(rows)
    for flag, column, test in rules.flags:
        for i in compress(range(len(rows)), map(test, map(getter(column), rows))):
            out[i] += (flag,)
    return out


@dataclass(frozen=True, slots=True)
class ValidatedBatch(Generic[R]):
    """The outcome: records to load, their flags by id, and what goes to quarantine."""

    valid: list[R]
    rejected: list[Rejected]
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    identical_copies: int = 0  # repeated ids whose record equals the first copy: dropped as no-ops


def _is_decimal(value: Any) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _is_optional_decimal(value: Any) -> bool:
    return value is None or _is_decimal(value)


def _id_ok(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _schema(rules: StreamRules, bounds: tuple[Decimal | None, Decimal] | None) -> pa.DataFrameSchema:
    import pandera.pandas as pa

    columns: dict[str, pa.Column] = {
        "id": pa.Column(nullable=False, unique=True, report_duplicates="exclude_first",
                        checks=pa.Check(_id_ok, element_wise=True, error="id is empty")),
    }
    for name in rules.money:
        columns[name] = pa.Column(object, nullable=False, checks=pa.Check(
            _is_decimal, element_wise=True, error=f"{name} is not a finite Decimal"))
    for name in rules.optional_money:
        columns[name] = pa.Column(object, nullable=True, checks=pa.Check(
            _is_optional_decimal, element_wise=True, error=f"{name} is not a finite Decimal"))
    if bounds is not None:
        low, high = bounds
        columns["cursor"] = pa.Column(object, nullable=True, checks=pa.Check(
            _in_bounds(low, high), element_wise=True,
            error=f"{rules.cursor} outside the requested window ({low}, {high}]"))
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def _in_bounds(low: Decimal | None, high: Decimal) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if value is None:
            return True  # e.g. an order without closetm: nothing to place
        return bool((low is None or value > low) and value <= high)

    return check


def _frame(records: Sequence[Any], rules: StreamRules, key: str) -> pd.DataFrame:
    import pandas as pd

    scale = Decimal(10) ** -rules.cursor_scale
    cursors = []
    for rec in records:
        value = getattr(rec, rules.cursor)
        cursors.append(Decimal(value) * scale if isinstance(value, int) else value)
    data: dict[str, pd.Series] = {
        "id": pd.Series([getattr(r, key) for r in records], dtype=object),
        "cursor": pd.Series(cursors, dtype=object),
    }
    for name in rules.money + rules.optional_money:
        data[name] = pd.Series([getattr(r, name) for r in records], dtype=object)
    return pd.DataFrame(data)


def validate_batch(
    spec: StreamSpec,
    records: Sequence[R],
    *,
    bounds: tuple[Decimal | None, Decimal] | None = None,
) -> ValidatedBatch[R]:
    """Check a parsed batch; return the valid records (in input order), flags, and rejections.

    Args:
        spec: the stream (its name is stored on each rejection; its rules and key are checked).
        records: parsed domain records.
        bounds: Kraken's (exclusive low, inclusive high) unix-seconds interval of the request, if any.

    Raises:
        pandera.errors.SchemaError: when the frame itself is wrong (a programming error, not data).
    """
    import pandas as pd
    import pandera.pandas as pa

    if not records:
        return ValidatedBatch([], [])
    stream, rules, key = spec.name, spec.rules, spec.target.key
    frame = _frame(records, rules, key)
    reasons: dict[int, list[str]] = defaultdict(list)
    try:
        _schema(rules, bounds).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for row in cases.itertuples(index=False):
            index = getattr(row, "index")  # noqa: B009 - a column named like the builtin
            if index is None or pd.isna(index):
                raise
            check = str(getattr(row, "check"))  # noqa: B009
            column = str(getattr(row, "column"))  # noqa: B009
            reasons[int(index)].append(_reason(column, check))
    ids = [getattr(rec, key) for rec in records]
    candidates = [i for i in range(len(records)) if i not in reasons or reasons[i] == [DUPLICATE]]
    lookalikes = batch_lookalikes([ids[i] if isinstance(ids[i], str) else "" for i in candidates])
    for at, reason in lookalikes.items():
        reasons[candidates[at]] = [reason]
    valid: list[R] = []
    rejected: list[Rejected] = []
    flags: dict[str, tuple[str, ...]] = {}
    first: dict[str, R] = {}  # the first copy of each id: later copies are compared with it
    identical = 0
    for i, rec in enumerate(records):
        rid = getattr(rec, key)
        if i in reasons:
            if reasons[i] == [DUPLICATE] and rid in first:
                if first[rid] == rec:  # records are frozen dataclasses: every field, raw included
                    identical += 1  # the same record again: a no-op, nothing to quarantine
                    continue
                reasons[i] = [conflict_reason(rid)]
            rejected.append(Rejected(stream, rid if _id_ok(rid) else None, "; ".join(reasons[i]),
                                     dict(getattr(rec, "raw", {}) or {})))
            continue
        first.setdefault(rid, rec)
        valid.append(rec)
    for rec, found in zip(valid, flag_rows(rules, valid, attrgetter), strict=True):
        if found:
            flags[getattr(rec, key)] = found
    return ValidatedBatch(valid, rejected, flags, identical)


DUPLICATE = "duplicate id in batch"


def conflict_reason(record_id: str) -> str:
    """The one rule for a repeated id, within a batch or across a file: the first copy is kept."""
    return f"conflicting copy of {record_id}: another record with this id came first and is kept"


def _reason(column: str, check: str) -> str:
    if check == "not_nullable":
        return f"{column} is missing"
    if check == "field_uniqueness":
        return f"duplicate {column} in batch"
    return check
