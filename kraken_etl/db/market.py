"""Market data in the database: candles (`kraken.price`), Kraken's asset and pair lists, asset identity.

Every load is idempotent. A candle is keyed by (pair, interval, start): a new one is inserted; a stored
candle that was still filling (``complete = false``) is replaced by whatever arrives for it; a complete one
is never replaced (a re-fetch or a re-import of the same candle changes nothing, and a later unfinished
copy never overwrites it). Identity defaults are upserted as ``origin = 'default'`` and never touch a row
the user edited (``origin = 'user'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, text

from kraken_etl.core.assets import KNOWN_ASSETS, Identity, default_codes, identities, normalize_asset, split_suffix
from kraken_etl.core.market import Bar
from kraken_etl.core.money import dumps

# The one account name quarantine rows of market data carry (candles belong to no account).
MARKET_ACCOUNT = "market"


@dataclass(frozen=True, slots=True)
class Candle:
    """One candle ready to store: the parsed bar and what it is of (its pair's assets) and from."""

    pair: str
    interval: int
    base: str
    quote: str
    bar: Bar
    source: str
    complete: bool


_UPSERT_CANDLE = text("""
    INSERT INTO kraken.price AS p (pair, interval, start, base, quote, open, high, low, close, vwap, volume,
                                   trades, source, complete, fetched_at)
    VALUES (:pair, :interval, :start, :base, :quote, :open, :high, :low, :close, :vwap, :volume, :trades,
            :source, :complete, now())
    ON CONFLICT (pair, interval, start) DO UPDATE SET
        base = excluded.base, quote = excluded.quote, open = excluded.open, high = excluded.high,
        low = excluded.low, close = excluded.close, vwap = excluded.vwap, volume = excluded.volume,
        trades = excluded.trades, source = excluded.source, complete = excluded.complete,
        fetched_at = excluded.fetched_at
    WHERE NOT p.complete
    RETURNING (xmax = 0) AS inserted
""")


def upsert_candles(conn: Connection, candles: Iterable[Candle]) -> tuple[int, int]:
    """Store candles: new ones inserted, unfinished stored ones replaced, complete ones kept.

    Returns:
        (inserted, replaced).
    """
    rows = [{
        "pair": c.pair, "interval": c.interval, "base": c.base, "quote": c.quote, "source": c.source,
        "complete": c.complete, "start": c.bar.start, "open": c.bar.open, "high": c.bar.high, "low": c.bar.low,
        "close": c.bar.close, "vwap": c.bar.vwap, "volume": c.bar.volume, "trades": c.bar.trades,
    } for c in candles]
    inserted = replaced = 0
    for row in rows:
        result = conn.execute(_UPSERT_CANDLE, row).first()
        if result is None:
            continue
        if result.inserted:
            inserted += 1
        else:
            replaced += 1
    return inserted, replaced


def complete_until(conn: Connection, pair: str, interval: int) -> datetime | None:
    """The start of the latest complete candle stored for (pair, interval), or None."""
    return conn.execute(text(
        "SELECT max(start) FROM kraken.price WHERE pair = :pair AND interval = :interval AND complete"),
        {"pair": pair, "interval": interval}).scalar()


def candle_count(conn: Connection, pair: str | None = None) -> int:
    """How many candles are stored (of one pair, when given)."""
    sql = "SELECT count(*) FROM kraken.price" + (" WHERE pair = :pair" if pair else "")
    return int(conn.execute(text(sql), {"pair": pair}).scalar_one())


# -- Kraken's lists ----------------------------------------------------------------------------------------

def upsert_assets(conn: Connection, assets: Sequence[dict[str, Any]]) -> int:
    """Store Kraken's asset list (rows: asset, altname, aclass, decimals, display_decimals, status, raw)."""
    for row in assets:
        conn.execute(text("""
            INSERT INTO kraken.asset (asset, altname, normalized, aclass, decimals, display_decimals, status,
                                      raw, updated_at)
            VALUES (:asset, :altname, :normalized, :aclass, :decimals, :display_decimals, :status,
                    CAST(:raw AS jsonb), now())
            ON CONFLICT (asset) DO UPDATE SET altname = excluded.altname, normalized = excluded.normalized,
                aclass = excluded.aclass, decimals = excluded.decimals,
                display_decimals = excluded.display_decimals, status = excluded.status, raw = excluded.raw,
                updated_at = now()
            WHERE (kraken.asset.altname, kraken.asset.aclass, kraken.asset.decimals,
                   kraken.asset.display_decimals, kraken.asset.status, kraken.asset.raw)
                  IS DISTINCT FROM (excluded.altname, excluded.aclass, excluded.decimals,
                   excluded.display_decimals, excluded.status, excluded.raw)"""),
            {**row, "normalized": normalize_asset(row["asset"]), "raw": dumps(row.get("raw"))})
    return len(assets)


def upsert_pairs(conn: Connection, pairs: Sequence[dict[str, Any]]) -> int:
    """Store Kraken's pair list (rows: pair, altname, wsname, base, quote, *_decimals, raw)."""
    for row in pairs:
        conn.execute(text("""
            INSERT INTO kraken.asset_pair (pair, altname, wsname, base, quote, pair_decimals, cost_decimals,
                                           lot_decimals, raw, updated_at)
            VALUES (:pair, :altname, :wsname, :base, :quote, :pair_decimals, :cost_decimals, :lot_decimals,
                    CAST(:raw AS jsonb), now())
            ON CONFLICT (pair) DO UPDATE SET altname = excluded.altname, wsname = excluded.wsname,
                base = excluded.base, quote = excluded.quote, pair_decimals = excluded.pair_decimals,
                cost_decimals = excluded.cost_decimals, lot_decimals = excluded.lot_decimals,
                raw = excluded.raw, updated_at = now()
            WHERE kraken.asset_pair.raw IS DISTINCT FROM excluded.raw"""),
            {**row, "raw": dumps(row.get("raw"))})
    return len(pairs)


def stored_pairs(conn: Connection) -> list[dict[str, Any]]:
    """Kraken's pairs as stored (pair, altname, wsname, base, quote, pair_decimals)."""
    rows = conn.execute(text(
        "SELECT pair, altname, wsname, base, quote, pair_decimals FROM kraken.asset_pair ORDER BY pair"))
    return [dict(r._mapping) for r in rows]


def kraken_asset_codes(conn: Connection) -> set[str]:
    """Normalised base codes of Kraken's asset list (they extend the known assets)."""
    rows = conn.execute(text("SELECT asset, altname FROM kraken.asset")).all()
    return {split_suffix(normalize_asset(code))[0] for r in rows for code in (r.asset, r.altname) if code}


# -- asset identity ---------------------------------------------------------------------------------------

def ledger_codes(conn: Connection) -> dict[str, tuple[datetime, datetime]]:
    """Every asset code the stored ledgers use, with its first and last entry time."""
    rows = conn.execute(text(
        "SELECT asset, min(time) AS first, max(time) AS last FROM kraken.ledger_entry GROUP BY asset"))
    return {r.asset: (r.first, r.last) for r in rows}


_UPSERT_IDENTITY = text("""
    INSERT INTO kraken.asset_identity AS i (code, valid_from, valid_until, canonical, price_asset, fixed_price,
                                            fixed_currency, origin, note, updated_at)
    VALUES (:code, :valid_from, :valid_until, :canonical, :price_asset, CAST(:fixed_price AS numeric),
            :fixed_currency, 'default', :note, now())
    ON CONFLICT (code, valid_from) DO UPDATE SET valid_until = excluded.valid_until,
        canonical = excluded.canonical, price_asset = excluded.price_asset, fixed_price = excluded.fixed_price,
        fixed_currency = excluded.fixed_currency, note = excluded.note, updated_at = now()
    WHERE i.origin = 'default'
      AND (i.valid_until, i.canonical, i.price_asset, i.fixed_price, i.fixed_currency, i.note)
          IS DISTINCT FROM (excluded.valid_until, excluded.canonical, excluded.price_asset,
                            excluded.fixed_price, excluded.fixed_currency, excluded.note)
    RETURNING (xmax = 0) AS inserted
""")


def seed_identities(conn: Connection, extra_codes: Iterable[str] = ()) -> tuple[int, int]:
    """Upsert the shipped identities of the default codes, of every code in the ledgers and in Kraken's asset
    list, and of `extra_codes`. Rows the user edited (origin 'user') are never changed.

    Returns:
        (inserted, updated) default rows; an unchanged default is not rewritten.
    """
    known = set(KNOWN_ASSETS) | kraken_asset_codes(conn)
    codes = set(default_codes()) | set(ledger_codes(conn)) | set(extra_codes)
    codes |= {r[0] for r in conn.execute(text("SELECT asset FROM kraken.asset"))}
    inserted = updated = 0
    for code in sorted(codes):
        for ident in identities(code, known):
            result = conn.execute(_UPSERT_IDENTITY, _identity_params(ident)).first()
            if result is not None:
                inserted += int(result.inserted)
                updated += int(not result.inserted)
    return inserted, updated


def _identity_params(ident: Identity) -> dict[str, Any]:
    return {"code": ident.code, "valid_from": ident.valid_from, "valid_until": ident.valid_until,
            "canonical": ident.canonical, "price_asset": ident.price_asset, "fixed_price": ident.fixed_price,
            "fixed_currency": ident.fixed_currency, "note": ident.note}


def set_user_identity(conn: Connection, code: str, canonical: str, price_asset: str | None,
                      fixed_price: Decimal | None = None, fixed_currency: str | None = None,
                      valid_from: datetime | None = None, valid_until: datetime | None = None,
                      note: str | None = None) -> None:
    """Record the user's identity of `code` from `valid_from` (origin 'user': defaults never overwrite it)."""
    conn.execute(text("""
        INSERT INTO kraken.asset_identity (code, valid_from, valid_until, canonical, price_asset, fixed_price,
                                           fixed_currency, origin, note, updated_at)
        VALUES (:code, :valid_from, :valid_until, :canonical, :price_asset, :fixed_price, :fixed_currency,
                'user', :note, now())
        ON CONFLICT (code, valid_from) DO UPDATE SET valid_until = excluded.valid_until,
            canonical = excluded.canonical, price_asset = excluded.price_asset,
            fixed_price = excluded.fixed_price, fixed_currency = excluded.fixed_currency, origin = 'user',
            note = excluded.note, updated_at = now()"""),
        {"code": code, "valid_from": valid_from, "valid_until": valid_until, "canonical": canonical,
         "price_asset": price_asset, "fixed_price": fixed_price, "fixed_currency": fixed_currency,
         "note": note})


def identity_rows(conn: Connection) -> list[dict[str, Any]]:
    """Every identity row, by code and validity."""
    rows = conn.execute(text(
        "SELECT code, valid_from, valid_until, canonical, price_asset, fixed_price, fixed_currency, origin, note "
        "FROM kraken.asset_identity ORDER BY code, valid_from NULLS FIRST"))
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True, slots=True)
class UnresolvedCode:
    """An asset code used by ledger entries that no identity row covers (at those entries' times)."""

    code: str
    accounts: tuple[str, ...]
    entries: int
    first: datetime
    last: datetime


