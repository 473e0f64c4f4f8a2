"""The offline HTML report: one self-contained page (charts as inline SVG, no script, no network).

Entry point: `write_report(engine, out, *, account=None, date_from=None, date_to=None) -> ReportInfo`.
Figures come from schema `reporting` through `kraken_etl.db.reporting`; this package only lays them out.
"""

from kraken_etl.report.build import ReportError, ReportInfo, write_report

__all__ = ["ReportError", "ReportInfo", "write_report"]
