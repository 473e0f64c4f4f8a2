"""The terminal never interprets data: crafted exports through the real commands (import, reconcile, ack,
status, report) print markup as written, hidden characters as escapes, no ESC byte, no traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.hostile import HOSTILE, LOOK_ALIKES, assert_plain, run_cli, write_exports

SHOWN = ("A[/]B", "[bold red]loud[/][link=https://attacker.invalid]x[/link]", "\\x1b[2J\\x1b]0;pwned\\x07",
         "</title><h1>owned</h1>", ":smile: \\x7f\\x9b\\u2028end", *LOOK_ALIKES.values())


def test_hostile_values_print_as_text_through_every_command(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in[bold]box[/]\x1b[2J"  # file names are data too (the "/" makes two folders)
    folder.mkdir(parents=True)
    files = write_exports(folder, HOSTILE)
    done = run_cli(db_url, tmp_path, "import", *map(str, files), "--account", "hostile")
    assert done.returncode == 0, assert_plain(done)
    out = assert_plain(done)
    assert "ledgers.csv" in out and "trades.csv" in out

    done = run_cli(db_url, tmp_path, "reconcile", "--account", "hostile")
    out = assert_plain(done)
    assert done.returncode == 0, out
    for text in SHOWN:
        assert text in out, text
    # The look-alikes never print as BTC: only escaped, and in the coverage finding that names what each
    # can display as.
    assert "BTC" not in re.sub(r"B\\u200bTC|\\u202eCTB|can display as 'BTC'", "", out)
    assert "can display as 'BTC'" in out

    found = json.loads(run_cli(db_url, tmp_path, "reconcile", "--account", "hostile", "--json").stdout)
    finding = found["runs"][0]["open_findings"][0]["id"]
    note = "[bold]checked[/] with the client \x1b]0;title\x07 [link=x]y[/link]"
    done = run_cli(db_url, tmp_path, "reconcile", "ack", str(finding), "--note", note)
    assert done.returncode == 0, assert_plain(done)
    done = run_cli(db_url, tmp_path, "reconcile", "--account", "hostile")
    out = assert_plain(done)
    assert "[bold]checked[/] with the client \\x1b]0;title\\x07 [link=x]y[/link]" in out  # the note, whole

    done = run_cli(db_url, tmp_path, "status")
    out = assert_plain(done)
    assert done.returncode == 0 and "hostile" in out

    report = folder / "out[/]" / "r[bold].html"
    done = run_cli(db_url, tmp_path, "report", "--account", "hostile", "--out", str(report))
    out = assert_plain(done)
    assert done.returncode == 0 and report.exists(), out
    assert "out[/]/r[bold].html" in out and "in[bold]box[/]\\x1b[2J" in out


def test_hostile_account_labels_and_paths_in_errors_are_one_plain_line(db_url: str, tmp_path: Path) -> None:
    for args in (("reconcile", "--account", "A[/]B\x1b[2J"),
                 ("report", "--account", "[bold red]x[/]\x1b[2J", "--out", str(tmp_path / "r.html")),
                 ("import", str(tmp_path / "no[/]such\x1b[2J.csv"), "--account", "someone")):
        done = run_cli(db_url, tmp_path, *args)
        out = assert_plain(done)
        assert "[/]" in out and "\\x1b[2J" in out, (args, out)


def test_report_out_that_cannot_be_written_is_one_line(db_url: str, tmp_path: Path) -> None:
    files = write_exports(tmp_path, ("EUR",))
    assert run_cli(db_url, tmp_path, "import", *map(str, files), "--account", "acct").returncode == 0
    for out in (Path("/dev/null/missing/r.html"), tmp_path / "ledgers.csv" / "r[/].html"):
        done = run_cli(db_url, tmp_path, "report", "--out", str(out))
        text = assert_plain(done)
        assert done.returncode == 1, text
        assert done.stderr.decode().strip().count("\n") == 0, text  # one line
        assert f"error: cannot write the report to '{out}'" in text and "Not a directory" in text
