"""Compute and store the books of one tax entity, and read them back for a period: what `kraken-etl pnl`
runs. Composition: the ledger, treatments and opening lots come from `kraken_etl.db.books`, the events and
lots from the pure engine (`treatments_events`, `lots`).

Every run is a full recompute of the entity's (method, currency) from its first entry: the stored result is
replaced whole, so a changed or late entry anywhere is always taken into account.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.books.lots import compute
from kraken_etl.books.lots_model import Books, Method
from kraken_etl.books.treatments import FeeRule, Rule, Treatment
from kraken_etl.books.treatments_events import Finding, LedgerLine, OpeningLot, ledger_to_events
from kraken_etl.core.money import exact_sum
from kraken_etl.core.period import Period
from kraken_etl.db import books as store
from kraken_etl.db.books import Engine

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RunResult:
    entity: str
    method: str
    currency: str
    entries: int
    disposals: int
    findings: list[tuple[str, str]]  # (kind, detail)


def lines_from_rows(openings: list[Any], entries: list[Any]) -> list[LedgerLine]:
    lines = [LedgerLine(r.ledger_id, None, r.time, store.OPENING_TYPE, "", r.asset, r.amount, ZERO, r.price,
                        r.account) for r in openings]
    lines += [LedgerLine(r.ledger_id, r.refid, r.time, r.type, r.subtype or "", r.asset, r.amount, r.fee, r.price,
                         r.account) for r in entries]
    return lines


def compute_books(lines: list[LedgerLine], *, method: Method | str, currency: str,
                  table: dict[tuple[str, str], Rule], fee_rule: FeeRule, opening_lots: list[OpeningLot],
                  ) -> tuple[Books, list[Finding]]:
    converted = ledger_to_events(lines, currency=currency, table=table, fee_rule=fee_rule,
                                 opening_lots=opening_lots)
    return compute(converted.events, method), converted.findings


def run(engine: Engine, *, entity: str, accounts: list[str], method: Method | str, currency: str,
        fee_rule: FeeRule = FeeRule.ACQUISITION_COST) -> RunResult:
    method = Method(method)
    currency = currency.upper()
    with engine.connect() as conn:
        openings, entries = store.read_ledger(conn, accounts, currency)
        table = {(r.ledger_type, r.ledger_subtype): Rule(Treatment(r.treatment), r.note, r.flagged)
                 for r in store.read_treatments(conn)}
        lot_rows = store.read_opening_lots(conn)
    lots, findings = [], []
    for r in lot_rows:
        source = f"{r.source_name}:{r.row_number}"
        if r.currency.upper() != currency:
            findings.append(Finding("opening_lot_currency", (source,),
                                    f"opening lot costed in {r.currency}, not {currency}: not used"))
        else:
            lots.append(OpeningLot(r.asset, r.amount, r.cost, r.acquired_at, source))
    books, found = compute_books(lines_from_rows(openings, entries), method=method, currency=currency,
                                 table=table, fee_rule=fee_rule, opening_lots=lots)
    findings += found
    with engine.begin() as conn:
        store.store_books(conn, entity=entity, method=method.value, currency=currency, accounts=accounts,
                          entries=len(entries), last_entry_time=entries[-1].time if entries else None,
                          fee_rule=fee_rule.value, tables=_tables(books, findings))
    shown = [(f.kind, f.detail) for f in findings] + [("shortfall", s.describe()) for s in books.shortfalls]
    return RunResult(entity, method.value, currency, len(entries), len(books.disposals), shown)


def _tables(books: Books, findings: list[Finding]) -> dict[str, list[dict[str, Any]]]:
    income = [{"asset": i.asset, "received_at": i.at, "amount": i.amount, "value": i.value, "kind": i.label,
               "entries": list(i.entries), "is_expense": False} for i in books.income]
    income += [{"asset": e.asset, "received_at": e.at, "amount": e.amount, "value": e.value, "kind": e.label,
                "entries": list(e.entries), "is_expense": True} for e in books.expenses]
    found: list[dict[str, Any]] = [
        {"kind": f.kind, "asset": None, "at": None, "entries": list(f.entries), "detail": f.detail}
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


def read_report(engine: Engine, *, entity: str, method: str, currency: str, period: Period) -> Report:
    report = Report(entity, method, currency.upper(), period)
    with engine.connect() as conn:
        for r in store.read_disposals(conn, entity, method, report.currency, period.start, period.end):
            acquired = _acquired(r.acquired_first, r.acquired_last)
            report.disposals.append({
                "asset": r.asset, "disposed_at": r.disposed_at, "amount": r.amount, "proceeds": r.proceeds,
                "cost": r.cost, "fees": r.fees, "gain": r.gain, "rule": r.rule, "acquired_at": acquired,
                "holding_days": r.holding_days, "disposal_entries": list(r.disposal_entries),
                "acquisition_entries": list(r.acquisition_entries), "cost_assumed": r.cost_assumed})
        for r in store.read_income(conn, entity, method, report.currency, period.start, period.end):
            row = {"asset": r.asset, "received_at": r.received_at, "amount": r.amount, "value": r.value,
                   "kind": r.kind, "entries": list(r.entries)}
            (report.expenses if r.is_expense else report.income).append(row)
        report.findings = [{"kind": r.kind, "asset": r.asset, "at": r.at, "entries": list(r.entries),
                            "detail": r.detail} for r in store.read_findings(conn, entity, method, report.currency)]
    return report


def _acquired(first: datetime | None, last: datetime | None) -> Any:
    if first is None:
        return None
    if last is None or last == first:
        return first
    return {"from": first, "to": last}
