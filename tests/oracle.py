"""What the tests judge the product by, written without the product's code.

An oracle that imported `kraken_etl.core.assets` or `kraken_etl.core.parsing` would agree with a bug in
them. These helpers are written again, small and plainly, from Kraken's documented conventions: legacy
asset ids are `X`/`Z` plus a three-letter code (`XXBT`, `ZUSD`), `XBT` is BTC and `XDG` is DOGE, mirror
balances carry a suffix (`.S`, `.M`, `.B`, `.F`, `.T`, `.P`, `.HOLD`), and REST times are unix seconds with
a fraction.
"""

from __future__ import annotations

from decimal import Decimal

# Legacy ids seen in REST data (Kraken stopped prefixing new assets years ago: `DOT`, `USDT`, `SOL` are
# plain). Written out rather than derived: stripping a leading X/Z blindly would mangle `XTZ` or `ZEC`.
_LEGACY = {"XXBT": "XBT", "XETH": "ETH", "XXDG": "XDG", "XETC": "ETC", "XLTC": "LTC", "XXRP": "XRP",
           "XXLM": "XLM", "XXMR": "XMR", "XZEC": "ZEC", "XMLN": "MLN", "XREP": "REP",
           "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY", "ZAUD": "AUD",
           "ZCHF": "CHF"}
_RENAMED = {"XBT": "BTC", "XDG": "DOGE"}
_SUFFIXES = (".HOLD", ".S", ".M", ".B", ".F", ".T", ".P")


def base_and_suffix(code: str) -> tuple[str, str]:
    """`"DOT.S"` → (`"DOT"`, `".S"`); a code without a known suffix → (code, "")."""
    for suffix in _SUFFIXES:
        if code.upper().endswith(suffix) and len(code) > len(suffix):
            return code[: -len(suffix)], code[-len(suffix):]
    return code, ""


def common_code(code: str) -> str:
    """Kraken's asset id as people write it, suffix kept: `XXBT` → `BTC`, `XBT.M` → `BTC.M`, `ZUSD` → `USD`."""
    base, suffix = base_and_suffix(code)
    base = _LEGACY.get(base, base)
    return _RENAMED.get(base, base) + suffix


def seconds(value: object) -> Decimal:
    """A REST time value (unix seconds, number or text) as an exact Decimal."""
    if isinstance(value, float):
        raise TypeError("times reach the oracle as text or Decimal, never float")
    return Decimal(str(value))


def refused_calls(stamps: list[float], *, cost: int, limit: float, decay_per_second: float) -> list[float]:
    """Kraken's documented counter replayed over call times: each call adds `cost`, the counter falls by
    `decay_per_second` down to zero, and a call that would take it past `limit` is refused (and adds
    nothing). Returns the times of the refused calls."""
    level, last, refused = 0.0, None, []
    for at in sorted(stamps):
        if last is not None:
            level = max(0.0, level - (at - last) * decay_per_second)
        last = at
        if level + cost > limit:
            refused.append(at)
        else:
            level += cost
    return refused


# Valuation in USD, from Kraken's conventions and the simulator's documented market: each priced asset code
# and the USD market that prices it (staked and bonded mirrors by their base), the fiat at par, and KFEE's
# fixed 0.01 USD. A code not listed has no USD price here (the test then expects none from the product).
USD_MARKET = {"XXBT": "XBTUSD", "XBT.M": "XBTUSD", "XETH": "ETHUSD", "ETH2": "ETHUSD", "ETH2.S": "ETHUSD",
              "DOT": "DOTUSD", "DOT.S": "DOTUSD", "USDT": "USDTZUSD", "SOL": "SOLUSD", "ZEUR": "EURUSD"}
USD_FIXED = {"ZUSD": Decimal(1), "USD.HOLD": Decimal(1), "KFEE": Decimal("0.01")}


def hour_of(moment: Decimal) -> int:
    """The UTC hour a moment (unix seconds) is priced at: the start of its hour, unix seconds."""
    return int(moment // 3600) * 3600


def cents(value: Decimal) -> Decimal:
    """A USD amount to the currency's unit, half-even (the comparison rule of the valuation tests)."""
    return value.quantize(Decimal("0.01"), rounding="ROUND_HALF_EVEN")
