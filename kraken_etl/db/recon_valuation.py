"""SQL of the `valuation` check: Kraken's TradeBalance snapshots, our valued balances at each, and the candles
the prices came from (their high-low range is the check's tolerance).

Prices come from the `reporting` functions (`balances_at`, `price_at`), so the check proves what an
accountant's query shows. Each candle leg is found with the rules of `reporting.rate_at` (the finest candle
of the pair containing the moment's hour, else the one that ended last).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text


def trade_balances(conn: Connection, account: str, as_of: datetime, since: datetime | None) -> list[dict[str, Any]]:
    """Stored TradeBalance answers up to `as_of` (after `since` when given), oldest first, with the
    canonical currency each is in."""
    rows = conn.execute(text("""
        SELECT taken_at, asset, reporting.normalize_asset(asset) AS currency, eb
        FROM kraken.trade_balance
        WHERE account = :account AND taken_at <= :as_of AND (CAST(:since AS timestamptz) IS NULL OR taken_at > :since)
        ORDER BY taken_at, asset
    """), {"account": account, "as_of": as_of, "since": since})
    return [dict(r._mapping) for r in rows]


def has_candles(conn: Connection) -> bool:
    """Whether any market data is stored at all (`kraken.price`)."""
    return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM kraken.price)")).scalar())


def valued_balances(conn: Connection, account: str, at: datetime, currency: str) -> list[dict[str, Any]]:
    """Every non-zero balance of the account at `at` (wallets summed), its price and value in `currency`,
    whether any identity names the asset, and the pairs its price came through."""
    rows = conn.execute(text("""
        WITH b AS (
            SELECT asset, sum(balance) AS balance
            FROM reporting.balances_at(:at, :account, :currency)
            GROUP BY asset HAVING sum(balance) <> 0
        )
        SELECT b.asset, b.balance, p.price, b.balance * p.price AS value, p.price_source, p.route,
               EXISTS (SELECT 1 FROM kraken.asset_identity i
                       WHERE reporting.normalize_asset(i.code) = b.asset) AS known
        FROM b LEFT JOIN LATERAL reporting.price_at(b.asset, :currency, :at) p ON true
        ORDER BY b.asset
    """), {"account": account, "at": at, "currency": currency})
    return [dict(r._mapping) for r in rows]


def route_legs(conn: Connection, route: str, at: datetime) -> list[dict[str, Any]]:
    """Each candle leg of `route` (XBTUSD, DOTXBT*XBTUSD, fixed*EURUSD^-1) at `at`: its `pair` and the pair's
    `base` (the asset the candle prices), `inverse`, the candle the
    price came from (`low`, `high`, `close`: the finest containing the hour, else the last that ended), its
    `reach` and the coarsest candle of the pair containing the hour (`wide_low`, `wide_high`; NULL when none
    contains it).

    `reach` is how far the moment's price may lie from that candle's close beyond its own range: zero for a
    complete candle; for one Kraken was still filling, the high-low width of the previous candle of its
    interval. A candle a few seconds old holds a trade or two, whose range says nothing about the market
    around the moment; the hour before says how wide that market is (its width, not where it lies, so a
    candle skewed away from the hour before is still out of reach)."""
    rows = conn.execute(text("""
        WITH h AS (SELECT date_trunc('hour', CAST(:at AS timestamptz), 'UTC') AS hour),
        usable AS (
            SELECT p.pair, p.base, p.low, p.high, p.close, p.interval, p.start, p.complete,
                   p.start + make_interval(mins => p.interval::int) AS finish
            FROM kraken.price p, h
            WHERE p.pair IN (SELECT replace(x, '^-1', '') FROM unnest(string_to_array(:route, '*')) x)
              AND p.start <= h.hour AND p.start > h.hour - interval '22 days'
              AND p.interval % 60 = 0 AND p.interval <= 21600 AND p.start = date_trunc('hour', p.start, 'UTC')
        )
        SELECT leg.pair, leg.inverse, c.base, c.low, c.high, c.close, coalesce(before.width, 0) AS reach,
               w.low AS wide_low, w.high AS wide_high
        FROM h, unnest(string_to_array(:route, '*')) AS r(part)
        CROSS JOIN LATERAL (SELECT replace(r.part, '^-1', '') AS pair, r.part LIKE '%^-1' AS inverse) leg
        CROSS JOIN LATERAL (
            SELECT u.base, u.low, u.high, u.close, u.complete, u.interval, u.start FROM usable u
            WHERE u.pair = leg.pair
            ORDER BY u.finish > h.hour DESC, least(u.finish, h.hour) DESC, u.interval LIMIT 1
        ) c
        LEFT JOIN LATERAL (
            SELECT p.high - p.low AS width FROM kraken.price p
            WHERE NOT c.complete AND p.pair = leg.pair AND p.interval = c.interval
              AND p.start = c.start - make_interval(mins => c.interval::int)
        ) before ON true
        LEFT JOIN LATERAL (
            SELECT u.low, u.high FROM usable u WHERE u.pair = leg.pair AND u.finish > h.hour
            ORDER BY u.interval DESC LIMIT 1
        ) w ON true
        WHERE r.part NOT IN ('par', 'fixed')
    """), {"route": route, "at": at})
    return [dict(r._mapping) for r in rows]


def price_of(conn: Connection, code: str, currency: str, at: datetime) -> dict[str, Any] | None:
    """Our price of one Kraken asset code in `currency` at `at` (`reporting.price_at`), or None."""
    row = conn.execute(text("SELECT price, price_source, route FROM reporting.price_at(:code, :currency, :at) "
                            "WHERE price IS NOT NULL"), {"code": code, "currency": currency, "at": at}).first()
    return None if row is None else dict(row._mapping)


def canonical(conn: Connection, code: str) -> str:
    """A Kraken code as the reporting schema writes it (`reporting.normalize_asset`)."""
    return str(conn.execute(text("SELECT reporting.normalize_asset(:code)"), {"code": code}).scalar_one())


def suspect_candles(conn: Connection, pair: str, at: datetime) -> list[str]:
    """Why the stored candles of `pair` around `at` contradict themselves (empty when they do not), for
    naming the asset behind a valuation break, never for the tolerance:

    - a gap: an hourly candle of the day up to `at`'s hour opens further from the previous hour's close than
      the two candles' high-low ranges together (consecutive trades of a market, split by an hour);
    - a coarser candle containing the hour (4 h, 12 h, 1 day) whose range misses the range of a complete
      hourly candle inside it with trades, when that hour had ended before the coarser one was fetched
      (Kraken builds every interval from the same trades, so the coarse range contains the fine ones)."""
    rows = conn.execute(text("""
        WITH h AS (SELECT date_trunc('hour', CAST(:at AS timestamptz), 'UTC') AS hour),
        hourly AS (
            SELECT p.start, p.open, p.high, p.low, p.close,
                   lag(p.start) OVER w AS prev_start, lag(p.close) OVER w AS prev_close,
                   lag(p.high - p.low) OVER w AS prev_range
            FROM kraken.price p, h
            WHERE p.pair = :pair AND p.interval = 60
              AND p.start BETWEEN date_trunc('day', h.hour, 'UTC') - interval '1 hour' AND h.hour
            WINDOW w AS (ORDER BY p.start)
        )
        SELECT format('hourly candle %s opens at %s, %s from the previous close %s (ranges %s and %s)',
                      to_char(start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), open, open - prev_close, prev_close,
                      prev_range, high - low) AS reason
        FROM hourly
        WHERE prev_start = start - interval '1 hour' AND abs(open - prev_close) > prev_range + (high - low)
        UNION ALL
        SELECT format('%s-minute candle %s (low %s, high %s) misses the hourly candle %s (low %s, high %s)',
                      c.interval, to_char(c.start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), c.low, c.high,
                      to_char(f.start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), f.low, f.high)
        FROM h, kraken.price c
        CROSS JOIN LATERAL (
            SELECT f.start, f.low, f.high FROM kraken.price f
            WHERE f.pair = c.pair AND f.interval = 60 AND f.complete AND f.volume > 0
              AND f.start >= c.start
              AND f.start + interval '1 hour' <= least(c.start + make_interval(mins => c.interval::int), c.fetched_at)
              AND (f.high > c.high OR f.low < c.low)
            ORDER BY f.start LIMIT 1
        ) f
        WHERE c.pair = :pair AND c.interval IN (240, 720, 1440) AND c.start <= h.hour
          AND h.hour < c.start + make_interval(mins => c.interval::int)
    """), {"pair": pair, "at": at})
    return [str(r.reason) for r in rows]
