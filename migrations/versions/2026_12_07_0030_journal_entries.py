"""journal_entries: `reporting.journal_entry`, the journal one row per ledger entry; `reporting.journal` its expansion.

The rules stay 0027's (the transaction of an entry, its time, its counter account, which postings it has);
they now stop at the entry: `reporting.journal_entry` gives each entry once, in journal order, with its
transaction, asset account, counter account and whether its fee and counter postings exist.
`reporting.journal` is that view with each entry expanded into its postings (same columns, same values, same
comments). The journal export reads the entries (a million-entry account is one million rows to sort and
send, not 2.4 million postings, and no second sort of the postings) and expands them the same way.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

from models.revisions import earlier_revision

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision(number: str) -> ModuleType:
    return earlier_revision(number, Path(__file__).parent)


_r17 = _revision("0017")
_r27 = _revision("0027")
_NETTED_END = "ordered AS ("


def _rules() -> str:
    """0027's CTEs up to `netted` (the entries, their transaction and counter account): the rules, unchanged."""
    sql: str = _r27.journal()
    head = sql.split("AS\n", 1)[1]
    assert head.count(_NETTED_END) == 1, "0027's journal changed: its ordered step is not where expected"
    return head.split(_NETTED_END, 1)[0].rstrip().rstrip(",")


def entry_view() -> str:
    return "CREATE VIEW reporting.journal_entry AS\n" + _rules() + """
SELECT n.account, n.txn_id, n.txn_time, (n.txn_time AT TIME ZONE 'UTC')::date AS txn_date, n.refid, n.ledger_id,
       n.time, n.type, n.subtype, n.asset, n.asset_code, n.wallet, n.asset_account, n.amount, n.fee,
       n.balance AS kraken_balance, n.counter_role, n.counter_account, n.fee <> 0 AS fee_posted,
       n.amount <> 0 AND (n.counter_role <> 'conversion' OR n.role_sum <> 0) AS counter_posted
FROM netted n
ORDER BY n.txn_time, n.account COLLATE "C", n.txn_id COLLATE "C", n.time, n.ledger_id COLLATE "C"
"""


JOURNAL = """
CREATE OR REPLACE VIEW reporting.journal AS
SELECT n.account, n.txn_id, n.txn_time, n.txn_date, n.refid, n.ledger_id, n.time, n.type, n.subtype, p.posting,
       p.role, p.gl_account, n.asset, n.asset_code, n.wallet, p.amount, p.kraken_balance
FROM reporting.journal_entry n
CROSS JOIN LATERAL (VALUES
    (1, 'asset', n.asset_account, n.amount - n.fee, n.kraken_balance),
    (2, 'fee', 'Expenses:Kraken:Fees', n.fee, NULL),
    (3, n.counter_role, n.counter_account, -n.amount, NULL)
) AS p(posting, role, gl_account, amount, kraken_balance)
WHERE p.posting = 1 OR (p.posting = 2 AND n.fee_posted) OR (p.posting = 3 AND n.counter_posted)
"""

COMMENTS = {
    "account": "Account label given in the settings",
    "txn_id": "The transaction the entry belongs to: its refid, or its ledger id when it has none or is a margin "
              "rollover (one transaction per account and txn_id)",
    "txn_time": "Time of the transaction: the earliest time of its ledger entries (UTC)",
    "txn_date": "UTC day of txn_time: the transaction's date in the exports",
    "refid": "Kraken reference id of the ledger entry (may be NULL)",
    "ledger_id": "Kraken ledger id of the entry",
    "time": "Time of the ledger entry (UTC)",
    "type": "Kraken ledger type of the entry (trade, deposit, staking, earn, transfer, ...)",
    "subtype": "Kraken ledger subtype of the entry (may be empty)",
    "asset": "Normalised asset code of the entry (XXBT -> BTC, suffix kept: DOT.S)",
    "asset_code": "Kraken's asset code of the entry, as sent",
    "wallet": "Wallet of the entry (resolved, else the export's); NULL when not known (account part Unassigned)",
    "asset_account": "The entry's asset account in the default chart: Assets:Kraken:<Account>:<Wallet>:<Asset>",
    "amount": "Kraken's signed amount of the entry, exact (before the fee)",
    "fee": "Kraken's fee of the entry, exact, in the same asset",
    "kraken_balance": "Kraken's own running balance of the asset in its wallet after the entry",
    "counter_role": "What the counter posting is: transfer (clearing), conversion, income, adjustment, unclassified",
    "counter_account": "Counter account in the default chart: Equity:Transfers, Equity:Conversions, "
                       "Income:Kraken:<Kind>, Equity:Kraken:Adjustments, Equity:Kraken:Unclassified",
    "fee_posted": "Whether the entry has a fee posting (Expenses:Kraken:Fees, the fee): when the fee is not zero",
    "counter_posted": "Whether the entry has a counter posting (counter_account, minus the amount): a non-zero "
                      "amount, and for a conversion only when the transaction's legs in its asset do not cancel",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    op.execute(entry_view())
    op.execute(JOURNAL)
    op.execute("COMMENT ON VIEW reporting.journal_entry IS "
               + _quote("The double-entry journal one row per ledger entry, in journal order (txn_time, account, "
                        "txn_id, time, ledger_id): its transaction, asset account and counter account, and "
                        "which postings it has. reporting.journal expands each into its postings: 1 asset "
                        "(amount - fee on asset_account), 2 fee (when fee_posted), 3 counter (minus the amount "
                        "on counter_account, when counter_posted)."))
    for column, comment in COMMENTS.items():
        op.execute(f"COMMENT ON COLUMN reporting.journal_entry.{column} IS {_quote(comment)}")
    op.execute("GRANT SELECT ON reporting.journal_entry TO kraken_reader")


def downgrade() -> None:
    op.execute(_r27.journal())
    op.execute("DROP VIEW reporting.journal_entry")
