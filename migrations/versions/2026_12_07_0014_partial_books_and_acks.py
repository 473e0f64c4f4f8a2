"""partial_books_and_acks: balances of partial histories open where Kraken says; acknowledgements kept.

Opening balances. Where the stored history of an (account, asset, wallet) chain does not start at the
account's first entry (an export of a date range, a sync from a later date), summing movements from zero
gives wrong balances. Each chain now opens at Kraken's running balance of its first stored entry minus
that entry's net (amount - fee); for a complete history that is 0, so one rule serves both. When several
entries share the first entry's second (Kraken's order inside a second is unknown), the opening is the
starting balance of the one entry whose starting balance is no other entry's balance (the one that comes
first in every order that chains).

- `reporting.chain_opening(account, asset_code, wallet_key)`: that opening for one chain (Kraken's code,
  the wallet key of the balance views: resolved wallet, else the export's, else '').
- `reporting.chain_start` (materialised, refreshed with `ledger_daily`): the opening of every chain with an
  entry before `refresh_state.covered_before`.
- `reporting.opening_balance`: every chain's opening: the materialised ones, plus chains that only have
  entries after the boundary, worked out live (a few index reads each).
- `reporting.balance_daily` and `reporting.balances_at` add each chain's opening on the day of (at) its
  first entry. Their columns do not change.

Listener. `kraken.listener_session.read_until`: where a cleanly stopped session stopped reading its socket;
the WS <-> REST check and the next start's gap use it instead of the end of the shutdown.

Acknowledgements. `kraken.reconciliation_ack` keeps every note with its time (the finding's `ack_note` and
`acknowledged_at` stay the latest); existing notes are copied into it. `reporting.reconciliation_acks` shows
them; `reporting.reconciliation_open_findings` gains `acknowledgements` (how many notes).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Three index ranges (resolved wallet; export wallet not yet resolved; no wallet at all), merged in time order.
CHAIN_OPENING = """
CREATE FUNCTION reporting.chain_opening(account_label text, asset_code text, wallet_key text,
                                        OUT first_time timestamptz, OUT first_ledger_id text,
                                        OUT opening_balance numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH chain AS NOT MATERIALIZED (
        SELECT e.ledger_id, e.time, e.balance, e.amount - e.fee AS net FROM kraken.ledger_entry e
        WHERE e.account = account_label AND e.asset = asset_code AND e.wallet_resolved = wallet_key
        UNION ALL
        SELECT e.ledger_id, e.time, e.balance, e.amount - e.fee FROM kraken.ledger_entry e
        WHERE e.account = account_label AND e.asset = asset_code AND e.wallet_resolved IS NULL
          AND e.wallet = wallet_key
        UNION ALL
        SELECT e.ledger_id, e.time, e.balance, e.amount - e.fee FROM kraken.ledger_entry e
        WHERE e.account = account_label AND e.asset = asset_code AND e.wallet_resolved IS NULL
          AND e.wallet IS NULL AND wallet_key = ''
    ),
    head AS MATERIALIZED (SELECT c.* FROM chain c ORDER BY c.time, c.ledger_id LIMIT 1),
    moment AS MATERIALIZED (
        SELECT c.* FROM head h, chain c
        WHERE c.time >= date_trunc('second', h.time) AND c.time < date_trunc('second', h.time) + interval '1 second'
    )
    SELECT h.time, h.ledger_id, coalesce(
        (SELECT m.balance - m.net FROM moment m
         WHERE m.balance IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM moment o WHERE o.ledger_id <> m.ledger_id AND o.balance = m.balance - m.net)
         ORDER BY m.time, m.ledger_id LIMIT 1),
        h.balance - h.net, 0)
    FROM head h