def unresolved_codes(conn: Connection, account: str | None = None) -> list[UnresolvedCode]:
    """Ledger asset codes with entries no identity row covers: a coverage finding, never a silent zero."""
    rows = conn.execute(text("""
        SELECT l.asset AS code, array_agg(DISTINCT l.account ORDER BY l.account) AS accounts, count(*) AS entries,
               min(l.time) AS first, max(l.time) AS last
        FROM kraken.ledger_entry l
        WHERE (CAST(:account AS text) IS NULL OR l.account = :account)
          AND NOT EXISTS (
            SELECT 1 FROM kraken.asset_identity i
            WHERE i.code = l.asset AND (i.valid_from IS NULL OR i.valid_from <= l.time)
              AND (i.valid_until IS NULL OR l.time < i.valid_until))
        GROUP BY l.asset ORDER BY l.asset"""), {"account": account})
    return [UnresolvedCode(r.code, tuple(r.accounts), int(r.entries), r.first, r.last) for r in rows]


def price_assets_held(conn: Connection) -> dict[str, datetime]:
    """Each asset whose markets price something the stored ledgers ever held, with the first time it was
    held (identities resolved at the entry's time; fixed-price and unresolved codes are left out)."""
    rows = conn.execute(text("""
        SELECT i.price_asset AS asset, min(l.time) AS first
        FROM kraken.ledger_entry l
        JOIN kraken.asset_identity i ON i.code = l.asset
             AND (i.valid_from IS NULL OR i.valid_from <= l.time) AND (i.valid_until IS NULL OR l.time < i.valid_until)
        WHERE i.price_asset IS NOT NULL
        GROUP BY i.price_asset ORDER BY i.price_asset"""))
    return {r.asset: r.first for r in rows}


