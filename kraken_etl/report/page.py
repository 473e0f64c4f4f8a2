"""Lay the report out as one HTML page (Jinja2, every value escaped) with a strict no-network policy.

The page carries a Content-Security-Policy that forbids every fetch (`default-src 'none'`): styles are
inline, charts are inline SVG, and there is no script. Escaping is unconditional (`autoescape=True`, whatever
the template's file name), and every value from the data also has its hidden characters written as escapes
(`kraken_etl.core.visible`), so an asset, label or message can neither add markup nor pass for another. The
one piece of markup inserted as is, each chart's SVG, has been parsed and checked for drawing elements only
(`kraken_etl.report.engine.checked_svg`). Nothing is embedded in a script or as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from kraken_etl.core.visible import visible
from kraken_etl.report.engine import checked_svg

_env = Environment(loader=PackageLoader("kraken_etl.report", "templates"), autoescape=True,
                   trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Section:
    """One part of the page: an id, a title, a note, an optional chart (SVG) and optional tables."""

    key: str
    title: str
    note: str
    chart: str | None = None
    rows: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    columns: Sequence[str] = ()
    extra_rows: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    extra_columns: Sequence[str] = ()
    extra_title: str = "Open findings"


def pivot(
    rows: Sequence[Mapping[str, Any]], index: str, column: str, value: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of (index, column, value) as one row per index with a column per distinct `column` (layout only)."""
    names = sorted({str(r[column]) for r in rows})
    table: dict[Any, dict[str, Any]] = {}
    for r in rows:
        table.setdefault(r[index], {index: r[index]})[str(r[column])] = r[value]
    return [table[k] for k in sorted(table)], [index, *names]


def cell(value: object) -> str:
    """A table cell: exact decimals (no exponent), UTC times to the second, '' for NULL, text with its hidden
    characters escaped (the template escapes the HTML)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    return visible(value)


def _svg(value: str) -> Markup:
    return Markup(checked_svg(value))  # noqa: S704 - the engine's SVG, parsed and checked: drawing elements only


def render_page(*, title: str, account: str | None, date_from: date, date_to: date, generated_at: datetime,
                refreshed_at: datetime | None, sections: Sequence[Section]) -> str:
    """The whole page as text."""
    template = _env.get_template("report.html.j2")
    return template.render(title=title, account=account, date_from=date_from, date_to=date_to,
                           generated_at=generated_at, refreshed_at=refreshed_at, sections=sections,
                           cell=cell, svg=_svg)
