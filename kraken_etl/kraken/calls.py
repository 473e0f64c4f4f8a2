"""A private method as the client calls it: its name, the key permission it needs and its call-counter cost.

The client reads both from the `PrivateCall` it is handed and never looks a method up by name: the counter
charges `cost`, and a `PermissionDenied` names `permission` (as Kraken's API key page names it), so a user
knows which box to tick on the key. The history streams declare theirs on their `StreamSpec`
(`kraken_etl.jobs.streams`); the other calls the product makes are declared here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PrivateCall:
    """One private method: Kraken's name for it, the key permission it needs, its call-counter cost."""

    method: str
    permission: str
    cost: int = 1  # Kraken's rate-limit page: 1 for most calls, 2 for Ledgers and TradesHistory


QUERY_FUNDS = "Query Funds"
EXPORT_DATA = "Export Data"
BALANCE = PrivateCall("Balance", QUERY_FUNDS)
BALANCE_EX = PrivateCall("BalanceEx", QUERY_FUNDS)
TRADE_BALANCE = PrivateCall("TradeBalance", QUERY_FUNDS)
ADD_EXPORT = PrivateCall("AddExport", EXPORT_DATA)
EXPORT_STATUS = PrivateCall("ExportStatus", EXPORT_DATA)
RETRIEVE_EXPORT = PrivateCall("RetrieveExport", EXPORT_DATA)
REMOVE_EXPORT = PrivateCall("RemoveExport", EXPORT_DATA)
WEBSOCKETS_TOKEN = PrivateCall("GetWebSocketsToken", "Access WebSocket API")
OPEN_POSITIONS = PrivateCall("OpenPositions", "Query Open Orders & Trades")
