"""The offline HTML report: one self-contained page (charts as inline SVG, no script, no network).

Entry point: `write_report(engine, out, *, account=None, date_from=None, date_to=None, charts=True) -> ReportInfo`.
Figures come from schema `reporting` through `kraken_etl.db.reporting`; this package only lays them out.
The names are loaded on first use, so the chart engine's child process (`kraken_etl.report.engine`) starts
without importing the database layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kraken_etl.report.build import ReportError, ReportInfo, write_report

__all__ = ["ReportError", "ReportInfo", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kraken_etl.report import build

        return getattr(build, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
