"""Many accounts behind one simulator: `SimFleet` holds one `SimContext` per account, built on first use.

Account ``i`` (0-based) is `SimConfig.account_config(i)`: account 0 is the configuration itself (so a
one-account simulator is exactly the simulator it always was), account i > 0 has its own seed and so its
own history and derived API key. Each context keeps its own call counter, nonce state, exports, faults and
truth, as Kraken keeps them per account.

Private requests are routed by their ``API-Key`` header (`for_key`); admin requests name the account with
``?account=i`` (`for_index`). The keys are derived without generating anything, so a simulator of a
hundred accounts starts at once and builds an account's history when a request first reaches it.

The public market (OHLC, Trades, TradeBalance's valuation) is account 0's: Kraken has one market for all
accounts, and the nightly run stores one set of candles for every account it values.
"""

from __future__ import annotations

import threading

from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.context import SimContext


class SimFleet:
    """The accounts of one simulator; account 0 is built at once, the others when first asked for."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.primary = SimContext(config)
        self._contexts: dict[int, SimContext] = {0: self.primary}
        self._by_key: dict[str, int] = {}
        for index in range(config.accounts):
            for key in config.account_config(index).api_keys:
                self._by_key[key.key] = index
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.config.accounts

    def index_of(self, api_key: str | None) -> int | None:
        """The account a key belongs to (None for a key no account has)."""
        return self._by_key.get((api_key or "").strip())

    def for_index(self, index: int) -> SimContext:
        """Account `index`, built on first use.

        Raises:
            ValueError: for an index outside ``0..accounts-1``.
        """
        context = self._contexts.get(index)
        if context is not None:
            return context
        config = self.config.account_config(index)  # raises for an index out of range
        with self._lock:
            context = self._contexts.get(index)
            if context is None:
                context = self._contexts[index] = SimContext(config, market=self.primary.market)
            return context

    def for_key(self, api_key: str | None) -> SimContext:
        """The account a private request's ``API-Key`` names; account 0 for a key no account has (whose
        authenticator then answers ``EAPI:Invalid key``, as Kraken does)."""
        index = self.index_of(api_key)
        return self.primary if index is None else self.for_index(index)

    def built(self) -> list[int]:
        """The accounts whose history has been generated so far."""
        return sorted(self._contexts)
