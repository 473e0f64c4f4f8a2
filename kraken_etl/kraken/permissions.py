"""Which Kraken key permission each private method needs, as Kraken's API key page names them.

`PermissionDenied` names the permission in its message, so a user knows which box to tick on the key.
"""

from __future__ import annotations

from collections.abc import Mapping

# Kraken key permissions per private method, as the key page names them (Kraken's API key documentation).
METHOD_PERMISSIONS: Mapping[str, str] = {
    "Balance": "Query Funds",
    "BalanceEx": "Query Funds",
    "TradeBalance": "Query Funds",
    "OpenOrders": "Query Open Orders & Trades",
    "OpenPositions": "Query Open Orders & Trades",
    "QueryOrders": "Query Open Orders & Trades or Query Closed Orders & Trades",
    "TradesHistory": "Query Closed Orders & Trades",
    "QueryTrades": "Query Closed Orders & Trades",
    "ClosedOrders": "Query Closed Orders & Trades",
    "OrderAmends": "Query Open Orders & Trades or Query Closed Orders & Trades",
    "Ledgers": "Query Ledger Entries",
    "QueryLedgers": "Query Ledger Entries",
    "AddExport": "Export Data",
    "ExportStatus": "Export Data",
    "RetrieveExport": "Export Data",
    "RemoveExport": "Export Data",
    "GetWebSocketsToken": "Access WebSocket API",
}


def permission_for(method: str | None) -> str | None:
    """The Kraken key permission a private method needs, or None when unknown."""
    return METHOD_PERMISSIONS.get(method or "")
