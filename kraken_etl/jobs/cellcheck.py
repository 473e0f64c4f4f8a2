"""Validation of export rows kept as text (`core.exportrows.CellBatch`) with pandera, column by column.

The rules `jobs.validation` applies to parsed records, from the same stream declaration, for a file import:

- every number column matches Kraken's number grammar (`money.KRAKEN_NUMBER`: what `parse_kraken_number`
  accepts, so ``1E+1000000``, ``1_000``, non-ASCII digits, ``+5``, spaces, 400 digits, NaN/Infinity are
  refused), required columns non-empty; a failing row is rejected with the parser's reason
  (``amount: '1_000' is not a Kraken number …``, the first failing column in the record's field order);
- then, over the rows left, the id is non-blank and unique in the batch: a later copy equal to the first
  (every column equal, the numbers and the raw time by value: ``1.0`` equals ``1.00``) is a no-op,
  counted; a different one is rejected with `conflict_reason`, the first copy kept;
- then no id is a look-alike of another (`core.idcheck`: whitespace or invisible characters, or the same
  id as an earlier one of the batch in another case): such a row is rejected with a reason naming both;
- the informational flags of the stream's `StreamRules.flags` (unknown type/asset/side, negative fee, no
  balance), read from the column texts.

The checks are vectorised: a number column is checked with ONE regular-expression match over the column
joined by newlines (C speed), and only a column that fails is checked cell by cell to find the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from kraken_etl.core.exportrows import CellBatch
from kraken_etl.core.idcheck import batch_lookalikes
from kraken_etl.core.money import KRAKEN_NUMBER, NotADecimal, parse_kraken_number
from kraken_etl.core.records import Rejected
from kraken_etl.jobs.validation import DUPLICATE, conflict_reason, flag_rows

if TYPE_CHECKING:
    import pandas as pd
    import pandera.pandas as pa

    from kraken_etl.jobs.streams import StreamSpec

_NUMBERS = re.compile(rf"(?:{KRAKEN_NUMBER.pattern}\n)*")
_NUMBERS_OR_EMPTY = re.compile(rf"(?:(?:{KRAKEN_NUMBER.pattern})?\n)*")


@dataclass(slots=True)
class CheckedCells:
    """A validated `CellBatch`: the rows to load (indices into it) with their flags, and the rejected."""

    batch: CellBatch
    keep: list[int] = field(default_factory=list)
    flags: list[tuple[str, ...]] = field(default_factory=list)  # aligned with `keep`
    rejected: list[Rejected] = field(default_factory=list)
    identical: int = 0  # repeated ids equal to their first copy in the batch (no-ops)


def _column_matches(column: re.Pattern[str], cell: re.Pattern[str]) -> Any:
    """A vectorised pandera check: the whole column in one match; cell by cell only when that fails."""
    def check(series: pd.Series) -> Any:
        values = series.tolist()
        joined = "\n".join(values)
        if joined.count("\n") == len(values) - 1 and column.fullmatch(joined + "\n"):
            return True
        return series.map(lambda value: cell.fullmatch(value) is not None)
    return check


def _nonblank(series: pd.Series) -> Any:
    return series.map(str.strip).astype(bool) if any(not v.strip() for v in series.tolist()) else True


_SCHEMAS: dict[str, tuple[Any, Any]] = {}
_OPTIONAL_CELL = re.compile(rf"(?:{KRAKEN_NUMBER.pattern})?")


def _schemas(spec: StreamSpec) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    cached = _SCHEMAS.get(spec.name)
    if cached:
        return cached
    import pandera.pandas as pa

    required, optional = spec.rules.money, spec.rules.optional_money
    money: dict[str, pa.Column] = {}
    for name in required:
        money[name] = pa.Column(object, checks=pa.Check(_column_matches(_NUMBERS, KRAKEN_NUMBER), error=name))
    for name in optional:
        money[name] = pa.Column(object, checks=pa.Check(_column_matches(_NUMBERS_OR_EMPTY, _OPTIONAL_CELL),
                                                        error=name))
    ids = {"id": pa.Column(object, unique=True, report_duplicates="exclude_first",
                           checks=pa.Check(_nonblank, error="id is empty"))}
    made = (pa.DataFrameSchema(money, coerce=False), pa.DataFrameSchema(ids, coerce=False))
    _SCHEMAS[spec.name] = made
    return made


def _failures(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> dict[int, list[str]]:
    """Failing row index → the failing columns (or checks), in the schema's column order."""
    import pandera.pandas as pa

    found: dict[int, list[str]] = {}
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        order = list(schema.columns)
        for row in exc.failure_cases.itertuples(index=False):
            index = getattr(row, "index")  # noqa: B009 - a column named like the builtin
            if index is None or index != index:  # a frame-level failure: a programming error
                raise
            check = str(getattr(row, "check"))  # noqa: B009
            found.setdefault(int(index), []).append(check if check != "field_uniqueness" else DUPLICATE)
        for reasons in found.values():
            reasons.sort(key=lambda name: order.index(name) if name in order else len(order))
    return found


