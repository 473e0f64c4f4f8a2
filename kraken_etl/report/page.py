"""Lay the report out as one HTML page (Jinja2, autoescaped) with a strict no-network policy.

The page carries a Content-Security-Policy that forbids every fetch (`default-src 'none'`): styles are
inline, charts are inline SVG, and there is no script.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

_env = Environment(loader=PackageLoader("kraken_etl.report", "templates"), autoescape=select_autoescape(["html"]),
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
    """A table cell: exact decimals (no exponent), UTC times to the second, '' for NULL."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _svg(value: str) -> Markup:
    start = value.find("<svg")
    return Markup(value[start:] if start >= 0 else value)  # noqa: S704 - vl-convert's own SVG, its text escaped by Vega


def render_page(*, title: str, account: str | None, date_from: date, date_to: date, generated_at: datetime,
                refreshed_at: datetime | None, sections: Sequence[Section]) -> str:
    """The whole page as text."""
    template = _env.get_template("report.html.j2")
    return template.render(title=title, account=account, date_from=date_from, date_to=date_to,
                           generated_at=generated_at, refreshed_at=refreshed_at, sections=sections,
                           cell=cell, svg=_svg)
