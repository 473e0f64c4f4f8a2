"""journal_speed: `reporting.journal` computes its postings in one pass over the entries, in journal order.

Same columns, same order, same values as 0017 (its comments stay: the view is replaced, not dropped):

- the normalised asset is worked out once per chain (account, asset code, wallet), with its account name,
  not once per entry (the normalisation is a long CASE);
- the windows (a transaction's time and legs; an asset's conversion legs netted) partition by the
  transaction id first, in byte order (`COLLATE "C"`): the same groups, sorted on the id's leading bytes
  (the account label, first before, is the same for most rows) without the locale's collation rules;
- the counter account is named once per entry, before the expansion;
- each entry gives its postings through one `LATERAL (VALUES …)` (asset, fee, counter) instead of three
  scans of a materialised copy of every entry glued by `UNION ALL`;
- the entries are sorted once, in journal order (txn_time, account, txn_id, time, ledger_id: account, txn_id
  and ledger_id in byte order), before they are expanded, so a reader ordering the postings that way (the
  journal export) sorts rows that already are in order instead of every posting from scratch.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

from models.revisions import earlier_revision

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _revision(number: str) -> ModuleType:
    return earlier_revision(number, Path(__file__).parent)


_r17 = _revision("0017")

JOURNAL = """
CREATE OR REPLACE VIEW reporting.journal AS
WITH chains AS MATERIALIZED (  -- names and the normalised asset worked out once per chain, not once per entry
    SELECT k.account, k.asset_code, k.wallet_key, reporting.normalize_asset(k.asset_code) AS asset,
           reporting.journal_asset_account(k.account, nullif(k.wallet_key, ''), reporting.normalize_asset(k.asset_code))
               AS asset_account
    FROM (SELECT DISTINCT account, asset AS asset_code, coalesce(wallet_resolved, wallet, '') AS wallet_key
          FROM kraken.ledger_entry) k
),
grouped AS (
    SELECT l.account, l.ledger_id, l.refid, coalesce(l.refid, l.ledger_id) AS txn_id, l.time,
           min(l.time) OVER txn AS txn_time, count(*) OVER txn AS legs,
           l.type, l.subtype, ch.asset, l.asset AS asset_code,
           coalesce(l.wallet_resolved, l.wallet) AS wallet, ch.wallet_key, ch.asset_account,
           l.amount, l.fee, l.balance
    FROM kraken.ledger_entry l
    JOIN chains ch ON ch.account = l.account AND ch.asset_code = l.asset
                  AND ch.wallet_key = coalesce(l.wallet_resolved, l.wallet, '')
    -- the transaction id first and in byte order ("C"): the same groups, sorted on the id's leading bytes
    -- (the account label is the same for most rows) without the locale's rules
    WINDOW txn AS (PARTITION BY coalesce(l.refid, l.ledger_id) COLLATE "C", l.account COLLATE "C")
),
classified AS (
    SELECT g.*, CASE
        WHEN g.type IN ('deposit', 'withdrawal') THEN 'transfer'
        WHEN g.type = 'transfer' AND (g.subtype IN ('spottofutures', 'spotfromfutures') OR g.legs = 1) THEN 'transfer'
        WHEN g.type IN ('trade', 'conversion', 'spend', 'receive', 'sale', 'transfer') THEN 'conversion'
        WHEN g.type = 'earn' AND g.subtype = 'reward' THEN 'income'
        WHEN g.type = 'earn' THEN 'conversion'
        WHEN g.type IN ('staking', 'dividend', 'credit', 'invite bonus', 'nft_rebate', 'reward') THEN 'income'
        WHEN g.type = 'adjustment' THEN 'adjustment'
        ELSE 'unclassified' END AS counter_role
    FROM grouped g
),
netted AS (
    SELECT c.*,
           sum(c.amount) OVER (PARTITION BY c.txn_id COLLATE "C", c.account COLLATE "C", c.asset COLLATE "C",
                                            c.counter_role COLLATE "C") AS role_sum,
           CASE c.counter_role
               WHEN 'transfer' THEN 'Equity:Transfers'
               WHEN 'conversion' THEN 'Equity:Conversions'
               WHEN 'income' THEN 'Income:Kraken:' || CASE c.type
                   WHEN 'staking' THEN 'Staking' WHEN 'earn' THEN 'Earn' WHEN 'dividend' THEN 'Dividends'
                   WHEN 'credit' THEN 'Credits' WHEN 'invite bonus' THEN 'Bonuses' WHEN 'nft_rebate' THEN 'Rebates'
                   ELSE 'Rewards' END
               WHEN 'adjustment' THEN 'Equity:Kraken:Adjustments'
               ELSE 'Equity:Kraken:Unclassified' END AS counter_account
    FROM classified c
),
ordered AS (  -- one sort of the entries; each entry's postings follow it (posting 1, 2, 3)
    SELECT n.* FROM netted n
    ORDER BY n.txn_time, n.account COLLATE "C", n.txn_id COLLATE "C", n.time, n.ledger_id COLLATE "C"
)
SELECT n.account, n.txn_id, n.txn_time, (n.txn_time AT TIME ZONE 'UTC')::date AS txn_date, n.refid, n.ledger_id,
       n.time, n.type, n.subtype, p.posting, p.role, p.gl_account, n.asset, n.asset_code, n.wallet, p.amount,
       p.kraken_balance
FROM ordered n
CROSS JOIN LATERAL (VALUES
    (1, 'asset', n.asset_account, n.amount - n.fee, n.balance),
    (2, 'fee', 'Expenses:Kraken:Fees', n.fee, NULL),
    (3, n.counter_role, n.counter_account, -n.amount, NULL)
) AS p(posting, role, gl_account, amount, kraken_balance)
WHERE p.posting = 1 OR (p.posting = 2 AND n.fee <> 0)
   OR (p.posting = 3 AND n.amount <> 0 AND (n.counter_role <> 'conversion' OR n.role_sum <> 0))
"""


def upgrade() -> None:
    op.execute(JOURNAL)


def downgrade() -> None:
    op.execute(_r17.JOURNAL.replace("CREATE VIEW", "CREATE OR REPLACE VIEW", 1))
