"""The one declarative Base: schema `kraken`, a naming convention, and the type map (no float anywhere)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, MetaData, Numeric, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from models.types import Amount, KrakenId, Label, Raw, RawTime, UtcDateTime

SCHEMA = "kraken"

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(schema=SCHEMA, naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        Amount: Numeric(asdecimal=True),
        RawTime: Numeric(asdecimal=True),
        Decimal: Numeric(asdecimal=True),
        UtcDateTime: TIMESTAMP(timezone=True),
        datetime: TIMESTAMP(timezone=True),
        Raw: JSONB(none_as_null=True),
        dict[str, Any]: JSONB(none_as_null=True),
        list[str]: ARRAY(Text),
        KrakenId: Text(),
        Label: Text(),
        str: Text(),
        int: BigInteger(),
    }


def created() -> Mapped[datetime]:
    """A timestamptz column stamped by the database when the row is written."""
    return mapped_column(server_default=func.now())
