"""Each Kraken history stream declared once: a frozen `StreamSpec` per stream.

Everything that differs between streams is data here, and nowhere else: the endpoint and its answer's
shape, the call cost, the parser, the target table with its key and precise-time columns (`LoadTarget`),
the validation rules, how a backfill reaches it (an export report, or REST), and how a sync runs it
(a frozen, paged window, or one call per amended order). Adding a stream means one declaration here plus
its parser (core) and its table (models + a migration).

Balances are a snapshot, not a stream of records (`jobs.balances`); `SYNC_ORDER` names them next to the
streams so one sync runs all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from kraken_etl.core.amend import parse_order_amend
from kraken_etl.core.exportheader import ExportKind
from kraken_etl.core.exportrows import LEDGER_ROWS, POSITION_AMOUNTS, TRADE_ROWS, RowReader
from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.order import parse_closed_order
from kraken_etl.core.records import ClosedOrder, LedgerEntry, OrderAmend, Trade
from kraken_etl.core.trade import parse_trade
from kraken_etl.db.merge_rule import LoadTarget
from kraken_etl.jobs.validation import (
    StreamRules,
    missing,
    negative,
    unknown_asset,
    unknown_ledger_type,
    unknown_side,
)
from kraken_etl.kraken.calls import PrivateCall

StreamName = Literal["ledgers", "trades", "closed_orders", "order_amends"]
Record = LedgerEntry | Trade | ClosedOrder | OrderAmend

# Re-read this much before the bookmark on every incremental run: entries can become visible a little
# after their timestamp (and the simulator backdates `advance` activity by up to entries/2.4 s).
DEFAULT_LAG = timedelta(minutes=15)
PAGE_SIZE = 50  # Kraken's fixed page size for the history endpoints


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One Kraken history stream: endpoint, answer shape, cost, parser, target, rules, routes."""

    name: StreamName
    path: str  # e.g. /0/private/Ledgers
    result_key: str  # the map (or list) inside `result`
    parse: Callable[[str, Mapping[str, Any]], Record]
    target: LoadTarget
    rules: StreamRules
    permission: str  # the key permission the endpoint needs, as Kraken's API key page names it
    cost: int  # call-counter cost of one call (Kraken's rate-limit page: 2 for Ledgers and TradesHistory)
    paging: Literal["window", "per_order"] = "window"  # per_order: one call per amended order (OrderAmends)
    export_report: ExportKind | None = None  # Kraken's export report, if it has one
    export_rows: RowReader | None = None  # how the report's rows become the target's columns
    lag: timedelta = DEFAULT_LAG
    params: Mapping[str, str] = field(default_factory=dict)  # fixed request parameters

    @property
    def method(self) -> str:
        """Kraken's method name (the last path segment)."""
        return self.path.rsplit("/", 1)[-1]

    @property
    def call(self) -> PrivateCall:
        """The endpoint as the client calls it: the counter charges `cost`, a refusal names `permission`."""
        return PrivateCall(self.method, self.permission, self.cost)


LEDGERS = StreamSpec(
    name="ledgers", path="/0/private/Ledgers", result_key="ledger", parse=parse_ledger_entry,
    target=LoadTarget("ledger_entry", "ledger_id", LedgerEntry, (("time", "time_raw"),)),
    rules=StreamRules(("amount", "fee"), ("balance",), "time_raw", flags=(
        ("unknown_type", "type", unknown_ledger_type), ("unknown_asset", "asset", unknown_asset),
        ("negative_fee", "fee", negative), ("no_balance", "balance", missing))),
    permission="Query Ledger Entries", cost=2,
    export_report="ledgers", export_rows=LEDGER_ROWS,
)
TRADES = StreamSpec(
    name="trades", path="/0/private/TradesHistory", result_key="trades", parse=parse_trade,
    target=LoadTarget("trade", "txid", Trade, (("time", "time_raw"),)),
    rules=StreamRules(("price", "cost", "fee", "vol"), ("margin", *POSITION_AMOUNTS), "time_raw", flags=(
        ("unknown_side", "type", unknown_side), ("negative_fee", "fee", negative))),
    permission="Query Closed Orders & Trades", cost=2,
    export_report="trades", export_rows=TRADE_ROWS,
    params={"ledgers": "true"},  # the ledger ids of each fill, for trade <-> ledger reconciliation
)
CLOSED_ORDERS = StreamSpec(
    name="closed_orders", path="/0/private/ClosedOrders", result_key="closed", parse=parse_closed_order,
    target=LoadTarget("closed_order", "txid", ClosedOrder, (("opentm", "opentm_raw"), ("closetm", "closetm_raw"))),
    rules=StreamRules(("vol", "vol_exec", "cost", "fee", "price"),
                      ("descr_price", "descr_price2", "stopprice", "limitprice"), "closetm_raw"),
    permission="Query Closed Orders & Trades", cost=1,  # ccxt weights it like the history calls: unverified
    # window on close time: an order opened long ago but closed since the bookmark is still found
    params={"trades": "true", "closetime": "close"},
)
ORDER_AMENDS = StreamSpec(
    name="order_amends", path="/0/private/OrderAmends", result_key="amends", parse=parse_order_amend,
    target=LoadTarget("order_amend", "amend_id", OrderAmend),
    rules=StreamRules((), ("order_qty", "display_qty", "remaining_qty", "limit_price",
                                       "trigger_price"), "timestamp_ns", cursor_scale=9),
    permission="Query Open Orders & Trades or Query Closed Orders & Trades", cost=1,
    paging="per_order",
)

STREAMS: tuple[StreamSpec, ...] = (LEDGERS, TRADES, CLOSED_ORDERS, ORDER_AMENDS)
BY_NAME: Mapping[str, StreamSpec] = {spec.name: spec for spec in STREAMS}
# The stream of each export report, and how its rows are read (`core.exportrows.iter_cell_batches`).
BY_REPORT: Mapping[ExportKind, StreamSpec] = {s.export_report: s for s in STREAMS if s.export_report}
EXPORT_ROWS: Mapping[ExportKind, RowReader] = {s.export_report: s.export_rows for s in STREAMS
                                        if s.export_report and s.export_rows}
BALANCES = "balances"
# What `sync` runs by default, in dependency order (amends need the closed orders stored first).
SYNC_ORDER: tuple[str, ...] = (*BY_NAME, BALANCES)
