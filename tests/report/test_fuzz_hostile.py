"""Fuzz: arbitrary text (control characters, markup, HTML, bidirectional characters) in every text field an
export file carries, through import → reconcile → report → status, in the real commands (in-process).

Each example is a handful of texts written into a ledgers and a trades export imported as a new account;
every command must exit normally with no ESC byte in its output, and the report's DOM in headless chromium
must have the sections and elements of a report of harmless text: nothing added, nothing hidden.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kraken_etl.cli.main import app
from tests.cli.hostile import HOSTILE, write_exports
from tests.report.dom import assert_well_formed, in_chromium, parse

# Letters, digits, punctuation and the characters that act instead of print; NUL is left out (a file with a
# NUL byte is refused whole, with its own test) and so are surrogates (not encodable in a UTF-8 file).
CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    st.sampled_from("<>&\"'/=![]:;-\x1b\x07\x08\x7f\x85\x9b\u200b\u200e\u202a\u202e\u2066\u2069\ufeff\u2028"),
)
TEXT = st.text(CHARS, min_size=1, max_size=24).filter(lambda t: t.strip() == t and t.strip())
STRUCTURE = ("html", "head", "body", "title", "meta", "style", "h1", "h2", "h3", "section", "table", "thead",
             "tbody", "figure", "svg")


def _run(env: dict[str, str], *args: str) -> str:
    done = CliRunner().invoke(app, list(args), env=env)
    out = done.stdout_bytes + done.stderr_bytes
    assert done.exception is None or (isinstance(done.exception, SystemExit) and done.exit_code == 0), (
        args, done.exception, out.decode("utf-8", "replace"))
    assert done.exit_code == 0, (args, out.decode("utf-8", "replace"))
    assert b"\x1b" not in out and b"\xc2\x9b" not in out, (args, out[:3000])
    return out.decode("utf-8")


def test_arbitrary_text_through_import_reconcile_report_status(db_url: str, tmp_path: Path) -> None:
    env = {"DATABASE_URL": db_url, "KRAKEN_ETL_HOME": str(tmp_path), "COLUMNS": "", "FORCE_COLOR": ""}
    numbers = itertools.count()
    reports: list[Path] = []

    def through_everything(texts: list[str]) -> Path:
        n = next(numbers)
        folder = tmp_path / f"example{n}"
        folder.mkdir()
        account, out = f"fuzz{n}", folder / "report.html"
        _run(env, "import", *map(str, write_exports(folder, texts)), "--account", account, "--new-account")
        _run(env, "reconcile", "--account", account)
        _run(env, "report", "--account", account, "--out", str(out))
        _run(env, "status")
        assert_well_formed(parse(out.read_text(encoding="utf-8")))
        return out

    clean = through_everything(["plain", "words"])

    @settings(max_examples=2, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.lists(TEXT, min_size=1, max_size=6, unique_by=str.casefold))
    @example(list(HOSTILE))
    def fuzz(texts: list[str]) -> None:
        reports.append(through_everything(texts))

    fuzz()
    expected = in_chromium(clean)
    assert expected["counts"]["a"] == expected["counts"]["form"] == expected["comments"] == 0
    for path in reports:
        dom = in_chromium(path)
        assert dom["sections"] == expected["sections"], path
        assert dom["title"].removesuffix(path.parent.name.replace("example", "fuzz")) == expected["title"].removesuffix(
            clean.parent.name.replace("example", "fuzz")), dom["title"]
        assert dom["comments"] == 0
        for tag in (*STRUCTURE, "a", "form", "input", "button", "script", "iframe", "object", "embed", "base", "link",
                    "img", "foreignObject", "textarea", "select"):
            if tag in dom["counts"]:
                assert dom["counts"][tag] == expected["counts"][tag], (path, tag, dom["counts"][tag])
        assert all(widths in ([], [header]) for header, widths in dom["widths"].values()), dom["widths"]
