"""The books job: compute and store the books of one tax entity for (method, currency), read them back for a
period (what `kraken-etl pnl` prints), and import opening lots (`kraken-etl lots import`).

A run is incremental when it can be. The stored computation remembers where it looked last (its watermark),
a digest of its other inputs (treatments, opening lots, asset identities, fee rule, accounts) and the engine's
checkpoints. The next run then finds, per asset, the earliest entry written since (or of the same group as one
written since; a new price moves every asset from its candle on), starts that asset from its latest checkpoint
at or before that entry's day (for `uk` 30 days earlier: the 30-day rule looks forward), and replaces the
asset's rows from the checkpoint on. Anything it cannot follow that way (another digest, an entry removed, no
stored run) makes it a full run from the first entry. Either way the stored rows are the same (a test compares).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from kraken_etl.books.event_lines import Progress
from kraken_etl.books.lots import compute
from kraken_etl.books.lots_checkpoint import decode, encode, resume_target
from kraken_etl.books.lots_import import opening_lots_in, parse_lots
from kraken_etl.books.lots_model import Books, Checkpoint, Method
from kraken_etl.books.moves import Movement, pair_moves
from kraken_etl.books.pnl import Report, RunResult, acquired, asset_tables, lines_from_rows, numbered, row_counts
from kraken_etl.books.treatments import FeeRule, Rule, Treatment
from kraken_etl.books.treatments_events import ledger_to_events
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.period import Period
from kraken_etl.db import book_runs as runs
from kraken_etl.db import books as store
from kraken_etl.db.books import Engine

__all__ = ["BooksError", "ImportResult", "RunResult", "import_lots", "read_report", "run"]


class BooksError(KrakenEtlError):
    """The books cannot be stored as computed."""

_EMPTY: dict[Method, dict[str, Any]] = {m: decode(m, {}) for m in Method}


@dataclass(frozen=True, slots=True)
class _Start:
    """Where a resumed asset starts: the checkpoint (or an empty state at a moment before the asset's first
    event), the opening lots' progress there, and how many rows of each table it keeps."""

    checkpoint: Checkpoint
    opening: Progress | None
    counts: dict[str, int]


def run(engine: Engine, *, entity: str, accounts: list[str], method: Method | str, currency: str,
        fee_rule: FeeRule = FeeRule.ACQUISITION_COST, full: bool = False) -> RunResult:
    """Bring the stored books of `entity` for (method, currency) up to date: incrementally when an earlier
    run allows it (`full`: from the first entry whatever was stored).

    Raises:
        BooksError: an incremental run found the stored books changed by another run between its read and its
            write (nothing is written; the next run starts from what that run stored).
    """
    method = Method(method)
    currency = currency.upper()
    key = {"entity": entity, "method": method.value, "currency": currency}
    with store.reading(engine) as conn:
        mark = store.watermark(conn)
        lots, findings = opening_lots_in(store.read_opening_lots(conn, currency), currency)
        rates = [f"{lot.source}={lot.cost}" for lot in lots]  # a lot's cost in `currency` moves with its price
        moves = {} if len(accounts) < 2 else pair_moves(
            Movement(r.account, r.ledger_id, r.asset, r.type, r.amount, r.time)
            for r in store.read_movements(conn, accounts))
        paired = [f"{a}/{i}" for a, i in sorted(moves)]  # a new pair changes entries already stored: a full run
        inputs = hashlib.sha256("\n".join([store.inputs_digest(conn), fee_rule.value, *accounts, *rates, *paired])
                                .encode()).hexdigest()
        prior = None if full else runs.read_run(conn, entity, method.value, currency)
        starts = None if prior is None or prior.inputs != inputs else _starts(conn, prior, method, accounts)
        if starts == {} and prior is not None:  # nothing changed since the stored run
            return RunResult(entity, method.value, currency, prior.entries, 0, [], incremental=True, unchanged=True)
        since = None if starts is None else min(s.checkpoint.at for s in starts.values())
        openings, entries = store.read_ledger(conn, accounts, currency, start=since)
        total = len(entries) if starts is None else store.entry_counts(conn, accounts, mark)[0]
        table = {(r.ledger_type, r.ledger_subtype): Rule(Treatment(r.treatment), r.note, r.flagged)
                 for r in store.read_treatments(conn)}
    scope = None if starts is None else {asset: s.checkpoint.at for asset, s in starts.items()}
    converted = ledger_to_events(
        lines_from_rows(openings, entries, store.OPENING_TYPE), currency=currency, table=table, fee_rule=fee_rule,
        opening_lots=lots, since=scope, moves=moves,
        opening_progress=None if starts is None else {a: s.opening for a, s in starts.items() if s.opening})
    books = compute(converted.events, method, checkpoints=True,
                    resume=None if starts is None else {a: s.checkpoint for a, s in starts.items()})
    if scope is not None:
        findings = [f for f in findings if f.asset in scope]
    findings += converted.findings
    per_asset = asset_tables(books, findings)
    last = entries[-1].time if entries else None
    if prior is not None and starts is not None and prior.last_entry_time is not None:
        last = prior.last_entry_time if last is None else max(last, prior.last_entry_time)
    facts = runs.RunFacts(accounts, total, last, fee_rule.value, mark, inputs, starts is not None)
    tables: dict[str, list[dict[str, Any]]] = {t: [] for t in runs.TABLES}
    checkpoints = []
    for asset in sorted(set(per_asset) | set(starts or ())):
        start = None if starts is None else starts.get(asset)
        rows = per_asset.get(asset) or {t: [] for t in runs.TABLES}
        for name, numbered_rows in numbered(rows, start.counts if start else None).items():
            tables[name] += numbered_rows
        checkpoints += _checkpoint_rows(method, books, asset, rows, start, converted.progress.get(asset, []))
    with engine.begin() as conn:
        if starts is None:
            runs.store_books(conn, **key, facts=facts, tables=tables, checkpoints=checkpoints)
        elif prior is None or not runs.replace_assets(
                conn, **key, facts=facts, tables=tables, checkpoints=checkpoints, read_watermark=prior.watermark,
                starts={a: (s.checkpoint.at, s.counts) for a, s in starts.items()}):
            raise BooksError(f"the {method.value} books of {entity} in {currency} were stored by another run "
                             "meanwhile: nothing written; run again")
    shown = [(f.kind, f.detail) for f in findings] + [("shortfall", s.describe()) for s in books.shortfalls]
    return RunResult(entity, method.value, currency, total, len(books.disposals), shown,
                     incremental=starts is not None, assets=tuple(sorted(per_asset if starts is None else starts)))


