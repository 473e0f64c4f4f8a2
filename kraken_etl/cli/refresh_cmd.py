"""`kraken-etl refresh`: refresh the reporting schema's materialised parts now.

Loads refresh by themselves when they wrote rows into days already summed; the nightly flow refreshes
after loading. This command is for the rest: after loading rows by other means, or to move the boundary
of the daily sums to today before a heavy reporting session.
"""

from __future__ import annotations

from kraken_etl.cli.common import console, handle_errors, settings


@handle_errors
def refresh() -> None:
    """Refresh the reporting schema's materialised parts (daily sums, opening balances, hourly prices)."""
    from kraken_etl.jobs.refresh import refresh as run
    from kraken_etl.jobs.wiring import database

    configured = settings()
    with database(configured, upgrade=True) as engine:
        done = run(engine, configured.currency_by_account(), configured.reporting_currency)
    console.print(done.line(), highlight=False)
