"""Vega-Lite chart specifications rendered to SVG by vl-convert (no chart drawing code of our own).

Amounts reach the charts as decimal text and Vega parses them for plotting only; the tables next to the
charts show the exact figures. Text (assets, pairs, types) reaches them with every hidden character written
as its escape (`kraken_etl.core.visible`), as in the tables and on the terminal: a look-alike asset never
draws as the real one, and the engine never sees a character its SVG text parser refuses. Charts never fetch
anything: data is inline and vl-convert renders offline, in a child process (`kraken_etl.report.engine`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import vl_convert

from kraken_etl.core.visible import visible

VEGA_LITE = "5.20"
WIDTH = 260
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
CONFIG = {"font": FONT, "view": {"stroke": "#ddd"}, "axis": {"labelFontSize": 10, "titleFontSize": 11},
          "header": {"labelFontSize": 12, "labelFontWeight": "bold"}, "legend": {"orient": "top"}}


def _cell(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return visible(value)
    return value


def values(rows: Iterable[Mapping[str, Any]], fields: Iterable[str]) -> list[dict[str, object]]:
    """Rows as JSON-ready dicts (Decimal → exact text, dates → ISO, text with hidden characters escaped)."""
    names = tuple(fields)
    return [{k: _cell(r[k]) for k in names} for r in rows]


def _data(rows: list[dict[str, object]], parse: Mapping[str, str]) -> dict[str, Any]:
    return {"values": rows, "format": {"parse": dict(parse)}}


def _per_asset(rows: list[dict[str, object]], *, x: dict[str, Any], y: str, mark: object,
               height: int) -> dict[str, Any]:
    """Small multiples: one panel per asset, each with its own y scale."""
    return {
        "data": _data(rows, {x["field"]: "date", y: "number"}),
        "facet": {"field": "asset", "type": "nominal", "title": None},
        "columns": 3,
        "spec": {
            "width": WIDTH, "height": height, "mark": mark,
            "encoding": {
                "x": {**x, "type": "temporal", "title": None},
                "y": {"field": y, "type": "quantitative", "title": y},
            },
        },
        "resolve": {"scale": {"y": "independent"}},
    }


def balances_spec(rows: list[dict[str, object]]) -> dict[str, Any]:
    """End-of-day balance per asset over time: small multiples, each with its own scale."""
    return _per_asset(rows, x={"field": "day"}, y="balance", height=110,
                      mark={"type": "line", "interpolate": "step-after"})


def fees_spec(rows: list[dict[str, object]]) -> dict[str, Any]:
    """Fees per month, one panel per asset."""
    return _per_asset(rows, x={"field": "month", "timeUnit": "yearmonth"}, y="fees", height=100, mark="bar")


def _stacked_bars(rows: list[dict[str, object]], *, bar: str, count: str, title: str, split: str,
                  palette: list[str]) -> dict[str, Any]:
    """Horizontal bars of `count` per `bar`, stacked by `split`."""
    return {
        "data": _data(rows, {count: "number"}),
        "width": 2 * WIDTH, "height": {"step": 22}, "mark": "bar",
        "encoding": {
            "y": {"field": bar, "type": "nominal", "title": None},
            "x": {"field": count, "type": "quantitative", "title": title, "stack": "zero"},
            "color": {"field": split, "type": "nominal", "scale": {"range": palette}},
        },
    }


def trades_spec(rows: list[dict[str, object]]) -> dict[str, Any]:
    """Fills per pair, split by side."""
    return _stacked_bars(rows, bar="pair", count="trades", title="fills", split="side",
                         palette=["#2a9d8f", "#e76f51"])


def flows_spec(rows: list[dict[str, object]]) -> dict[str, Any]:
    """Deposits and withdrawals: movements per asset and type."""
    return _stacked_bars(rows, bar="asset", count="entries", title="movements", split="type",
                         palette=["#264653", "#f4a261"])


def render_svg(spec: Mapping[str, Any]) -> str:
    """The chart as an SVG document (string), rendered offline."""
    full = {**spec, "config": CONFIG, "background": "white"}
    svg: str = vl_convert.vegalite_to_svg(json.dumps(full), vl_version=VEGA_LITE)
    return svg


def warm_up() -> None:
    """Start the chart engine (its first render pays for booting it) with a one-bar chart."""
    render_svg({"data": {"values": [{"x": "a", "n": 1}]}, "mark": "bar",
                "encoding": {"y": {"field": "x", "type": "nominal"}, "x": {"field": "n", "type": "quantitative"}}})


def portfolio_spec(rows: list[dict[str, object]], currency: str) -> dict[str, Any]:
    """Total value of the holdings per day, in `currency`."""
    return {
        "data": _data(rows, {"day": "date", "value": "number"}),
        "width": 3 * WIDTH, "height": 160, "mark": {"type": "line", "interpolate": "step-after"},
        "encoding": {
            "x": {"field": "day", "type": "temporal", "title": None},
            "y": {"field": "value", "type": "quantitative", "title": f"value ({visible(currency)})"},
        },
    }
