"""`kraken-etl prices sync|import`: Kraken's public market data into `kraken.price` (no API key needed).

``prices sync [--since DAY] [--pair P]…`` fetches, incrementally, the candles needed to value what the
stored accounts ever held into each reporting currency (KRAKEN_REPORTING_CURRENCY and each account's
``currency``); ``prices import FILE…`` loads Kraken's downloadable OHLCVT files (CSV or zip). Exit codes: 0
done, 1 Kraken failed for good, 2 a configuration or file problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kraken_etl.cli.common import console, handle_errors, parse_date, settings

app = typer.Typer(help="Kraken's public prices: sync the candles valuation needs, or import OHLCVT files.",
                  no_args_is_help=True)


@app.command("sync")
@handle_errors
def sync(
    since: Annotated[str | None, typer.Option(
        "--since", help="Fetch nothing older than this day (YYYY-MM-DD or ISO 8601, UTC).")] = None,
    pair: Annotated[list[str] | None, typer.Option(
        "--pair", "-p", help="Only this pair (Kraken's key or altname, e.g. XBTUSD; repeatable).")] = None,
) -> None:
    """Fetch the candles needed to value the stored accounts (OHLC, and Trades for older days)."""
    from kraken_etl.jobs.prices import run_prices_sync

    start = parse_date(since, "--since") if since else None
    result = run_prices_sync(settings(), since=start, only_pairs=pair or ())
    console.print(result.line(), highlight=False, soft_wrap=True, markup=False)
    for name, route in sorted(result.routes.items()):
        console.print(f"  route {name}: {' then '.join(route)}", highlight=False, markup=False)


@app.command("import")
@handle_errors
def import_(
    files: Annotated[list[Path], typer.Argument(help="OHLCVT files: PAIR_INTERVAL.csv, or zips of them.")],
) -> None:
    """Import Kraken's OHLCVT files (a re-import changes nothing; bad rows are quarantined with a reason)."""
    from kraken_etl.jobs.priceimport import check_paths, import_files
    from kraken_etl.jobs.wiring import database

    check_paths(files)
    with database(settings(), upgrade=True) as engine:
        result = import_files(engine, files)
    console.print(result.line(), highlight=False, soft_wrap=True, markup=False)
