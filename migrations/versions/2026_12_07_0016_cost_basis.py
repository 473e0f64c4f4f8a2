"""cost_basis: the books' treatments, the user's opening lots, and the lot engine's stored results.

- `kraken.treatment`: how each (ledger type, subtype) reaches the lots (`*` = any), seeded with the defaults,
  editable (`origin = 'user'` rows are the user's).
- `kraken.opening_lot`: lots held before they reached Kraken (`kraken-etl lots import`), keyed by the file's
  SHA-256 and row so a re-import changes nothing.
- `kraken.book_run`, `kraken.book_disposal`, `kraken.book_income`, `kraken.book_holding`,
  `kraken.book_finding`: one computation per (entity, method, currency), replaced whole by the next.
- `reporting.disposals`, `reporting.realised_gains`, `reporting.income` (views) and
  `reporting.lots_at(ts, ...)`, `reporting.unrealised_at(ts, ...)` (functions), every column commented.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TREATMENTS = ("trade", "income", "internal", "deposit", "withdrawal", "acquire_or_dispose", "ignore")

# The defaults as of this migration (kraken_etl/books/treatments.py DEFAULTS; a test keeps them equal).
SEED = [
    ('trade', '*', 'trade', False, 'a fill: disposal of what was given, acquisition of what was received'),
    ('spend', '*', 'trade', False, 'Buy Crypto / convert: the paying side of a swap'),
    ('receive', '*', 'trade', False, 'Buy Crypto / convert: the receiving side of a swap'),
    ('conversion', '*', 'trade', False, 'a conversion (a delisted or renamed asset): a swap'),
    ('sale', '*', 'trade', False, 'a sale (an asset converted by Kraken): a swap'),
    ('transfer', 'delistingconversion', 'trade', False, 'a delisted asset converted: a swap'),
    ('transfer', '*', 'internal', False, "between the account's wallets (spot, staking, futures, .HOLD)"),
    ('earn', 'reward', 'income', False, 'an Earn reward'),
    ('earn', '*', 'internal', False, 'Earn allocation, deallocation, autoallocation, migration'),
    ('staking', '*', 'income', False, 'a staking reward'),
    ('reward', '*', 'income', False, 'a reward'),
    ('dividend', '*', 'income', False, 'a dividend'),
    ('invite bonus', '*', 'income', False, 'a referral bonus'),
    ('nftrebate', '*', 'income', False, 'an NFT rebate'),
    ('credit', '*', 'income', False, 'a credit from Kraken (fee credits have no lots)'),
    ('deposit', '*', 'deposit', False, 'a deposit: cost from the opening lots, else fair value, flagged'),
    ('opening balance', '*', 'deposit', False, 'the balance a partial history opens with: like a deposit'),
    ('withdrawal', '*', 'withdrawal', False, "a withdrawal to the owner's own wallet: lots move out"),
    ('custodytransfer', '*', 'internal', False, "a move between Kraken's custody accounts"),
    ('hybridearnwithdrawal', '*', 'internal', False, 'Earn back to spot'),
    ('adjustment', '*', 'acquire_or_dispose', True, 'a balance adjustment at fair value'),
    ('margin', '*', 'acquire_or_dispose', True, 'margin P&L settled at fair value'),
    ('rollover', '*', 'acquire_or_dispose', True, 'a margin rollover fee at fair value'),
    ('settled', '*', 'acquire_or_dispose', True, 'a margin position settled at fair value'),
    ('*', '*', 'acquire_or_dispose', True, 'an unknown type: classified by default'),
]

KEY = "entity text NOT NULL, method text NOT NULL, currency text NOT NULL"

TABLES = [
    f"""CREATE TABLE kraken.treatment (
        ledger_type text NOT NULL,
        ledger_subtype text NOT NULL,
        treatment text NOT NULL CONSTRAINT ck_treatment_treatment CHECK (treatment IN {TREATMENTS!r}),
        flagged boolean NOT NULL DEFAULT false,
        note text NOT NULL DEFAULT '',
        origin text NOT NULL DEFAULT 'user' CONSTRAINT ck_treatment_origin CHECK (origin IN ('default', 'user')),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_treatment PRIMARY KEY (ledger_type, ledger_subtype))""",
    """CREATE TABLE kraken.opening_lot (
        file_sha256 text NOT NULL,
        row_number bigint NOT NULL,
        source_name text NOT NULL,
        asset text NOT NULL,
        amount numeric NOT NULL CONSTRAINT ck_opening_lot_amount CHECK (amount > 0),
        cost numeric NOT NULL CONSTRAINT ck_opening_lot_cost CHECK (cost >= 0),
        currency text NOT NULL,
        acquired_at timestamptz NOT NULL,
        imported_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_opening_lot PRIMARY KEY (file_sha256, row_number))""",
    f"""CREATE TABLE kraken.book_run (
        {KEY},
        computed_at timestamptz NOT NULL DEFAULT now(),
        accounts text[] NOT NULL,
        entries bigint NOT NULL,
        last_entry_time timestamptz,
        fee_rule text NOT NULL,
        CONSTRAINT pk_book_run PRIMARY KEY (entity, method, currency))""",
    f"""CREATE TABLE kraken.book_disposal (
        {KEY}, seq bigint NOT NULL,
        asset text NOT NULL, disposed_at timestamptz NOT NULL, amount numeric NOT NULL,
        proceeds numeric NOT NULL, cost numeric NOT NULL, fees numeric NOT NULL, gain numeric NOT NULL,
        rule text NOT NULL, acquired_first timestamptz, acquired_last timestamptz,
        disposal_entries text[] NOT NULL, acquisition_entries text[] NOT NULL, cost_assumed boolean NOT NULL,
        CONSTRAINT pk_book_disposal PRIMARY KEY (entity, method, currency, seq),
        CONSTRAINT fk_book_disposal_entity_book_run FOREIGN KEY (entity, method, currency)
            REFERENCES kraken.book_run ON DELETE CASCADE)""",
    f"""CREATE TABLE kraken.book_income (
        {KEY}, seq bigint NOT NULL,
        asset text NOT NULL, received_at timestamptz NOT NULL, amount numeric NOT NULL, value numeric NOT NULL,
        kind text NOT NULL, entries text[] NOT NULL, is_expense boolean NOT NULL,
        CONSTRAINT pk_book_income PRIMARY KEY (entity, method, currency, seq),
        CONSTRAINT fk_book_income_entity_book_run FOREIGN KEY (entity, method, currency)
            REFERENCES kraken.book_run ON DELETE CASCADE)""",
    f"""CREATE TABLE kraken.book_holding (
        {KEY}, seq bigint NOT NULL,
        asset text NOT NULL, at timestamptz NOT NULL, quantity numeric NOT NULL, cost numeric NOT NULL,
        CONSTRAINT pk_book_holding PRIMARY KEY (entity, method, currency, seq),
        CONSTRAINT fk_book_holding_entity_book_run FOREIGN KEY (entity, method, currency)
            REFERENCES kraken.book_run ON DELETE CASCADE)""",
    f"""CREATE TABLE kraken.book_finding (
        {KEY}, seq bigint NOT NULL,
        kind text NOT NULL, asset text, at timestamptz, entries text[] NOT NULL, detail text NOT NULL,
        CONSTRAINT pk_book_finding PRIMARY KEY (entity, method, currency, seq),
        CONSTRAINT fk_book_finding_entity_book_run FOREIGN KEY (entity, method, currency)
            REFERENCES kraken.book_run ON DELETE CASCADE)""",
    "CREATE INDEX ix_book_holding_entity_method_currency_asset_at ON kraken.book_holding "
    "(entity, method, currency, asset, at)",
]

VIEWS = {
    "disposals": """
        SELECT d.entity, d.method, d.currency, d.asset, d.disposed_at, d.amount, d.proceeds, d.cost, d.fees,
               d.gain, d.rule, d.acquired_first, d.acquired_last,
               d.disposed_at::date - d.acquired_first::date AS holding_days,
               d.disposal_entries, d.acquisition_entries, d.cost_assumed
        FROM kraken.book_disposal d""",
    "realised_gains": """
        SELECT d.entity, d.method, d.currency, extract(year FROM d.disposed_at AT TIME ZONE 'UTC')::int AS year,
               d.asset, count(*)::bigint AS disposals, sum(d.amount) AS amount, sum(d.proceeds) AS proceeds,
               sum(d.cost) AS cost, sum(d.fees) AS fees, sum(d.gain) AS gain,
               bool_or(d.rule = 'shortfall') AS has_shortfall
        FROM kraken.book_disposal d
        GROUP BY 1, 2, 3, 4, 5""",
    "income": """
        SELECT i.entity, i.method, i.currency, i.asset, i.received_at, i.amount, i.value, i.kind, i.entries
        FROM kraken.book_income i
        WHERE NOT i.is_expense""",
}

# The asset a code's lots belong to: canonical, wallet suffix dropped, and staked ETH (ETH2, ETH2.S) counted as
# ETH (Kraken moves ETH into ETH2.S with a transfer and back after Shapella: one asset for the lots).
BOOK_ASSET = """
CREATE FUNCTION kraken.book_asset(code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE reporting.normalize_asset(reporting.asset_base_code(code)) WHEN 'ETH2' THEN 'ETH'
            ELSE reporting.normalize_asset(reporting.asset_base_code(code)) END
"""

LOTS_AT = """
CREATE FUNCTION reporting.lots_at(ts timestamptz, entity_name text DEFAULT NULL, method_name text DEFAULT NULL,
                                  currency_code text DEFAULT NULL)
RETURNS TABLE (entity text, method text, currency text, asset text, quantity numeric, cost numeric)
LANGUAGE sql STABLE AS $$
    SELECT h.entity, h.method, h.currency, h.asset, sum(h.quantity), sum(h.cost)
    FROM kraken.book_holding h
    WHERE h.at <= ts
      AND (entity_name IS NULL OR h.entity = entity_name)
      AND (method_name IS NULL OR h.method = method_name)
      AND (currency_code IS NULL OR h.currency = currency_code)
    GROUP BY 1, 2, 3, 4
    HAVING sum(h.quantity) <> 0 OR sum(h.cost) <> 0
$$
"""

UNREALISED_AT = """
CREATE FUNCTION reporting.unrealised_at(ts timestamptz, entity_name text DEFAULT NULL,
                                        method_name text DEFAULT NULL, currency_code text DEFAULT NULL)
RETURNS TABLE (entity text, method text, currency text, asset text, quantity numeric, cost numeric,
               price numeric, price_time timestamptz, value numeric, unrealised numeric)
LANGUAGE sql STABLE AS $$
    SELECT l.entity, l.method, l.currency, l.asset, l.quantity, l.cost, p.price, p.price_time,
           l.quantity * p.price, l.quantity * p.price - l.cost
    FROM reporting.lots_at(ts, entity_name, method_name, currency_code) l
    LEFT JOIN LATERAL reporting.price_at(l.asset, l.currency, ts) p ON true
$$
"""

COMMENTS = {
    ("VIEW", "disposals"): ("Each disposal (or the part of one drawn from one source of cost) of the last "
                            "computation per (entity, method, currency)."),
    ("VIEW", "realised_gains"): "Realised gains per entity, method, currency, calendar year (UTC) and asset.",
    ("VIEW", "income"): "Income received (staking and Earn rewards, other income types), valued at receipt.",
}

COLUMN_COMMENTS = {
    "entity": "Tax entity: one account, or several pooled ([entities.NAME] in the accounts file).",
    "method": "Cost basis method: fifo, lifo, hifo, average or uk.",
    "currency": "Reporting currency every money column is in.",
    "asset": "Canonical asset code, wallet suffix dropped (DOT.S counts as DOT).",
    "disposed_at": "Moment of the disposal (uk: the first disposal of the day, the day's disposals being one).",
    "amount": "Quantity of the asset.",
    "proceeds": "Proceeds: the trade's value in the reporting currency (fair value when no fiat leg).",
    "cost": "Allowable cost of what was disposed of (acquisition fees included when the fee rule says so).",
    "fees": "Disposal fees, kept apart from the proceeds.",
    "gain": "proceeds - cost - fees.",
    "rule": ("What the cost came from: fifo, lifo, hifo, average, same_day, thirty_day, pool, or shortfall "
             "(no lots: cost 0, see the findings)."),
    "acquired_first": "Earliest acquisition the cost came from (NULL for a shortfall).",
    "acquired_last": "Latest acquisition the cost came from (the same as acquired_first for one lot).",
    "holding_days": "Days between acquired_first and disposed_at (UTC dates).",
    "disposal_entries": "Ledger ids of the disposal.",
    "acquisition_entries": "Ledger ids (or opening-lot sources) of the acquisition; empty for a pool.",
    "cost_assumed": "The cost (partly) stands on a fair value, for want of a known cost.",
    "year": "Calendar year of the disposal (UTC).",
    "disposals": "Number of disposal rows.",
    "has_shortfall": "Some disposal exceeded the lots held (see the computation's findings).",
    "received_at": "Moment the income was received.",
    "value": "Fair value at receipt in the reporting currency (0 when no price was known, with a finding).",
    "kind": "Ledger type/subtype the income came from.",
    "entries": "Ledger ids of the income.",
}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)
    values = ", ".join(f"({_q(t)}, {_q(s)}, {_q(tr)}, {str(f).lower()}, {_q(n)}, 'default')"
                       for t, s, tr, f, n in SEED)
    op.execute("INSERT INTO kraken.treatment (ledger_type, ledger_subtype, treatment, flagged, note, origin) "
               f"VALUES {values}")
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW reporting.{name} AS {body}")
        op.execute(f"COMMENT ON VIEW reporting.{name} IS {_q(COMMENTS[('VIEW', name)])}")
        op.execute(f"GRANT SELECT ON reporting.{name} TO kraken_reader")
    for name in VIEWS:
        for column in _columns(name):
            op.execute(f"COMMENT ON COLUMN reporting.{name}.{column} IS {_q(COLUMN_COMMENTS[column])}")
    op.execute(BOOK_ASSET)
    op.execute(LOTS_AT)
    op.execute(UNREALISED_AT)
    signature = "(timestamptz, text, text, text)"
    op.execute(f"COMMENT ON FUNCTION reporting.lots_at{signature} IS "
               + _q("Open lots at a moment per entity, method, currency and asset: quantity held and its cost "
                    "(uk: between a disposal and the acquisition the 30-day rule matched it to, the cost is "
                    "provisional). Arguments after ts narrow the result; NULL means all."))
    op.execute(f"COMMENT ON FUNCTION reporting.unrealised_at{signature} IS "
               + _q("Open lots at a moment at fair value (reporting.price_at): quantity, cost, price, its time, "
                    "value and unrealised gain (value - cost); NULLs where no price is known."))
    for name in ("lots_at", "unrealised_at"):
        op.execute(f"GRANT EXECUTE ON FUNCTION reporting.{name}{signature} TO kraken_reader")


def _columns(view: str) -> list[str]:
    return {
        "disposals": ["entity", "method", "currency", "asset", "disposed_at", "amount", "proceeds", "cost", "fees",
                      "gain", "rule", "acquired_first", "acquired_last", "holding_days", "disposal_entries",
                      "acquisition_entries", "cost_assumed"],
        "realised_gains": ["entity", "method", "currency", "year", "asset", "disposals", "amount", "proceeds",
                           "cost", "fees", "gain", "has_shortfall"],
        "income": ["entity", "method", "currency", "asset", "received_at", "amount", "value", "kind", "entries"],
    }[view]


def downgrade() -> None:
    signature = "(timestamptz, text, text, text)"
    op.execute(f"DROP FUNCTION reporting.unrealised_at{signature}")
    op.execute(f"DROP FUNCTION reporting.lots_at{signature}")
    op.execute("DROP FUNCTION kraken.book_asset(text)")
    for name in reversed(list(VIEWS)):
        op.execute(f"DROP VIEW reporting.{name}")
    for table in ("book_finding", "book_holding", "book_income", "book_disposal", "book_run", "opening_lot",
                  "treatment"):
        op.execute(f"DROP TABLE kraken.{table}")
