"""The simulator's fixed vocabulary: assets, pairs, wallets, ledger types, order types.

Everything the generator stores as a small integer code is decoded through the tables here, so the
columnar store never holds strings per row. Values follow Kraken's documentation (Ledgers, Assets, exports):
REST speaks legacy ids (``XXBT``, ``ZUSD``), subclass-era exports speak plain tickers (``BTC``, ``USD``).
Reference USD prices (`usd_price`) size the generator's deposits; valuation (TradeBalance, the ``…usd``
export columns) uses the market's price path (simulator/market.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Asset:
    """One asset as Kraken's Assets endpoint lists it, plus export naming."""

    id: str
    altname: str
    decimals: int
    display_decimals: int
    subclass: str  # fiat | crypto | stable_coin (subclass-era exports)
    ticker: str  # the plain code modern exports and WebSocket v2 use
    usd_price: str  # fixed reference price (assumed), decimal text


@dataclass(frozen=True, slots=True)
class Pair:
    """One spot pair as AssetPairs lists it."""

    key: str
    altname: str
    wsname: str
    base: int  # asset code
    quote: int  # asset code
    pair_decimals: int
    cost_decimals: int
    lot_decimals: int
    start_price: str  # generator's starting price, decimal text


ASSETS: tuple[Asset, ...] = (
    Asset("ZUSD", "USD", 4, 2, "fiat", "USD", "1"),
    Asset("ZEUR", "EUR", 4, 2, "fiat", "EUR", "1.08"),
    Asset("XXBT", "XBT", 10, 5, "crypto", "BTC", "60000"),
    Asset("XETH", "ETH", 10, 5, "crypto", "ETH", "3000"),
    Asset("USDT", "USDT", 8, 4, "stable_coin", "USDT", "1"),
    Asset("DOT", "DOT", 10, 8, "crypto", "DOT", "6"),
    Asset("DOT.S", "DOT.S", 10, 8, "crypto", "DOT.S", "6"),
    Asset("ETH2", "ETH2", 10, 5, "crypto", "ETH2", "3000"),
    Asset("ETH2.S", "ETH2.S", 10, 5, "crypto", "ETH2.S", "3000"),
    Asset("SOL", "SOL", 10, 5, "crypto", "SOL", "150"),
    Asset("USD.HOLD", "USD.HOLD", 4, 2, "fiat", "USD.HOLD", "1"),
    Asset("KFEE", "FEE", 2, 2, "crypto", "KFEE", "0.01"),
    # opt-in rewards mirrors (profile retail-2019-2025; simulator/shapes_rare.py): `.M` opt-in rewards, `.F`
    # Kraken Rewards / flexible, `.B` yield-bearing (bonded), as the reference's Assets and Balance examples
    # name them (XBT.M 10 decimals, USD.M 4); appended so the default profile's codes never move
    Asset("XBT.M", "XBT.M", 10, 8, "crypto", "BTC.M", "60000"),
    Asset("USD.M", "USD.M", 4, 4, "fiat", "USD.M", "1"),
    Asset("DOT.F", "DOT.F", 10, 8, "crypto", "DOT.F", "6"),
    Asset("ETH.B", "ETH.B", 10, 8, "crypto", "ETH.B", "3000"),
)
ASSET_CODE: dict[str, int] = {a.id: i for i, a in enumerate(ASSETS)}
USD, EUR, XBT, ETH, USDT, DOT, DOT_S, ETH2, ETH2_S, SOL, USD_HOLD, KFEE, XBT_M, USD_M, DOT_F, ETH_B = range(len(ASSETS))

PAIRS: tuple[Pair, ...] = (
    Pair("XXBTZUSD", "XBTUSD", "XBT/USD", XBT, USD, 1, 5, 8, "30000.0"),
    Pair("XXBTZEUR", "XBTEUR", "XBT/EUR", XBT, EUR, 1, 5, 8, "28000.0"),
    Pair("XETHZUSD", "ETHUSD", "ETH/USD", ETH, USD, 2, 5, 8, "2000.00"),
    Pair("XETHXXBT", "ETHXBT", "ETH/XBT", ETH, XBT, 5, 10, 8, "0.06000"),
    Pair("DOTUSD", "DOTUSD", "DOT/USD", DOT, USD, 4, 5, 8, "6.0000"),
    Pair("USDTZUSD", "USDTZUSD", "USDT/USD", USDT, USD, 4, 5, 8, "1.0000"),
    Pair("SOLUSD", "SOLUSD", "SOL/USD", SOL, USD, 2, 5, 8, "100.00"),
    # market-only pairs (the account never trades them): their path is derived from the traded ones
    Pair("ZEURZUSD", "EURUSD", "EUR/USD", EUR, USD, 5, 5, 8, "1.07143"),
    Pair("XETHZEUR", "ETHEUR", "ETH/EUR", ETH, EUR, 2, 5, 8, "1866.67"),
)
# The account's orders pick among the first TRADED_PAIRS pairs; the others are market data only.
TRADED_PAIRS = 7
PAIR_CODE: dict[str, int] = {p.key: i for i, p in enumerate(PAIRS)}
PAIR_BY_NAME: dict[str, int] = {
    **{p.altname: i for i, p in enumerate(PAIRS)},
    **{p.key: i for i, p in enumerate(PAIRS)},
}

