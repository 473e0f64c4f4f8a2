"""The simulator's knobs: one frozen `SimConfig`, API keys and their permissions.

Where the reference marks a behaviour UNVERIFIED, the knob is here (``without_count_omits``,
``closed_orders_cost``, export header eras, TSV quoting, …). Defaults describe Kraken as documented.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.simulator.faults import FaultSpec

# Permission names as Kraken's key page shows them.
QUERY_FUNDS = "Query Funds"
QUERY_OPEN = "Query Open Orders & Trades"
QUERY_CLOSED = "Query Closed Orders & Trades"
QUERY_LEDGER = "Query Ledger Entries"
EXPORT_DATA = "Export Data"
WEBSOCKET = "Access WebSocket API"
ALL_PERMISSIONS: frozenset[str] = frozenset(
    {QUERY_FUNDS, QUERY_OPEN, QUERY_CLOSED, QUERY_LEDGER, EXPORT_DATA, WEBSOCKET}
)

# Private method -> the permissions that enable it (any one suffices).
METHOD_PERMISSIONS: dict[str, frozenset[str]] = {
    "Balance": frozenset({QUERY_FUNDS}),
    "BalanceEx": frozenset({QUERY_FUNDS}),
    "TradeBalance": frozenset({QUERY_FUNDS}),
    "Ledgers": frozenset({QUERY_LEDGER}),
    "QueryLedgers": frozenset({QUERY_LEDGER}),
    "TradesHistory": frozenset({QUERY_OPEN, QUERY_CLOSED}),
    "QueryTrades": frozenset({QUERY_OPEN, QUERY_CLOSED}),
    "QueryOrders": frozenset({QUERY_OPEN, QUERY_CLOSED}),
    "ClosedOrders": frozenset({QUERY_CLOSED}),
    "OrderAmends": frozenset({QUERY_OPEN, QUERY_CLOSED}),
    "OpenPositions": frozenset({QUERY_OPEN}),
    "AddExport": frozenset({EXPORT_DATA}),
    "ExportStatus": frozenset({EXPORT_DATA}),
    "RetrieveExport": frozenset({EXPORT_DATA}),
    "RemoveExport": frozenset({EXPORT_DATA}),
    "GetWebSocketsToken": frozenset({WEBSOCKET}),
}

# Private method -> its call-counter cost when not 1 (Kraken's rate-limit page; `closed_orders_cost` is a knob).
METHOD_COSTS: dict[str, int] = {"Ledgers": 2, "TradesHistory": 2}

LEDGER_HEADERS = ("legacy", "legacy_usd", "wallet", "wallet_usd", "subclass", "subclass_usd")
TRADE_HEADERS = ("basic", "position", "position_costusd")
DEFAULT_END_TIME = datetime(2026, 11, 1, tzinfo=UTC)
# Account shapes the generator can write (simulator/profiles.py says what each adds to the default mix).
PROFILES = ("default", "retail-2019-2025", "margin-trader")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key the simulator accepts."""

    key: str
    secret: str  # base64 of 64 bytes, as Kraken hands it out
    permissions: frozenset[str] = ALL_PERMISSIONS
    nonce_window: int = 0  # tolerated nonce lag, in nonce units (0 = strictly increasing)
    name: str = "default"

    def __repr__(self) -> str:  # never print the secret
        return f"ApiKey(name={self.name!r}, key={self.key[:6]}…, permissions={sorted(self.permissions)})"


def derive_key(seed: int, name: str = "default", permissions: frozenset[str] = ALL_PERMISSIONS,
               nonce_window: int = 0) -> ApiKey:
    """A deterministic key pair for `seed` and `name` (56-char key, 88-char base64 secret of 64 bytes)."""
    key_bytes = hashlib.sha512(f"kraken-sim-key|{seed}|{name}".encode()).digest()[:42]
    secret_bytes = hashlib.sha512(f"kraken-sim-secret|{seed}|{name}".encode()).digest()
    return ApiKey(
        key=base64.b64encode(key_bytes).decode(),
        secret=base64.b64encode(secret_bytes).decode(),
        permissions=permissions,
        nonce_window=nonce_window,
        name=name,
    )


MAX_ACCOUNTS = 10_000


