"""The lot engine's vocabulary: the events it reads and the rows it writes.

Every quantity and every money amount is a `Decimal`; nothing is rounded here (rounding is for display).
Money is in the entity's reporting currency, already valued by the caller (fair value comes from the
database, never from this package).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

ZERO = Decimal(0)
_T = TypeVar("_T", bound=type)


def _quick_init(cls: _T) -> _T:
    """Give a frozen, slotted dataclass an `__init__` that fills the slots directly: the same parameters,
    defaults and `__post_init__`, and the instance is still frozen afterwards.

    The dataclass-made one goes through `object.__setattr__` for each field, which made building the engine's
    millions of rows a good part of a run. Fields with a default factory are not supported (none here).
    """
    names = [f.name for f in fields(cls)]
    scope: dict[str, object] = {f"_set_{name}": cls.__dict__[name].__set__ for name in names}
    params = []
    for f in fields(cls):
        if f.default_factory is not MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: a default factory is not supported")
        if f.default is MISSING:
            params.append(f.name)
        else:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
    lines = [f"def __init__(self, {', '.join(params)}):"]
    lines += [f"    _set_{name}(self, {name})" for name in names]
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    made: dict[str, object] = {}
    exec("\n".join(lines), scope, made)  # noqa: S102 - source built above from the field names only
    init = made["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"  # type: ignore[attr-defined]
    cls.__init__ = init  # type: ignore[misc]
    return cls


class Method(StrEnum):
    """How a disposal chooses the lots it draws from."""

    FIFO = "fifo"  # oldest lot first
    LIFO = "lifo"  # newest lot first
    HIFO = "hifo"  # highest unit cost first (ties: oldest first)
    AVERAGE = "average"  # one pool per asset at its average cost (adjusted cost base)
    UK = "uk"  # HMRC share matching: same day, then the next 30 days, then the section 104 pool


class Kind(StrEnum):
    """What an event does to the lots."""

    ACQUIRE = "acquire"  # a new lot at `value` (cost; fees already added when the setting says so)
    DISPOSE = "dispose"  # lots drawn out against `value` (proceeds) less `fees`
    INCOME = "income"  # a new lot at `value` (fair value at receipt) and a row of income
    TRANSFER_OUT = "transfer_out"  # lots leave the entity, cost carried, no gain
    EXPENSE = "expense"  # a fee (fee credits, margin fees): an expense of `value`, no lots
    GAIN = "gain"  # a realised profit (`value` > 0) or loss (< 0) of `amount` (its size, > 0) with no lots: a
    # position on margin closed


@_quick_init
@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened to one asset of one tax entity.

    `seq` orders events of the same moment (the caller's input order); `entries` are the ledger ids (or
    any ids the caller wants to see again in the output) behind the event.
    """

    kind: Kind
    asset: str
    at: datetime
    amount: Decimal  # always positive: the quantity acquired, disposed, received or moved
    value: Decimal = ZERO  # cost (acquire), proceeds (dispose), fair value (income/expense)
    fees: Decimal = ZERO  # disposal fees kept apart from proceeds
    entries: tuple[str, ...] = ()
    seq: int = 0
    cost_assumed: bool = False  # the cost is a fair value standing in for an unknown cost
    label: str = ""  # what the caller calls it (ledger type/subtype), carried to income/expense rows
    acquired_at: datetime | None = None  # an earlier acquisition date carried in (a deposit of an opening lot)

    def __post_init__(self) -> None:
        if self.amount <= ZERO:
            raise ValueError(f"an event's amount must be positive: {self.kind} {self.asset} {self.amount}")


@dataclass(slots=True)
class Lot:
    """An open lot: what is left of one acquisition (or, for `average` and the UK pool, of all of them)."""

    asset: str
    acquired_at: datetime
    amount: Decimal
    cost: Decimal
    entries: tuple[str, ...] = ()
    cost_assumed: bool = False
    seq: int = 0

    @property
    def unit_cost(self) -> Decimal:
        return self.cost / self.amount if self.amount else ZERO