$$
"""

CHAIN_START = """
CREATE MATERIALIZED VIEW reporting.chain_start AS
SELECT k.account, k.asset_code, k.wallet_key, o.first_time, o.first_ledger_id, o.opening_balance
FROM (SELECT DISTINCT account, asset AS asset_code, coalesce(wallet_resolved, wallet, '') AS wallet_key
      FROM kraken.ledger_entry
      WHERE time < (SELECT coalesce(covered_before, '-infinity') FROM reporting.refresh_state)) k
CROSS JOIN LATERAL reporting.chain_opening(k.account, k.asset_code, k.wallet_key) o
"""

OPENING_BALANCE = """
CREATE VIEW reporting.opening_balance AS
WITH live AS (
    SELECT DISTINCT l.account, l.asset AS asset_code, coalesce(l.wallet_resolved, l.wallet, '') AS wallet_key
    FROM kraken.ledger_entry l
    WHERE l.time >= (SELECT coalesce(r.covered_before, '-infinity') FROM reporting.refresh_state r)
      AND l.time < 'infinity'
),
chains AS (
    SELECT s.account, s.asset_code, s.wallet_key, s.first_time, s.first_ledger_id, s.opening_balance
    FROM reporting.chain_start s
    UNION ALL
    -- only chains the materialised openings do not hold yet (usually none): the filter gates the call
    SELECT k.account, k.asset_code, k.wallet_key, o.first_time, o.first_ledger_id, o.opening_balance
    FROM live k CROSS JOIN LATERAL (
        SELECT c.* FROM reporting.chain_opening(k.account, k.asset_code, k.wallet_key) c
        WHERE NOT EXISTS (SELECT 1 FROM reporting.chain_start s WHERE s.account = k.account
                          AND s.asset_code = k.asset_code AND s.wallet_key = k.wallet_key)) o
)
SELECT account, reporting.normalize_asset(asset_code) AS asset, asset_code, nullif(wallet_key, '') AS wallet,
       first_ledger_id, first_time, opening_balance, opening_balance <> 0 AS partial_history
FROM chains
"""

_MOVES = """
    SELECT d.account, d.asset, d.wallet_key, d.day, d.net, 0::numeric AS opening, d.entries
    FROM reporting.ledger_daily d
    UNION ALL
    SELECT l.account, reporting.normalize_asset(l.asset), coalesce(l.wallet_resolved, l.wallet, ''),
           (l.time AT TIME ZONE 'UTC')::date, l.amount - l.fee, 0, 1
    FROM kraken.ledger_entry l
    WHERE l.time >= (SELECT coalesce(r.covered_before, '-infinity') FROM reporting.refresh_state r)
      AND l.time < 'infinity'  -- a no-op bound that makes this a range: the planner then expects few rows
    UNION ALL
    SELECT o.account, o.asset, coalesce(o.wallet, ''), (o.first_time AT TIME ZONE 'UTC')::date, 0,
           o.opening_balance, 0
    FROM reporting.opening_balance o
    WHERE o.opening_balance <> 0
"""

BALANCE_DAILY = f"""
CREATE OR REPLACE VIEW reporting.balance_daily AS
WITH moves AS ({_MOVES}),
per_day AS (
    SELECT account, asset, wallet_key, day, sum(net) AS net, sum(opening) AS opening, sum(entries)::bigint AS entries
    FROM moves GROUP BY 1, 2, 3, 4
),
running AS (
    SELECT account, asset, wallet_key, day, net, entries,
           sum(net + opening) OVER w AS balance, lead(day) OVER w AS next_day
    FROM per_day
    WINDOW w AS (PARTITION BY account, asset, wallet_key ORDER BY day)
)
SELECT r.account, r.asset, reporting.asset_base_code(r.asset) AS base_asset, nullif(r.wallet_key, '') AS wallet,
       g.day::date AS day, r.balance,
       CASE WHEN g.day = r.day THEN r.net ELSE 0 END AS net_change,
       CASE WHEN g.day = r.day THEN r.entries ELSE 0 END AS entries
