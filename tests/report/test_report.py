"""The HTML report: built from the reporting views, opened in headless chromium offline, numbers checked."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kraken_etl.cli.main import app
from kraken_etl.core.assets import normalize_asset
from kraken_etl.core.money import D
from kraken_etl.core.parsing import unix_seconds
from kraken_etl.report import ReportError, write_report
from kraken_etl.simulator import catalog
from tests.report.browser import open_offline
from tests.report.conftest import ACCOUNT, Loaded

READ_PAGE = """JSON.stringify({
  charts: Object.fromEntries([...document.querySelectorAll('figure[data-chart]')].map(f => [f.dataset.chart, {
    svgs: f.querySelectorAll('svg').length,
    paths: f.querySelectorAll('svg path').length,
    width: f.querySelector('svg') ? f.querySelector('svg').getBoundingClientRect().width : 0,
    labels: [...f.querySelectorAll('svg text')].map(t => t.textContent)}])),
  tables: Object.fromEntries([...document.querySelectorAll('table[data-table]')].map(t => [t.dataset.table,
    [...t.tBodies[0].rows].map(r => Object.fromEntries([...r.cells].map(c => [c.dataset.col, c.textContent])))])),
  empty: [...document.querySelectorAll('[data-empty]')].map(e => e.dataset.empty),
  scope: document.getElementById('scope').textContent,
  scripts: document.scripts.length,
})"""


def _pairs() -> dict[str, str]:
    return {p.key: f"{catalog.ASSETS[p.base].ticker}/{catalog.ASSETS[p.quote].ticker}" for p in catalog.PAIRS}


def test_report_renders_offline_with_charts_and_the_truths_numbers(loaded: Loaded, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    info = write_report(loaded.engine, out, account=ACCOUNT)
    assert info.path == out and info.size_bytes == out.stat().st_size and info.charts == 4
    page = open_offline(out, READ_PAGE)

    assert page.requests == [out.resolve().as_uri()], page.requests  # the page itself, nothing else
    assert page.failed == []
    result = page.result
    assert result["scripts"] == 0
    for chart in ("balances", "fees", "trades", "flows"):
        drawn = result["charts"][chart]
        assert drawn["svgs"] == 1 and drawn["paths"] > 5 and drawn["width"] > 300, (chart, drawn)
    assert {"BTC", "USD", "DOT.S"} <= set(result["charts"]["balances"]["labels"])

    holdings = {(r["asset"], r["wallet"]): r["balance"] for r in result["tables"]["holdings"]}
    truth = {(normalize_asset(a), ""): v for a, v in loaded.truths["balances"]["balance"].items() if D(v) != 0}
    assert holdings == truth  # exact text, Kraken's scale

    fills = Counter((_pairs()[r["pair"]], r["type"]) for r in loaded.truths["trades"]["trades"].values())
    shown = {(r["pair"], r["side"]): int(r["trades"]) for r in result["tables"]["trades"]}
    assert shown == dict(fills)
    assert "reconciliation-findings" in result["empty"]  # no reconciliation ran on this account
    assert {r["stream"] for r in result["tables"]["freshness"]} >= {"ledgers", "trades", "balances"}
    assert ACCOUNT in result["scope"]


def test_a_report_without_charts_has_every_table_and_says_where_the_charts_were(loaded: Loaded,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "tables.html"
    info = write_report(loaded.engine, out, account=ACCOUNT, charts=False)
    assert info.charts == 0
    page = open_offline(out, READ_PAGE.replace("scripts: document.scripts.length,", """scripts: document.scripts.length,
  notes: Object.fromEntries([...document.querySelectorAll('section')].map(s => [s.id,
    s.querySelector('p.note').textContent])),
  svgs: document.querySelectorAll('svg').length,"""))
    assert page.requests == [out.resolve().as_uri()], page.requests
    result = page.result
    assert result["charts"] == {} and result["svgs"] == 0 and result["scripts"] == 0
    for chart in ("portfolio", "balances", "fees", "trades", "flows"):
        assert "written without charts" in result["notes"][chart] and "kraken-etl report" in result["notes"][chart]
    assert "written without charts" not in result["notes"]["holdings"]
    holdings = {(r["asset"], r["wallet"]): r["balance"] for r in result["tables"]["holdings"]}
    truth = {(normalize_asset(a), ""): v for a, v in loaded.truths["balances"]["balance"].items() if D(v) != 0}
    assert holdings == truth
    fills = Counter((_pairs()[r["pair"]], r["type"]) for r in loaded.truths["trades"]["trades"].values())
    assert {(r["pair"], r["side"]): int(r["trades"]) for r in result["tables"]["trades"]} == dict(fills)


def test_report_range_limits_the_tables(loaded: Loaded, tmp_path: Path) -> None:
    out = tmp_path / "r2025.html"
    info = write_report(loaded.engine, out, account=ACCOUNT, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert (info.date_from, info.date_to) == (date(2025, 1, 1), date(2025, 12, 31))
    html = out.read_text(encoding="utf-8")
    start, end = (unix_seconds(str(int(datetime(y, 1, 1, tzinfo=UTC).timestamp()))) for y in (2025, 2026))
    in_range = [r for r in loaded.truths["trades"]["trades"].values() if start <= unix_seconds(r["time"]) < end]
    assert in_range
    counts = Counter((_pairs()[r["pair"]], r["type"]) for r in in_range)
    for (pair, side), n in counts.items():
        assert (f'<td data-col="pair">{pair}</td><td data-col="side">{side}</td>'
                f'<td data-col="trades" class="num">{n}</td>') in html
    assert "Holdings at the end of 2025-12-31" in html


def test_bad_ranges_and_unknown_accounts_are_one_line_errors(loaded: Loaded, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="after"):
        write_report(loaded.engine, tmp_path / "x.html", date_from=date(2026, 1, 2), date_to=date(2026, 1, 1))
    with pytest.raises(ReportError, match=r"first ledger entry is on .* after --to 2020-01-01"):
        write_report(loaded.engine, tmp_path / "x.html", date_to=date(2020, 1, 1))
    with pytest.raises(ReportError, match="no ledger entries for account 'nobody'"):
        write_report(loaded.engine, tmp_path / "x.html", account="nobody")
    assert not (tmp_path / "x.html").exists()


def test_cli_report(loaded: Loaded, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "cli.html"
    env = {"DATABASE_URL": loaded.url, "KRAKEN_ETL_HOME": str(tmp_path)}
    done = CliRunner().invoke(app, ["report", "--account", ACCOUNT, "--from", "2025-01-01", "--to", "2025-06-30",
                                    "--out", str(out)], env=env)
    assert done.exit_code == 0, done.output
    assert f"report written to {out}" in done.output and out.stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["report", "--account", "nobody", "--out", str(tmp_path / "n.html")], env=env)
    assert bad.exit_code == 1 and "no ledger entries" in bad.output


def test_report_queries_agree_with_the_views(loaded: Loaded) -> None:
    from sqlalchemy import text

    from kraken_etl.db import reporting as q

    with loaded.engine.connect() as conn:
        f = q.ReportFilter(ACCOUNT, date(2025, 3, 15), date(2026, 12, 1))
        fees = {(r["month"], r["asset"]): r["fees"] for r in q.fees_by_month(conn, f)}
        view = {(m, a): v for m, a, v in conn.execute(text(
            "SELECT month, asset, fees FROM reporting.fees_monthly WHERE account = :a AND month >= '2025-03-01'"),
            {"a": ACCOUNT})}
        weekly = q.balance_series(conn, f, 7)
        daily = {(r["day"], r["asset"]): r["balance"] for r in q.balance_series(conn, f)}
    assert fees == view and fees
    assert weekly and all(daily[(r["day"], r["asset"])] == r["balance"] for r in weekly)
    assert {r["day"] for r in weekly} == {d for d, _ in daily if (d - date(2025, 3, 15)).days % 7 == 0} | {
        date(2026, 12, 1)}