def account_seed(seed: int, index: int) -> int:
    """The seed of account `index` of a simulator seeded `seed` (account 0 keeps `seed` itself)."""
    if index == 0:
        return seed
    digest = hashlib.sha256(f"kraken-sim-account|{seed}|{index}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes one simulated Kraken account and its API."""

    seed: int = 1
    accounts: int = 1  # accounts served at once, each with its own key, history, counter and nonces
    ledger_entries: int = 2_000
    profile: str = "default"  # one of PROFILES: which account shapes the history holds
    end_time: datetime = DEFAULT_END_TIME
    history_days: int = 730
    # auth
    keys: tuple[ApiKey, ...] = ()  # empty -> one full-permission key derived from the seed
    nonce_window: int = 0
    lockout_after: int = 20  # auth/nonce failures (within lockout_seconds) before a lockout
    lockout_seconds: float = 900.0
    # call counter
    tier: str = "starter"
    rate_limits: bool = True
    rate_scale: float = 1.0  # multiplies the decay: 10 = the counter drains ten times faster
    rate_lockout_after: int = 10  # rate-limit violations (within lockout_seconds) before a lockout
    closed_orders_cost: int = 1  # UNVERIFIED (ccxt weights it 2)
    # public endpoints: a per-address counter, drained at public_decay_per_second * rate_scale (UNVERIFIED:
    # Kraken documents about one public call per second per IP, with some burst)
    public_rate_limit: float = 15.0
    public_decay_per_second: float = 1.0
    # REST shape knobs (UNVERIFIED in the reference)
    page_size: int = 50
    without_count_omits: bool = True
    rest_wallet_suffix: bool = False  # REST Ledgers/Balance name earn-wallet rows XBT.F, SOL.B, ETH.M (UNVERIFIED)
    earn_migration_type: str = "earn"  # the ledger type of Earn migration rows: earn | transfer (UNVERIFIED)
    # how a hybrid Earn withdrawal is written: type `hybridearnwithdrawal` (subtype empty), or type `earn` with
    # subtype `hybridearnwithdrawal` (UNVERIFIED: exports show both names; profile retail-2019-2025)
    hybrid_earn_withdrawal: str = "type"
    # a closed margin position's `net` (trades): the profit or loss before fees (its closing `margin` entry's
    # amount) or after the closing trade's fee (UNVERIFIED: Kraken's documentation does not say; profile
    # margin-trader)
    margin_net: str = "before_fees"
    # a margin `rollover` entry's refid: the position's id (its opening trade's txid) or a refid of its own
    # (UNVERIFIED: Kraken's documentation does not say; profile margin-trader)
    rollover_refid: str = "position"
    # exports
    export_queued_seconds: float = 1.0
    export_processing_seconds: float = 2.0
    export_prebuild: bool = True  # build the zip from AddExport on, in the background (else on retrieval)
    export_expire_seconds: float = 14 * 86_400.0
    ledgers_header: str = "subclass"
    trades_header: str = "basic"
    tsv_quote: bool = False
    # websocket
    ws_token_ttl: float = 900.0
    ws_heartbeat_seconds: float = 1.0
    ws_exponents: bool = False  # write small WS numbers (|x| < 0.001) in exponent form, as 1.5e-05
    # faults, admin, time
    faults: FaultSpec = field(default_factory=FaultSpec)
    admin_hosts: tuple[str, ...] = ("127.0.0.1", "::1", "localhost", "testclient")
    clock: Clock = field(default_factory=SystemClock)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
        if self.earn_migration_type not in ("earn", "transfer"):
            raise ValueError("earn_migration_type must be earn or transfer")
        if self.hybrid_earn_withdrawal not in ("type", "subtype"):
            raise ValueError("hybrid_earn_withdrawal must be type or subtype")
        if self.margin_net not in ("before_fees", "after_fees"):
            raise ValueError("margin_net must be before_fees or after_fees")
        if self.rollover_refid not in ("position", "own"):
            raise ValueError("rollover_refid must be position or own")
        if self.ledgers_header not in LEDGER_HEADERS:
            raise ValueError(f"ledgers_header must be one of {LEDGER_HEADERS}")
        if self.trades_header not in TRADE_HEADERS:
            raise ValueError(f"trades_header must be one of {TRADE_HEADERS}")
        if self.ledger_entries < 0 or self.ledger_entries > 50_000_000:
            raise ValueError("ledger_entries out of range")
        if self.end_time.tzinfo is None:
            raise ValueError("end_time must be timezone-aware")
        if not 1 <= self.accounts <= MAX_ACCOUNTS:
            raise ValueError(f"accounts must be in 1..{MAX_ACCOUNTS}")

    @property
    def api_keys(self) -> tuple[ApiKey, ...]:
        """The accepted keys (the derived default key when none were configured)."""
        if self.keys:
            return self.keys
        return (derive_key(self.seed, nonce_window=self.nonce_window),)

    @property
    def default_key(self) -> ApiKey:
        """The first key: the one ``serve`` prints."""
        return self.api_keys[0]

    def account_config(self, index: int) -> SimConfig:
        """The configuration of account `index` (0-based) of a multi-account simulator: account 0 is this very
        configuration; account i > 0 has its own seed (`account_seed`), so its own history and derived key,
        and every other knob (size, tier, faults, rate scale) as configured.

        Raises:
            ValueError: for an index outside ``0..accounts-1``.
        """
        if not 0 <= index < self.accounts:
            raise ValueError(f"account must be in 0..{self.accounts - 1}")
        if index == 0:
            return self
        return replace(self, seed=account_seed(self.seed, index), keys=(), accounts=1)

    def with_changes(self, **changes: object) -> SimConfig:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]
