"""The `journal` job: read the double-entry journal and write it as Beancount, Ledger/hledger or CSV.

One read-only, repeatable-read transaction (openings, postings and prices agree with each other), the file
written beside its target and renamed into place when complete (a failed export leaves no half file).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from kraken_etl.books.journal import GainsHook, Opening, entry_postings
from kraken_etl.books.journal_beancount import BeancountRenderer
from kraken_etl.books.journal_beancount_rows import render_entries
from kraken_etl.books.journal_csv import CsvRenderer
from kraken_etl.books.journal_gains import StoredGains, stored_gains
from kraken_etl.books.journal_ledger import LedgerRenderer
from kraken_etl.books.journal_lots import LotPlan, LotsError, pools_from_rows
from kraken_etl.books.journal_lots_beancount import LotsBeancountRenderer
from kraken_etl.books.journal_names import Chart
from kraken_etl.books.journal_render import JournalStats, Price, Renderer, render
from kraken_etl.books.lots_import import opening_lots_in
from kraken_etl.books.lots_model import Event, Method
from kraken_etl.books.pnl import lines_from_rows
from kraken_etl.books.treatments import FeeRule, Rule, Treatment
from kraken_etl.books.treatments_events import ledger_to_events
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.period import Period
from kraken_etl.db import books as book_reads
from kraken_etl.db import journal as reads
from kraken_etl.db.journal import Engine

FORMATS = ("beancount", "ledger", "csv")
# The books' methods Beancount's own booking reproduces (`booking_method` of the same name), and why not the others.
LOT_METHODS = ("fifo", "hifo")
_NO_LOTS = {
    "lifo": "Beancount's LIFO orders lots by date only, so of the lots acquired on one day it draws the oldest "
            "first, where the books' lifo draws the newest",
    "average": "Beancount 3 does not book reductions at average cost (its AVERAGE booking is not implemented)",
    "uk": "the UK share-matching rules (same day, the next 30 days, then the section 104 pool) are not an order "
          "of lots that Beancount's booking can express",
}


class JournalError(KrakenEtlError):
    """The journal cannot be exported as asked (an unknown account, nothing stored)."""


@dataclass(frozen=True, slots=True)
class JournalResult:
    path: Path
    format: str
    accounts: tuple[str, ...]
    period: Period | None
    stats: JournalStats
    size_bytes: int
    seconds: float


def _renderer(fmt: str, out: TextIO, chart: Chart, currency: str | None) -> Renderer:
    if fmt == "beancount":
        return BeancountRenderer(out, chart, currency=currency)
    if fmt == "ledger":
        return LedgerRenderer(out, chart, currency=currency)
    if fmt == "csv":
        return CsvRenderer(out, chart, currency=currency)
    raise JournalError(f"unknown journal format {fmt!r} (one of {', '.join(FORMATS)})")


def _gains(conn: Any, chosen: Sequence[str], method: str, currency: str) -> StoredGains:
    """The stored books' gains of `chosen` accounts: each account in exactly one current run of the method."""
    runs = reads.book_runs(conn, method=method, currency=currency)
    counts = reads.entry_counts(conn, [a for _, members, _ in runs for a in members])
    entities: list[str] = []
    for account in chosen:
        covering = [(entity, members, entries) for entity, members, entries in runs if account in members]
        if not covering:
            raise JournalError(f"no stored {method} books in {currency} cover account {account!r}: run "
                               f"`kraken-etl pnl --method {method} --currency {currency}` first")
        if len(covering) > 1:
            raise JournalError(f"account {account!r} is in several stored {method} books in {currency} "
                               f"({', '.join(e for e, _, _ in covering)}): export one entity's accounts")
        entity, members, entries = covering[0]
        if sum(counts.get(a, 0) for a in members) != entries:
            raise JournalError(f"the stored {method} books of {entity!r} are older than its ledger: run "
                               f"`kraken-etl pnl --method {method} --currency {currency}` again")
        if entity not in entities:
            entities.append(entity)
    return stored_gains(currency, reads.stored_disposals(conn, entities=entities, method=method, currency=currency))


def _lot_events(conn: Any, account: str, currency: str, fee_rule: FeeRule) -> list[Event]:
    """The lot engine's events of one account's ledger: the same reads and conversion `kraken-etl pnl` runs
    (fair value, treatments table, opening lots costed in `currency`, the books' fee rule)."""
    openings, entries = book_reads.read_ledger(conn, [account], currency)
    table = {(r.ledger_type, r.ledger_subtype): Rule(Treatment(r.treatment), r.note, r.flagged)
             for r in book_reads.read_treatments(conn)}
    lots, _ = opening_lots_in(book_reads.read_opening_lots(conn, currency), currency)  # (`pnl` reports the rest)
    return ledger_to_events(lines_from_rows(openings, entries, book_reads.OPENING_TYPE), currency=currency,
                            table=table, fee_rule=fee_rule, opening_lots=lots).events


def _check_lots(fmt: str, method: str | None) -> None:
    """Refuse lots the export cannot write: another format than Beancount, or a method its booking cannot do."""
    if fmt != "beancount":
        raise JournalError("lots with cost are exported in the Beancount format only (Ledger/hledger and CSV get "
                           "the books' gains as figures: export with --no-lots)")
    if method not in LOT_METHODS:
        why = _NO_LOTS.get(method or "", "they need a cost-basis method (--method)")
        raise JournalError(f"lots with cost are exported for {', '.join(LOT_METHODS)} books (Beancount's booking "
                           f"methods of the same name), not {method or 'without a method'}: {why}; export with "
                           "--no-lots to post the books' gains as figures")


