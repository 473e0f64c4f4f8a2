"""Opening lots from a CSV file (`kraken-etl lots import`): asset, amount, cost, currency, acquired_at. Pure.

Every row is checked; a file with any bad row is refused whole, each bad row named with its reason (nothing
half-imported). Amounts and costs are exact decimals (`1234.5`, no thousands separators, no exponent);
`acquired_at` is a date (`2019-05-01`, midnight UTC) or an ISO moment with a zone (naive means UTC). Assets
are read as Kraken writes them or in common form (`XXBT`, `XBT` and `BTC` are one asset).

`opening_lots_in` turns the stored lots into the engine's, costed in the reporting currency: a lot costed in
another currency is converted at that currency's price at the lot's acquisition (found by the caller); a lot
without such a price is not used, and says so as a finding.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kraken_etl.books.event_lines import Finding, OpeningLot
from kraken_etl.core.assets import normalize_asset, split_suffix
from kraken_etl.core.visible import visible

COLUMNS = ("asset", "amount", "cost", "currency", "acquired_at")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_CODE = re.compile(r"^[A-Za-z0-9.]{1,16}$")


@dataclass(frozen=True, slots=True)
class LotRow:
    row_number: int  # the file's line number (the header is line 1)
    asset: str
    amount: Decimal
    cost: Decimal
    currency: str
    acquired_at: datetime


class LotFileError(ValueError):
    """The file cannot be imported; `problems` names every bad row (line number, reason)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {n}: {why}" for n, why in problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))


def _asset(text: str) -> str:
    base, _suffix = split_suffix(text.strip())
    return normalize_asset(base.upper())


def parse_lots(text: str) -> list[LotRow]:
    """Rows of a lots file.

    Raises:
        LotFileError: naming every bad row, or a missing column, or an empty file.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise LotFileError([(1, f"missing column(s) {', '.join(missing)}; the header must name {', '.join(COLUMNS)}")])
    rows, problems = [], []
    for number, raw in enumerate(reader, start=2):
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if isinstance(v, str)}
        if not any(record.values()):
            continue
        try:
            rows.append(_row(number, record))
        except ValueError as exc:
            problems.append((number, str(exc)))
    if problems:
        raise LotFileError(problems)
    if not rows:
        raise LotFileError([(1, "no rows")])
    return rows


def _row(number: int, record: dict[str, str]) -> LotRow:
    for name in ("asset", "currency"):
        if not _CODE.match(record[name]):
            raise ValueError(f"{name} {visible(record[name])!r} is not an asset code")
    values = {}
    for name in ("amount", "cost"):
        text = record[name]
        if not _NUMBER.match(text):
            raise ValueError(f"{name} {visible(text)!r} is not a plain non-negative decimal")
        try:
            values[name] = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{name} {visible(text)!r} is not a number") from None
    if values["amount"] == 0:
        raise ValueError("amount is 0")
    return LotRow(number, _asset(record["asset"]), values["amount"], values["cost"], _asset(record["currency"]),
                  _moment(record["acquired_at"]))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"acquired_at {visible(text)!r} is not a date or an ISO moment") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def opening_lots_in(rows: Iterable[Any], currency: str) -> tuple[list[OpeningLot], list[Finding]]:
    """The stored opening lots (`asset, amount, cost, currency, acquired_at, source_name, row_number` and `rate`:
    one unit of the lot's cost currency in `currency` at its acquisition, None when unknown) as the engine's
    lots in `currency`, and a finding for each lot that cannot be costed in it."""
    lots, findings = [], []
    for r in rows:
        source = f"{r.source_name}:{r.row_number}"
        if r.rate is None:
            findings.append(Finding("opening_lot_currency", (source,),
                                    f"opening lot costed in {r.currency}: no {r.currency} price in {currency} at "
                                    f"{r.acquired_at.isoformat()}, not used", r.asset))
            continue
        cost = r.cost if r.currency.upper() == currency else r.cost * r.rate
        lots.append(OpeningLot(r.asset, r.amount, cost, r.acquired_at, source))
    return lots, findings
