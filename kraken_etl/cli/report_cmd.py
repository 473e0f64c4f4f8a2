"""`kraken-etl report [--account A] [--from D] [--to D] --out FILE.html`: the offline HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kraken_etl.cli.common import checked_labels, console, handle_errors, parse_date, settings


@handle_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.", dir_okay=False)],
    account: Annotated[str | None, typer.Option("--account", help="One account label (default: all).",
                                                    callback=checked_labels)] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First UTC day (default: the first entry).")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last UTC day, inclusive (default: today).")] = None,
) -> None:
    """Write one self-contained HTML page: balances, holdings, fees, trades, flows, reconciliation, freshness."""
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.report import write_report

    start = parse_date(date_from, "--from").date() if date_from else None
    end = parse_date(date_to, "--to").date() if date_to else None
    engine = make_engine(effective_url(settings()))
    try:
        info = write_report(engine, out, account=account, date_from=start, date_to=end)
    finally:
        engine.dispose()
    console.print(f"report written to {info.path} ({info.size_bytes / 1_000_000:.1f} MB, {info.charts} charts, "
                  f"{info.date_from} to {info.date_to}, {info.seconds:.1f} s)", highlight=False, soft_wrap=True)
