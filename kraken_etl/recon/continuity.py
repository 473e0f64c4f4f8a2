"""Wallet inference by balance continuity (pure): give each wallet-less ledger row the wallet it chains in.

REST Ledgers carry no `wallet`; an earn allocation writes two rows of one asset with one refid, one per
wallet, each with its own running balance. For a row without a wallet, the candidate wallets are the
asset's chains seen so far; the row belongs to the one whose last balance + amount - fee equals the
row's balance. Rules, in order:

1. Rows are taken moment by moment (whole seconds: export times have no fraction); inside a moment the
   order is unknown, so rows are placed greedily as long as any of them fits a chain.
2. Ledger types that only ever move spot funds (deposit, withdrawal, …) have one candidate, the main
   chain; a trade leg goes there too unless it continues only another chain exactly (one order filled
   from spot and an Earn wallet). Others (earn, staking, transfer, …) may sit in any wallet of the asset.
3. A row that fits no chain opens the asset's first non-spot chain when it has none yet and opening
   from zero explains it at least as well as continuing spot (a known wallet name of the asset not in
   use yet, else ``inferred / N``).
4. Otherwise it goes to the chain it misses by least (a missing row before it: the balance chain check
   reports the gap there); a row that opens from zero goes to the non-spot chain it misses by least
   (fewest wallets: an emptied earn chain refilled). A tie between chains leaves it `unknown`.

Rows that already carry a wallet (export, listener, suffix) are fixed: they only move their chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import groupby

MAIN = "spot / main"
INFERRED = "inferred / {}"
# Types that may sit in a wallet other than spot (earn programs, staking, wallet transfers; a hybrid Earn
# withdrawal draws on an Earn wallet).
MULTI_WALLET_TYPES: frozenset[str] = frozenset(
    {"earn", "staking", "transfer", "reward", "dividend", "allocation", "deallocation", "autoallocation",
     "hybridearnwithdrawal"}
)

# Types that sit in spot but may draw on an Earn wallet: one order filled from spot and Earn gives a trade leg
# per wallet (BittyTax PR #499). Such a row goes to spot when it continues spot, else to the chain it
# continues exactly; a row that continues none still goes to spot (rule 4 does not apply to it).
EARN_FILLED_TYPES: frozenset[str] = frozenset({"trade"})


@dataclass(frozen=True, slots=True)
class Row:
    """One ledger row of one asset as continuity needs it (`wallet` set when already known)."""

    ledger_id: str
    moment: datetime
    type: str
    net: Decimal  # amount - fee
    balance: Decimal
    wallet: str | None


@dataclass(frozen=True, slots=True)
class Assignment:
    """The wallet continuity chose for one row (`wallet` None: unknown)."""

    ledger_id: str
    wallet: str | None
    source: str  # continuity | unknown


def _new_wallet(state: dict[str, Decimal], known: Sequence[str]) -> str:
    if MAIN not in state:
        return MAIN
    for name in known:
        if name not in state:
            return name
    n = 1
    while INFERRED.format(n) in state:
        n += 1
    return INFERRED.format(n)


def _place(row: Row, state: dict[str, Decimal]) -> str | None:
    """The chain `row` continues exactly, if any (fixed rows: only their own)."""
    if row.wallet is not None:
        prev = state.get(row.wallet)
        return row.wallet if prev is None or prev + row.net == row.balance else None
    if row.type not in MULTI_WALLET_TYPES:
        prev = state.get(MAIN)
        if prev is None or prev + row.net == row.balance:
            return MAIN
        if row.type not in EARN_FILLED_TYPES:
            return None
    for wallet, prev in state.items():
        if prev + row.net == row.balance:
            return wallet
    return None


def _fallback(row: Row, state: dict[str, Decimal], known: Sequence[str]) -> str | None:
    """Where a row that continues no chain goes (rules 3 and 4); None when it stays unknown."""
    if row.wallet is not None:
        return row.wallet
    if row.type not in MULTI_WALLET_TYPES or not state:
        return MAIN
    fresh = abs(row.balance - row.net)  # what a new chain opening from zero would miss
    misses = sorted((abs(prev + row.net - row.balance), wallet) for wallet, prev in state.items())
    others = [m for m in misses if m[1] != MAIN]
    if not others and (fresh == 0 or misses[0][0] > fresh):
        return _new_wallet(state, known)  # the asset's first non-spot chain (its opening rows maybe missing)
    if fresh == 0:
        misses = others  # fewest wallets: an opening from zero continues an earn chain that was emptied
    if len(misses) > 1 and misses[0][0] == misses[1][0]:
        return None
    return misses[0][1]


def _moment_group(rows: list[Row], state: dict[str, Decimal], known: Sequence[str]) -> Iterator[Assignment]:
    pending = list(rows)
    while pending:
        at, wallet = next(((k, w) for k, r in enumerate(pending) if (w := _place(r, state)) is not None),
                          (0, None))
        row = pending.pop(at)
        if wallet is None:
            wallet = _fallback(row, state, known)
        if wallet is None:
            yield Assignment(row.ledger_id, None, "unknown")
            continue
        state[wallet] = row.balance
        if row.wallet is None:
            yield Assignment(row.ledger_id, wallet, "continuity")


def infer_wallets(rows: Iterable[Row], start: dict[str, Decimal] | None = None,
                  known: Sequence[str] = ()) -> list[Assignment]:
    """Assign a wallet to every row without one.

    Args:
        rows: one asset's rows in time order (fixed and wallet-less alike).
        start: each wallet's balance before the first row (the chains' state so far).
        known: wallet names the asset is known to use (from exports), tried before ``inferred / N``.

    Returns:
        One assignment per wallet-less row.
    """
    state = dict(start or {})
    out: list[Assignment] = []
    for _, group in groupby(rows, key=lambda r: r.moment):
        out.extend(_moment_group(list(group), state, known))
    return out
