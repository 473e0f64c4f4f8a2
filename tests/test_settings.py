"""Settings: defaults, secrets as secret types, *_FILE variants, the TOML account list, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kraken_etl.settings import SettingsError, load_settings

SECRET = "c2VjcmV0LXZhbHVlLW5ldmVyLXRvLWJlLXByaW50ZWQ="

ALL_VARS = [
    "DATABASE_URL",
    "KRAKEN_ETL_HOME",
    "KRAKEN_API_URL",
    "KRAKEN_WS_AUTH_URL",
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "KRAKEN_API_KEY_FILE",
    "KRAKEN_API_SECRET_FILE",
    "KRAKEN_TIER",
    "KRAKEN_ACCOUNT",
    "KRAKEN_ETL_CONFIG",
    "KRAKEN_REPORTING_CURRENCY",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.home == Path(".kraken-etl")
    assert settings.api_url == "https://api.kraken.com"
    assert settings.ws_auth_url == "wss://ws-auth.kraken.com/v2"
    [account] = settings.accounts()
    assert (account.label, account.tier, account.has_credentials) == ("default", "starter", False)


def test_fleet_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert (settings.fleet_concurrency, settings.fleet_batch_size, settings.fleet_poll_seconds) == (8, 32, 5.0)
    monkeypatch.setenv("KRAKEN_FLEET_CONCURRENCY", "40")
    monkeypatch.setenv("KRAKEN_FLEET_BATCH_SIZE", "3")
    monkeypatch.setenv("KRAKEN_FLEET_POLL_SECONDS", "0.5")
    settings = load_settings()
    assert (settings.fleet_concurrency, settings.fleet_batch_size, settings.fleet_poll_seconds) == (40, 3, 0.5)


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5433/books")
    monkeypatch.setenv("KRAKEN_TIER", "Pro")
    monkeypatch.setenv("KRAKEN_ACCOUNT", "treasury")
    monkeypatch.setenv("KRAKEN_API_KEY", "key-1")
    monkeypatch.setenv("KRAKEN_API_SECRET", SECRET)
    settings = load_settings()
    assert settings.sqlalchemy_url() == "postgresql+psycopg://u:p@127.0.0.1:5433/books"
    [account] = settings.accounts()
    assert (account.label, account.tier) == ("treasury", "pro")
    assert account.api_secret is not None and account.api_secret.get_secret_value() == SECRET


def test_secrets_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_API_KEY", "key-1")
    monkeypatch.setenv("KRAKEN_API_SECRET", SECRET)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@h/db")
    settings = load_settings()
    text = repr(settings) + str(settings) + repr(settings.accounts())
    assert SECRET not in text
    assert "hunter2" not in text
    assert "key-1" not in text


def test_secret_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "key").write_text("file-key\n")
    (tmp_path / "secret").write_text(SECRET + "\n")
    monkeypatch.setenv("KRAKEN_API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("KRAKEN_API_SECRET_FILE", str(tmp_path / "secret"))
    [account] = load_settings().accounts()
    assert account.api_key is not None and account.api_key.get_secret_value() == "file-key"
    assert account.api_secret is not None and account.api_secret.get_secret_value() == SECRET


def test_toml_accounts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "b.secret").write_text(SECRET)
    config = tmp_path / "accounts.toml"
    config.write_text(
        '[[accounts]]\nlabel = "a"\ntier = "intermediate"\napi_key_env = "A_KEY"\napi_secret_env = "A_SECRET"\n'
        f'[[accounts]]\nlabel = "b"\napi_key_env = "A_KEY"\napi_secret_file = "{tmp_path / "b.secret"}"\n'
    )
    monkeypatch.setenv("A_KEY", "k")
    monkeypatch.setenv("A_SECRET", SECRET)
    monkeypatch.setenv("KRAKEN_ETL_CONFIG", str(config))
    settings = load_settings()
    accounts = settings.accounts()
    assert [(a.label, a.tier) for a in accounts] == [("a", "intermediate"), ("b", "starter")]
    assert [a.label for a in settings.select_accounts(["b"])] == ["b"]
    with pytest.raises(SettingsError, match=r"unknown account .c.; configured: a, b \(name the account with KRAKEN_"):
        settings.select_accounts(["c"])


def test_reporting_currency_default_and_per_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings().reporting_currencies() == ["USD"]
    config = tmp_path / "accounts.toml"
    config.write_text('[[accounts]]\nlabel = "a"\ncurrency = "eur"\n[[accounts]]\nlabel = "b"\n')
    monkeypatch.setenv("KRAKEN_ETL_CONFIG", str(config))
    monkeypatch.setenv("KRAKEN_REPORTING_CURRENCY", "gbp")
    settings = load_settings()
    a, b = settings.accounts()
    assert (settings.currency_for(a), settings.currency_for(b)) == ("EUR", "GBP")
    assert settings.reporting_currencies() == ["EUR", "GBP"]


def test_reporting_currency_from_the_setting_and_per_account(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    assert load_settings().reporting_currency == "USD"
    config = tmp_path / "accounts.toml"
    config.write_text('[[accounts]]\nlabel = "a"\ncurrency = "eur"\n[[accounts]]\nlabel = "b"\n')
    monkeypatch.setenv("KRAKEN_ETL_CONFIG", str(config))
    monkeypatch.setenv("KRAKEN_REPORTING_CURRENCY", " gbp ")
    settings = load_settings()
    assert settings.reporting_currency == "GBP"
    assert settings.currency_by_account() == {"a": "EUR", "b": "GBP"}


@pytest.mark.parametrize(
    ("env", "toml", "message"),
    [
        ({"DATABASE_URL": "mysql://u:pw@h/db"}, None, "DATABASE_URL: not a PostgreSQL URL"),
        ({"DATABASE_URL": "postgresql://"}, None, "DATABASE_URL: no host or database"),
        ({"KRAKEN_TIER": "gold"}, None, "KRAKEN_TIER: unknown tier 'gold'"),
        (
            {"KRAKEN_API_SECRET_FILE": "/nonexistent/secret"},
            None,
            "KRAKEN_API_SECRET_FILE: cannot read secret file",
        ),
        ({"KRAKEN_ACCOUNT": "bad label!"}, None, "KRAKEN_ACCOUNT: account label"),
        ({"KRAKEN_API_SECRET": "notbase64"}, None, "KRAKEN_API_SECRET: not a Kraken API secret"),
        ({}, '[[accounts]]\nlabel = "x"\n[[accounts]]\nlabel = "x"\n', "duplicate account label 'x'"),
        ({}, '[[accounts]]\nlabel = "x"\ntier = "platinum"\n', "unknown tier 'platinum'"),
        ({}, "[[accounts]\n", "is not valid TOML"),
        ({"KRAKEN_REPORTING_CURRENCY": "US$"}, None, "KRAKEN_REPORTING_CURRENCY: reporting currency 'US"),
        ({}, '[[accounts]]\nlabel = "x"\ncurrency = "E"\n', "currency: reporting currency 'E' must be"),
        ({}, '[[accounts]]\nlabel = "x"\ncurrency = "<b>"\n', "currency: reporting currency '<b>' must be"),
        ({}, '[[accounts]]\nlabel = "x"\napi_secret = "inline"\n', "secrets go in *_env or *_file"),
        ({"KRAKEN_FLEET_CONCURRENCY": "0"}, None, "KRAKEN_FLEET_CONCURRENCY: Input should be greater than 0"),
        ({"KRAKEN_FLEET_BATCH_SIZE": "0"}, None, "KRAKEN_FLEET_BATCH_SIZE: Input should be greater than 0"),
        (
            {},
            '[[accounts]]\nlabel = "x"\napi_key_env = "NOT_SET_ANYWHERE"\n',
            "'NOT_SET_ANYWHERE' is not set",
        ),
    ],
)
def test_bad_settings_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str], toml: str | None, message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if toml is not None:
        (tmp_path / "c.toml").write_text(toml)
        monkeypatch.setenv("KRAKEN_ETL_CONFIG", str(tmp_path / "c.toml"))
    with pytest.raises(SettingsError, match=message.replace("*", r"\*").replace("(", r"\(")):
        load_settings()


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "mysql://user:hunter2@h/db"},
        {"KRAKEN_TIER": "gold", "KRAKEN_API_SECRET": SECRET},
        {"KRAKEN_API_KEY_FILE": "/nonexistent/key", "KRAKEN_API_SECRET": SECRET},
        {"KRAKEN_API_SECRET": "hunter2-is-not-base64"},
    ],
)
def test_cli_bad_setting_is_one_clear_line(env: dict[str, str], tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ALL_VARS}
    clean.update(env, KRAKEN_ETL_HOME=str(tmp_path))
    out = subprocess.run(
        [sys.executable, "-m", "kraken_etl", "db", "url"],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in out.stderr
    assert SECRET not in out.stderr + out.stdout
    assert "hunter2" not in out.stderr + out.stdout


@pytest.mark.parametrize("url", ["http://api.kraken.com", "http://10.0.0.5:8080", "ftp://127.0.0.1", "api.kraken.com",
                                 "https://", "http://127.0.0.1:notaport"])
def test_api_url_must_be_https_unless_loopback(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("KRAKEN_API_URL", url)
    with pytest.raises(SettingsError, match="KRAKEN_API_URL"):
        load_settings()


@pytest.mark.parametrize("url", ["https://api.kraken.com", "http://127.0.0.1:8080", "http://localhost:1",
                                 "http://[::1]:9000", "https://10.0.0.5"])
def test_api_url_accepted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("KRAKEN_API_URL", url)
    assert load_settings().api_url == url


def test_ws_url_must_be_wss_unless_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_WS_AUTH_URL", "ws://ws-auth.kraken.com/v2")
    with pytest.raises(SettingsError, match="KRAKEN_WS_AUTH_URL"):
        load_settings()
    monkeypatch.setenv("KRAKEN_WS_AUTH_URL", "ws://127.0.0.1:8765/v2")
    assert load_settings().ws_auth_url.startswith("ws://127.0.0.1")


def test_tls_verification_is_on_for_kraken() -> None:
    import ssl

    from kraken_etl.kraken.http import default_transport

    transport = default_transport("https://api.kraken.com")
    assert transport is not None
    context = transport._pool._ssl_context  # httpcore's pool holds the SSL context httpx built
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
