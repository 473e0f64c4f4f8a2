"""What the command line says about itself: plain help, `--version`, our own errors in our own words, no
migration chatter from `listen`, and no wrapping when the output is a pipe."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from kraken_etl.cli.main import app
from kraken_etl.kraken import envelope
from kraken_etl.kraken import errors as e
from tests.cli.hostile import assert_plain, run_cli, write_exports

PYTHON_TYPES = re.compile(r"<(bool|str|int|float|Path|list\[[^\]]*\])>|\{[A-Za-z_.]+\}")


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _command_paths(sub, (*path, name))
    return found


def test_help_names_values_plainly() -> None:
    paths = _command_paths(typer.main.get_command(app))
    assert len(paths) > 12  # every command and subcommand
    for path in paths:
        done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
        assert done.exit_code == 0, (path, done.output)
        assert not PYTHON_TYPES.search(done.output), (path, PYTHON_TYPES.search(done.output), done.output)
    imported = CliRunner().invoke(app, ["import", "--help"], env={"COLUMNS": "120"}).output
    assert "kraken-etl import [OPTIONS] FILE..." in imported and "FILE......" not in imported
    assert re.search(r"--account\s+TEXT", imported) and re.search(r"--help\s+Show this message", imported)


def test_version() -> None:
    done = CliRunner().invoke(app, ["--version"])
    assert done.exit_code == 0 and done.output == f"kraken-etl {version('kraken-etl')}\n"


def test_our_own_errors_are_not_worded_as_krakens() -> None:
    for cls in (e.TransportFailure, e.RetriesExhausted, e.PaginationDrift, e.MalformedResponse, e.HttpStatusError,
                e.TlsFailure, e.MissingCredentials):
        code = next(c for c, k in envelope.ERRORS.items() if k is cls)
        text = str(cls(code, "detail", method="Ledgers"))
        assert "Kraken E" not in text and "EClient" not in text and "ETransport" not in text, text
        # a server that sends one of our tags sent an unknown code, not our finding
        assert type(envelope.error_for(code)) is e.UnknownKrakenError
    assert str(e.InvalidKey("EAPI:Invalid key")).startswith("Kraken EAPI:Invalid key")  # Kraken's own keep theirs


def test_missing_credentials_and_a_quiet_listen(db_url: str, tmp_path: Path) -> None:
    for command in ("listen", "sync"):
        done = run_cli(db_url, tmp_path, command)
        err = assert_plain(done)
        assert done.returncode == 2, err
        assert "no API key or secret (account 'default')" in err and "EClient" not in err, err
        assert "alembic" not in err and " INFO " not in err, err  # no migration chatter


def test_piped_output_is_not_wrapped(db_url: str, tmp_path: Path) -> None:
    long_asset = "LONG" + "X" * 150 + " WORDS " * 10
    files = write_exports(tmp_path, (long_asset.strip(),))
    assert run_cli(db_url, tmp_path, "import", *map(str, files), "--account", "wide").returncode == 0
    done = run_cli(db_url, tmp_path, "reconcile", "--account", "wide")
    out = assert_plain(done)
    assert any(f"asset '{long_asset.strip()}' is not in the known-asset table" in line for line in out.splitlines())
