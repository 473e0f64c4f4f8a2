"""`kraken-etl journal --format beancount|ledger|csv [--account A]… [--from D --to D] --out FILE`."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kraken_etl.cli.common import checked_labels, console, database_url, fail, handle_errors, parse_period


class Format(StrEnum):
    beancount = "beancount"
    ledger = "ledger"
    csv = "csv"


@handle_errors
def journal(
    out: Annotated[Path, typer.Option("--out", help="The file to write.", dir_okay=False)],
    fmt: Annotated[Format, typer.Option("--format", help="beancount, ledger (hledger/Ledger syntax) or csv.")],
    account: Annotated[list[str] | None, typer.Option(
        "--account", help="An account label (repeatable; default: every account).", callback=checked_labels)] = None,
    date_from: Annotated[str | None, typer.Option(
        "--from", help="First UTC day, inclusive; the file opens with the balances as of its start.")] = None,
    date_to: Annotated[str | None, typer.Option(
        "--to", help="Last UTC day, inclusive: through the end of that day (default: today).")] = None,
    currency: Annotated[str | None, typer.Option(
        "--currency", help="Reporting currency: each posting's value at Kraken's stored prices (e.g. USD).")] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="TOML file renaming accounts of the default chart (its accounts table).",
        exists=True, dir_okay=False)] = None,
    method: Annotated[str | None, typer.Option(
        "--method", help="A cost-basis method whose stored books (`kraken-etl pnl`, same --currency, default USD) "
        "give the realised gains on Income:Kraken:Gains (with fifo or hifo in Beancount: the lots, see --lots)."
    )] = None,
    lots: Annotated[bool | None, typer.Option(
        "--lots/--no-lots", help="Beancount with fifo or hifo books: the lots at cost, gains booked by "
        "Beancount's booking method of the same name (the default there; not for lifo, average or uk books); "
        "--no-lots posts the books' gains as figures.")] = None,
) -> None:
    """The double-entry journal: every ledger entry as balanced postings, one transaction per refid, with
    Kraken's running balance asserted at the end of each day with movements (see docs/journal.md)."""
    from kraken_etl.books.journal_names import Chart, ChartError
    from kraken_etl.books.lots_model import Method
    from kraken_etl.db.engine import make_engine
    from kraken_etl.jobs.journal import export_journal

    methods = [m.value for m in Method]
    if method is not None and method.strip().lower() not in methods:
        raise fail(f"--method: {method.strip()!r} is not one of {', '.join(methods)}", code=2)
    period = None
    if date_from or date_to:
        period = parse_period(date_from or "1970-01-01", date_to or datetime.now(UTC).date().isoformat())
    try:
        renames = Chart.load(chart) if chart else Chart()
    except ChartError as exc:
        raise fail(f"--chart: {exc}", code=2) from None
    engine = make_engine(database_url())
    try:
        result = export_journal(engine, out, fmt.value, accounts=account or (), period=period,
                                currency=currency.strip().upper() if currency else None, chart=renames,
                                method=method.strip().lower() if method else None, lots=lots)
    finally:
        engine.dispose()
    stats = result.stats
    console.print(f"period: {period.describe() if period else 'the whole stored history'}", highlight=False,
                  soft_wrap=True, markup=False)
    console.print(f"journal written to {result.path} ({result.format}, {result.size_bytes / 1_000_000:.1f} MB, "
                  f"{stats.transactions} transactions, {stats.postings} postings, {stats.openings} opening "
                  f"balances, {stats.assertions} balance assertions, {stats.prices} prices, "
                  f"{result.seconds:.1f} s)", highlight=False, soft_wrap=True, markup=False)
    if stats.lot_acquisitions or stats.lot_reductions:
        console.print(f"lots: {stats.lot_acquisitions} acquisitions at cost, {stats.lot_reductions} reductions "
                      f"booked by Beancount (booking_method {(method or '').strip().upper()}; gains on "
                      "Income:Kraken:Gains)", highlight=False, soft_wrap=True, markup=False)
    elif method:
        console.print(f"realised gains: {stats.gains} disposals posted to Income:Kraken:Gains, total "
                      f"{stats.gain_total}", highlight=False, soft_wrap=True, markup=False)
    if stats.unasserted:
        console.print(f"warning: {stats.unasserted} entries have no wallet yet (account part Unassigned) and are "
                      "not asserted; `kraken-etl reconcile` assigns wallets", highlight=False, soft_wrap=True,
                      markup=False)
