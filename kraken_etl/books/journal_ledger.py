"""The journal in Ledger/hledger syntax: `hledger check` accepts it, balance assertions included.

Same content as the Beancount export: one transaction per (account, refid) with ``; refid:``/``; ledger_id:``
tags, `P` price directives, opening balances, and for each day with movements a transaction of zero postings
with a balance assertion each (``ACCOUNT  0 BTC = 1.5 BTC``: Kraken's balance after the day's last entry),
dated that day and placed after its transactions (hledger checks assertions in date order, then file order).
Commodities are the Beancount names (`journal_names.commodity`), in double quotes unless letters only; the
file starts with ``decimal-mark .`` so ``1.000`` is one, not a thousand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TextIO

from kraken_etl.books.journal import OPENING_ACCOUNT, Assertion, Opening, Transaction
from kraken_etl.books.journal_names import Chart, commodity, ledger_commodity, plain
from kraken_etl.books.journal_render import Price, number, write_block


class LedgerRenderer:
    """Writes Ledger/hledger text to `out` (see the module docstring)."""

    def __init__(self, out: TextIO, chart: Chart, *, currency: str | None = None) -> None:
        self.out = out
        self.chart = chart
        self.currency = currency
        self.names: dict[str, str] = {}
        self.accounts: set[str] = set()
        self.pending: list[Assertion] = []

    def _commodity(self, asset: str) -> str:
        name = self.names.get(asset)
        if name is None:
            name = self.names[asset] = ledger_commodity(commodity(asset))
        return name

    def _account(self, gl_account: str) -> str:
        name = self.chart.name(gl_account)
        self.accounts.add(name)
        return name

    def begin(self) -> None:
        self.out.write("; double-entry journal exported by kraken-etl (hledger / Ledger syntax)\n"
                       "decimal-mark .\n\n")

    def prices(self, prices: Iterable[Price]) -> int:
        return write_block(self.out, (f"P {p.day} {self._commodity(p.base)} {number(p.price)} "
                                      f"{self._commodity(p.quote)}" for p in prices))

    def openings(self, openings: list[Opening]) -> None:
        for day in sorted({o.day for o in openings}):
            self.out.write(f"{day} * Opening balances\n")
            for o in (o for o in openings if o.day == day):
                name = self._commodity(o.asset)
                self.out.write(f"    {self._account(o.gl_account)}  {number(o.amount)} {name}"
                               f"  ; kraken_account: {plain(o.account)}\n"
                               f"    {self._account(OPENING_ACCOUNT)}  {number(-o.amount)} {name}\n")
            self.out.write("\n")

    def transaction(self, txn: Transaction) -> None:
        self._flush(txn.day)
        write = self.out.write
        write(f"{txn.day} * Kraken | {plain(txn.kinds)}  ; refid: {plain(txn.refid or '')}, "
              f"kraken_account: {plain(txn.account)}, time: {txn.time.isoformat()}\n")
        for p in txn.postings:
            value = ""
            if p.value is not None and self.currency:
                value = f", value: {number(p.value)} {plain(commodity(self.currency))}"
            write(f"    {self._account(p.gl_account)}  {number(p.amount)} {self._commodity(p.asset)}"
                  f"  ; ledger_id: {plain(p.ledger_id)}{value}\n")
        write("\n")

    def assertion(self, assertion: Assertion) -> None:
        self.pending.append(assertion)

    def _flush(self, before: date | None) -> None:
        """Write the assertions of the days before `before` (all when None), one transaction per day."""
        ready = [a for a in self.pending if before is None or a.day < before]
        if not ready:
            return
        self.pending = [a for a in self.pending if not (before is None or a.day < before)]
        for day in sorted({a.day for a in ready}):
            self.out.write(f"{day} * Kraken balances at the end of the day\n")
            for a in (a for a in ready if a.day == day):
                name = self._commodity(a.asset)
                self.out.write(f"    {self._account(a.gl_account)}  0 {name} = {number(a.balance)} {name}"
                               f"  ; ledger_id: {plain(a.ledger_id)}\n")
            self.out.write("\n")

    def end(self) -> None:
        self._flush(None)
        for account in sorted(self.accounts):
            self.out.write(f"account {account}\n")
