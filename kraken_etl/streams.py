"""Each Kraken history endpoint declared once (STYLE §5): a frozen `StreamSpec` per stream.

`STREAMS` holds the windowed, paged streams (Ledgers, TradesHistory, ClosedOrders) and OrderAmends,
which is fetched per amended order rather than per window. Balances are a snapshot, not a stream of
records (`pipeline.snapshot_balances`). Everything that differs between endpoints is data here; the
pipeline has one code path for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from kraken_etl.core.amend import parse_order_amend
from kraken_etl.core.callcounter import cost_of
from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.order import parse_closed_order
from kraken_etl.core.records import ClosedOrder, LedgerEntry, OrderAmend, Trade
from kraken_etl.core.trade import parse_trade

StreamName = Literal["ledgers", "trades", "closed_orders", "order_amends"]
Record = LedgerEntry | Trade | ClosedOrder | OrderAmend

# Re-read this much before the bookmark on every incremental run: entries can become visible a little
# after their timestamp (and the simulator backdates `advance` activity by up to entries/2.4 s).
DEFAULT_LAG = timedelta(minutes=15)
PAGE_SIZE = 50  # Kraken's fixed page size for the history endpoints


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One Kraken endpoint: where it lives, how its answer is shaped, what it costs, how to parse it."""

    name: StreamName
    path: str  # e.g. /0/private/Ledgers
    result_key: str  # the map (or list) inside `result`
    id_field: str  # the record attribute holding Kraken's id (the dict key of the answer)
    cursor_field: str  # the raw field the window filters on
    parse: Callable[[str, Mapping[str, Any]], Record]
    table: str  # target table in schema `kraken`
    lag: timedelta = DEFAULT_LAG
    page_size: int = PAGE_SIZE
    order: Literal["desc", "asc"] = "desc"
    paged: bool = True  # False: one call per parent id (OrderAmends)
    params: Mapping[str, str] = field(default_factory=dict)  # fixed request parameters

    @property
    def method(self) -> str:
        """Kraken's method name (the last path segment)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def cost(self) -> int:
        """Call-counter cost of one page (2 for Ledgers/TradesHistory, per Kraken's rate-limit page)."""
        return cost_of(self.method)


LEDGERS = StreamSpec(
    name="ledgers", path="/0/private/Ledgers", result_key="ledger", id_field="ledger_id",
    cursor_field="time", parse=parse_ledger_entry, table="ledger_entry",
)
TRADES = StreamSpec(
    name="trades", path="/0/private/TradesHistory", result_key="trades", id_field="txid",
    cursor_field="time", parse=parse_trade, table="trade",
    params={"ledgers": "true"},  # the ledger ids of each fill, for trade <-> ledger reconciliation
)
CLOSED_ORDERS = StreamSpec(
    name="closed_orders", path="/0/private/ClosedOrders", result_key="closed", id_field="txid",
    cursor_field="closetm", parse=parse_closed_order, table="closed_order",
    # window on close time: an order opened long ago but closed since the bookmark is still found
    params={"trades": "true", "closetime": "close"},
)
ORDER_AMENDS = StreamSpec(
    name="order_amends", path="/0/private/OrderAmends", result_key="amends", id_field="amend_id",
    cursor_field="timestamp", parse=parse_order_amend, table="order_amend", order="asc", paged=False,
)

STREAMS: tuple[StreamSpec, ...] = (LEDGERS, TRADES, CLOSED_ORDERS, ORDER_AMENDS)
BY_NAME: Mapping[str, StreamSpec] = {spec.name: spec for spec in STREAMS}
# What `sync` runs by default, in dependency order (amends need the closed orders stored first).
SYNC_ORDER: tuple[str, ...] = ("ledgers", "trades", "closed_orders", "order_amends", "balances")
