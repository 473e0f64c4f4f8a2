"""Column aliases: every money column is `Amount` (unconstrained NUMERIC: exact, keeps Kraken's scale),
every time `UtcDateTime` (timestamptz), every raw Kraken record `Raw` (JSONB, numbers as strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

Amount = Annotated[Decimal, "amount"]
RawTime = Annotated[Decimal, "raw_time"]
UtcDateTime = Annotated[datetime, "utc"]
Raw = Annotated[dict[str, Any], "raw"]
KrakenId = Annotated[str, "kraken_id"]
Label = Annotated[str, "label"]
