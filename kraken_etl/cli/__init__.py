"""The `kraken-etl` command (Typer + Rich). Each command group lives in its own module; `main` assembles them."""

from __future__ import annotations


def main() -> None:
    """Entry point of the console script and of `python -m kraken_etl`."""
    from kraken_etl.cli.main import app

    app()