def _lot_plan(conn: Any, chosen: Sequence[str], method: str, currency: str, period: Period | None) -> LotPlan:
    """The books' lots of `chosen` accounts; each must be the one account of its stored books' entity (the
    books pool an entity's accounts; the journal's lots are per account)."""
    runs = reads.book_runs(conn, method=method, currency=currency)
    events: dict[str, list[Event]] = {}
    for account in chosen:
        entity, members, _ = next(run for run in runs if account in run[1])
        if list(members) != [account]:
            raise JournalError(f"the stored {method} books of {entity!r} pool several accounts "
                               f"({', '.join(members)}): lots are exported for books of one account; "
                               "export without --lots (the books' gains are posted as figures)")
        fee_rule = FeeRule(reads.book_fee_rule(conn, entity=entity, method=method, currency=currency))
        events[account] = _lot_events(conn, account, currency, fee_rule)
    pools = pools_from_rows(reads.lot_pools(conn, chosen), currency)
    return LotPlan(currency, pools, events, start=period.start if period else None, method=Method(method))


def export_journal(engine: Engine, out: Path, fmt: str, *, accounts: Sequence[str] = (), period: Period | None = None,
                   currency: str | None = None, chart: Chart | None = None,
                   gains: GainsHook | None = None, method: str | None = None,
                   lots: bool | None = None) -> JournalResult:
    """Write the journal of `accounts` (all when empty) for `period` (the whole history when None).

    With a cost-basis `method`, each realised gain of the stored books (`kraken-etl pnl`, same method and
    `currency`, USD by default) is posted to `Income:Kraken:Gains` (see `kraken_etl.books.journal_gains`);
    with `lots` (the default for a Beancount export of fifo or hifo books) the Beancount file carries
    the books' lots at cost instead and Beancount books the gains itself (see `kraken_etl.books.journal_lots`).

    Raises:
        JournalError: an unknown format, an account with no stored entries, no current stored books for
            `method`, a stored disposal (or lot) no exported transaction carries, lots asked for another
            format than Beancount or a method Beancount cannot book (lifo, average, uk), or lots the journal cannot
            carry.
        OSError: the file cannot be written.
    """
    started = time.perf_counter()
    start, end = (period.start, period.end) if period else (None, None)
    chart = chart or Chart()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            known = reads.accounts_with_entries(conn)
            unknown = sorted(set(accounts) - set(known))
            if unknown:
                raise JournalError(f"no stored ledger entries for account(s): {', '.join(unknown)}")
            chosen = tuple(accounts) or tuple(known)
            if lots is None:
                lots = fmt == "beancount" and method in LOT_METHODS
            if lots:
                _check_lots(fmt, method)
            plan = None
            if method is not None:
                if gains is not None:
                    raise JournalError("give a cost-basis method or a gains hook, not both")
                gains = _gains(conn, chosen, method, (currency or "USD").upper())
                if lots:
                    plan = _lot_plan(conn, chosen, method, (currency or "USD").upper(), period)
            openings = [Opening(*row) for row in reads.opening_balances(conn, accounts=chosen, start=start, end=end)]
            # the common Beancount export is written straight from the entry rows, their numbers as text
            direct = fmt == "beancount" and plan is None and gains is None
            rows = reads.journal_entries(conn, accounts=None if set(chosen) == set(known) else chosen, start=start,
                                         end=end, currency=currency, numbers_as_text=direct)
            prices = (Price(*row) for row in reads.prices(conn, start=start, end=end))
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle, closing(rows):
                    if direct:
                        stats = render_entries(BeancountRenderer(handle, chart, currency=currency),
                                               openings=openings, rows=rows, prices=prices)
                    elif plan is not None:
                        renderer: Renderer = LotsBeancountRenderer(handle, chart, plan, currency=currency)
                        try:
                            stats = render(renderer, openings=openings, postings=entry_postings(rows),
                                           prices=prices)
                        except LotsError as exc:
                            raise JournalError(str(exc)) from exc
                    else:
                        renderer = _renderer(fmt, handle, chart, currency)
                        stats = render(renderer, openings=openings, postings=entry_postings(rows), prices=prices,
                                       gains=gains)
                if plan is not None:
                    left = plan.unplaced(end)
                    if left:
                        event = left[0]
                        raise _off_journal(f"{len(left)} lot event(s) of the books are",
                                           f"{event.kind} {event.amount} {event.asset}", event.at, event.entries)
                    stats.lot_acquisitions, stats.lot_reductions = plan.acquisitions, plan.reductions
                elif isinstance(gains, StoredGains):
                    missed = gains.unposted(start, end)
                    if missed:
                        first = missed[0]
                        raise _off_journal(f"{len(missed)} stored disposal(s) are", first.asset, first.disposed_at,
                                           first.disposal_entries)
                    stats.gains, stats.gain_total = gains.posted, gains.total
                os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a journal is for reading by the books' tools
                os.replace(tmp, out)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    return JournalResult(out, fmt, chosen, period, stats, out.stat().st_size, time.perf_counter() - started)


def _off_journal(what: str, first: str, at: datetime, entries: Sequence[str]) -> JournalError:
    """The error for books events that no exported transaction carries (the journal would disagree with them)."""
    return JournalError(f"{what} on no exported transaction (first: {first} at {at.isoformat()}, entries "
                        f"{', '.join(entries) or 'none'})")
