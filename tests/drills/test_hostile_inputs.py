"""Hostile inputs outside the rows: paths that are not files, settings that are not what they claim,
account labels that are not labels, and files refused as a whole. Each ends in one line and an exit code
through the real CLI (never a traceback or a hang), and a refused file leaves the freshness view clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from kraken_etl.db.rejected_imports import rejected_imports
from kraken_etl.jobs.fileload import import_files
from kraken_etl.settings import SettingsError, check_label, load_accounts_file
from tests.drills.test_file_attacks import ledger_csv


def _cli(env_extra: dict[str, str], home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKEN_") and k != "DATABASE_URL"}
    env.update(KRAKEN_ETL_HOME=str(home), COLUMNS="200", NO_COLOR="1", **env_extra)
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True, text=True,
                          timeout=60, check=False)


def _one_line(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    assert words in lines[0], lines[0]


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "ledgers.csv"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: (p / "a-folder").mkdir() or p / "a-folder", "a directory"),
    (_fifo, "a FIFO"),
    (lambda _p: Path("/dev/zero"), "a device"),
])
def test_importing_a_path_that_is_not_a_regular_file_is_one_line_not_a_hang(db_url: str, tmp_path: Path,
                                                                          make: object, words: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = _cli({"DATABASE_URL": db_url}, tmp_path, "import", "--account", "client", str(path))
    _one_line(result, 1, words)


def test_a_secret_file_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"\xff\xfe\x00not text")
    result = _cli({"KRAKEN_API_SECRET_FILE": str(secret)}, tmp_path, "status")
    _one_line(result, 2, "KRAKEN_API_SECRET_FILE: secret file")
    assert "not UTF-8" in result.stderr


def test_a_database_url_whose_port_is_not_a_number_is_one_line(tmp_path: Path) -> None:
    result = _cli({"DATABASE_URL": "postgresql://kraken@127.0.0.1:notaport/kraken_etl"}, tmp_path, "status")
    _one_line(result, 2, "DATABASE_URL: the port is not a number")


@pytest.mark.parametrize("label", ["main\n", "main ", "<b>x</b>", "a\x1b[2Jb", "", "-main", "x" * 64, "mäin",
                                   "a" * 5000])
def test_a_label_off_the_rule_is_refused_wherever_it_enters(label: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="must be 1-63 ASCII letters"):
        check_label(label, "KRAKEN_ACCOUNT")
    config = tmp_path / "accounts.toml"
    config.write_text(f"[[accounts]]\nlabel = {json.dumps(label)}\n")  # a TOML basic string
    with pytest.raises(SettingsError, match="must be 1-63 ASCII letters"):
        load_accounts_file(config)


@pytest.mark.parametrize("label", ["main", "Client-Zeta", "a", "acct_2024.q1", "x" * 63])
def test_labels_on_the_rule_are_accepted(label: str) -> None:
    assert check_label(label, "KRAKEN_ACCOUNT") == label


def test_kraken_account_with_a_trailing_newline_is_not_a_second_account(tmp_path: Path) -> None:
    result = _cli({"KRAKEN_ACCOUNT": "main\n"}, tmp_path, "status")
    _one_line(result, 2, "KRAKEN_ACCOUNT: account label 'main\\n' must be")


@pytest.mark.parametrize("command", [["import", "--account"], ["reconcile", "--account"], ["report", "--out",
                                                                                              "r.html", "--account"],
                                     ["sync", "--account"]])
def test_account_option_off_the_rule_is_refused_on_every_command(db_url: str, tmp_path: Path,
                                                                 command: list[str]) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(ledger_csv(2))
    args = [*command, "<script>x</script>\x1b[2J"]
    if command[0] == "import":
        args.append(str(path))
    result = _cli({"DATABASE_URL": db_url}, tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr and "\x1b" not in result.stdout
    assert "1-63 ASCII letters" in result.stderr


def test_a_rejected_import_is_recorded_as_such_and_sync_health_stays_clean(engine: Engine, tmp_path: Path) -> None:
    good = tmp_path / "ledgers.csv"
    good.write_text(ledger_csv(3))
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK\x03\x04 this is not a zip")
    odd = tmp_path / "odd.csv"
    odd.write_text("date,amount,note\n2024-01-01,1,x\n")
    results = import_files(engine, [good, fake, odd], account="books")
    assert [r.error is None for r in results] == [True, False, False]
    with engine.connect() as conn:
        health = conn.execute(text("SELECT stream, last_run_status FROM reporting.sync_health "
                                   "WHERE account = 'books' ORDER BY stream")).all()
        runs = conn.execute(text("SELECT stream, status FROM kraken.sync_run WHERE account = 'books'")).all()
    assert [tuple(h) for h in health] == [("ledgers", "ok")]
    assert [tuple(r) for r in runs] == [("ledgers", "ok")]
    refused = rejected_imports(engine, "books")
    assert [(r["file_name"], "zip" in str(r["error"]) or "not a Kraken" in str(r["error"])) for r in refused] == [
        ("odd.csv", True), ("fake.zip", True)]
