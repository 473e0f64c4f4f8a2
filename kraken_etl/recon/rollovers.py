"""Which position each margin `rollover` ledger entry belongs to, without trusting its refid to be the position id.

Kraken documents that a position is charged a rollover fee in its quote currency every 4 hours while it is
open; it does not document a rollover entry's refid. So an entry is attributed by what the data allows:

1. its refid is a stored position's id (an opening trade's txid): that position;
2. else the positions open at the entry's time (opened at or before it, not closed whole before it) whose
   pair is quoted in the entry's asset: one such position takes it; several share it (`shared`: the entry
   is one of theirs, which one the data does not say); none leaves it `orphan`.

`compare` then judges Kraken's rollover fees of the open positions it lists against the entries: a position
alone (no shared entry) exactly, positions that share entries as one group (their fees together), within the
entries that might also be a since-closed position's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.assets import normalize_asset


@dataclass(frozen=True, slots=True)
class Attribution:
    """Rollover entries by position id; the shared ones with their candidates; the ones no position explains."""

    own: Mapping[str, list[Mapping[str, Any]]]
    shared: list[tuple[Mapping[str, Any], tuple[str, ...]]] = field(default_factory=list)
    orphan: list[Mapping[str, Any]] = field(default_factory=list)


def quoted_in(pair: str, asset: str) -> bool:
    """Whether `pair` (a pair key or altname: XXBTZUSD, SOLUSD) is quoted in `asset` (ZUSD, USD)."""
    return pair.endswith((asset, normalize_asset(asset)))


def _open_at(span: Mapping[str, Any], when: datetime) -> bool:
    return bool(span["opened"] <= when and (span["closed"] is None or when <= span["closed"]))


def attribute(entries: Iterable[Mapping[str, Any]], spans: Sequence[Mapping[str, Any]]) -> Attribution:
    """Attribute rollover `entries` (ledger_id, refid, asset, time, fee) to position `spans` (txid, pair,
    opened, closed)."""
    ids = {s["txid"] for s in spans}
    own: dict[str, list[Mapping[str, Any]]] = {}
    shared: list[tuple[Mapping[str, Any], tuple[str, ...]]] = []
    orphan: list[Mapping[str, Any]] = []
    for e in entries:
        if e["refid"] in ids:
            own.setdefault(e["refid"], []).append(e)
            continue
        candidates = tuple(s["txid"] for s in spans if quoted_in(s["pair"], e["asset"]) and _open_at(s, e["time"]))
        if len(candidates) == 1:
            own.setdefault(candidates[0], []).append(e)
        elif candidates:
            shared.append((e, candidates))
        else:
            orphan.append(e)
    return Attribution(own, shared, orphan)


@dataclass(frozen=True, slots=True)
class Group:
    """Listed positions judged together: Kraken's rollover fees for them, and what our ledger allows."""

    positions: tuple[str, ...]
    kraken: Decimal  # Kraken's fees less the opening trades' fees
    ours: Decimal  # entries certainly theirs
    maybe: Decimal  # entries that might be theirs or a position's Kraken no longer lists
    entries: int
    last: datetime | None

    @property
    def agrees(self) -> bool:
        return self.ours <= self.kraken <= self.ours + self.maybe


def _components(listed: Sequence[str], shared: Iterable[tuple[str, ...]]) -> list[tuple[str, ...]]:
    parent = {p: p for p in listed}

    def root(p: str) -> str:
        while parent[p] != p:
            p = parent[p]
        return p

    for cands in shared:
        inside = [c for c in cands if c in parent]
        for other in inside[1:]:
            parent[root(other)] = root(inside[0])
    groups: dict[str, list[str]] = {}
    for p in listed:
        groups.setdefault(root(p), []).append(p)
    return [tuple(g) for g in groups.values()]


def compare(kraken: Mapping[str, Decimal], att: Attribution, upto: datetime) -> list[Group]:
    """Group the listed positions (`kraken`: position id -> Kraken's rollover fees so far) by shared entries up
    to `upto`, with our fees for each group."""
    shared = [(e, c) for e, c in att.shared if e["time"] <= upto]
    out = []
    for group in _components(list(kraken), (c for _, c in shared)):
        members = set(group)
        mine = [e for p in group for e in att.own.get(p, []) if e["time"] <= upto]
        certain = [e for e, c in shared if members.issuperset(c)]
        maybe = [e for e, c in shared if members & set(c) and not members.issuperset(c)]
        fees = [e["fee"] for e in (*mine, *certain)]
        times = [e["time"] for e in (*mine, *certain, *maybe)]
        out.append(Group(group, sum((kraken[p] for p in group), start=Decimal(0)),
                         sum(fees, start=Decimal(0)), sum((e["fee"] for e in maybe), start=Decimal(0)),
                         len(fees) + len(maybe), max(times, default=None)))
    return out
