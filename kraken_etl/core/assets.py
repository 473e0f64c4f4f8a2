"""Asset normalisation as data: Kraken's legacy ids to common codes, suffixes kept (Kraken's Assets docs).

Kraken names assets three ways: legacy X/Z-prefixed ids (``XXBT``, ``ZUSD``), plain ids for newer assets
(``USDT``, ``DOT``), and suffixed mirrors (``.S`` staked, ``.M`` opt-in rewards, ``.B`` bonded, ``.F``
flexible, ``.T`` tokenized, ``.P`` parachain, ``.HOLD`` held fiat). Stripping a leading X/Z blindly mangles
plain ids (``XTZ``, ``ZEC``), so the mapping is an explicit table. Stored rows keep Kraken's raw code; this
mapping feeds the views and the "unknown asset" flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

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


# -- identity: what a code is and what prices it (seeded into kraken.asset_identity as origin 'default') -------

# Kraken's LUNA became Terra Classic (LUNC) when Terra 2.0 launched (2022-05-28); LUNA2 is Terra 2.0.
LUNA_CLASSIC_FROM = datetime(2022, 5, 28, tzinfo=UTC)
# Codes with no market: valued at a fixed price (KFEE fee credits are worth 0.01 USD each).
FIXED_PRICES: dict[str, tuple[str, str]] = {"KFEE": ("0.01", "USD"), "FEE": ("0.01", "USD")}
# Canonical codes that are another asset for pricing (ETH2 was staked ETH; Kraken converted it 1:1).
PRICED_AS: dict[str, str] = {"ETH2": "ETH"}
# Bonded staking variants carry their lock period in days before the suffix: DOT28.S, KSM07.S.
_BONDED = re.compile(r"^([A-Z]+?)(\d{2})$")


@dataclass(frozen=True, slots=True)
class Identity:
    """One validity range of a Kraken code: `canonical` is what it is, `price_asset` the asset whose markets
    price it (None with `fixed_price`, or when nothing prices it); half-open [valid_from, valid_until)."""

    code: str
    canonical: str
    price_asset: str | None
    fixed_price: str | None = None  # decimal text
    fixed_currency: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    note: str | None = None


def identities(code: str, known: frozenset[str] | set[str] = KNOWN_ASSETS) -> list[Identity]:
    """The shipped identity of a Kraken asset code, one entry per validity range; [] when the code's base is
    not a known asset (`known`: normalised base codes; Kraken's own asset list extends it).

    ``XXBT``/``XBT.M`` → BTC, ``XDG`` → DOGE, ``ZEUR`` → EUR, ``DOT.S``/``DOT28.S`` → DOT, ``ETH2.S`` → ETH,
    ``USD.HOLD`` → USD, ``KFEE`` fixed at 0.01 USD, ``LUNA`` → LUNA until 2022-05-28 and LUNC from then.
    """
    raw = code.strip().upper()
    base, suffix = split_suffix(raw)
    canonical = ASSET_ALIASES.get(base, base)
    note = None
    bonded = _BONDED.match(canonical) if suffix else None
    if bonded and bonded.group(1) in known:
        canonical, note = bonded.group(1), f"bonded {bonded.group(2)} days"
    canonical = PRICED_AS.get(canonical, canonical)
    if raw in FIXED_PRICES:
        price, currency = FIXED_PRICES[raw]
        return [Identity(code, "KFEE", None, price, currency, note="fee credits")]
    if canonical not in known and canonical not in PRICED_AS.values():
        return []
    if canonical == "LUNA":
        return [Identity(code, "LUNA", "LUNA", valid_until=LUNA_CLASSIC_FROM, note="Terra (original chain)"),
                Identity(code, "LUNC", "LUNC", valid_from=LUNA_CLASSIC_FROM,
                         note="Terra Classic from 2022-05-28")]
    return [Identity(code, canonical, canonical, note=note)]


def canonical_at(code: str, moment: datetime, known: frozenset[str] | set[str] = KNOWN_ASSETS) -> str | None:
    """The canonical asset `code` is at `moment` (None when unknown): for naming a candle's base and quote."""
    for ident in identities(code, known):
        if (ident.valid_from is None or ident.valid_from <= moment) and (
                ident.valid_until is None or moment < ident.valid_until):
            return ident.price_asset or ident.canonical
    return None


def default_codes() -> list[str]:
    """Every code the defaults name explicitly (seeded even before a ledger shows them)."""
    codes = set(ASSET_ALIASES) | set(KNOWN_ASSETS) | set(FIXED_PRICES)
    codes |= {"ETH2.S", "USD.HOLD", "EUR.HOLD", "DOT28.S", "XBT.M", "ETH.F", "SOL.B", "DOT.S", "LUNA"}
    return sorted(c for c in codes if identities(c))
