"""Moves between the accounts of one tax entity: a withdrawal from one of its accounts met by a deposit of the
same asset and amount into another of its accounts soon after. Pure.

Kraken links nothing across accounts, so the books pair them by what they carry: the same asset (canonical),
the deposit's amount equal to what the withdrawal sent (its amount, the fee aside), the deposit in another
account of the entity at or after the withdrawal and within `MOVE_WINDOW`. Each deposit takes the earliest
withdrawal still waiting that fits; each entry pairs at most once. A paired move keeps its lots in the entity's
pool (their cost and acquisition dates carried); only the fees on either side leave it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

MOVE_WINDOW = timedelta(days=7)

Entry = tuple[str, str]  # (account, ledger id)


@dataclass(frozen=True, slots=True)
class Movement:
    """A deposit or a withdrawal of one of the entity's accounts."""

    account: str
    ledger_id: str
    asset: str  # canonical
    type: str  # deposit | withdrawal
    amount: Decimal  # as the ledger states it: negative for a withdrawal
    at: datetime


def pair_moves(movements: Iterable[Movement], window: timedelta = MOVE_WINDOW) -> dict[Entry, Entry]:
    """Each paired entry → its partner (both directions). `movements` in time order, withdrawals first among
    entries of one moment."""
    waiting: dict[tuple[str, Decimal], deque[Movement]] = defaultdict(deque)
    pairs: dict[Entry, Entry] = {}
    for m in movements:
        if m.type == "withdrawal" and m.amount < 0:
            waiting[(m.asset, -m.amount)].append(m)
            continue
        if m.type != "deposit" or m.amount <= 0:
            continue
        queue = waiting.get((m.asset, m.amount))
        if not queue:
            continue
        while queue and queue[0].at < m.at - window:
            queue.popleft()
        match = next((w for w in queue if w.account != m.account), None)
        if match is None:
            continue
        queue.remove(match)
        sent, received = (match.account, match.ledger_id), (m.account, m.ledger_id)
        pairs[sent], pairs[received] = received, sent
    return pairs
