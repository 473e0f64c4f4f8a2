"""`prices sync`: fetch the candles needed to value what the stored accounts ever held, incrementally.

Plan: Kraken's asset and pair lists (2 calls), then the identity defaults; the assets to price are the
`price_asset`s of every ledger code ever held (from its first entry), plus the currency of fixed prices;
each is routed to each reporting currency directly (a pair ``ASSET/CURRENCY``, or ``CURRENCY/ASSET`` read
inverted) or through one bridge (``ASSET/USD`` then ``USD/CURRENCY``, or through BTC; each leg either way
round), and the routes are recorded in `kraken.price_route` (and printed). Per pair:
one OHLC call per interval (1440, then 60) after the latest stored complete candle (Kraken returns at most
the 720 latest candles whatever ``since`` asks; the last one is unfinished: stored ``complete = false``,
replaced once complete); then, for days still missing between the first needed day and what OHLC reached,
public Trades from the first missing day (1,000 per call) rebuild daily and hourly candles
(``source = 'trades'``). A second run fetches only new candles: one OHLC call per pair and interval.
Fewest calls: 2 + 2 per pair + ⌈trades in the missing days / 1000⌉ per pair.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from kraken_etl.core.assets import KNOWN_ASSETS, canonical_at
from kraken_etl.core.market import Bar, PublicTrade, bars_from_trades
from kraken_etl.core.records import Rejected
from kraken_etl.db import market as store
from kraken_etl.db.quarantine import quarantine
from kraken_etl.db.runs import Engine
from kraken_etl.kraken.market import MarketData
from kraken_etl.settings import Settings

INTERVALS = (1440, 60)
BRIDGES = ("USD", "BTC")
DAY = timedelta(days=1)


@dataclass
class PricesResult:
    """What one sync did."""

    calls: int = 0
    minimum_calls: int = 0
    inserted: int = 0
    replaced: int = 0
    rejected: int = 0
    pairs: list[str] = field(default_factory=list)
    routes: dict[str, list[str]] = field(default_factory=dict)  # "ASSET→CUR": pair keys (KEY^-1 inverse), par
    bridges: dict[str, str] = field(default_factory=dict)  # "ASSET→CUR": the bridge asset of a two-leg route
    unpriced: list[str] = field(default_factory=list)  # "ASSET→CUR" with no route
    unresolved: list[str] = field(default_factory=list)  # ledger codes no identity covers
    trades_calls: int = 0

    def line(self) -> str:
        """One line for the terminal."""
        text_ = (f"prices: {len(self.pairs)} pairs, {self.inserted} candles new, {self.replaced} replaced, "
                 f"{self.calls} public calls (minimum {self.minimum_calls})")
        if self.unpriced:
            text_ += f"; no route for {', '.join(self.unpriced)}"
        if self.unresolved:
            text_ += f"; unknown asset codes: {', '.join(self.unresolved)}"
        return text_


def _bars_to_candles(bars: Iterable[Bar], pair: dict[str, Any], interval: int, source: str,
                     complete_until: datetime | None, known: set[str]) -> list[store.Candle]:
    out = []
    for bar in bars:
        base = canonical_at(pair["base"], bar.start, known)
        quote = canonical_at(pair["quote"], bar.start, known)
        if base is None or quote is None:
            continue
        complete = complete_until is None or bar.start <= complete_until
        out.append(store.Candle(pair["pair"], interval, base, quote, bar, source, complete))
    return out


def plan_routes(needed: dict[str, datetime], currencies: Sequence[str], pairs: Sequence[dict[str, Any]],
                known: set[str], now: datetime, bridges: dict[str, str] | None = None
                ) -> tuple[dict[str, list[str]], dict[str, datetime], list[str]]:
    """Routes from each needed asset to each currency: ({"A→C": legs}, {pair key: needed from}, unpriced);
    a two-leg route is a bridge, its asset written into `bridges` when given.

    A leg is a pair key, or ``KEY^-1`` when the pair is quoted the other way (EUR→USD through ZEURZUSD,
    USD→EUR through ZEURZUSD^-1), as `reporting.price_route` writes it. First found: par, a direct pair (or
    its inverse), then one bridge through USD, then through BTC (each leg direct or inverse)."""
    by_assets: dict[tuple[str, str], str] = {}
    for p in sorted(pairs, key=lambda r: r["pair"]):
        if str(p.get("altname") or "").endswith(".d"):
            continue  # dark-pool pairs have no public candles
        base, quote = canonical_at(p["base"], now, known), canonical_at(p["quote"], now, known)
        if base and quote:
            by_assets.setdefault((base, quote), p["pair"])

    def leg(base: str, quote: str) -> str | None:
        if (base, quote) in by_assets:
            return by_assets[(base, quote)]
        return f"{by_assets[(quote, base)]}^-1" if (quote, base) in by_assets else None

    routes: dict[str, list[str]] = {}
    wanted: dict[str, datetime] = {}
    unpriced: list[str] = []
    for asset, first in sorted(needed.items()):
        for cur in currencies:
            name = f"{asset}→{cur}"
            if asset == cur:
                routes[name] = ["par"]
                continue
            direct = leg(asset, cur)
            route = [direct] if direct else None
            for bridge in BRIDGES:
                if route is None and asset != bridge and cur != bridge:
                    first_leg, second_leg = leg(asset, bridge), leg(bridge, cur)
                    if first_leg and second_leg:
                        route = [first_leg, second_leg]
                        if bridges is not None:
                            bridges[name] = bridge
            if route is None:
                unpriced.append(name)
                continue
            routes[name] = route
            for key in route:
                key = key.removesuffix("^-1")
                wanted[key] = min(wanted.get(key, first), first)
    return routes, wanted, unpriced


def _route_rows(routes: dict[str, list[str]], unpriced: Sequence[str], bridges: dict[str, str]
                ) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """The plan as `kraken.price_route` rows: (asset, currency) -> (route text, bridge asset)."""
    out: dict[tuple[str, str], tuple[str | None, str | None]] = {}
    for name, legs in routes.items():
        asset, _, cur = name.partition("→")
        out[(asset, cur)] = ("*".join(legs), None)
        if len(legs) == 2:
            out[(asset, cur)] = ("*".join(legs), bridges.get(name))
    for name in unpriced:
        asset, _, cur = name.partition("→")
        out[(asset, cur)] = (None, None)
    return out


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _missing_days(engine: Engine, pair: str, start: datetime, end: datetime) -> list[datetime]:
    with engine.connect() as conn:
        stored = store.complete_starts(conn, pair, 1440, start, end)
    days, day = [], start
    while day < end:
        if day not in stored:
            days.append(day)
        day += DAY
    return days


def _fetch_trades(market: MarketData, pair: str, start: datetime, end: datetime) -> tuple[list[PublicTrade], int]:
    """Every public trade of `pair` in [start, end), paging with `last`; (trades, calls)."""
    since = int(start.timestamp()) * 10**9 - 1
    limit = Decimal(int(end.timestamp()))
    out: list[PublicTrade] = []
    calls = 0
    while True:
        batch, last = market.trades(pair, since)
        calls += 1
        out += [t for t in batch if t.time < limit]
        if not batch or batch[-1].time >= limit or last <= since:
            return out, calls
        since = last


def _carry_gaps(bars: list[Bar], interval: int, start: datetime, end: datetime) -> list[Bar]:
    """Intervals without a trade after the first trade: the previous close, no volume (as Kraken's OHLC)."""
    by_start = {b.start: b for b in bars}
    step, out, prev = timedelta(minutes=interval), [], None
    moment = start
    while moment < end:
        bar = by_start.get(moment)
        if bar is None and prev is not None:
            bar = Bar(moment, prev.close, prev.close, prev.close, prev.close, None, Decimal(0), 0)
        if bar is not None:
            out.append(bar)
            prev = bar
        moment += step
    return out


def _store(engine: Engine, candles: list[store.Candle], result: PricesResult) -> None:
    with engine.begin() as conn:
        inserted, replaced = store.upsert_candles(conn, candles)
    result.inserted += inserted
    result.replaced += replaced


def _sync_pair(engine: Engine, market: MarketData, pair: dict[str, Any], needed_from: datetime,
               known: set[str], result: PricesResult) -> None:
    key = pair["pair"]
    reached: datetime | None = None
    for interval in INTERVALS:
        with engine.connect() as conn:
            stored = store.complete_until(conn, key, interval)
        bars, rejected, last = market.ohlc(key, interval, int(stored.timestamp()) if stored else None)
        if rejected:
            with engine.begin() as conn:
                result.rejected += quarantine(conn, store.MARKET_ACCOUNT, "ohlc", "rest", [
                    Rejected("ohlc", f"{key}:{interval}", reason, {"pair": key, "interval": interval, "row": row})
                    for row, reason in rejected], None)
        committed = datetime.fromtimestamp(last, UTC)
        _store(engine, _bars_to_candles(bars, pair, interval, "ohlc", committed, known), result)
        if interval == 1440 and bars:
            reached = bars[0].start
    first_day = _day(needed_from)
    with engine.connect() as conn:
        rebuilt = store.earliest_start(conn, key, "trades")
    if rebuilt is not None and _day(rebuilt) > first_day:
        first_day = _day(rebuilt)  # an earlier run read Trades from first_day: no trade before this day
    end = reached if reached is not None else _day(datetime.now(UTC))
    missing = _missing_days(engine, key, first_day, end) if first_day < end else []
    if not missing:
        return
    trades, calls = _fetch_trades(market, key, missing[0], end)
    result.trades_calls += calls
    result.minimum_calls += calls
    for interval in INTERVALS:
        bars = _carry_gaps(bars_from_trades(trades, interval, Decimal(int(end.timestamp()))), interval,
                           missing[0], end)
        _store(engine, _bars_to_candles(bars, pair, interval, "trades", None, known), result)


def sync_prices(engine: Engine, market: MarketData, currencies: Sequence[str], *, since: datetime | None = None,
                only_pairs: Sequence[str] = (), now: datetime | None = None) -> PricesResult:
    """Fetch and store the candles the stored accounts need (see the module doc); returns what it did.

    Raises:
        KrakenError: when a public call fails for good (nothing half-written: each load commits alone).
    """
    result = PricesResult()
    calls_before = market.calls
    now = now or datetime.now(UTC)
    assets, pairs = market.assets(), market.asset_pairs()
    result.minimum_calls = 2
    with engine.begin() as conn:
        store.upsert_assets(conn, assets)
        store.upsert_pairs(conn, pairs)
        store.seed_identities(conn)
        known = set(KNOWN_ASSETS) | store.kraken_asset_codes(conn)
        needed = store.price_assets_held(conn)
        for currency, first in store.fixed_currencies_held(conn).items():
            needed[currency] = min(needed.get(currency, first), first)
        result.unresolved = [u.code for u in store.unresolved_codes(conn)]
    routes, wanted, result.unpriced = plan_routes(needed, currencies, pairs, known, now, result.bridges)
    result.routes = routes
    with engine.begin() as conn:
        store.replace_routes(conn, _route_rows(routes, result.unpriced, result.bridges))
    by_key = {p["pair"]: p for p in pairs}
    chosen = {key: first for key, first in wanted.items()
              if not only_pairs or key in only_pairs or by_key[key].get("altname") in only_pairs}
    for key in only_pairs:
        match = [p["pair"] for p in pairs if key in (p["pair"], p.get("altname"))]
        if not match:
            raise ValueError(f"--pair {key!r}: not one of Kraken's pairs")
        chosen.setdefault(match[0], min(needed.values(), default=now))
    for key, first in sorted(chosen.items()):
        result.pairs.append(by_key[key].get("altname") or key)
        result.minimum_calls += len(INTERVALS)
        _sync_pair(engine, market, by_key[key], max(first, since) if since else first, known, result)
    result.calls = market.calls - calls_before
    return result


def run_prices_sync(settings: Settings, *, since: datetime | None = None, only_pairs: Sequence[str] = (),
                    engine: Engine | None = None) -> PricesResult:
    """`prices sync` from settings: a keyless client (public calls only, the machine's public counter) on
    KRAKEN_API_URL, every configured reporting currency, the effective database (migrated)."""
    from kraken_etl.jobs.wiring import database
    from kraken_etl.kraken.client import KrakenClient

    client = KrakenClient.for_account(settings.api_url, api_key=None, api_secret=None, tier="starter",
                                      home=settings.home, rate_scale=settings.rate_scale)
    try:
        market = MarketData(client)
        if engine is not None:
            return sync_prices(engine, market, settings.reporting_currencies(), since=since, only_pairs=only_pairs)
        with database(settings, upgrade=True) as db:
            return sync_prices(db, market, settings.reporting_currencies(), since=since, only_pairs=only_pairs)
    finally:
        client.close()