def complete_starts(conn: Connection, pair: str, interval: int, start: datetime, end: datetime) -> set[datetime]:
    """Starts of the complete candles stored for (pair, interval) in [start, end)."""
    return {r[0] for r in conn.execute(text(
        "SELECT start FROM kraken.price WHERE pair = :pair AND interval = :interval AND complete "
        "AND start >= :start AND start < :end"), {"pair": pair, "interval": interval, "start": start, "end": end})}


def fixed_currencies_held(conn: Connection) -> dict[str, datetime]:
    """The currencies of the fixed prices of codes the ledgers used (KFEE: USD), with the first entry time."""
    rows = conn.execute(text(
        "SELECT i.fixed_currency, min(l.time) FROM kraken.asset_identity i "
        "JOIN kraken.ledger_entry l ON l.asset = i.code WHERE i.fixed_currency IS NOT NULL "
        "GROUP BY i.fixed_currency"))
    return {r[0]: r[1] for r in rows}


def earliest_start(conn: Connection, pair: str, source: str) -> datetime | None:
    """The start of the earliest candle of `pair` stored from `source` (any interval), or None."""
    return conn.execute(text("SELECT min(start) FROM kraken.price WHERE pair = :pair AND source = :source"),
                        {"pair": pair, "source": source}).scalar()


def replace_routes(conn: Connection, routes: dict[tuple[str, str], tuple[str | None, str | None]]) -> int:
    """Replace `kraken.price_route` with this plan: (asset, currency) -> (route, via); returns rows written."""
    conn.execute(text("DELETE FROM kraken.price_route"))
    for (asset, currency), (route, via) in sorted(routes.items()):
        conn.execute(text("INSERT INTO kraken.price_route (asset, currency, route, via) "
                          "VALUES (:asset, :currency, :route, :via)"),
                     {"asset": asset, "currency": currency, "route": route, "via": via})
    return len(routes)
