"""Kraken's public market data over the client: Assets, AssetPairs, OHLC, Trades (parsed by `core.market`).

Each method is one public call, paced by the client's public (per-IP) counter and retried like any call.
No key is needed: a client without credentials works.
"""

from __future__ import annotations

from typing import Any

from kraken_etl.core.market import Bar, PublicTrade, parse_assets, parse_ohlc, parse_pairs, parse_trades
from kraken_etl.kraken.client import KrakenClient

TRADES_PER_CALL = 1_000


class MarketData:
    """Typed public market-data calls on one client."""

    def __init__(self, client: KrakenClient) -> None:
        self.client = client

    @property
    def calls(self) -> int:
        """Public calls sent so far by the client (retries included)."""
        return self.client.public_calls

    def assets(self) -> list[dict[str, Any]]:
        """Kraken's asset list (rows for kraken.asset)."""
        return parse_assets(self.client.public("Assets"))

    def asset_pairs(self) -> list[dict[str, Any]]:
        """Kraken's pair list (rows for kraken.asset_pair)."""
        return parse_pairs(self.client.public("AssetPairs"))

    def ohlc(self, pair: str, interval: int, since: int | None = None
             ) -> tuple[list[Bar], list[tuple[Any, str]], int]:
        """The reachable candles of `pair` (Kraken: the latest 720, the last unfinished) after `since`
        (unix seconds, exclusive): (bars oldest first, rejected rows with reasons, last)."""
        params: dict[str, Any] = {"pair": pair, "interval": interval}
        if since is not None:
            params["since"] = since
        _, bars, rejected, last = parse_ohlc(self.client.public("OHLC", params), interval)
        return bars, rejected, last

    def trades(self, pair: str, since_ns: int, count: int = TRADES_PER_CALL) -> tuple[list[PublicTrade], int]:
        """Up to `count` public trades of `pair` after `since_ns`: (trades, last in nanoseconds)."""
        return parse_trades(self.client.public("Trades", {"pair": pair, "since": since_ns, "count": count}))
