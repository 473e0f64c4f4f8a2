"""The assembled `kraken-etl` application (help tidied by `kraken_etl.cli.helpfmt`; `--version`)."""

from __future__ import annotations

from typing import Annotated

import typer

from kraken_etl.cli import (
    assets_cmd,
    backfill_cmd,
    books_cmd,
    db_cmd,
    demo_cmd,
    helpfmt,
    import_cmd,
    journal_cmd,
    listen_cmd,
    nightly_cmd,
    prices_cmd,
    reconcile_cmd,
    refresh_cmd,
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
    cls=helpfmt.Group,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"kraken-etl {version('kraken-etl')}")
        raise typer.Exit()


@app.callback()
def root(
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                           help="Print the version and exit.")] = False,
) -> None:
    """Copy a Kraken Spot account's history into PostgreSQL, keep it current, and prove it right."""


app.command("demo", cls=helpfmt.Command)(demo_cmd.demo)
app.command("status", cls=helpfmt.Command)(status_cmd.status)
app.command("sync", cls=helpfmt.Command)(sync_cmd.sync)
app.command("nightly", cls=helpfmt.Command)(nightly_cmd.nightly)
app.command("import", cls=helpfmt.Command)(import_cmd.import_)
app.command("backfill", cls=helpfmt.Command)(backfill_cmd.backfill_)
app.add_typer(reconcile_cmd.app, name="reconcile", cls=helpfmt.Group)
app.command("report", cls=helpfmt.Command)(report_cmd.report)
app.command("pnl", cls=helpfmt.Command)(books_cmd.pnl)
app.add_typer(books_cmd.lots_app, name="lots", cls=helpfmt.Group)
app.command("journal", cls=helpfmt.Command)(journal_cmd.journal)
app.command("refresh", cls=helpfmt.Command)(refresh_cmd.refresh)
app.command("listen", cls=helpfmt.Command)(listen_cmd.listen)
app.add_typer(db_cmd.app, name="db", cls=helpfmt.Group)
app.add_typer(simulator_cmd.app, name="simulator", cls=helpfmt.Group)
app.add_typer(prices_cmd.app, name="prices", cls=helpfmt.Group)
app.add_typer(assets_cmd.app, name="assets", cls=helpfmt.Group)
for _sub in (reconcile_cmd.app, db_cmd.app, simulator_cmd.app, prices_cmd.app, assets_cmd.app):
    for _info in _sub.registered_commands:
        if not (isinstance(_info.cls, type) and issubclass(_info.cls, helpfmt.Command)):
            _info.cls = helpfmt.Command