# Wallets as the exports write them ("spot / main"); WS v2 splits them into type and id.
WALLETS: tuple[str, ...] = ("spot / main", "earn / flexible", "earn / bonded", "earn / liquid")
SPOT, EARN_FLEX, EARN_BONDED, EARN_LIQUID = range(len(WALLETS))

LEDGER_TYPES: tuple[str, ...] = (
    "trade", "deposit", "withdrawal", "transfer", "staking", "earn", "credit", "adjustment",
    # profile shapes, appended so the default profile's codes never move:
    "margin", "rollover", "settled",  # margin positions (profile margin-trader; shapes_margin.py)
    # simulator/shapes_retail.py; `airdrop` is not a type Kraken documents: the pipeline must load it as unknown
    "spend", "receive", "conversion", "invite bonus", "dividend", "airdrop",
    # simulator/shapes_rare.py (Kraken's documented enum, and `hybridearnwithdrawal` as seen in exports)
    "sale", "custodytransfer", "nfttrade", "nftcreatorfee", "nftrebate", "hybridearnwithdrawal",
)
LEDGER_TYPE_CODE: dict[str, int] = {t: i for i, t in enumerate(LEDGER_TYPES)}
T_TRADE, T_DEPOSIT, T_WITHDRAWAL, T_TRANSFER, T_STAKING, T_EARN, T_CREDIT, T_ADJUSTMENT = (
    LEDGER_TYPE_CODE[t] for t in
    ("trade", "deposit", "withdrawal", "transfer", "staking", "earn", "credit", "adjustment"))

SUBTYPES: tuple[str, ...] = (
    "", "tradespot", "spottostaking", "stakingfromspot", "allocation", "deallocation",
    "autoallocation", "reward", "spotfromfutures", "spottofutures",
    # profile shapes (appended)
    "migration", "delistingconversion",
    "stakingtospot", "spotfromstaking", "hybridearnwithdrawal",  # simulator/shapes_rare.py
)
SUBTYPE_CODE: dict[str, int] = {s: i for i, s in enumerate(SUBTYPES)}
(ST_NONE, ST_TRADESPOT, ST_SPOTTOSTAKING, ST_STAKINGFROMSPOT, ST_ALLOCATION, ST_DEALLOCATION,
 ST_AUTOALLOCATION, ST_REWARD, ST_SPOTFROMFUTURES, ST_SPOTTOFUTURES) = (
    SUBTYPE_CODE[s] for s in ("", "tradespot", "spottostaking", "stakingfromspot", "allocation", "deallocation",
                              "autoallocation", "reward", "spotfromfutures", "spottofutures"))

# WS v2 balances `category` per ledger type (the docs list these categories; mapping is assumed).
WS_CATEGORY: dict[str, str] = {
    "trade": "trade", "deposit": "deposit", "withdrawal": "withdrawal", "transfer": "transfer",
    "staking": "staking-rewards", "earn": "earn", "credit": "credit", "adjustment": "adjustment",
    "margin": "margin-trade", "rollover": "margin-trade", "settled": "margin-trade",
    "spend": "instant", "receive": "instant", "conversion": "conversion", "invite bonus": "credit",
    "dividend": "dividend", "airdrop": "airdrop",
    "sale": "sale", "custodytransfer": "transfer", "nfttrade": "nft", "nftcreatorfee": "nft", "nftrebate": "nft",
    "hybridearnwithdrawal": "earn",
}

# Reference-id kinds: how a ledger row's refid text is derived from (kind, index).
REF_TRADE, REF_DEPOSIT, REF_WITHDRAWAL, REF_STAKING, REF_EARN, REF_TRANSFER, REF_CREDIT, REF_SPEND = range(8)
REF_KINDS = 8

SIDES: tuple[str, ...] = ("buy", "sell")
ORDER_TYPES: tuple[str, ...] = ("limit", "market", "stop-loss", "take-profit", "settle-position")
# The trades export writes order types in prose (Kraken's trades export; "settle position" is assumed).
ORDER_TYPES_PROSE: tuple[str, ...] = ("limit", "market", "stop market", "touched market", "settle position")
ORDER_TYPE_CODE: dict[str, int] = {t: i for i, t in enumerate(ORDER_TYPES)}
ORDER_STATUSES: tuple[str, ...] = ("closed", "canceled", "expired")
CLOSED, CANCELED, EXPIRED = range(len(ORDER_STATUSES))
ORDER_REASONS: tuple[str | None, ...] = (None, "User requested", "Out of funds")
OFLAGS: tuple[str, ...] = ("fciq", "fcib", "fciq,post")
AMEND_TYPES: tuple[str, ...] = ("original", "user", "restated")

# Kraken's placeholder position txid on non-position trades (every sample in the reference).
POSTXID = "TKH2SE-M7IF5-CFI7LT"
TRADE_ID_BASE = 40_000_000


def asset_by_name(name: str) -> int | None:
    """The asset code for a REST id (``XXBT``), an altname (``XBT``) or a ticker (``BTC``)."""
    if name in ASSET_CODE:
        return ASSET_CODE[name]
    for i, a in enumerate(ASSETS):
        if name in (a.altname, a.ticker):
            return i
    return None
