"""The journal as CSV for a general-ledger import: one row per posting.

Columns: date, time, kraken_account, account, debit, credit, commodity, asset, value, value_currency, memo,
ledger_id, refid. A positive amount is a debit, a negative one a credit (written positive); opening balances
come first (memo ``opening balance``, no ledger id). Text cells that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading ``'``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from kraken_etl.books.journal import OPENING_ACCOUNT, Assertion, Opening, Transaction
from kraken_etl.books.journal_names import Chart, commodity
from kraken_etl.books.journal_render import Price, number
from kraken_etl.core.visible import visible

HEADER = ("date", "time", "kraken_account", "account", "debit", "credit", "commodity", "asset", "value",
          "value_currency", "memo", "ledger_id", "refid")


def cell(value: object) -> str:
    """Text made visible and safe from spreadsheet formulas."""
    text = visible(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class CsvRenderer:
    """Writes the CSV to `out` (see the module docstring)."""

    def __init__(self, out: TextIO, chart: Chart, *, currency: str | None = None) -> None:
        self.writer = csv.writer(out, lineterminator="\n")
        self.chart = chart
        self.currency = commodity(currency) if currency else ""

    def begin(self) -> None:
        self.writer.writerow(HEADER)

    def prices(self, prices: Iterable[Price]) -> int:
        return 0

    def _row(self, day: object, time: str, account: str, gl_account: str, amount: object, asset: str,
             value: object, memo: str, ledger_id: str, refid: str) -> None:
        text = number(amount)  # type: ignore[arg-type]
        debit, credit = (text, "") if not text.startswith("-") else ("", text[1:])
        self.writer.writerow((day, time, cell(account), self.chart.name(gl_account), debit, credit, commodity(asset),
                              cell(asset), "" if value is None else number(value),  # type: ignore[arg-type]
                              self.currency if value is not None else "", cell(memo), cell(ledger_id), cell(refid)))

    def openings(self, openings: list[Opening]) -> None:
        for o in openings:
            self._row(o.day, "", o.account, o.gl_account, o.amount, o.asset, None, "opening balance", "", "")
            self._row(o.day, "", o.account, OPENING_ACCOUNT, -o.amount, o.asset, None, "opening balance", "", "")

    def transaction(self, txn: Transaction) -> None:
        for p in txn.postings:
            memo = f"{p.type}/{p.subtype}" if p.subtype else p.type
            self._row(txn.day, p.time.isoformat(), p.account, p.gl_account, p.amount, p.asset,
                      p.value if self.currency else None, f"{memo} ({p.role})", p.ledger_id, p.refid or "")

    def assertion(self, assertion: Assertion) -> None:
        return None

    def end(self) -> None:
        return None