FROM running r,
     generate_series(r.day, coalesce(r.next_day - 1, greatest(r.day, (now() AT TIME ZONE 'UTC')::date)),
                     interval '1 day') AS g(day)
"""

BALANCES_AT = """
CREATE OR REPLACE FUNCTION reporting.balances_at(ts timestamptz, account_label text DEFAULT NULL)
RETURNS TABLE (account text, asset text, wallet text, balance numeric, entries bigint, last_entry_day date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH moves AS (
        SELECT d.account, d.asset, d.wallet_key, d.net, d.entries, d.day
        FROM reporting.ledger_daily d
        WHERE d.day < (SELECT least(coalesce(r.covered_before, '-infinity'), date_trunc('day', ts, 'UTC'))
                              AT TIME ZONE 'UTC'
                       FROM reporting.refresh_state r)::date
          AND (account_label IS NULL OR d.account = account_label)
        UNION ALL
        SELECT l.account, reporting.normalize_asset(l.asset), coalesce(l.wallet_resolved, l.wallet, ''),
               l.amount - l.fee, 1, (l.time AT TIME ZONE 'UTC')::date
        FROM kraken.ledger_entry l
        WHERE l.time >= (SELECT least(coalesce(r.covered_before, '-infinity'), date_trunc('day', ts, 'UTC'))
                         FROM reporting.refresh_state r)
          AND l.time <= ts
          AND (account_label IS NULL OR l.account = account_label)
        UNION ALL
        SELECT o.account, o.asset, coalesce(o.wallet, ''), o.opening_balance, 0, (o.first_time AT TIME ZONE 'UTC')::date
        FROM reporting.opening_balance o
        WHERE o.first_time <= ts AND o.opening_balance <> 0
          AND (account_label IS NULL OR o.account = account_label)
    )
    SELECT m.account, m.asset, nullif(m.wallet_key, ''), sum(m.net), sum(m.entries)::bigint, max(m.day)
    FROM moves m
    GROUP BY m.account, m.asset, m.wallet_key
    ORDER BY 1, 2, 3
$$
"""

ACKS = """
CREATE VIEW reporting.reconciliation_acks AS
SELECT a.account, a.finding_id, a.id AS ack_id, a.acknowledged_at, a.note, f.status AS finding_status,
       f.check_name, f.kind, f.severity
FROM kraken.reconciliation_ack a
JOIN kraken.reconciliation_finding f ON f.id = a.finding_id
"""

OPEN_FINDINGS = """
CREATE OR REPLACE VIEW reporting.reconciliation_open_findings AS
SELECT f.account, f.id AS finding_id, f.check_name, f.kind, f.severity,
       reporting.normalize_asset(f.asset) AS asset, f.wallet, f.expected, f.actual, f.difference,
       f.source_ids, f.message, f.first_seen_at, f.last_seen_at, f.last_seen_run_id,
       f.acknowledged_at, f.ack_note,
       (SELECT count(*) FROM kraken.reconciliation_ack a WHERE a.finding_id = f.id) AS acknowledgements
FROM kraken.reconciliation_finding f
WHERE f.status = 'open'
"""

OPEN_FINDINGS_0006 = """
CREATE OR REPLACE VIEW reporting.reconciliation_open_findings AS
SELECT f.account, f.id AS finding_id, f.check_name, f.kind, f.severity,
       reporting.normalize_asset(f.asset) AS asset, f.wallet, f.expected, f.actual, f.difference,
       f.source_ids, f.message, f.first_seen_at, f.last_seen_at, f.last_seen_run_id,
       f.acknowledged_at, f.ack_note
FROM kraken.reconciliation_finding f
WHERE f.status = 'open'
"""

COMMENTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "chain_start": (
        "MATERIALIZED VIEW",
        "Materialised: the opening balance of every (account, asset code, wallet) chain with an entry before "
        "reporting.refresh_state.covered_before. Refreshed by refresh_reporting with ledger_daily.",
        {
            "account": "Account label",
            "asset_code": "Kraken's asset code as stored (one chain per code)",
            "wallet_key": "Wallet, or '' when unknown (the key balance_daily groups by)",
            "first_time": "Time of the chain's first stored entry",
            "first_ledger_id": "Ledger id of the chain's first stored entry",
            "opening_balance": "Balance before that entry: its Kraken balance minus its amount - fee "
                               "(0 for a history stored from the start)",
        },
    ),
    "opening_balance": (
        "VIEW",
        "Per account, asset code and wallet: where the stored history starts and the balance it opens with "
        "(Kraken's running balance of the first stored entry minus that entry's amount - fee). Non-zero when "
        "the history is partial (it starts after the account's first entry); balance_daily and balances_at "
        "add it on the first entry's day.",
        {
            "account": "Account label",
            "asset": "Normalised asset code (suffix kept)",
            "asset_code": "Kraken's asset code as stored",
            "wallet": "Wallet, NULL when not known",
            "first_ledger_id": "Ledger id of the first stored entry of the chain",
            "first_time": "Time of that entry (UTC)",
            "opening_balance": "Balance before that entry (0 when the stored history starts from zero)",
            "partial_history": "True when the opening balance is not zero: entries before the first stored "
                               "one are not loaded",
        },
    ),
    "reconciliation_acks": (
        "VIEW",
        "Every acknowledgement of a reconciliation finding, each note with its time (the newest is also on "
        "the finding).",
        {
            "account": "Account label",
            "finding_id": "The finding acknowledged",
            "ack_id": "Id of this acknowledgement",
            "acknowledged_at": "When the note was written",
            "note": "Why the finding is acceptable, as written",
            "finding_status": "The finding's status now (open or resolved)",
            "check_name": "Check that found it",
            "kind": "Kind of finding",
            "severity": "break, warning or info",
        },
    ),
}

BALANCE_DAILY_COMMENT = (
    "End-of-day (UTC) balance per account, asset and wallet, every day from the first entry to today; "
    "days without movement carry the balance forward. Balance = the chain's opening balance "
    "(reporting.opening_balance: 0 for a history stored from the start, Kraken's balance before the first "
    "stored entry for a partial one) plus the running sum of amount - fee.")
BALANCE_COMMENT = "Balance at the end of the day: opening balance plus the movements up to then"
ACKNOWLEDGEMENTS_COMMENT = "How many acknowledgements the finding has (reporting.reconciliation_acks)"
FUNCTION_COMMENTS = {
    "chain_opening(text, text, text)": "Where one chain (account, Kraken asset code, wallet key) starts: its "
                                       "first stored entry and the balance before it",
    "balances_at(timestamp with time zone, text)": "Balance per account, asset and wallet at a moment: the "
                                                   "chain's opening balance plus the entries at or before ts",
}
BALANCES_AT_0006_COMMENT = "Balance per account, asset and wallet at a moment (entries at or before ts)"
BALANCE_DAILY_0006_COMMENT = (
    "End-of-day (UTC) balance per account, asset and wallet, every day from the first entry to today; "
    "days without movement carry the balance forward. Balance = running sum of amount - fee from the "
    "account's first loaded entry.")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _create_ack_table() -> None:
    op.create_table(
        "reconciliation_ack",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("finding_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["finding_id"], ["kraken.reconciliation_finding.id"], ondelete="CASCADE",
                                name=op.f("fk_reconciliation_ack_finding_id_reconciliation_finding")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_ack")),
        schema="kraken",
    )
    op.create_index(op.f("ix_reconciliation_ack_finding_id"), "reconciliation_ack", ["finding_id"], schema="kraken")
    op.execute("""
        INSERT INTO kraken.reconciliation_ack (finding_id, account, acknowledged_at, note)
        SELECT id, account, acknowledged_at, ack_note FROM kraken.reconciliation_finding
        WHERE acknowledged_at IS NOT NULL AND ack_note IS NOT NULL
    """)


def upgrade() -> None:
    _create_ack_table()
    op.add_column("listener_session", sa.Column("read_until", sa.TIMESTAMP(timezone=True), nullable=True),
                  schema="kraken")
    op.execute(CHAIN_OPENING)
    op.execute(CHAIN_START)
    op.execute("CREATE UNIQUE INDEX chain_start_key ON reporting.chain_start (account, asset_code, wallet_key)")
    op.execute(OPENING_BALANCE)
    op.execute(BALANCE_DAILY)
    op.execute(BALANCES_AT)
    op.execute(OPEN_FINDINGS)
    op.execute(ACKS)
    for view, (kind, comment, columns) in COMMENTS.items():
        op.execute(f"COMMENT ON {kind} reporting.{view} IS {_quote(comment)}")
        for column, text in columns.items():
            op.execute(f"COMMENT ON COLUMN reporting.{view}.{column} IS {_quote(text)}")
    op.execute(f"COMMENT ON VIEW reporting.balance_daily IS {_quote(BALANCE_DAILY_COMMENT)}")
    op.execute(f"COMMENT ON COLUMN reporting.balance_daily.balance IS {_quote(BALANCE_COMMENT)}")
    op.execute("COMMENT ON COLUMN reporting.reconciliation_open_findings.acknowledgements IS "
               f"{_quote(ACKNOWLEDGEMENTS_COMMENT)}")
    for signature, text in FUNCTION_COMMENTS.items():
        op.execute(f"COMMENT ON FUNCTION reporting.{signature} IS {_quote(text)}")
    # the schema's default privileges cover new views; the reader also reads the table the acks view joins
    op.execute("GRANT SELECT ON reporting.chain_start, reporting.opening_balance, reporting.reconciliation_acks "
               "TO kraken_reader")
    op.execute("GRANT EXECUTE ON FUNCTION reporting.chain_opening(text, text, text) TO kraken_reader")


def downgrade() -> None:
    op.execute("DROP VIEW reporting.reconciliation_acks")
    op.execute("DROP VIEW reporting.reconciliation_open_findings")
    op.execute(OPEN_FINDINGS_0006)
    op.execute("COMMENT ON VIEW reporting.reconciliation_open_findings IS "
               "'Reconciliation findings still open, one row each.'")
    op.drop_table("reconciliation_ack", schema="kraken")
    op.drop_column("listener_session", "read_until", schema="kraken")
    # balances back to sums from zero (0006's definitions)
    op.execute(BALANCES_AT.replace(_BALANCES_AT_OPENING, ""))
    op.execute(BALANCE_DAILY.replace(_MOVES, _MOVES_0006).replace("sum(net + opening)", "sum(net)")
               .replace(" sum(opening) AS opening,", ""))
    op.execute(f"COMMENT ON FUNCTION reporting.balances_at(timestamp with time zone, text) IS "
               f"{_quote(BALANCES_AT_0006_COMMENT)}")
    op.execute(f"COMMENT ON VIEW reporting.balance_daily IS {_quote(BALANCE_DAILY_0006_COMMENT)}")
    op.execute("COMMENT ON COLUMN reporting.balance_daily.balance IS 'Balance at the end of the day'")
    op.execute("DROP VIEW reporting.opening_balance")
    op.execute("DROP MATERIALIZED VIEW reporting.chain_start")
    op.execute("DROP FUNCTION reporting.chain_opening(text, text, text)")


_BALANCES_AT_OPENING = BALANCES_AT[BALANCES_AT.index("        UNION ALL\n        SELECT o.account"):
                                   BALANCES_AT.index("    )\n    SELECT m.account")]
_MOVES_0006 = _MOVES[:_MOVES.index("    UNION ALL\n    SELECT o.account")].replace("0::numeric AS opening, ", "") \
    .replace("l.amount - l.fee, 0, 1", "l.amount - l.fee, 1")
