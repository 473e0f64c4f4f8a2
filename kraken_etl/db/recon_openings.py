"""Where each balance chain's stored history starts, and the balance it opens with, in SQL.

A chain (account, asset, wallet) opens at Kraken's running balance of its first stored entry minus that
entry's amount - fee: 0 for a history stored from the start, Kraken's balance before it for a partial one
(an export of a date range, a sync from a later date). `reporting.chain_opening` computes it, so the
reconciliation names exactly the opening the reporting views add.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, text

# Every chain of the account (a skip scan over the chain index: one probe per chain, not a pass over the
# ledger), with where its stored history starts and the opening balance the reporting views take for it.
_OPENINGS = """
WITH RECURSIVE k AS (
    (SELECT asset, wallet_resolved AS wallet FROM kraken.ledger_entry
     WHERE account = :account AND wallet_resolved IS NOT NULL ORDER BY asset, wallet_resolved LIMIT 1)
    UNION ALL
    SELECT n.asset, n.wallet FROM k CROSS JOIN LATERAL (
        SELECT x.asset, x.wallet_resolved AS wallet FROM kraken.ledger_entry x
        WHERE x.account = :account AND x.wallet_resolved IS NOT NULL
          AND (x.asset, x.wallet_resolved) > (k.asset, k.wallet)
        ORDER BY x.asset, x.wallet_resolved LIMIT 1) n
)
SELECT k.asset, k.wallet, o.first_time, o.first_ledger_id, o.opening_balance
FROM k CROSS JOIN LATERAL reporting.chain_opening(:account, k.asset, k.wallet) o
WHERE o.first_time <= :as_of AND o.opening_balance <> 0
ORDER BY k.asset, k.wallet
"""


@dataclass(frozen=True, slots=True)
class Opening:
    """A chain whose stored history opens at a balance other than zero (it starts after the account's
    first entry): its first stored entry and the balance before it (`reporting.chain_opening`)."""

    asset: str
    wallet: str
    first_time: datetime
    first_id: str
    balance: Decimal


def partial_openings(conn: Connection, account: str, as_of: datetime) -> list[Opening]:
    """The account's chains (resolved wallets) whose stored history does not open at zero.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    rows = conn.execute(text(_OPENINGS), {"account": account, "as_of": as_of})
    return [Opening(r.asset, r.wallet, r.first_time, r.first_ledger_id, r.opening_balance) for r in rows]
