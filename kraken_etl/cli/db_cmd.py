"""`kraken-etl db …`: apply migrations, print the effective URL, stop the embedded cluster."""

from __future__ import annotations

import typer

from kraken_etl.cli.common import console, handle_errors, settings
from kraken_etl.db import embedded, migrate
from kraken_etl.db.engine import effective_url, libpq_url

app = typer.Typer(help="Database: migrations, URL, embedded cluster.", no_args_is_help=True)


@app.command("upgrade")
@handle_errors
def upgrade(revision: str = typer.Argument("head", help="Alembic revision to migrate to.")) -> None:
    """Apply the migrations (starting the embedded PostgreSQL when DATABASE_URL is unset)."""
    url = effective_url(settings())
    migrate.upgrade(url, revision)
    console.print(f"database migrated to {revision} ({', '.join(migrate.heads())})")


@app.command("url")
@handle_errors
def url() -> None:
    """Print the effective database URL as a plain libpq URL: `psql "$(kraken-etl db url)"`."""
    typer.echo(libpq_url(effective_url(settings(), check=False)))


@app.command("stop")
@handle_errors
def stop() -> None:
    """Stop the embedded PostgreSQL cluster (no effect when DATABASE_URL points elsewhere)."""
    current = settings()
    if current.database_url is not None:
        console.print("DATABASE_URL is set: no embedded cluster to stop")
        return
    stopped = embedded.stop(current.home)
    console.print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