def _starts(conn: Any, prior: Any, method: Method, accounts: list[str]) -> dict[str, _Start] | None:
    """Per changed asset, where it starts again; {} when nothing changed; None when only a full run will do."""
    if prior.watermark is None or list(prior.accounts) != list(accounts):
        return None
    total, new = store.entry_counts(conn, accounts, prior.watermark)
    if total - new != prior.entries:
        return None  # an entry was removed (or rewritten under another key) since the stored run
    changed = store.changed_assets(conn, accounts, prior.watermark)
    moved = store.price_change(conn, prior.watermark)
    if moved is not None:
        for asset in runs.checkpoint_assets(conn, prior.entity, prior.method, prior.currency):
            changed[asset] = min(changed.get(asset, moved), moved)
    starts = {}
    for asset, first in changed.items():
        target = resume_target(method, first)
        row = runs.read_checkpoint(conn, prior.entity, prior.method, prior.currency, asset, target)
        if row is None:  # the asset had no event before `target`: it starts there, empty
            counts = runs.count_before(conn, prior.entity, prior.method, prior.currency, asset, target)
            starts[asset] = _Start(Checkpoint(asset, target, _EMPTY[method]), None, counts)
        else:
            opening = None if row.opening is None else _progress(row.opening)
            starts[asset] = _Start(Checkpoint(asset, row.at, decode(method, row.state)), opening, row.row_counts)
    return starts


def _progress(value: list[Any]) -> Progress:
    return int(value[0]), Decimal(value[1]), Decimal(value[2])


def _checkpoint_rows(method: Method, books: Books, asset: str, rows: dict[str, list[dict[str, Any]]],
                     start: _Start | None, marks: list[tuple[datetime, Progress]]) -> list[dict[str, Any]]:
    out = []
    kept = start.counts if start else {}
    opening = start.opening if start else None
    i = 0
    for c in (c for c in books.checkpoints if c.asset == asset):
        while i < len(marks) and marks[i][0] < c.at:
            opening = marks[i][1]
            i += 1
        counts = {t: kept.get(t, 0) + n for t, n in row_counts(rows, c.at).items()}
        out.append({"asset": asset, "at": c.at, "state": orjson.dumps(encode(method, c.state)).decode(),
                    "opening": None if opening is None else orjson.dumps([opening[0], str(opening[1]),
                                                                          str(opening[2])]).decode(),
                    "row_counts": orjson.dumps(counts).decode()})
    return out


def read_report(engine: Engine, *, entity: str, method: str, currency: str, period: Period) -> Report:
    """The stored books of an entity for a period, as `pnl` prints them."""
    report = Report(entity, method, currency.upper(), period)
    with engine.connect() as conn:
        for r in runs.read_disposals(conn, entity, method, report.currency, period.start, period.end):
            report.disposals.append({
                "asset": r.asset, "disposed_at": r.disposed_at, "amount": r.amount, "proceeds": r.proceeds,
                "cost": r.cost, "fees": r.fees, "gain": r.gain, "rule": r.rule,
                "acquired_at": acquired(r.acquired_first, r.acquired_last), "holding_days": r.holding_days,
                "disposal_entries": list(r.disposal_entries), "acquisition_entries": list(r.acquisition_entries),
                "cost_assumed": r.cost_assumed})
        for r in runs.read_income(conn, entity, method, report.currency, period.start, period.end):
            row = {"asset": r.asset, "received_at": r.received_at, "amount": r.amount, "value": r.value,
                   "kind": r.kind, "entries": list(r.entries)}
            (report.expenses if r.is_expense else report.income).append(row)
        report.findings = [{"kind": r.kind, "asset": r.asset, "at": r.at, "entries": list(r.entries),
                            "detail": r.detail} for r in runs.read_findings(conn, entity, method, report.currency)]
    return report


@dataclass(frozen=True, slots=True)
class ImportResult:
    read: int  # lots in the file
    new: int  # of them, not imported before


def import_lots(engine: Engine, name: str, data: bytes) -> ImportResult:
    """Import the opening lots of one CSV file (idempotent: the same content again adds nothing).

    Raises:
        UnicodeDecodeError: the file is not UTF-8 text.
        LotFileError: a row is bad (every bad row named); nothing is imported.
    """
    rows = parse_lots(data.decode("utf-8"))
    with engine.begin() as conn:
        new = store.store_opening_lots(conn, hashlib.sha256(data).hexdigest(), name, [
            store.OpeningLotInput(r.row_number, r.asset, r.amount, r.cost, r.currency, r.acquired_at) for r in rows])
    return ImportResult(len(rows), new)
