"""The journal as Beancount 3 text: `bean-check` accepts it, balance assertions included.

- One transaction per (account, refid), its postings in the asset, metadata on each posting: `ledger_id`
  and, with a reporting currency, `value` (the amount at `reporting.price_at`, when a price is known).
- Trades balance through `Equity:Conversions` in each commodity (no `@@` price: the amounts stay Kraken's,
  exact, and nothing depends on Beancount's tolerance).
- A `balance` directive per asset account and commodity for each day with movements, dated the NEXT day:
  Beancount checks a balance at the start of its date, so ``D+1 balance`` is Kraken's balance after the
  last entry of day D. Each carries an explicit tolerance of ``~ 0``: by default Beancount lets a balance
  differ by one unit of its last decimal (a 0.0001 USD drift would pass); Kraken's balances are exact.
- `price` directives from Kraken's candles; `open` and `commodity` directives (written last, dated the first
  day: Beancount orders directives by date, not by place in the file).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import TextIO

from kraken_etl.books.journal import OPENING_ACCOUNT, Assertion, Opening, Transaction
from kraken_etl.books.journal_names import Chart, commodity, quoted
from kraken_etl.books.journal_render import Price, number, write_block


class BeancountRenderer:
    """Writes Beancount text to `out` (see the module docstring)."""

    def __init__(self, out: TextIO, chart: Chart, *, currency: str | None = None, title: str = "Kraken") -> None:
        self.out = out
        self.chart = chart
        self.currency = currency
        self.title = title
        self.accounts: dict[str, str] = {}  # default chart name -> name written
        self.commodities: dict[str, str] = {}
        self.labels: dict[str, str] = {}  # account label or narration -> quoted
        self.first_day: date | None = None

    def _day(self, day: date) -> None:
        if self.first_day is None or day < self.first_day:
            self.first_day = day

    def _commodity(self, asset: str) -> str:
        name = self.commodities.get(asset)
        if name is None:
            name = self.commodities[asset] = commodity(asset)
        return name

    def _account(self, gl_account: str) -> str:
        name = self.accounts.get(gl_account)
        if name is None:
            name = self.accounts[gl_account] = self.chart.name(gl_account)
        return name

    def begin(self) -> None:
        self.out.write(f";; {self.title}: double-entry journal exported by kraken-etl\n")
        self.out.write(f"option \"title\" {quoted(self.title)}\n")
        if self.currency:
            self.out.write(f'option "operating_currency" "{commodity(self.currency)}"\n')
        self.out.write("\n")

    def prices(self, prices: Iterable[Price]) -> int:
        def lines() -> Iterator[str]:
            for p in prices:
                self._day(p.day)
                yield f"{p.day} price {self._commodity(p.base)} {number(p.price)} {self._commodity(p.quote)}"
        return write_block(self.out, lines())

    def openings(self, openings: list[Opening]) -> None:
        for day in sorted({o.day for o in openings}):
            self._day(day)
            self.out.write(f'{day} * "Kraken" "Opening balances"\n')
            for o in (o for o in openings if o.day == day):
                name = self._commodity(o.asset)
                self.out.write(f"  {self._account(o.gl_account)}  {number(o.amount)} {name}\n"
                               f"    kraken_account: {quoted(o.account)}\n")
                self.out.write(f"  {self._account(OPENING_ACCOUNT)}  {number(-o.amount)} {name}\n")
            self.out.write("\n")

    def _label(self, text: str) -> str:
        """`quoted(text)` of an account label or a narration: few distinct ones, each quoted once."""
        made = self.labels.get(text)
        if made is None:
            made = self.labels[text] = quoted(text)
        return made

    def transaction(self, txn: Transaction) -> None:
        if self.first_day is None or txn.day < self.first_day:
            self.first_day = txn.day
        label = self._label
        parts = [f"{txn.day} * \"Kraken\" {label(txn.kinds)}\n  kraken_account: {label(txn.account)}\n"
                 f"  refid: {quoted(txn.refid or '')}\n  time: \"{txn.time.isoformat()}\"\n"]
        accounts, commodities, add = self.accounts, self.commodities, parts.append
        last_id, last_quoted = None, ""
        for (_, _, _, _, ledger_id, _, _, _, _, _, gl_account, asset, _, amount, _, value) in txn.postings:
            account = accounts.get(gl_account) or self._account(gl_account)
            name = commodities.get(asset) or self._commodity(asset)
            if ledger_id is not last_id:  # an entry's postings follow each other: its id is quoted once
                last_id, last_quoted = ledger_id, quoted(ledger_id)
            add(f"  {account}  {number(amount)} {name}\n    ledger_id: {last_quoted}\n")
            if value is not None and self.currency:
                add(f"    value: {number(value)} {self._commodity(self.currency)}\n")
        add("\n")
        self.out.write("".join(parts))

    def assertion(self, assertion: Assertion) -> None:
        self.out.write(f"{assertion.day + timedelta(days=1)} balance {self._account(assertion.gl_account)}  "
                       f"{number(assertion.balance)} ~ 0 {self._commodity(assertion.asset)}\n"
                       f"  ledger_id: {quoted(assertion.ledger_id)}\n")

    def end(self) -> None:
        day = self.first_day or date(1970, 1, 1)
        self.out.write("\n;; accounts and commodities (Beancount orders directives by date)\n")
        for account in sorted(set(self.accounts.values())):
            self.out.write(f"{day} open {account}\n")
        for asset, name in sorted(self.commodities.items(), key=lambda item: item[1]):
            self.out.write(f"{day} commodity {name}\n  kraken_asset: {quoted(asset)}\n")
