"""Market data and asset identity: Kraken's public prices (OHLC, Trades, OHLCVT files), what each asset code
is and which market prices it, and Kraken's own valuation of the account (TradeBalance)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Identity, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import Amount, KrakenId, Label, Raw, UtcDateTime


class PriceRow(Base):
    """One candle of a Kraken pair: from the OHLC endpoint, rebuilt from public Trades, or from an OHLCVT file.

    `base` and `quote` are canonical asset codes (BTC, USD), resolved when the candle is loaded; `complete`
    is false for the candle Kraken was still filling when it was fetched (replaced when it completes).
    """

    __tablename__ = "price"

    pair: Mapped[KrakenId] = mapped_column(primary_key=True)
    interval: Mapped[int] = mapped_column(primary_key=True)  # minutes
    start: Mapped[UtcDateTime] = mapped_column(primary_key=True)
    base: Mapped[str]
    quote: Mapped[str]
    open: Mapped[Amount]
    high: Mapped[Amount]
    low: Mapped[Amount]
    close: Mapped[Amount]
    vwap: Mapped[Amount | None]
    volume: Mapped[Amount]
    trades: Mapped[int | None]
    source: Mapped[str]
    complete: Mapped[bool]
    fetched_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        Index(None, "base", "quote", "interval", "start"),
        CheckConstraint("source IN ('ohlc', 'trades', 'file')", name="source"),
        CheckConstraint("interval > 0", name="interval"),
        CheckConstraint("low <= high", name="range"),
    )


class AssetIdentityRow(Base):
    """What a Kraken asset code is (`canonical`) and what prices it, over a validity range.

    `price_asset` names the canonical asset whose markets price this code (DOT28.S → DOT); `fixed_price` in
    `fixed_currency` prices a code that has no market (KFEE: 0.01 USD). A code with neither is known and
    unpriced. `valid_from`/`valid_until` (half-open; NULL = unbounded) carry date-dependent identities
    (Kraken's LUNA is Terra Classic from 2022-05-28). `origin` is 'default' (shipped) or 'user' (edited).
    """

    __tablename__ = "asset_identity"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    code: Mapped[KrakenId]
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    canonical: Mapped[str]
    price_asset: Mapped[str | None]
    fixed_price: Mapped[Decimal | None]
    fixed_currency: Mapped[str | None]
    origin: Mapped[str] = mapped_column(server_default="default")
    note: Mapped[str | None]
    updated_at: Mapped[UtcDateTime] = created()

    __table_args__ = (
        UniqueConstraint("code", "valid_from", postgresql_nulls_not_distinct=True),
        CheckConstraint("origin IN ('default', 'user')", name="origin"),
        CheckConstraint("(fixed_price IS NULL) = (fixed_currency IS NULL)", name="fixed_pair"),
        CheckConstraint("valid_until IS NULL OR valid_from IS NULL OR valid_from < valid_until", name="range"),
    )


class PriceRouteRow(Base):
    """The route `prices sync` chose to value `asset` in `currency` (canonical codes): `route` as
    `reporting.price_route` writes it (``par``, ``XXBTZEUR``, ``DOTUSD*ZEURZUSD^-1``), `via` the bridge asset
    of a two-leg route; `route` NULL when Kraken lists no pair that prices it. Replaced by each sync."""

    __tablename__ = "price_route"

    asset: Mapped[str] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(primary_key=True)
    route: Mapped[str | None]
    via: Mapped[str | None]
    planned_at: Mapped[UtcDateTime] = created()


class TradeBalanceRow(Base):
    """Kraken's TradeBalance at `taken_at`, in `asset` (its `asset` parameter): `eb` is the equivalent balance
    of all currencies; the margin fields (`tb`, `m`, `n`, `c`, `v`, `e`, `mf`, `ml`, `uv`) as Kraken sent them."""

    __tablename__ = "trade_balance"

    account: Mapped[Label] = mapped_column(primary_key=True)
    taken_at: Mapped[UtcDateTime] = mapped_column(primary_key=True)
    asset: Mapped[KrakenId] = mapped_column(primary_key=True)
    eb: Mapped[Amount]
    tb: Mapped[Amount | None]
    m: Mapped[Amount | None]
    n: Mapped[Amount | None]
    c: Mapped[Amount | None]
    v: Mapped[Amount | None]
    e: Mapped[Amount | None]
    mf: Mapped[Amount | None]
    ml: Mapped[Amount | None]
    uv: Mapped[Amount | None]
    raw: Mapped[Raw]


class OpenPositionRow(Base):
    """Kraken's OpenPositions at `taken_at` (asked with each balance snapshot): one row per open position,
    keyed by the position's id (its opening trade's txid); amounts in the pair's quote currency as Kraken
    sent them. A snapshot with no position open stores no row."""

    __tablename__ = "open_position"

    account: Mapped[Label] = mapped_column(primary_key=True)
    taken_at: Mapped[UtcDateTime] = mapped_column(primary_key=True)
    postxid: Mapped[KrakenId] = mapped_column(primary_key=True)
    ordertxid: Mapped[str | None]
    posstatus: Mapped[str | None]
    pair: Mapped[str]
    time: Mapped[UtcDateTime]
    time_raw: Mapped[Decimal]
    type: Mapped[str]
    ordertype: Mapped[str | None]
    cost: Mapped[Amount]
    fee: Mapped[Amount]
    vol: Mapped[Amount]
    vol_closed: Mapped[Amount | None]
    margin: Mapped[Amount | None]
    value: Mapped[Amount | None]
    net: Mapped[Amount | None]
    rollovertm: Mapped[str | None]
    raw: Mapped[Raw]
