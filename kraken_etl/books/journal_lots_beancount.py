"""The Beancount journal with the books' lots (see `kraken_etl.books.journal_lots`).

The same file as `BeancountRenderer` writes, but:

- ``option "booking_method" "FIFO"``: Beancount books every `{}` reduction against the oldest lots;
- lotted assets are in their pooled account (``Assets:Kraken:<Account>:<Asset>``, all wallets), in the books'
  commodity, acquisitions at cost and disposals as `{}` reductions, the gain an elided
  ``Income:Kraken:Gains`` posting;
- a period opens with the books' lots open at its start (their cost and acquisition date) against
  ``Equity:Opening-Balances``; a partial history opens with the books' lots of its opening balance;
- a pooled account's balance assertion is the sum of Kraken's running balances of its wallets (each wallet's
  balance after its last entry so far), asserted at the end of each day one of them moved.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import TextIO

from kraken_etl.books.journal import OPENING_ACCOUNT, Assertion, Opening, Transaction
from kraken_etl.books.journal_beancount import BeancountRenderer
from kraken_etl.books.journal_lots import LotLine, LotPlan, LotsError, Pool
from kraken_etl.books.journal_names import Chart, quoted
from kraken_etl.books.journal_render import number
from kraken_etl.core.money import exact_sum


class LotsBeancountRenderer(BeancountRenderer):
    """Writes Beancount text with lots at cost to `out` (see the module docstring)."""

    def __init__(self, out: TextIO, chart: Chart, plan: LotPlan, *, currency: str | None = None) -> None:
        super().__init__(out, chart, currency=currency)
        self.plan = plan
        self.chains: dict[tuple[str, str], Pool] = {}  # (wallet account, journal asset) -> its pool
        self.members: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)  # pool -> its chains
        self.balances: dict[tuple[str, str], Decimal] = {}  # chain -> Kraken's balance after its last entry
        self.unasserted: set[tuple[str, str]] = set()  # pools with an entry of no wallet or no Kraken balance
        self.due: dict[tuple[str, str], str] = {}  # pools to assert at the end of `due_day` -> last ledger id
        self.due_day: date | None = None

    def _chain(self, account: str, gl_account: str, asset: str) -> Pool | None:
        pool = self.plan.pools.get((account, asset))
        if pool is not None and (gl_account, asset) not in self.chains:
            self.chains[(gl_account, asset)] = pool
            self.members[(pool.gl_account, pool.asset)].add((gl_account, asset))
        return pool

    def begin(self) -> None:
        super().begin()
        self.out.write(f'option "booking_method" "{self.plan.method.value.upper()}"\n\n')

    def openings(self, openings: list[Opening]) -> None:
        self._flush()
        plain = []
        wanted: dict[tuple[date, str, str], list[Decimal]] = defaultdict(list)
        for o in openings:
            pool = self._chain(o.account, o.gl_account, o.asset)
            if pool is None:
                plain.append(o)
            else:
                self.balances[(o.gl_account, o.asset)] = o.amount
                wanted[(o.day, o.account, pool.gl_account)].append(o.amount)
        if plain:
            super().openings(plain)
        lots: dict[date, list[LotLine]] = defaultdict(list)
        if self.plan.start is not None:
            day = self.plan.start.date()
            for account, lot in self.plan.opening_lots():
                lots[day].append(LotLine(self.plan.pool_account(account, lot.asset), lot.amount, lot.asset,
                                         lot.entries[0] if lot.entries else "", cost=lot.cost,
                                         cost_date=lot.acquired_at.date(), label=lot.entries[0] if lot.entries
                                         else f"{lot.asset}-{lot.acquired_at.isoformat()}",
                                         cost_assumed=lot.cost_assumed))
        for day, account in sorted({(d, a) for d, a, _ in wanted}):
            for e in self.plan.opening_events(account, day):
                lots[day].append(LotLine(self.plan.pool_account(account, e.asset), e.amount, e.asset, e.entries[0],
                                         cost=e.value, cost_date=(e.acquired_at or e.at).date(),
                                         label=e.entries[0], cost_assumed=e.cost_assumed))
        found: dict[tuple[date, str], list[Decimal]] = defaultdict(list)
        for day, lines in lots.items():
            for line in lines:
                found[(day, line.gl_account)].append(line.amount or Decimal(0))
        held = {(day, gl): exact_sum(amounts) for (day, _, gl), amounts in wanted.items()}
        for day, gl in sorted(set(held) | set(found)):
            balance, in_lots = held.get((day, gl), Decimal(0)), exact_sum(found.get((day, gl), []))
            if balance != in_lots:
                raise LotsError(f"{gl} opens {day} at {balance} but the books hold {in_lots} in lots then: the "
                                "journal cannot carry the lots (run `kraken-etl pnl` again, or export without "
                                "lots)")
        for day in sorted(lots):
            self._day(day)
            self.out.write(f'{day} * "Kraken" "Opening lots"\n')
            self.out.write("".join(self._line(line) for line in lots[day]))
            self.out.write(f"  {self._account(OPENING_ACCOUNT)}\n\n")

    def transaction(self, txn: Transaction) -> None:
        self._flush()
        self._day(txn.day)
        for p in txn.postings:
            if p.posting == 1 and self._chain(txn.account, p.gl_account, p.asset) is not None and (
                    p.wallet is None or p.kraken_balance is None):
                pool = self.chains[(p.gl_account, p.asset)]
                self.unasserted.add((pool.gl_account, pool.asset))
        parts = [f'{txn.day} * "Kraken" {quoted(txn.kinds)}\n  kraken_account: {quoted(txn.account)}\n'
                 f"  refid: {quoted(txn.refid or '')}\n  time: \"{txn.time.isoformat()}\"\n"]
        parts += [self._line(line) for line in self.plan.transaction(txn)]
        parts.append("\n")
        self.out.write("".join(parts))

    def assertion(self, assertion: Assertion) -> None:
        pool = self.chains.get((assertion.gl_account, assertion.asset))
        if pool is None:
            super().assertion(assertion)
            return
        if self.due_day is not None and assertion.day != self.due_day:
            self._flush()
        self.due_day = assertion.day
        self.balances[(assertion.gl_account, assertion.asset)] = assertion.balance
        self.due[(pool.gl_account, pool.asset)] = assertion.ledger_id

    def end(self) -> None:
        self._flush()
        super().end()

    def _flush(self) -> None:
        if self.due_day is None:
            return
        day = self.due_day + timedelta(days=1)
        for key, ledger_id in sorted(self.due.items()):
            if key in self.unasserted:  # a wallet of it is not asserted (no wallet yet): neither is the sum
                continue
            total = exact_sum(self.balances.get(chain, Decimal(0)) for chain in self.members[key])
            self.out.write(f"{day} balance {self._account(key[0])}  {number(total)} ~ 0 {self._commodity(key[1])}\n"
                           f"  ledger_id: {quoted(ledger_id)}\n")
        self.due.clear()
        self.due_day = None

    def _line(self, line: LotLine) -> str:
        account = self._account(line.gl_account)
        if line.amount is None:
            text = f"  {account}\n"
        else:
            text = f"  {account}  {number(line.amount)} {self._commodity(line.asset)}"
            cost = self._commodity(self.plan.currency)
            if line.cost is not None:
                text += f" {{{{{number(line.cost)} {cost}, {line.cost_date}, {quoted(line.label)}}}}}"
            elif line.reduce:
                text += " {}" if line.price is None else f" {{}} @@ {number(line.price)} {cost}"
            text += "\n"
        text += f"    ledger_id: {quoted(line.ledger_id)}\n"
        if line.cost_assumed:
            text += "    cost_assumed: TRUE\n"
        if line.value is not None and self.currency:
            text += f"    value: {number(line.value)} {self._commodity(self.currency)}\n"
        return text
