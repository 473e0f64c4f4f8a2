"""A command pointed at a database that was never migrated migrates it, or says in one line what to run.

Both ways a new user meets one: a new KRAKEN_ETL_HOME (the embedded cluster starts empty) and a DATABASE_URL
naming an empty database. Never a traceback, never `relation … does not exist`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from sqlalchemy import text

from kraken_etl.cli.common import handle_errors
from kraken_etl.db import embedded
from kraken_etl.db.engine import make_engine
from kraken_etl.db.summary import bookmarks
from tests import dbharness


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env={**env, "COLUMNS": "200", "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture()
def empty_url(pg_admin_url: str) -> Iterator[str]:
    """An empty database (no migration ran on it)."""
    name = dbharness.unique_name("kt_empty")
    embedded.create_database(pg_admin_url, name)
    try:
        yield dbharness.url_for(pg_admin_url, name)
    finally:
        dbharness.drop_database(pg_admin_url, name)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'kraken'")).scalars())
    finally:
        engine.dispose()


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    return {**env, "KRAKEN_ETL_HOME": str(home)}


def test_status_on_a_new_home_migrates_the_new_cluster(cluster_home: Path) -> None:
    env = _clean_env(cluster_home)
    try:
        done = _run(env, "status")
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "does not exist" not in done.stderr
        assert "unresolved quarantine: 0" in done.stdout
    finally:
        _run(env, "db", "stop")


def test_status_on_an_empty_database_migrates_it(empty_url: str, tmp_path: Path) -> None:
    done = _run({**_clean_env(tmp_path), "DATABASE_URL": empty_url}, "status")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert {"sync_state", "sync_run", "ledger_entry"} <= _tables(empty_url)


@pytest.mark.parametrize("args", [
    ("status",), ("report", "--out", "{tmp}/r.html"), ("reconcile",), ("reconcile", "ack", "1", "--note", "x"),
], ids=lambda a: " ".join(a[:2]))
def test_no_command_shows_a_traceback_on_an_empty_database(empty_url: str, tmp_path: Path,
                                                             args: tuple[str, ...]) -> None:
    done = _run({**_clean_env(tmp_path), "DATABASE_URL": empty_url}, *(a.format(tmp=tmp_path) for a in args))
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert "does not exist" not in done.stderr or "kraken-etl db upgrade" in done.stderr
    assert len(errors) <= 1, done.stderr
    if done.returncode != 0:
        assert errors and errors[0].startswith("error: "), done.stderr


def test_a_query_on_an_unmigrated_database_ends_in_one_line_naming_the_fix(
    empty_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever command reads a table the database does not have yet gets the same one line, exit 2."""

    @handle_errors
    def reads_bookmarks() -> None:
        engine = make_engine(empty_url)
        try:
            bookmarks(engine)
        finally:
            engine.dispose()

    with pytest.raises(typer.Exit) as ended:
        reads_bookmarks()
    assert ended.value.exit_code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: the database is not migrated to this version's schema: run "
                               "`kraken-etl db upgrade`: relation \"kraken.")