def _number_reason(name: str, value: str) -> str:
    try:
        parse_kraken_number(value)
    except NotADecimal as exc:
        return f"{name}: {exc}"
    return f"{name}: is not a Kraken number"  # not reached: the grammar and the parser agree


def check_cells(batch: CellBatch, spec: StreamSpec) -> CheckedCells:
    """Validate one text batch of `spec`'s stream (see the module docstring); pure apart from pandera.

    Raises:
        pandera.errors.SchemaErrors: when the frame itself is wrong (a programming error, not data).
    """
    import pandas as pd

    out = CheckedCells(batch, rejected=list(batch.rejected))
    values = batch.values
    if not values:
        return out
    kind = batch.kind
    assert spec.export_rows is not None
    at = {name: i for i, name in enumerate(spec.export_rows.columns)}
    money_schema, id_schema = _schemas(spec)
    names = list(money_schema.columns)
    frame = pd.DataFrame({name: pd.Series([v[at[name]] or "" for v in values], dtype=object) for name in names})
    bad_numbers = _failures(money_schema, frame)
    survivors = [i for i in range(len(values)) if i not in bad_numbers]
    key = at[spec.target.key]
    ids = pd.DataFrame({"id": pd.Series([values[i][key] for i in survivors], index=survivors, dtype=object)})
    bad_ids = _failures(id_schema, ids) if survivors else {}
    def cell(name: str) -> itemgetter[Any]:
        return itemgetter(at[name])
    lookalikes = _lookalikes(values, key, survivors, bad_ids)
    if not bad_numbers and not bad_ids and not lookalikes:  # the usual batch: every row loads
        out.keep = list(range(len(values)))
        out.flags = flag_rows(spec.rules, values, cell)
        return out
    first: dict[str, int] = {}
    rules = spec.rules
    # numbers compare by value; a timestamp by its raw time (its text may be written with more zeros)
    numbers = [at[name] for name in (*rules.money, *rules.optional_money, *(r for _, r in spec.target.time_pairs))]
    derived = [at[moment] for moment, _ in spec.target.time_pairs]
    for i in range(len(values)):
        rid = values[i][key]
        assert isinstance(rid, str)
        if i in bad_numbers:
            column = bad_numbers[i][0]
            reason = _number_reason(column, str(values[i][at[column]] or ""))
            out.rejected.append(Rejected(kind, rid or None, reason, batch.raw(i)))
            continue
        if i in lookalikes:
            out.rejected.append(Rejected(kind, rid, lookalikes[i], batch.raw(i)))
            continue
        reasons = bad_ids.get(i)
        if reasons:
            if reasons == [DUPLICATE] and rid in first:
                if _same_values(values[first[rid]], values[i], numbers, derived):
                    out.identical += 1
                    continue
                reasons = [conflict_reason(rid)]
            out.rejected.append(Rejected(kind, rid if rid.strip() else None, "; ".join(reasons), batch.raw(i)))
            continue
        first.setdefault(rid, i)
        out.keep.append(i)
    out.flags = flag_rows(spec.rules, [values[i] for i in out.keep], cell)
    return out


def _lookalikes(values: list[tuple[Any, ...]], key: int, survivors: list[int],
                bad_ids: dict[int, list[str]]) -> dict[int, str]:
    """Rows whose id is a look-alike (`core.idcheck`) of another id of the batch, by row index.

    Blank ids are left to the id check; an exact repeat is left to the duplicate rule."""
    rows = [i for i in survivors if i not in bad_ids or bad_ids[i] == [DUPLICATE]]
    found = batch_lookalikes([str(values[i][key] or "") for i in rows])
    return {rows[at]: reason for at, reason in found.items()}


def _same_values(a: tuple[Any, ...], b: tuple[Any, ...], numbers: list[int], derived: list[int]) -> bool:
    """Whether two rows make equal records: every column equal, the numbers (checked already) by value,
    a timestamp through its raw time (`derived`: not compared itself)."""
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if x == y or i in derived:
            continue
        if i not in numbers or x is None or y is None or Decimal(x) != Decimal(y):
            return False
    return True
