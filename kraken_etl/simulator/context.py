"""The running simulator's state in one object: config, clock, store, auth, exports, faults, WS hub.

`create_app` builds one `SimContext` and hangs it on ``app.state.sim``; route handlers read it from
there. Mutations that other parts must hear about (new activity, new faults) go through its methods.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.auth import Authenticator
from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.exports import ExportBook
from kraken_etl.simulator.faults import FaultSpec, FaultState
from kraken_etl.simulator.generator import GRID, TICKS
from kraken_etl.simulator.jsontext import Num
from kraken_etl.simulator.market import USD_PAIR, Market
from kraken_etl.simulator.marketapi import PublicLimiter
from kraken_etl.simulator.records import fmt_scaled, trade_ledger_ids
from kraken_etl.simulator.store import Store
from kraken_etl.simulator.ws import Activity, Hub, TokenBook
from kraken_etl.simulator.wsmessages import added_messages


class SimContext:
    """Everything one simulated Kraken holds."""

    def __init__(self, config: SimConfig, market: Market | None = None) -> None:
        """Generate the account of `config`; `market` is the market to value it at (another account's, in a
        multi-account simulator: Kraken has one market), or None for the market through this account's fills."""
        self.config = config
        self.clock = config.clock
        self.store = Store(config.seed, config.profile)
        self.store.rest_wallet_suffix = config.rest_wallet_suffix
        self.store.margin_net = config.margin_net
        self.store.rollover_refid = config.rollover_refid
        self.store.gen.earn_migration_type = config.earn_migration_type
        self.store.gen.hybrid_earn_withdrawal = config.hybrid_earn_withdrawal
        end_ticks = int(config.end_time.timestamp()) * TICKS
        self.store.build(config.ledger_entries, end_ticks, config.history_days)
        self.auth = Authenticator(config, self.clock)
        self.exports = ExportBook(config, self.store)
        self.tokens = TokenBook(config.seed, config.ws_token_ttl)
        self.hub = Hub()
        self.ws_connections = 0
        self.activity = Activity(self.advance)
        self.faults = FaultState(config.faults)
        self.auth.storm = lambda: self.faults.take("storm")
        self.store.apply_faults(config.faults)
        self.faults_set_at = self.clock.now()  # the moment candle_skew alters
        self.market = Market(self.store, config.seed) if market is None else market
        self.store.market = self.market  # the exports' …usd columns value at the path
        self.public_limiter = PublicLimiter(config.public_rate_limit,
                                            config.public_decay_per_second * config.rate_scale,
                                            config.rate_limits)

    def usd_now(self, asset: int) -> Decimal:
        """The USD price of `asset` on the market path now (no fault applied)."""
        value, places = self.market.usd_price(asset, self.now_ticks())
        return Decimal(value).scaleb(-places)

    def now_ticks(self) -> int:
        """The clock in ticks, on Kraken's 1e-4 s grid."""
        return int(self.clock.now() * TICKS) // GRID * GRID

    def advance(self, entries: int) -> dict[str, Any]:
        """Append new activity after the latest entry and push it to WebSocket subscribers."""
        store = self.store
        with store.lock:
            before = dict(store.gen.balances)
            added = store.extend(max(1, entries), self.now_ticks())
            messages = added_messages(store, added, before)
            result = {
                "ledger_ids": [store.ledger_id(p) for p in added.ledger],
                "trade_ids": [store.trade_id(i) for i in added.trades],
                "order_ids": [store.order_id(i) for i in added.orders],
                "trade_ledgers": {store.trade_id(i): trade_ledger_ids(store, i) for i in added.trades},
                "ledger_count": store.ledger.n,
            }
        self.hub.publish(messages)
        return result

    def set_faults(self, spec: FaultSpec) -> dict[str, Any]:
        """Replace the fault spec (and its counters); returns what the accounting faults touch."""
        self.faults = FaultState(spec)
        self.faults_set_at = self.clock.now()
        return self.describe_faults()

    def describe_faults(self) -> dict[str, Any]:
        """The active spec and the ids its discrepancy faults picked."""
        store = self.store
        d = store.apply_faults(self.faults.spec)
        missing = sorted(d.missing_leg_trades)
        legs = {int(store.trades.col("leg")[t]) + 1 for t in missing}
        return {
            "spec": {k: Num(repr(v)) if isinstance(v, float) else v
                     for k, v in self.faults.spec.to_dict().items()},
            "hidden_ledger_ids": sorted(store.ledger_id(p) for p in d.hidden_ledger - legs),
            "missing_legs": {store.trade_id(t): store.ledger_id(int(store.trades.col("leg")[t]) + 1)
                             for t in missing},
            "balance_drift": _drift_texts(d.balance_drift),
            "vol_exec_mismatch": sorted(store.order_id(o) for o in d.vol_exec),
            "leg_amount": {store.trade_id(t): store.ledger_id(p) for t, p in sorted(d.leg_trades.items())},
            "altered_balance": sorted(store.ledger_id(p) for p in d.altered_balance),
            "position_mismatch": sorted(store.trade_id(t) for t in d.position_vol),
            **self.market_faults(),
        }

    def market_faults(self) -> dict[str, Any]:
        """Which asset's price TradeBalance skews (every code it prices, in every denomination) and which pair's
        candles OHLC skews (empty when off)."""
        spec, out = self.faults.spec, {}
        rng = random.Random(f"market|{spec.seed}")
        # a held asset's market: the base of the USD pair that values it (ETH for ETH2.S)
        held = sorted({c.PAIRS[USD_PAIR[a]].base for (a, _), v in self.store.gen.balances.items()
                       if v > 0 and a in USD_PAIR})
        asset = rng.choice(held) if held else None
        pair = rng.randrange(len(c.PAIRS))
        if spec.trade_balance_skew and asset is not None:
            out["trade_balance_skewed"] = {"asset": c.ASSETS[asset].id, "percent": spec.trade_balance_skew}
        if spec.candle_skew:
            out["candle_skewed"] = {"pair": c.PAIRS[pair].altname, "at": int(self.faults_set_at),
                                    "percent": spec.candle_skew}
        return out


def _drift_texts(drift: dict[int, int]) -> dict[str, str]:
    return {c.ASSETS[a].id: fmt_scaled(v, c.ASSETS[a].decimals) for a, v in drift.items()}