@_quick_init
@dataclass(frozen=True, slots=True)
class Disposal:
    """A disposal (or the part of one) matched to one source of cost.

    `gain = proceeds - cost - fees`. `acquired_first`/`acquired_last` is the range the cost came from (the
    same moment for a single lot; the pool's first and last acquisition for `average` and `pool`).
    """

    asset: str
    disposed_at: datetime
    amount: Decimal
    proceeds: Decimal
    cost: Decimal
    fees: Decimal
    rule: str  # fifo, lifo, hifo, average, same_day, thirty_day, pool, shortfall, margin
    acquired_first: datetime | None
    acquired_last: datetime | None
    disposal_entries: tuple[str, ...]
    acquisition_entries: tuple[str, ...]
    cost_assumed: bool = False

    @property
    def gain(self) -> Decimal:
        return self.proceeds - self.cost - self.fees


@_quick_init
@dataclass(frozen=True, slots=True)
class Transfer:
    """Lots that left the entity without a disposal (a withdrawal to the owner's own wallet)."""

    asset: str
    at: datetime
    amount: Decimal
    cost: Decimal
    entries: tuple[str, ...]


@_quick_init
@dataclass(frozen=True, slots=True)
class Holding:
    """A change of what is held of an asset: quantity and cost in (positive) or out (negative).

    The changes of an asset add up, at any moment, to the quantity held and its cost then (for `uk`, the cost
    between a disposal and the acquisition the 30-day rule matched it to is provisional)."""

    asset: str
    at: datetime
    quantity: Decimal
    cost: Decimal


@_quick_init
@dataclass(frozen=True, slots=True)
class Valued:
    """An amount of an asset valued at its moment: an income received or an expense paid."""

    asset: str
    at: datetime
    amount: Decimal
    value: Decimal
    label: str
    entries: tuple[str, ...]


@dataclass(frozen=True, slots=True, init=False)
class Income(Valued):
    """Something received as income (a reward), valued at receipt; it also opened a lot at that value."""


@dataclass(frozen=True, slots=True, init=False)
class Expense(Valued):
    """A fee paid in fee credits: an expense, never a disposal."""


@_quick_init
@dataclass(frozen=True, slots=True)
class Shortfall:
    """A disposal or a transfer larger than the lots held: the part that had no cost.

    Never a silent zero-cost disposal: the engine disposes of what it has and reports the rest here,
    naming the entries; the rest also appears as a disposal with rule `shortfall` and zero cost so the
    proceeds are not lost from the totals.
    """

    asset: str
    at: datetime
    wanted: Decimal
    held: Decimal
    entries: tuple[str, ...]

    @property
    def missing(self) -> Decimal:
        return self.wanted - self.held

    def describe(self) -> str:
        ids = ", ".join(self.entries) or "(no entry id)"
        return (f"{self.asset}: {self.wanted} wanted at {self.at.isoformat()} but only {self.held} held "
                f"({self.missing} short) — entries {ids}")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The state of one asset's lots at a week start (see `lots_checkpoint`): what a later run resumes from."""

    asset: str
    at: datetime  # a Monday 00:00 UTC: the state before any event at or after it
    state: dict[str, Any]


@dataclass(slots=True)
class Books:
    """Everything one run of the engine produced for one entity and one method."""

    method: Method
    disposals: list[Disposal] = field(default_factory=list)
    income: list[Income] = field(default_factory=list)
    expenses: list[Expense] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    lots: dict[str, list[Lot]] = field(default_factory=dict)  # open lots per asset, oldest first
    holdings: list[Holding] = field(default_factory=list)  # every change of quantity and cost held, in order
    checkpoints: list[Checkpoint] = field(default_factory=list)  # when asked for: per asset, at week starts

    def held(self, asset: str) -> Decimal:
        return sum((lot.amount for lot in self.lots.get(asset, [])), ZERO)


def margin_disposal(event: Event) -> Disposal:
    """The disposal row of a `Kind.GAIN` event: a margin position's realised profit (proceeds) or loss (cost),
    drawing on no lots (rule ``margin``)."""
    value = event.value
    return Disposal(event.asset, event.at, ZERO, value if value > ZERO else ZERO, -value if value < ZERO else ZERO,
                    ZERO, "margin", None, None, event.entries, ())
