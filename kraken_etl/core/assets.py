"""Asset normalisation as data: Kraken's legacy ids to common codes, suffixes kept (Kraken's Assets docs).

Kraken names assets three ways: legacy X/Z-prefixed ids (``XXBT``, ``ZUSD``), plain ids for newer assets
(``USDT``, ``DOT``), and suffixed mirrors (``.S`` staked, ``.M`` opt-in rewards, ``.B`` bonded, ``.F``
flexible, ``.T`` tokenized, ``.P`` parachain, ``.HOLD`` held fiat). Stripping a leading X/Z blindly mangles
plain ids (``XTZ``, ``ZEC``), so the mapping is an explicit table. Stored rows keep Kraken's raw code; this
mapping feeds the views and the "unknown asset" flag.
"""

from __future__ import annotations

# Kraken id (or altname) -> normalised code. XBT is BTC and XDG is DOGE everywhere (ccxt, SDK-KRAKEN).
ASSET_ALIASES: dict[str, str] = {
    "XXBT": "BTC", "XBT": "BTC", "XXDG": "DOGE", "XDG": "DOGE",
    "XETH": "ETH", "XETC": "ETC", "XLTC": "LTC", "XXRP": "XRP", "XXLM": "XLM", "XXMR": "XMR",
    "XZEC": "ZEC", "XMLN": "MLN", "XREP": "REP", "XICN": "ICN", "XNMC": "NMC", "XXVN": "XVN",
    "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY", "ZAUD": "AUD",
    "ZCHF": "CHF", "ZKRW": "KRW",
}

# The other direction, for export files: subclass-era exports (late 2025 on) write plain tickers (`BTC`,
# `EUR`, `BTC.M`) where REST writes Kraken's asset ids (`XXBT`, `ZEUR`, `XBT.M`). Legacy X/Z ids are a
# closed set (Kraken stopped prefixing new assets around 2018), so both tables derive from ASSET_ALIASES.
LEGACY_IDS: dict[str, str] = {code: kid for kid, code in ASSET_ALIASES.items() if len(kid) == 4 and kid[0] in "XZ"}
# Suffixed assets (`.S`, `.M`, …) use the altname in REST: only BTC (XBT) and DOGE (XDG) differ from it.
ALTNAMES: dict[str, str] = {code: alt for alt, code in ASSET_ALIASES.items() if len(alt) == 3}

SUFFIXES: tuple[str, ...] = (".HOLD", ".S", ".M", ".B", ".F", ".T", ".P")

# Normalised base codes seen in real data and the simulator; anything else loads, flagged unknown.
KNOWN_ASSETS: frozenset[str] = frozenset({
    "BTC", "ETH", "ETH2", "ETC", "LTC", "XRP", "XLM", "XMR", "ZEC", "MLN", "REP", "DOGE", "XTZ",
    "USD", "EUR", "GBP", "CAD", "JPY", "AUD", "CHF", "KRW",
    "USDT", "USDC", "DAI", "DOT", "ADA", "SOL", "ATOM", "TRX", "LUNA", "LUNA2", "ETHW", "MATIC",
    "KSM", "FLOW", "KFEE", "LINK", "UNI", "AVAX",
})


def split_suffix(code: str) -> tuple[str, str]:
    """``"ETH2.S"`` → (``"ETH2"``, ``".S"``); no suffix → (code, "")."""
    upper = code.upper()
    for suffix in SUFFIXES:
        if upper.endswith(suffix) and len(code) > len(suffix):
            return code[: -len(suffix)], code[-len(suffix):]
    return code, ""


def normalize_asset(code: str) -> str:
    """Kraken's asset id to the common code, keeping the suffix: ``XXBT``→``BTC``, ``XBT.M``→``BTC.M``."""
    base, suffix = split_suffix(code.strip())
    return ASSET_ALIASES.get(base, base) + suffix


def is_known_asset(code: str) -> bool:
    """True when the normalised base code is in `KNOWN_ASSETS` (unknown assets load, flagged)."""
    base, _ = split_suffix(normalize_asset(code))
    return base in KNOWN_ASSETS


def rest_asset(name: str) -> str:
    """The REST asset id for an export's asset name: ``BTC``→``XXBT``, ``BTC.M``→``XBT.M``, ``DOT``→``DOT``."""
    base, dot, suffix = name.partition(".")
    if dot:
        return f"{ALTNAMES.get(base, base)}.{suffix}"
    return LEGACY_IDS.get(ASSET_ALIASES.get(name, name), name)
