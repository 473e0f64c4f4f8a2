"""Kraken's asset and asset-pair lists (public endpoints), with our normalised codes."""

from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created
from models.types import KrakenId, Raw, UtcDateTime


class AssetRow(Base):
    """Kraken's asset list (public Assets endpoint) plus our normalised code (XXBT → BTC, keeps suffixes)."""

    __tablename__ = "asset"

    asset: Mapped[KrakenId] = mapped_column(primary_key=True)
    altname: Mapped[str | None]
    normalized: Mapped[str]
    aclass: Mapped[str | None]
    decimals: Mapped[int | None]
    display_decimals: Mapped[int | None]
    status: Mapped[str | None]
    raw: Mapped[Raw | None]
    updated_at: Mapped[UtcDateTime] = created()


class AssetPairRow(Base):
    """Kraken's asset pairs (public AssetPairs endpoint), to read trades' pair keys."""

    __tablename__ = "asset_pair"

    pair: Mapped[KrakenId] = mapped_column(primary_key=True)
    altname: Mapped[str | None]
    wsname: Mapped[str | None]
    base: Mapped[str]
    quote: Mapped[str]
    pair_decimals: Mapped[int | None]
    cost_decimals: Mapped[int | None]
    lot_decimals: Mapped[int | None]
    raw: Mapped[Raw | None]
    updated_at: Mapped[UtcDateTime] = created()
