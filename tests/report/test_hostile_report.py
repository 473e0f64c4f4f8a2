"""Hostile text in the report: exports carrying HTML, comments, a meta refresh, forms, links, ESC and look-alike
assets are imported as a new account, reconciled and reported through the real commands; the page must have
exactly the shape of a report of harmless text (parsed, and in headless chromium) and show the text as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kraken_etl.core.visible import visible
from kraken_etl.report.charts import flows_spec, values
from kraken_etl.report.engine import ChartEngine, ChartError, checked_svg
from kraken_etl.report.page import Section, render_page
from tests.cli.hostile import HOSTILE, LOOK_ALIKES, assert_plain, run_cli, write_exports
from tests.report.dom import assert_well_formed, in_chromium, parse

CLEAN = tuple(f"v{i:02d}" for i in range(len(HOSTILE)))
HIDDEN = ("\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u200b", "\u2028")


def _page(account: str, words: tuple[str, ...]) -> str:
    rows = [{"account": account, "asset": w, "wallet": w, "type": w, "pair": w, "message": w} for w in words]
    sections = [Section(key, key.title(), "note", rows=rows, columns=("account", "asset", "wallet", "type", "pair"),
                        extra_rows=rows if key == "reconciliation" else (),
                        extra_columns=("account", "message") if key == "reconciliation" else ())
                for key in ("balances", "holdings", "fees", "trades", "flows", "reconciliation", "freshness")]
    return render_page(title="kraken-etl report", account=account, date_from=date(2024, 1, 1),
                       date_to=date(2024, 12, 31), generated_at=datetime(2025, 1, 1, tzinfo=UTC), refreshed_at=None,
                       sections=sections)


def test_every_value_and_the_account_label_are_text_in_the_page() -> None:
    for label in HOSTILE:
        hostile, clean = parse(_page(label, HOSTILE)), parse(_page("clean", CLEAN))
        assert_well_formed(hostile, sections=7)  # the page of the seven sections built here
        assert (hostile.tags, hostile.tables, hostile.rows) == (clean.tags, clean.tables, clean.rows), label
        assert hostile.title == f"kraken-etl report \u2013 {visible(label)}"
    html = _page(HOSTILE[0], HOSTILE)
    assert "&lt;!--" in html and "&lt;/title&gt;&lt;h1&gt;" in html and "<!--" not in html
    assert not any(c in html for c in HIDDEN)
    assert "\\u202eCTB" in html and "B\\u200bTC" in html and "\\x1b[2J" in html


def test_esc_in_a_chart_label_renders_and_the_caller_survives() -> None:
    rows = values([{"asset": v, "type": v, "entries": 1} for v in HOSTILE], ("asset", "type", "entries"))
    with ChartEngine() as engine:
        (svg,) = engine.render([flows_spec(rows)])
    body = checked_svg(svg)
    assert "\\x1b[2J" in body and "\x1b" not in body
    assert "B\\u200bTC" in body and "\\u202eCTB" in body


def test_a_crashing_chart_engine_is_an_error_not_the_end_of_the_process() -> None:
    # Unsanitised ESC in a label makes vl-convert abort its process (exit 134): here only the child dies.
    spec = flows_spec([{"asset": "A\x1bB", "type": "deposit", "entries": 1}])
    with ChartEngine() as engine, pytest.raises(ChartError, match=r"crashed \(exit -6\)"):
        engine.render([spec])


def test_svg_with_anything_but_drawing_elements_is_refused() -> None:
    for bad in ('<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:x"><text>x</text></a></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><form/></foreignObject></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="x()"/></svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><text>unclosed</svg>'):
        with pytest.raises(ChartError):
            checked_svg(bad)


def test_hostile_exports_through_import_reconcile_report(db_url: str, tmp_path: Path) -> None:
    shapes = {}
    for account, words in (("hostile", HOSTILE), ("clean", CLEAN)):
        folder = tmp_path / account
        folder.mkdir()
        files = write_exports(folder, words)
        for args in (("import", *map(str, files), "--account", account), ("reconcile", "--account", account),
                     ("report", "--account", account, "--out", str(folder / "report.html"))):
            done = run_cli(db_url, tmp_path, *args)
            assert done.returncode == 0, (args[0], assert_plain(done))
        html = (folder / "report.html").read_text(encoding="utf-8")
        shapes[account] = (parse(html), in_chromium(folder / "report.html"), html)

    (hostile, dom, html), (clean, clean_dom, _) = shapes["hostile"], shapes["clean"]
    assert_well_formed(hostile)
    differ = {t for t in hostile.tags | clean.tags if hostile.tags[t] != clean.tags[t]}
    assert differ <= {"tr", "td"}, differ  # only the number of rows may differ
    # One row per distinct raw value here (the trades table groups by the pair as parsed, the findings add
    # look-alike notes): the same counts as the clean twin.
    same = ("holdings", "flows", "reconciliation", "freshness")
    assert {k: hostile.rows[k] for k in same} == {k: clean.rows[k] for k in same}
    assert hostile.tables.keys() == clean.tables.keys() and hostile.svgs == clean.svgs
    assert not any(c in html for c in HIDDEN)

    assert dom["sections"] == clean_dom["sections"] == ["portfolio", "valuation", "rollforward", "balances",
                                                        "holdings", "fees", "trades", "flows", "reconciliation",
                                                        "freshness"]
    assert dom["title"] == clean_dom["title"].replace("clean", "hostile") == "kraken-etl report \u2013 hostile"
    assert dom["comments"] == clean_dom["comments"] == 0
    for tag, n in clean_dom["counts"].items():
        if tag not in ("tr", "td"):
            assert dom["counts"][tag] == n, (tag, dom["counts"][tag], n)
    assert all(widths in ([], [header]) for header, widths in dom["widths"].values()), dom["widths"]
    cells = set(dom["cells"])
    assert set(LOOK_ALIKES.values()) <= cells and "BTC" not in cells  # look-alikes shown escaped
    assert {"A[/]B", "<!--", "</title><h1>owned</h1>", "\\x1b[2J\\x1b]0;pwned\\x07"} <= cells  # text, as written
