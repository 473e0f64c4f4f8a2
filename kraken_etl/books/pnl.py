"""The books of one tax entity as rows to store, and as `kraken-etl pnl` reads them back for a period. Pure:
the job (`kraken_etl.jobs.books`) reads the ledger, runs the engine, stores these rows and reads them back.

Rows are grouped per asset and numbered (`seq`) in time order within the asset (rows without a moment, the
findings about unused opening lots, last), so a resumed run replaces an asset's rows from a checkpoint on by
one range of `seq` (`row_counts`: how many rows each table keeps before a moment).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.books.event_lines import Finding, LedgerLine
from kraken_etl.books.lots_model import Books
from kraken_etl.core.money import exact_sum
from kraken_etl.core.period import Period

ZERO = Decimal(0)
TIME = {"book_disposal": "disposed_at", "book_income": "received_at", "book_holding": "at", "book_finding": "at"}


@dataclass(frozen=True, slots=True)
class RunResult:
    entity: str
    method: str
    currency: str
    entries: int
    disposals: int  # disposal rows the run computed (a resumed run: those from its checkpoints on)
    findings: list[tuple[str, str]]  # (kind, detail), of the rows the run computed
    incremental: bool = False  # resumed from checkpoints (False: computed from the first entry)
    assets: tuple[str, ...] = ()  # the assets it computed (all of them for a full run)
    unchanged: bool = False  # nothing had changed since the stored run: nothing was computed or written


def lines_from_rows(openings: list[Any], entries: list[Any], opening_type: str) -> list[LedgerLine]:
    lines = [LedgerLine(r.ledger_id, None, r.time, opening_type, "", r.asset, r.amount, ZERO, r.price,
                        r.account) for r in openings]
    lines += [LedgerLine(r.ledger_id, r.refid, r.time, r.type, r.subtype or "", r.asset, r.amount, r.fee, r.price,
                         r.account) for r in entries]
    return lines


def _key(table: str) -> Any:
    column = TIME[table]

    def key(row: dict[str, Any]) -> tuple[int, Any]:
        at = row[column]
        return (1, 0) if at is None else (0, at)
    return key


def asset_tables(books: Books, findings: list[Finding]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per asset, per table, the rows in time order (stable: the engine's order among rows of one moment),
    without `seq`."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: {t: [] for t in TIME})
    for table, rows in _tables(books, findings).items():
        for row in rows:
            out[row["asset"]][table].append(row)
    for tables in out.values():
        for table, rows in tables.items():
            rows.sort(key=_key(table))
    return dict(out)


def numbered(tables: dict[str, list[dict[str, Any]]], first: dict[str, int] | None = None,
             ) -> dict[str, list[dict[str, Any]]]:
    """One asset's rows with `seq`, from `first[table]` (default 0)."""
    return {table: [{**row, "seq": (first or {}).get(table, 0) + i} for i, row in enumerate(rows)]
            for table, rows in tables.items()}


def row_counts(tables: dict[str, list[dict[str, Any]]], at: datetime) -> dict[str, int]:
    """How many of one asset's rows (each table in time order) are before `at`."""
    counts = {}
    for table, rows in tables.items():
        column = TIME[table]
        timed = [row[column] for row in rows if row[column] is not None]
        counts[table] = bisect_left(timed, at)
    return counts


def _tables(books: Books, findings: list[Finding]) -> dict[str, list[dict[str, Any]]]:
    income = [{"asset": i.asset, "received_at": i.at, "amount": i.amount, "value": i.value, "kind": i.label,
               "entries": list(i.entries), "is_expense": False} for i in books.income]
    income += [{"asset": e.asset, "received_at": e.at, "amount": e.amount, "value": e.value, "kind": e.label,
                "entries": list(e.entries), "is_expense": True} for e in books.expenses]
    found: list[dict[str, Any]] = [
        {"kind": f.kind, "asset": f.asset, "at": f.at, "entries": list(f.entries), "detail": f.detail}
        for f in findings]
    found += [{"kind": "shortfall", "asset": s.asset, "at": s.at, "entries": list(s.entries),
               "detail": s.describe()} for s in books.shortfalls]
    return {
        "book_disposal": [
            {"asset": d.asset, "disposed_at": d.disposed_at, "amount": d.amount, "proceeds": d.proceeds,
             "cost": d.cost, "fees": d.fees, "gain": d.gain, "rule": d.rule, "acquired_first": d.acquired_first,
             "acquired_last": d.acquired_last, "disposal_entries": list(d.disposal_entries),
             "acquisition_entries": list(d.acquisition_entries), "cost_assumed": d.cost_assumed}
            for d in books.disposals],
        "book_income": income,
        "book_holding": [{"asset": h.asset, "at": h.at, "quantity": h.quantity, "cost": h.cost}
                         for h in books.holdings],
        "book_finding": found,
    }


@dataclass
class Report:
    """The stored books of an entity for a period, as `pnl` prints them."""

    entity: str
    method: str
    currency: str
    period: Period
    disposals: list[dict[str, Any]] = field(default_factory=list)
    income: list[dict[str, Any]] = field(default_factory=list)
    expenses: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        by_asset: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for d in self.disposals:
            by_asset[d["asset"]].append(d)
        columns = ("amount", "proceeds", "cost", "fees", "gain")
        per_asset = {asset: {key: exact_sum(d[key] for d in rows) for key in columns}
                     for asset, rows in sorted(by_asset.items())}
        return {
            "proceeds": exact_sum(d["proceeds"] for d in self.disposals),
            "cost": exact_sum(d["cost"] for d in self.disposals),
            "fees": exact_sum(d["fees"] for d in self.disposals),
            "gain": exact_sum(d["gain"] for d in self.disposals),
            "income": exact_sum(i["value"] for i in self.income),
            "fee_expenses": exact_sum(e["value"] for e in self.expenses),
            "disposals": len(self.disposals),
            "shortfalls": sum(1 for f in self.findings if f["kind"] == "shortfall"),
            "per_asset": per_asset,
        }


def acquired(first: datetime | None, last: datetime | None) -> Any:
    if first is None:
        return None
    if last is None or last == first:
        return first
    return {"from": first, "to": last}
