"""market_data: Kraken's prices, what each asset code is and what prices it, Kraken's TradeBalance.

- `kraken.price`: one row per candle (pair, interval in minutes, start) with NUMERIC OHLC, volume and trade
  count, the canonical `base`/`quote` it prices, its `source` (`ohlc`, `trades` rebuilt, `file` imported) and
  whether it was `complete` when fetched (Kraken's last OHLC candle is still filling).
- `kraken.asset_identity`: Kraken code → canonical asset and the asset whose markets price it (or a fixed
  price), with an optional validity range for identities that change with the date.
- `kraken.trade_balance`: Kraken's TradeBalance (equivalent balance `eb` and the margin fields) as taken
  with the balance snapshots.
- `reporting.price_at(asset_code, currency, at)`: the price of a Kraken asset code in a currency at a
  moment, with the candle's time, its source and the route (a pair, par, a fixed price), or NULLs.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Par, then a fixed price, then the finest candle that contains `at` (hourly before daily) of a direct pair.
PRICE_AT = """
CREATE FUNCTION reporting.price_at(asset_code text, currency text, at timestamptz,
                                   OUT price numeric, OUT price_time timestamptz,
                                   OUT price_source text, OUT route text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH identity AS (
        SELECT i.canonical, i.price_asset, i.fixed_price, i.fixed_currency
        FROM kraken.asset_identity i
        WHERE i.code = asset_code
          AND (i.valid_from IS NULL OR i.valid_from <= at)
          AND (i.valid_until IS NULL OR at < i.valid_until)
        ORDER BY i.origin = 'user' DESC, i.valid_from DESC NULLS LAST
        LIMIT 1
    ), candidates AS (
        SELECT 1 AS rank, 1::numeric AS price, at AS price_time, 'par'::text AS price_source,
               'par'::text AS route
        FROM identity WHERE coalesce(identity.price_asset, identity.canonical) = currency
        UNION ALL
        SELECT 2, identity.fixed_price, at, 'fixed', 'fixed'
        FROM identity WHERE identity.fixed_currency = currency
        UNION ALL
        SELECT 3, c.close, c.start, 'candle', c.pair
        FROM identity CROSS JOIN LATERAL (
            SELECT p.close, p.start, p.pair FROM kraken.price p
            WHERE p.base = identity.price_asset AND p.quote = currency
              AND p.start <= at AND at < p.start + make_interval(mins => p.interval::int)
            ORDER BY p.interval, p.start DESC
            LIMIT 1
        ) c
    )
    SELECT c.price, c.price_time, c.price_source, c.route FROM candidates c ORDER BY c.rank LIMIT 1
$$
"""


def upgrade() -> None:
    op.create_table(
        "price",
        sa.Column("pair", sa.Text(), nullable=False),
        sa.Column("interval", sa.BigInteger(), nullable=False),
        sa.Column("start", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("base", sa.Text(), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("open", sa.Numeric(), nullable=False),
        sa.Column("high", sa.Numeric(), nullable=False),
        sa.Column("low", sa.Numeric(), nullable=False),
        sa.Column("close", sa.Numeric(), nullable=False),
        sa.Column("vwap", sa.Numeric(), nullable=True),
        sa.Column("volume", sa.Numeric(), nullable=False),
        sa.Column("trades", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("source IN ('ohlc', 'trades', 'file')", name=op.f("ck_price_source")),
        sa.CheckConstraint("interval > 0", name=op.f("ck_price_interval")),
        sa.CheckConstraint("low <= high", name=op.f("ck_price_range")),
        sa.PrimaryKeyConstraint("pair", "interval", "start", name=op.f("pk_price")),
        schema="kraken",
    )
    op.create_index(op.f("ix_price_base_quote_interval_start"), "price", ["base", "quote", "interval", "start"],
                    schema="kraken")
    op.create_table(
        "asset_identity",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("valid_from", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("valid_until", postgresql.TIMESTAMP(timezone=True), nullable=True),
        sa.Column("canonical", sa.Text(), nullable=False),
        sa.Column("price_asset", sa.Text(), nullable=True),
        sa.Column("fixed_price", sa.Numeric(), nullable=True),
        sa.Column("fixed_currency", sa.Text(), nullable=True),
        sa.Column("origin", sa.Text(), server_default="default", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", postgresql.TIMESTAMP(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.CheckConstraint("origin IN ('default', 'user')", name=op.f("ck_asset_identity_origin")),
        sa.CheckConstraint("(fixed_price IS NULL) = (fixed_currency IS NULL)",
                           name=op.f("ck_asset_identity_fixed_pair")),
        sa.CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_from < valid_until",
                           name=op.f("ck_asset_identity_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_identity")),
        sa.UniqueConstraint("code", "valid_from", name=op.f("uq_asset_identity_code_valid_from"),
                            postgresql_nulls_not_distinct=True),
        schema="kraken",
    )
    op.create_table(
        "trade_balance",
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("taken_at", postgresql.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        *(sa.Column(name, sa.Numeric(), nullable=name != "eb")
          for name in ("eb", "tb", "m", "n", "c", "v", "e", "mf", "ml", "uv")),
        sa.Column("raw", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("account", "taken_at", "asset", name=op.f("pk_trade_balance")),
        schema="kraken",
    )
    op.execute("GRANT SELECT ON kraken.price, kraken.asset_identity, kraken.trade_balance TO kraken_reader")
    op.execute(PRICE_AT)
    op.execute("""COMMENT ON FUNCTION reporting.price_at(text, text, timestamptz) IS
        'Price of one unit of a Kraken asset code in a currency at a moment: par when it is the currency, a '
        'fixed price (asset_identity), else the close of the finest stored candle that contains the moment. '
        'NULLs when none: never an invented price.'""")
    op.execute("GRANT EXECUTE ON FUNCTION reporting.price_at(text, text, timestamptz) TO kraken_reader")


def downgrade() -> None:
    op.execute("DROP FUNCTION reporting.price_at(text, text, timestamptz)")
    op.drop_table("trade_balance", schema="kraken")
    op.drop_table("asset_identity", schema="kraken")
    op.drop_index(op.f("ix_price_base_quote_interval_start"), table_name="price", schema="kraken")
    op.drop_table("price", schema="kraken")
