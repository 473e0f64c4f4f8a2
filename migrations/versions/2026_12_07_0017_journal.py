"""journal: every ledger entry as balanced double-entry postings, in a default chart of accounts.

`reporting.journal` is the one place the posting rules are written; the exports (`kraken-etl journal`,
`kraken_etl.books.journal*`) read it and only rename accounts and commodities for their tools.

Per ledger entry (amount A, fee F, asset X, wallet W), postings in X:
1. `asset`: `Assets:Kraken:<Account>:<Wallet path>:<Asset>` gets A - F (the change of Kraken's balance);
   `kraken_balance` carries Kraken's running balance after the entry (for balance assertions).
2. `fee`: `Expenses:Kraken:Fees` gets F (only when F is not 0).
3. the counter posting, -A, by the entry's kind:
   - deposit, withdrawal, futures transfers, a transfer with no other leg: `Equity:Transfers` (clearing);
   - staking, earn rewards, dividends, credits, bonuses, rebates: `Income:Kraken:<Kind>`;
   - trades, conversions, spend/receive, staking moves, earn allocations (legs of one refid moving value
     between assets or wallets): `Equity:Conversions`, and only for an asset whose such legs in the group do
     not sum to zero (a move between two wallets of one asset needs no counter posting);
   - adjustment: `Equity:Kraken:Adjustments`; any other type: `Equity:Kraken:Unclassified`.
Each transaction (one per account and refid, or ledger id when there is no refid) balances in every
commodity exactly. Trading gains (`Income:Kraken:Gains`) come from the cost-basis results, not from here.

Account names: each part is made a valid Beancount account component (`reporting.journal_component`); a
wallet such as `earn / flexible` becomes `Earn:Flexible` (`spot / main` becomes `Spot`; no wallet known:
`Unassigned`).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A part kept as written (first letter upper-cased, '.' as '-') when it is letters and digits joined by '.'
# or '-'; anything else is cleaned to letters, digits and '-' and gets the first 6 hex digits of its md5, so
# two different hostile names never share an account.
COMPONENT = r"""
CREATE FUNCTION reporting.journal_component(part text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN part ~ '^[A-Za-z0-9]([A-Za-z0-9.-]{0,38}[A-Za-z0-9])?$'
        THEN upper(left(part, 1)) || translate(substr(part, 2), '.', '-')
    ELSE coalesce(nullif(initcap(left(btrim(regexp_replace(coalesce(part, ''), '[^A-Za-z0-9]+', '-', 'g'), '-'),
                                      1)), ''), 'X')
         || substr(btrim(regexp_replace(coalesce(part, ''), '[^A-Za-z0-9]+', '-', 'g'), '-'), 2, 32)
         || '-' || upper(left(md5(coalesce(part, '')), 6))
END
"""

WALLET_PATH = r"""
CREATE FUNCTION reporting.journal_wallet_path(wallet text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN wallet IS NULL THEN 'Unassigned' ELSE (
    SELECT string_agg(reporting.journal_component(btrim(p.part)), ':' ORDER BY p.n)
    FROM unnest(string_to_array(wallet, '/')) WITH ORDINALITY AS p(part, n)
    WHERE NOT (p.n > 1 AND p.n = cardinality(string_to_array(wallet, '/')) AND lower(btrim(p.part)) = 'main')
) END
"""

ASSET_ACCOUNT = """
CREATE FUNCTION reporting.journal_asset_account(account_label text, wallet text, asset text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'Assets:Kraken:' || reporting.journal_component(account_label) || ':'
       || reporting.journal_wallet_path(wallet) || ':' || reporting.journal_component(asset)
"""

# Account names are worked out once per (account, asset code, wallet), not once per entry.
JOURNAL = """
CREATE VIEW reporting.journal AS
WITH chains AS MATERIALIZED (  -- names worked out once per chain, not once per joined row
    SELECT k.account, k.asset_code, k.wallet_key,
           reporting.journal_asset_account(k.account, nullif(k.wallet_key, ''), reporting.normalize_asset(k.asset_code))
               AS asset_account
    FROM (SELECT DISTINCT account, asset AS asset_code, coalesce(wallet_resolved, wallet, '') AS wallet_key
          FROM kraken.ledger_entry) k
),
grouped AS (
    SELECT l.account, l.ledger_id, l.refid, coalesce(l.refid, l.ledger_id) AS txn_id, l.time,
           min(l.time) OVER txn AS txn_time, count(*) OVER txn AS legs,
           l.type, l.subtype, reporting.normalize_asset(l.asset) AS asset, l.asset AS asset_code,
           coalesce(l.wallet_resolved, l.wallet) AS wallet, coalesce(l.wallet_resolved, l.wallet, '') AS wallet_key,
           l.amount, l.fee, l.balance
    FROM kraken.ledger_entry l
    WINDOW txn AS (PARTITION BY l.account, coalesce(l.refid, l.ledger_id))
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
netted AS MATERIALIZED (  -- computed once, read by the three kinds of posting below
    SELECT c.*, ch.asset_account,
           sum(c.amount) OVER (PARTITION BY c.account, c.txn_id, c.asset, c.counter_role) AS role_sum
    FROM classified c
    JOIN chains ch ON ch.account = c.account AND ch.asset_code = c.asset_code AND ch.wallet_key = c.wallet_key
)
SELECT n.account, n.txn_id, n.txn_time, (n.txn_time AT TIME ZONE 'UTC')::date AS txn_date, n.refid, n.ledger_id,
       n.time, n.type, n.subtype, 1 AS posting, 'asset' AS role, n.asset_account AS gl_account, n.asset,
       n.asset_code, n.wallet, n.amount - n.fee AS amount, n.balance AS kraken_balance
FROM netted n
UNION ALL
SELECT n.account, n.txn_id, n.txn_time, (n.txn_time AT TIME ZONE 'UTC')::date, n.refid, n.ledger_id,
       n.time, n.type, n.subtype, 2, 'fee', 'Expenses:Kraken:Fees', n.asset, n.asset_code, n.wallet, n.fee, NULL
FROM netted n
WHERE n.fee <> 0
UNION ALL
SELECT n.account, n.txn_id, n.txn_time, (n.txn_time AT TIME ZONE 'UTC')::date, n.refid, n.ledger_id,
       n.time, n.type, n.subtype, 3, n.counter_role, CASE n.counter_role
        WHEN 'transfer' THEN 'Equity:Transfers'
        WHEN 'conversion' THEN 'Equity:Conversions'
        WHEN 'income' THEN 'Income:Kraken:' || CASE n.type
            WHEN 'staking' THEN 'Staking' WHEN 'earn' THEN 'Earn' WHEN 'dividend' THEN 'Dividends'
            WHEN 'credit' THEN 'Credits' WHEN 'invite bonus' THEN 'Bonuses' WHEN 'nft_rebate' THEN 'Rebates'
            ELSE 'Rewards' END
        WHEN 'adjustment' THEN 'Equity:Kraken:Adjustments'
        ELSE 'Equity:Kraken:Unclassified' END,
       n.asset, n.asset_code, n.wallet, -n.amount, NULL
FROM netted n
WHERE n.amount <> 0 AND (n.counter_role <> 'conversion' OR n.role_sum <> 0)
"""

COMMENTS = {
    "account": "Account label given in the settings",
    "txn_id": "The transaction the posting belongs to: the entry's refid, or its ledger id when it has none "
              "(one transaction per account and txn_id)",
    "txn_time": "Time of the transaction: the earliest time of its ledger entries (UTC)",
    "txn_date": "UTC day of txn_time: the transaction's date in the exports",
    "refid": "Kraken reference id of the ledger entry the posting came from (may be NULL)",
    "ledger_id": "Kraken ledger id of the entry the posting came from",
    "time": "Time of that ledger entry (UTC)",
    "type": "Kraken ledger type of the entry (trade, deposit, staking, earn, transfer, ...)",
    "subtype": "Kraken ledger subtype of the entry (may be empty)",
    "posting": "Which posting of the entry: 1 the asset account (amount - fee), 2 the fee, 3 the counter posting",
    "role": "What the posting is: asset, fee, transfer (clearing), conversion, income, adjustment, unclassified",
    "gl_account": "Account in the default chart: Assets:Kraken:<Account>:<Wallet>:<Asset>, Expenses:Kraken:Fees, "
                  "Equity:Transfers, Equity:Conversions, Income:Kraken:<Kind>, Equity:Kraken:Adjustments, "
                  "Equity:Kraken:Unclassified",
    "asset": "Normalised asset code the amount is in (XXBT -> BTC, suffix kept: DOT.S)",
    "asset_code": "Kraken's asset code of the entry, as sent",
    "wallet": "Wallet of the entry (resolved, else the export's); NULL when not known (account part Unassigned)",
    "amount": "Signed amount of the posting in the asset, exact (positive: debit; negative: credit); the "
              "postings of a transaction sum to zero in every asset",
    "kraken_balance": "On asset postings: Kraken's own running balance of the asset in its wallet after the "
                      "entry (what balance assertions check); NULL on the other postings",
}

FUNCTION_COMMENTS = {
    "journal_component(text)": "A name made a valid Beancount account component: letters and digits joined by "
                               "'-', first letter upper case ('.' becomes '-'); any other text is cleaned and "
                               "gets 6 hex digits of its md5, so different names never share a component.",
    "journal_wallet_path(text)": "A wallet as account components: 'earn / flexible' -> Earn:Flexible, "
                                 "'spot / main' -> Spot; NULL -> Unassigned.",
    "journal_asset_account(text, text, text)": "The journal's asset account of (account label, wallet, normalised "
                                               "asset): Assets:Kraken:<Account>:<Wallet path>:<Asset>.",
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    for statement in (COMPONENT, WALLET_PATH, ASSET_ACCOUNT, JOURNAL):
        op.execute(statement)
    op.execute("COMMENT ON VIEW reporting.journal IS "
               + _quote("Double entry: every ledger entry as balanced postings (asset, fee, counter), one "
                        "transaction per account and refid, in the default chart of accounts; what "
                        "kraken-etl journal exports. Read it ordered by txn_time, account, txn_id, time, "
                        "ledger_id, posting."))
    for column, comment in COMMENTS.items():
        op.execute(f"COMMENT ON COLUMN reporting.journal.{column} IS {_quote(comment)}")
    for signature, comment in FUNCTION_COMMENTS.items():
        op.execute(f"COMMENT ON FUNCTION reporting.{signature} IS {_quote(comment)}")
        op.execute(f"GRANT EXECUTE ON FUNCTION reporting.{signature} TO kraken_reader")
    op.execute("GRANT SELECT ON reporting.journal TO kraken_reader")


def downgrade() -> None:
    op.execute("DROP VIEW reporting.journal")
    op.execute("DROP FUNCTION reporting.journal_asset_account(text, text, text)")
    op.execute("DROP FUNCTION reporting.journal_wallet_path(text)")
    op.execute("DROP FUNCTION reporting.journal_component(text)")
