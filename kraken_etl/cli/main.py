"""The assembled `kraken-etl` application."""

from __future__ import annotations

import typer

from kraken_etl.cli import (
    backfill_cmd,
    db_cmd,
    demo_cmd,
    import_cmd,
    listen_cmd,
    nightly_cmd,
    reconcile_cmd,
    report_cmd,
    simulator_cmd,
    status_cmd,
    sync_cmd,
)

app = typer.Typer(
    name="kraken-etl",
    help="Copy a Kraken Spot account's history into PostgreSQL, keep it current, and prove it right.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("demo")(demo_cmd.demo)
app.command("status")(status_cmd.status)
app.command("sync")(sync_cmd.sync)
app.command("nightly")(nightly_cmd.nightly)
app.command("import")(import_cmd.import_)
app.command("backfill")(backfill_cmd.backfill_)
app.add_typer(reconcile_cmd.app, name="reconcile")
app.command("report")(report_cmd.report)
app.command("listen")(listen_cmd.listen)
app.add_typer(db_cmd.app, name="db")
app.add_typer(simulator_cmd.app, name="simulator")
