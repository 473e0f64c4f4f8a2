"""`kraken-etl lots import FILE.csv` (opening lots) and `kraken-etl pnl` (realised gains, income, fees).

``kraken-etl pnl [--account A]… [--entity E] [--method fifo|lifo|hifo|average|uk] [--currency CUR]
[--year YYYY | --from D --to D] [--fee-rule R] [--json] [--csv FILE] [--full]`` brings the stored books of
each entity up to date (`kraken_etl.jobs.books`: incrementally from each changed asset's checkpoint, or from
the first entry; stored per entity, method and currency: `reporting.disposals`, `reporting.realised_gains`,
`reporting.income`, `reporting.lots_at`, `reporting.unrealised_at`), then prints the period's disposals per
asset with totals, income and fee expenses, and the findings (a disposal beyond the lots held, a cost
assumed, an unclassified entry, a missing price). Entities: `--entity` names one of `[entities.NAME]` in the
accounts file; `--account` (repeatable) pools the accounts given; default: each account alone.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kraken_etl.cli import helpfmt
from kraken_etl.cli.common import checked_labels, console, database_url, fail, handle_errors, parse_period, settings
from kraken_etl.cli.output import json_text
from kraken_etl.core.visible import visible

lots_app = typer.Typer(help="Opening lots: what was held, at what cost, before it reached Kraken.",
                       no_args_is_help=True)
METHODS = ("fifo", "lifo", "hifo", "average", "uk")
CSV_COLUMNS = ("entity", "method", "currency", "date_acquired", "date_disposed", "asset", "amount", "proceeds",
               "cost", "fees", "gain", "holding_days", "rule", "disposal_entries", "acquisition_entries",
               "cost_assumed")


@lots_app.command("import", cls=helpfmt.Command)
@handle_errors
def lots_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns asset, amount, cost, currency, acquired_at.",
                                         metavar="FILE")],
) -> None:
    """Import opening lots (idempotent: the same file again adds nothing). A file with a bad row is refused
    whole, every bad row named."""
    from kraken_etl.books.lots_import import LotFileError
    from kraken_etl.db.engine import make_engine
    from kraken_etl.jobs.books import import_lots
    from kraken_etl.jobs.fileload import check_import_file

    check_import_file(file)  # a directory, a FIFO or /dev/zero: one line, never a hang
    data = file.read_bytes()
    engine = make_engine(database_url())
    try:
        done = import_lots(engine, file.name, data)
    except UnicodeDecodeError:
        raise fail(f"{visible(file.name)}: not UTF-8 text", code=2) from None
    except LotFileError as exc:
        for number, why in exc.problems:
            console.print(f"{visible(file.name)} line {number}: {why}", highlight=False, markup=False)
        raise fail(f"{visible(file.name)}: {len(exc.problems)} bad row(s); nothing imported", code=2) from None
    finally:
        engine.dispose()
    console.print(f"{visible(file.name)}: {done.read} lot(s) read, {done.new} new, {done.read - done.new} already "
                  "imported", highlight=False, markup=False)


def _entities(accounts: list[str] | None, entity: str | None) -> dict[str, list[str]]:
    known = settings().entities()
    labels = [name for name, members in known.items() if members == [name]]  # each account alone
    if entity and accounts:
        raise fail("--entity and --account: give one or the other", code=2)
    if entity:
        if entity not in known:
            raise fail(f"--entity: unknown entity {entity!r}; known: {', '.join(known)}", code=2)
        return {entity: known[entity]}
    if accounts:
        unknown = [a for a in accounts if a not in labels]
        if unknown:
            raise fail(f"--account: unknown account {unknown[0]!r}; configured: {', '.join(labels)}", code=2)
        chosen = list(dict.fromkeys(accounts))
        return {"+".join(chosen): chosen}
    return {label: [label] for label in labels}


@handle_errors
def pnl(
    account: Annotated[list[str] | None, typer.Option("--account", help="Account label (repeatable: pooled).",
                                                      callback=checked_labels)] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="A tax entity of the accounts file.")] = None,
    method: Annotated[str, typer.Option("--method", help="fifo, lifo, hifo, average or uk.")] = "fifo",
    currency: Annotated[str, typer.Option("--currency", help="Reporting currency.")] = "USD",
    year: Annotated[int | None, typer.Option("--year", help="Calendar year (UTC), instead of --from/--to.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First UTC day, inclusive.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last UTC day, inclusive.")] = None,
    fee_rule: Annotated[str, typer.Option(
        "--fee-rule", help="A trade's fee in the reporting currency: acquisition_cost (added to what it bought) "
                           "or disposal_proceeds (kept with what it sold).")] = "acquisition_cost",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: disposals, income, totals.")] = False,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Also write the disposals as CSV for tax work.",
                                                  dir_okay=False)] = None,
    full: Annotated[bool, typer.Option("--full", help="Recompute from the first entry, even when the stored "
                                                      "books allow an incremental run.")] = False,
) -> None:
    """Realised gains per asset with totals, income and fees, by a cost basis method, for a period."""
    from kraken_etl.db.engine import make_engine
    from kraken_etl.jobs import books

    if method not in METHODS:
        raise fail(f"--method: {visible(method)!r} is not one of {', '.join(METHODS)}", code=2)
    from kraken_etl.books.treatments import FeeRule

    if fee_rule not in {r.value for r in FeeRule}:
        raise fail(f"--fee-rule: {visible(fee_rule)!r} is not acquisition_cost or disposal_proceeds", code=2)
    if year is not None and (date_from or date_to):
        raise fail("--year and --from/--to: give one or the other", code=2)
    if year is not None:
        period = parse_period(f"{year:04d}-01-01", f"{year:04d}-12-31")
    else:
        period = parse_period(date_from or "1970-01-01", date_to or datetime.now(UTC).date().isoformat())
    targets = _entities(account, entity)
    engine = make_engine(database_url())
    reports = []
    try:
        for name, labels in targets.items():
            books.run(engine, entity=name, accounts=labels, method=method, currency=currency,
                      fee_rule=FeeRule(fee_rule), full=full)
            reports.append(books.read_report(engine, entity=name, method=method, currency=currency, period=period))
    finally:
        engine.dispose()
    if csv_file is not None:
        _write_csv(csv_file, reports)
    if as_json:
        objects = [_as_object(r) for r in reports]
        out = objects[0] if len(objects) == 1 else {"entities": objects}
        typer.echo(json_text(out))
        return
    console.print(f"period: {period.describe()}", highlight=False, soft_wrap=True)
    for report in reports:
        _print(report)


def _as_object(report: Any) -> dict[str, Any]:
    return {"entity": report.entity, "method": report.method, "currency": report.currency,
            "period": {"start": report.period.start, "end": report.period.end, "resolved": report.period.describe()},
            "disposals": report.disposals, "income": report.income, "fee_expenses": report.expenses,
            "totals": report.totals(), "findings": report.findings}


def _write_csv(path: Path, reports: list[Any]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(CSV_COLUMNS)
        for r in reports:
            for d in r.disposals:
                acquired = d["acquired_at"]
                first = acquired["from"] if isinstance(acquired, dict) else acquired
                out.writerow([r.entity, r.method, r.currency, "" if first is None else first.date().isoformat(),
                              d["disposed_at"].date().isoformat(), d["asset"], d["amount"], d["proceeds"],
                              d["cost"], d["fees"], d["gain"], "" if d["holding_days"] is None else d["holding_days"],
                              d["rule"], " ".join(d["disposal_entries"]), " ".join(d["acquisition_entries"]),
                              str(d["cost_assumed"]).lower()])


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def _print(report: Any) -> None:
    totals = report.totals()
    table = Table(title=f"{report.entity}: realised gains ({report.method}, {report.currency})")
    for column in ("asset", "amount", "proceeds", "cost", "fees", "gain"):
        table.add_column(column, justify="left" if column == "asset" else "right")
    for asset, row in totals["per_asset"].items():
        table.add_row(visible(asset), str(row["amount"].normalize()), _money(row["proceeds"]), _money(row["cost"]),
                      _money(row["fees"]), _money(row["gain"]))
    table.add_row("total", "", _money(totals["proceeds"]), _money(totals["cost"]), _money(totals["fees"]),
                  _money(totals["gain"]))
    console.print(table)
    console.print(f"{report.entity}: {totals['disposals']} disposal row(s), gain {_money(totals['gain'])}, "
                  f"income {_money(totals['income'])}, fee expenses {_money(totals['fee_expenses'])} "
                  f"{report.currency}; findings: {len(report.findings)} ({totals['shortfalls']} shortfall(s))",
                  highlight=False, markup=False)
    for finding in report.findings[:10]:
        console.print(f"  {finding['kind']}: {visible(finding['detail'])}", highlight=False, markup=False)
    if len(report.findings) > 10:
        console.print(f"  … and {len(report.findings) - 10} more (--json lists them all)", highlight=False)
