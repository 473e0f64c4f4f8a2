"""OrderAmends entries → `OrderAmend` (Kraken's OrderAmends docs). The order id is context: Kraken never repeats it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kraken_etl.core.parsing import Reader, fields, rawify
from kraken_etl.core.records import OrderAmend
from kraken_etl.core.timeutil import from_unix_ns

_FIELDS = fields(
    (Reader.text, "amend_type"),
    (Reader.opt_dec, "order_qty display_qty remaining_qty limit_price trigger_price"),
    (Reader.opt_text, "reason"),
    (Reader.opt_bool, "post_only"),
)

def parse_order_amend(order_txid: str, raw: Mapping[str, Any]) -> OrderAmend:
    """One entry of ``result["amends"]`` for order `order_txid`; `timestamp` is integer nanoseconds.

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    amend_id = raw.get("amend_id") if isinstance(raw, Mapping) else None
    r = Reader("order_amends", amend_id if isinstance(amend_id, str) else None, raw)
    r.text("amend_id")
    timestamp_ns = r.opt_int("timestamp")
    if timestamp_ns is None:
        raise r.fail("timestamp", None, "is missing")
    return OrderAmend(amend_id=r.text("amend_id"), order_txid=order_txid, **r.read(_FIELDS),
                      timestamp=from_unix_ns(timestamp_ns), timestamp_ns=timestamp_ns, raw=rawify(raw))
