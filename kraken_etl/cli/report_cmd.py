"""`kraken-etl report [--account A] [--from D] [--to D] --out FILE.html`: the offline HTML report."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from kraken_etl.cli.common import checked_labels, console, handle_errors, parse_period, settings
from kraken_etl.core.period import Period


@handle_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.", dir_okay=False)],
    account: Annotated[str | None, typer.Option("--account", help="One account label (default: all).",
                                                    callback=checked_labels)] = None,
    date_from: Annotated[str | None, typer.Option(
        "--from", help="First UTC day, inclusive (default: the first entry's day).")] = None,
    date_to: Annotated[str | None, typer.Option(
        "--to", help="Last UTC day, inclusive: through the end of that day (default: today).")] = None,
) -> None:
    """Write one self-contained HTML page: balances, holdings, fees, trades, flows, reconciliation, freshness."""
    from kraken_etl.jobs.wiring import database
    from kraken_etl.report import write_report

    start = end = None
    if date_from or date_to:  # the same convention as every command; an open side keeps the report's default
        period = parse_period(date_from or "1970-01-01", date_to or datetime.now(UTC).date().isoformat())
        start = period.first_day if date_from else None
        end = period.last_day if date_to else None
    with database(settings(), upgrade=True) as engine:
        info = write_report(engine, out, account=account, date_from=start, date_to=end)
    console.print(f"period: {Period.of_days(info.date_from, info.date_to).describe()}", highlight=False,
                  soft_wrap=True)
    console.print(f"report written to {info.path} ({info.size_bytes / 1_000_000:.1f} MB, {info.charts} charts, "
                  f"{info.date_from} to {info.date_to}, {info.seconds:.1f} s)", highlight=False, soft_wrap=True)
