"""`prices import FILE…`: Kraken's downloadable OHLCVT files (CSV, or zips of them) into `kraken.price`.

Each CSV is one pair and interval, named ``PAIR_INTERVAL.csv`` (``XBTUSD_1440.csv``); the pair is resolved
through Kraken's stored pair list (key, altname, or wsname without the slash) — run ``prices sync`` once
first, it stores the list. Rows are headerless ``time,open,high,low,close,volume,trades``; each becomes a
complete candle with ``source = 'file'``. A bad row is quarantined with its reason (stream
``price_file``, record id ``FILE:LINE``), never dropped silently. A re-import changes nothing: complete
candles are never replaced.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kraken_etl.core.assets import KNOWN_ASSETS, canonical_at
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.market import MarketDataError, parse_file_name, parse_file_row
from kraken_etl.core.records import Rejected
from kraken_etl.db import market as store
from kraken_etl.db.quarantine import quarantine
from kraken_etl.db.runs import Engine

BATCH = 5_000


class PriceImportError(KrakenEtlError, ValueError):
    """A file cannot be imported at all (unreadable, unknown pair, not an OHLCVT name)."""

    exit_code = 2


@dataclass
class ImportResult:
    """What one import did, per file and in total."""

    files: list[str] = field(default_factory=list)
    rows: int = 0
    inserted: int = 0
    unchanged: int = 0
    quarantined: int = 0
    rejected: int = 0

    def line(self) -> str:
        return (f"prices import: {len(self.files)} files, {self.rows} rows: {self.inserted} new candles, "
                f"{self.unchanged} already stored, {self.rejected} rejected ({self.quarantined} newly quarantined)")


def _members(path: Path) -> Iterator[tuple[str, io.TextIOBase]]:
    """(name, text stream) of each CSV in `path` (a CSV, or a zip of CSVs)."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.is_dir() or not info.filename.lower().endswith(".csv"):
                        continue
                    with archive.open(info) as raw:
                        yield f"{path.name}:{info.filename}", io.TextIOWrapper(raw, encoding="utf-8", newline="")
            return
        with path.open(encoding="utf-8", newline="") as handle:
            yield path.name, handle
    except OSError as exc:
        raise PriceImportError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except zipfile.BadZipFile as exc:
        raise PriceImportError(f"{path}: not a readable zip ({exc})") from None


def _resolve(pairs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    wanted = name.upper()
    for p in pairs:
        names = {p["pair"], p.get("altname") or "", (p.get("wsname") or "").replace("/", "")}
        if wanted in {n.upper() for n in names if n}:
            return p
    raise PriceImportError(f"pair {name[:40]!r} is not in Kraken's stored pair list (run `kraken-etl prices sync` "
                           "first, or check the file name)")


def import_files(engine: Engine, paths: list[Path]) -> ImportResult:
    """Import OHLCVT files (see the module doc).

    Raises:
        PriceImportError: for an unreadable file, a name that is not PAIR_INTERVAL.csv, an unknown pair.
    """
    result = ImportResult()
    with engine.connect() as conn:
        pairs = store.stored_pairs(conn)
        known = set(KNOWN_ASSETS) | store.kraken_asset_codes(conn)
    for path in paths:
        for name, stream in _members(path):
            try:
                pair_name, interval = parse_file_name(name.rsplit(":", 1)[-1])
            except MarketDataError as exc:
                raise PriceImportError(f"{name}: {exc}") from None
            pair = _resolve(pairs, pair_name)
            result.files.append(name)
            _import_stream(engine, name, stream, pair, interval, known, result)
    return result


def _import_stream(engine: Engine, name: str, stream: io.TextIOBase, pair: dict[str, Any], interval: int,
                   known: set[str], result: ImportResult) -> None:
    candles: list[store.Candle] = []
    rejected: list[Rejected] = []
    for line_no, fields in enumerate(csv.reader(stream), start=1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        result.rows += 1
        try:
            bar = parse_file_row(fields, interval)
            base, quote = canonical_at(pair["base"], bar.start, known), canonical_at(pair["quote"], bar.start, known)
            if base is None or quote is None:
                raise MarketDataError(f"pair {pair['pair']} has an asset with no identity")
        except MarketDataError as exc:
            rejected.append(Rejected("price_file", f"{name}:{line_no}", str(exc),
                                     {"file": name, "line": line_no, "fields": [f[:80] for f in fields[:10]]}))
            continue
        candles.append(store.Candle(pair["pair"], interval, base, quote, bar, "file", True))
        if len(candles) >= BATCH:
            _flush(engine, candles, rejected, result)
            candles, rejected = [], []
    _flush(engine, candles, rejected, result)


def _flush(engine: Engine, candles: list[store.Candle], rejected: list[Rejected], result: ImportResult) -> None:
    with engine.begin() as conn:
        inserted, _ = store.upsert_candles(conn, candles)
        result.inserted += inserted
        result.unchanged += len(candles) - inserted
        result.rejected += len(rejected)
        result.quarantined += quarantine(conn, store.MARKET_ACCOUNT, "price_file", "import", rejected, None)


def check_paths(paths: list[Path]) -> None:
    """Every path is an existing file (else one clear error)."""
    for path in paths:
        if not Path(path).is_file():
            raise PriceImportError(f"{path}: no such file")
