"""The `journal` job: read the double-entry journal and write it as Beancount, Ledger/hledger or CSV.

One read-only, repeatable-read transaction (openings, postings and prices agree with each other), the file
written beside its target and renamed into place when complete (a failed export leaves no half file).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kraken_etl.books.journal import GainsHook, Opening, Posting
from kraken_etl.books.journal_beancount import BeancountRenderer
from kraken_etl.books.journal_csv import CsvRenderer
from kraken_etl.books.journal_ledger import LedgerRenderer
from kraken_etl.books.journal_names import Chart
from kraken_etl.books.journal_render import JournalStats, Price, Renderer, render
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.period import Period
from kraken_etl.db import journal as reads
from kraken_etl.db.journal import Engine

FORMATS = ("beancount", "ledger", "csv")


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


def export_journal(engine: Engine, out: Path, fmt: str, *, accounts: Sequence[str] = (), period: Period | None = None,
                   currency: str | None = None, chart: Chart | None = None,
                   gains: GainsHook | None = None) -> JournalResult:
    """Write the journal of `accounts` (all when empty) for `period` (the whole history when None).

    Raises:
        JournalError: an unknown format, or an account with no stored entries.
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
            openings = [Opening(*row) for row in reads.opening_balances(conn, accounts=chosen, start=start, end=end)]
            rows = reads.journal_postings(conn, accounts=chosen, start=start, end=end, currency=currency)
            postings = (Posting._make(row) for row in rows)
            prices = (Price(*row) for row in reads.prices(conn, start=start, end=end))
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    renderer = _renderer(fmt, handle, chart, currency)
                    stats = render(renderer, openings=openings, postings=postings, prices=prices, gains=gains)
                os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a journal is for reading by the books' tools
                os.replace(tmp, out)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    return JournalResult(out, fmt, chosen, period, stats, out.stat().st_size, time.perf_counter() - started)
