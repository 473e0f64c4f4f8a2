"""Settings and network drills ("found already": DATABASE_URL and credentials).

Each wrong setting ends the command within 5 s with exit code 2 (configuration) or 1 (Kraken said no),
exactly one error line naming the setting, no traceback and no secret. Every command runs as a real
process against loopback servers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.drills.support import (
    CANARY_KEY,
    CANARY_PASSWORD,
    CANARY_SECRET,
    assert_one_clean_line,
    clean_env,
    free_port,
    http_server,
    run_cli,
    silent_listener,
)

LIMIT_SECONDS = 5.0
_STARTUP: list[float] = []


def _startup_seconds() -> float:
    """What a fresh `kraken-etl --help` process costs right now (interpreter and imports, on a machine that
    may be shared): the 5 s budget is for the product's own waiting, measured on top of this."""
    if not _STARTUP:
        _STARTUP.append(run_cli(clean_env(), "--help").seconds)
    return _STARTUP[0]


def _within_limit(seconds: float) -> None:
    allowance = max(3.0, 2 * _startup_seconds())  # a failing command imports more than --help does
    assert seconds < LIMIT_SECONDS + allowance, (seconds, allowance)


def _creds() -> dict[str, str]:
    return {"KRAKEN_API_KEY": CANARY_KEY, "KRAKEN_API_SECRET": CANARY_SECRET}


@pytest.mark.parametrize("command", [["sync"], ["status"], ["import", "nothing.csv"]])
def test_unreachable_database_url_is_one_masked_line_exit_2(command: list[str], tmp_path: Path) -> None:
    """It printed 140-160 lines of traceback on sync, status and import."""
    url = f"postgresql://etl:{CANARY_PASSWORD}@127.0.0.1:{free_port()}/kraken"
    env = clean_env(DATABASE_URL=url, KRAKEN_ETL_HOME=str(tmp_path), **_creds())
    run = run_cli(env, *command)
    line = assert_one_clean_line(run, code=2, naming="DATABASE_URL")
    assert "***" in line and "127.0.0.1" in line
    _within_limit(run.seconds)


def test_a_database_that_never_answers_fails_within_the_connect_timeout(tmp_path: Path) -> None:
    with silent_listener() as port:
        url = f"postgresql://etl:{CANARY_PASSWORD}@127.0.0.1:{port}/kraken"
        env = clean_env(DATABASE_URL=url, KRAKEN_ETL_HOME=str(tmp_path), **_creds())
        run = run_cli(env, "status")
    assert_one_clean_line(run, code=2, naming="DATABASE_URL")
    _within_limit(run.seconds)


def test_a_malformed_database_url_is_a_settings_error(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=f"mysql://root:{CANARY_PASSWORD}@127.0.0.1/x", KRAKEN_ETL_HOME=str(tmp_path))
    assert_one_clean_line(run_cli(env, "status"), code=2, naming="DATABASE_URL")


def test_missing_credentials_exit_2(db_url: str, tmp_path: Path) -> None:
    """They exited 1 while the docs promise 2 for configuration problems."""
    env = clean_env(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(tmp_path), KRAKEN_API_URL="http://127.0.0.1:9")
    run = run_cli(env, "sync", "--stream", "ledgers")
    assert_one_clean_line(run, code=2, naming="KRAKEN_API_KEY")


@pytest.mark.parametrize("secret", ["not base64 !!", "%%%%"])
def test_a_malformed_secret_is_refused_without_echoing_it(secret: str, tmp_path: Path) -> None:
    env = clean_env(KRAKEN_ETL_HOME=str(tmp_path), KRAKEN_API_KEY=CANARY_KEY, KRAKEN_API_SECRET=secret,
                    DATABASE_URL="postgresql://u@127.0.0.1:1/x")
    run = run_cli(env, "status")
    line = assert_one_clean_line(run, code=2, naming="KRAKEN_API_SECRET")
    assert secret not in line


def _sync_against(api_url: str, db_url: str, home: Path) -> str:
    env = clean_env(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home), KRAKEN_API_URL=api_url, **_creds())
    run = run_cli(env, "sync", "--stream", "ledgers")
    _within_limit(run.seconds)
    return assert_one_clean_line(run, code=1, naming="KRAKEN_API_URL")


def test_refused_api_port(db_url: str, tmp_path: Path) -> None:
    line = _sync_against(f"http://127.0.0.1:{free_port()}", db_url, tmp_path)
    assert "127.0.0.1" in line


def test_api_url_answering_404(db_url: str, tmp_path: Path) -> None:
    with http_server(404, b"<html>not found</html>") as url:
        line = _sync_against(url, db_url, tmp_path)
    assert "HTTP 404" in line and "127.0.0.1" in line


def test_api_url_answering_an_html_page(db_url: str, tmp_path: Path) -> None:
    with http_server(200, b"<!doctype html><title>Welcome to nginx</title>") as url:
        line = _sync_against(url, db_url, tmp_path)
    assert "HTML" in line


def test_api_url_with_a_tls_error(db_url: str, tmp_path: Path) -> None:
    """``https://`` to a server that does not speak TLS: a TLS failure, fatal at once (never unverified)."""
    with http_server(200, b"{}") as url:
        line = _sync_against(url.replace("http://", "https://"), db_url, tmp_path)
    assert "TLS" in line


def test_the_database_going_away_mid_command_is_one_line_without_sql() -> None:
    import psycopg
    from sqlalchemy.exc import OperationalError

    from kraken_etl.db.engine import DATABASE_ERRORS, describe_database_error

    cause = psycopg.OperationalError("server closed the connection unexpectedly\n\tThis probably means ...")
    exc = OperationalError("INSERT INTO kraken.ledger_entry VALUES (%(a)s)", {"a": "row data"}, cause)
    assert isinstance(exc, DATABASE_ERRORS)
    line = describe_database_error(exc)
    assert line == "database: server closed the connection unexpectedly"
