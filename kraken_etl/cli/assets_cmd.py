"""`kraken-etl assets list|set|seed`: what each Kraken asset code is and what prices it (`kraken.asset_identity`).

``assets seed`` writes the shipped defaults (for every code the ledgers use, too) and never changes a row
you set. ``assets list`` prints every identity and the ledger codes no identity covers (those are unpriced:
a coverage finding, never a zero). ``assets set CODE --canonical X`` records your own identity of a code
(priced by X's markets, or ``--price-asset``, or a ``--fixed-price`` in ``--currency``), from ``--from``;
it is kept across re-seeding. The same table can be edited with SQL (set ``origin = 'user'``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from kraken_etl.cli.common import console, fail, handle_errors, parse_date, settings
from kraken_etl.core.visible import visible

app = typer.Typer(help="What each Kraken asset code is and what prices it (defaults, your own edits).",
                  no_args_is_help=True)


@app.command("seed")
@handle_errors
def seed() -> None:
    """Write the shipped identity defaults (rows you set are never changed)."""
    from kraken_etl.db.market import seed_identities
    from kraken_etl.jobs.wiring import database

    with database(settings(), upgrade=True) as engine, engine.begin() as conn:
        inserted, updated = seed_identities(conn)
    console.print(f"assets: {inserted} default identities added, {updated} updated", highlight=False)


@app.command("list")
@handle_errors
def list_() -> None:
    """Print every identity, then the ledger codes no identity covers."""
    from kraken_etl.db.market import identity_rows, unresolved_codes
    from kraken_etl.jobs.wiring import database

    with database(settings(), upgrade=True) as engine, engine.connect() as conn:
        rows, unknown = identity_rows(conn), unresolved_codes(conn)
    table = Table("code", "from", "until", "canonical", "priced by", "origin", "note")
    for r in rows:
        priced = r["price_asset"] or (f"{r['fixed_price']} {r['fixed_currency']}" if r["fixed_price"] is not None
                                      else "(nothing)")
        table.add_row(*(visible(str(v)) if v is not None else "" for v in (
            r["code"], r["valid_from"], r["valid_until"], r["canonical"], priced, r["origin"], r["note"])))
    console.print(table)
    for u in unknown:
        console.print(f"unknown asset code {visible(u.code)}: {u.entries} entries ({', '.join(u.accounts)}), "
                      f"{u.first:%Y-%m-%d} to {u.last:%Y-%m-%d}: unpriced", highlight=False, markup=False)


@app.command("set")
@handle_errors
def set_(
    code: Annotated[str, typer.Argument(help="Kraken's asset code as the ledger writes it (e.g. DOT28.S).")],
    canonical: Annotated[str, typer.Option("--canonical", help="What the code is (e.g. DOT).")],
    price_asset: Annotated[str | None, typer.Option(
        "--price-asset", help="The asset whose markets price it (default: the canonical one).")] = None,
    fixed_price: Annotated[str | None, typer.Option("--fixed-price", help="A fixed price instead.")] = None,
    currency: Annotated[str | None, typer.Option("--currency", help="The fixed price's currency.")] = None,
    valid_from: Annotated[str | None, typer.Option("--from", help="From this day (UTC); default always.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
) -> None:
    """Record your own identity of a code (kept across re-seeding)."""
    from kraken_etl.db.market import set_user_identity
    from kraken_etl.jobs.wiring import database

    price: Decimal | None = None
    if fixed_price is not None:
        try:
            price = Decimal(fixed_price)
        except InvalidOperation:
            raise fail(f"--fixed-price: {fixed_price!r} is not a number", code=2) from None
        if not price.is_finite() or price < 0 or not currency:
            raise fail("--fixed-price needs a non-negative number and --currency", code=2)
    start = parse_date(valid_from, "--from") if valid_from else None
    target = None if price is not None else (price_asset or canonical).upper()
    with database(settings(), upgrade=True) as engine, engine.begin() as conn:
        set_user_identity(conn, code.strip(), canonical.strip().upper(), target, price,
                          currency.upper() if price is not None and currency else None, start, None, note)
    console.print(f"assets: {visible(code)} is {visible(canonical.upper())} (yours; re-seeding keeps it)",
                  highlight=False, markup=False)
