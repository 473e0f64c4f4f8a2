"""Project settings (pydantic-settings), per the contract in docs/architecture.md.

Environment variables: DATABASE_URL, KRAKEN_ETL_HOME, KRAKEN_API_URL, KRAKEN_WS_AUTH_URL,
KRAKEN_API_KEY / KRAKEN_API_SECRET (or KRAKEN_API_KEY_FILE / KRAKEN_API_SECRET_FILE), KRAKEN_TIER,
KRAKEN_ACCOUNT and KRAKEN_ETL_CONFIG (a TOML file listing several accounts), and the knobs below
(KRAKEN_FLEET_CONCURRENCY, …).

Secrets are `SecretStr`: they never appear in a repr, a log line or an error message. Every problem with a
setting is raised as `SettingsError`, whose message names the setting and what is wrong, in one line.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.errors import KrakenEtlError

# An account label: 1-63 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit; matched
# whole (`fullmatch`: a trailing newline is not a second account). The one rule for every way a label
# enters: KRAKEN_ACCOUNT, the TOML config, `--account` on every command, `import --account`.
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
LABEL_RULE = "1-63 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit"
_DB_URL = re.compile(r"^postgres(?:ql)?(?:\+psycopg)?://[^\s]*$")
# A reporting currency: a canonical asset code (USD, EUR, BTC), 2-10 ASCII capitals or digits.
_CURRENCY = re.compile(r"[A-Z][A-Z0-9]{1,9}")


class SettingsError(KrakenEtlError, ValueError):
    """A setting is missing or wrong; the message names it and never contains a secret."""

    exit_code = 2  # a configuration problem


@dataclass(frozen=True, slots=True)
class Account:
    """One Kraken account: a label for its rows, its credentials and its verification tier."""

    label: str
    api_key: SecretStr | None
    api_secret: SecretStr | None
    tier: str = "starter"
    currency: str | None = None  # reporting currency of this account (None: KRAKEN_REPORTING_CURRENCY)

    @property
    def has_credentials(self) -> bool:
        return self.api_key is not None and self.api_secret is not None

    def __repr__(self) -> str:
        credentials = "set" if self.has_credentials else "missing"
        return f"Account(label={self.label!r}, tier={self.tier!r}, credentials={credentials})"


def _check_tier(value: str, setting: str) -> str:
    tier = value.strip().lower()
    if tier not in TIERS:
        raise SettingsError(f"{setting}: unknown tier {value!r}; expected one of {', '.join(TIERS)}")
    return tier


def check_currency(value: str, setting: str) -> str:
    """A reporting currency: a canonical code (USD, EUR, BTC), upper-cased.

    Raises:
        SettingsError: naming `setting`.
    """
    code = value.strip().upper() if isinstance(value, str) else ""
    if not _CURRENCY.fullmatch(code):
        shown = ascii(value[:40]) if isinstance(value, str) else type(value).__name__
        raise SettingsError(f"{setting}: reporting currency {shown} must be a canonical asset code such as USD")
    return code


def check_label(value: str, setting: str) -> str:
    """An account label checked against the one rule (`LABEL_RULE`), whole: never stripped or folded.

    Raises:
        SettingsError: naming `setting` and the rule (the label is shown escaped, cut to 80 characters).
    """
    if not isinstance(value, str) or not _LABEL.fullmatch(value):
        shown = ascii(value[:80]) if isinstance(value, str) else type(value).__name__
        raise SettingsError(f"{setting}: account label {shown} must be {LABEL_RULE}")
    return value


_check_label = check_label


def check_api_secret(secret: SecretStr | None, setting: str) -> SecretStr | None:
    """Kraken API secrets are base64; refuse anything else up front (the message never shows the value).

    Raises:
        SettingsError: naming `setting`.
    """
    if secret is None:
        return None
    try:
        base64.b64decode(secret.get_secret_value(), validate=True)
    except ValueError:
        raise SettingsError(f"{setting}: not a Kraken API secret (expected base64 text)") from None
    return secret


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, setting: str, secure: str, plain: str) -> str:
    """An API endpoint: `secure` (``https``/``wss``) anywhere, `plain` (``http``/``ws``) only on loopback.

    Signed requests carry the API key; sent in clear text to another machine they could be read on the way.
    TLS verification has no switch at all (httpx verifies against the system trust store).

    Raises:
        SettingsError: naming `setting` (the URL is shown: it holds no secret).
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError(f"{setting}: {url!r} is not a URL") from None
    if parts.scheme not in (secure, plain) or not host:
        raise SettingsError(f"{setting}: {url!r} is not a {secure}:// URL")
    if parts.scheme == plain and not _is_loopback(host):
        raise SettingsError(f"{setting}: {url!r} must use {secure}:// ({plain}:// is allowed only for a "
                            "loopback address such as the local simulator)")
    return url


def read_secret_file(path: str | Path, setting: str) -> SecretStr:
    """Read a secret from a file (Docker-secrets style), stripping the trailing newline.

    Raises:
        SettingsError: when the file cannot be read or is empty (the message names the setting and path).
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{setting}: cannot read secret file {str(path)!r} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{setting}: secret file {str(path)!r} is not UTF-8 text") from None
    if not text:
        raise SettingsError(f"{setting}: secret file {str(path)!r} is empty")
    return SecretStr(text)


class Settings(BaseSettings):
    """Settings read from the environment (and an optional `.env`)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    home: Path = Field(default=Path(".kraken-etl"), alias="KRAKEN_ETL_HOME")
    api_url: str = Field(default="https://api.kraken.com", alias="KRAKEN_API_URL")
    ws_auth_url: str = Field(default="wss://ws-auth.kraken.com/v2", alias="KRAKEN_WS_AUTH_URL")
    api_key: SecretStr | None = Field(default=None, alias="KRAKEN_API_KEY")
    api_secret: SecretStr | None = Field(default=None, alias="KRAKEN_API_SECRET")
    api_key_file: Path | None = Field(default=None, alias="KRAKEN_API_KEY_FILE")
    api_secret_file: Path | None = Field(default=None, alias="KRAKEN_API_SECRET_FILE")
    tier: str = Field(default="starter", alias="KRAKEN_TIER")
    account_label: str = Field(default="default", alias="KRAKEN_ACCOUNT")
    config_file: Path | None = Field(default=None, alias="KRAKEN_ETL_CONFIG")
    # Simulator runs only (tests, benchmarks, the demo): the simulator drains its call counter this many
    # times faster, and the client's counter model must match. Against real Kraken it stays 1.
    rate_scale: float = Field(default=1.0, alias="KRAKEN_RATE_SCALE", gt=0)
    # A sync window holding more rows than this is walked in sub-windows of about this many, each committed
    # with its bookmark (memory stays flat; a crash resumes at the last one).
    sync_window_rows: int = Field(default=50_000, alias="KRAKEN_SYNC_WINDOW_ROWS", gt=0)
    # The currency values are reported in (canonical code); an account in the TOML file may set its own.
    reporting_currency: str = Field(default="USD", alias="KRAKEN_REPORTING_CURRENCY")
    # Each balance snapshot also asks TradeBalance in up to this many held assets (one private call each), so
    # the valuation check can read Kraken's own price of each and name the asset behind a difference.
    trade_balance_denominations: int = Field(default=8, alias="KRAKEN_TRADE_BALANCE_DENOMINATIONS", ge=0)
    # The nightly fanned out over Prefect workers (`kraken-etl nightly --fan-out`, the `nightly-fleet`
    # deployment): how many accounts run at once, and how often the parent reads their states.
    fleet_concurrency: int = Field(default=8, alias="KRAKEN_FLEET_CONCURRENCY", gt=0)
    fleet_poll_seconds: float = Field(default=5.0, alias="KRAKEN_FLEET_POLL_SECONDS", gt=0)

    def currency_for(self, account: Account) -> str:
        """The reporting currency of `account`: its own (TOML ``currency``) or KRAKEN_REPORTING_CURRENCY."""
        return account.currency or self.reporting_currency

    def reporting_currencies(self) -> list[str]:
        """Every configured reporting currency (the default and each account's own), sorted."""
        return sorted({self.reporting_currency, *(self.currency_for(a) for a in self.accounts())})

    @field_validator("database_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("reporting_currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        return check_currency(value, "KRAKEN_REPORTING_CURRENCY")

    def currency_by_account(self) -> dict[str, str]:
        """Each configured account's reporting currency: its own in the accounts file, else the setting's."""
        return {a.label: self.currency_for(a) for a in self.accounts()}

    def sqlalchemy_url(self) -> str | None:
        """DATABASE_URL normalised to the psycopg 3 driver (`postgresql+psycopg://`), or None if unset."""
        if self.database_url is None:
            return None
        return normalise_database_url(self.database_url.get_secret_value())

    def accounts(self) -> list[Account]:
        """The accounts to work on: the TOML file's list when KRAKEN_ETL_CONFIG is set, else the default one.

        Raises:
            SettingsError: on an unreadable/invalid TOML file, duplicate labels, unknown tiers or
                unreadable secret files.
        """
        if self.config_file is not None:
            return load_accounts_file(self.config_file)
        key = self.api_key
        secret = self.api_secret
        if self.api_key_file is not None:
            key = read_secret_file(self.api_key_file, "KRAKEN_API_KEY_FILE")
        if self.api_secret_file is not None:
            secret = read_secret_file(self.api_secret_file, "KRAKEN_API_SECRET_FILE")
        secret = check_api_secret(
            secret, "KRAKEN_API_SECRET_FILE" if self.api_secret_file is not None else "KRAKEN_API_SECRET"
        )
        return [
            Account(
                label=_check_label(self.account_label, "KRAKEN_ACCOUNT"),
                api_key=key,
                api_secret=secret,
                tier=_check_tier(self.tier, "KRAKEN_TIER"),
            )
        ]

    def entities(self) -> dict[str, list[str]]:
        """Tax entities for the books: `[entities.NAME] accounts = [...]` in the KRAKEN_ETL_CONFIG file, plus
        every account alone under its own label (unless an entity of that name is declared).

        Raises:
            SettingsError: on an entity naming an account that is not configured, or a malformed table.
        """
        if self.config_file is None:
            label = _check_label(self.account_label, "KRAKEN_ACCOUNT")
            return {label: [label]}
        return load_entities_file(self.config_file)

    def select_accounts(self, labels: list[str] | None = None) -> list[Account]:
        """The configured accounts, narrowed to `labels` when given.

        Raises:
            SettingsError: when a requested label is not configured.
        """
        accounts = self.accounts()
        if not labels:
            return accounts
        for label in labels:
            check_label(label, "--account")
        known = {a.label: a for a in accounts}
        missing = [label for label in labels if label not in known]
        if missing:
            raise SettingsError(
                f"--account: unknown account {missing[0]!r}; configured: {', '.join(known)} "
                "(name the account with KRAKEN_ACCOUNT, or list several in the KRAKEN_ETL_CONFIG file)"
            )
        return [known[label] for label in labels]


def load_entities_file(path: Path) -> dict[str, list[str]]:
    """Each account of a KRAKEN_ETL_CONFIG file alone, then its `[entities.NAME] accounts = ["a", "b"]` tables
    (no secret is read: the books need none)."""
    setting = "KRAKEN_ETL_CONFIG"
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{setting}: cannot read {str(path)!r} ({exc})") from None
    labels = [e["label"] for e in data.get("accounts", []) if isinstance(e, dict) and isinstance(e.get("label"), str)]
    tables = data.get("entities", {})
    if not isinstance(tables, dict):
        raise SettingsError(f"{setting}: 'entities' must be tables: [entities.NAME] accounts = [...]")
    entities: dict[str, list[str]] = {}
    for name, table in tables.items():
        where = f"{setting}: entities.{name}"
        _check_label(name, where)
        accounts = table.get("accounts") if isinstance(table, dict) else None
        if not isinstance(accounts, list) or not accounts or not all(isinstance(a, str) for a in accounts):
            raise SettingsError(f"{where}: needs accounts = [\"label\", ...]")
        unknown = [a for a in accounts if a not in labels]
        if unknown:
            raise SettingsError(f"{where}: unknown account {unknown[0]!r}; configured: {', '.join(labels)}")
        entities[name] = list(dict.fromkeys(accounts))
    return {**{label: [label] for label in labels}, **entities}


def normalise_database_url(url: str) -> str:
    """Return `url` with the psycopg 3 driver; raise SettingsError (without echoing it) if malformed."""
    url = url.strip()
    if not _DB_URL.match(url):
        scheme = url.split("://", 1)[0] if "://" in url else "(no scheme)"
        raise SettingsError(
            f"DATABASE_URL: not a PostgreSQL URL (scheme {scheme!r}); expected postgresql+psycopg://user@host/db"
        )
    rest = url.split("://", 1)[1]
    if not rest or rest.startswith("?"):
        raise SettingsError("DATABASE_URL: no host or database in the URL")
    from urllib.parse import urlsplit

    try:
        urlsplit("postgresql://" + rest).port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError("DATABASE_URL: the port is not a number in 0-65535") from None
    return "postgresql+psycopg://" + rest


def load_accounts_file(path: Path) -> list[Account]:
    """Parse a KRAKEN_ETL_CONFIG file.

    Format::

        [[accounts]]
        label = "main"
        tier = "intermediate"
        currency = "EUR"                  # optional: reporting currency (default KRAKEN_REPORTING_CURRENCY)
        api_key_env = "MAIN_KEY"          # or api_key_file = "/run/secrets/main_key"
        api_secret_file = "/run/secrets/main_secret"   # or api_secret_env = "MAIN_SECRET"

    Secrets are never written in the file itself: each comes from an environment variable or a file.

    Raises:
        SettingsError: naming KRAKEN_ETL_CONFIG and what is wrong.
    """
    setting = "KRAKEN_ETL_CONFIG"
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{setting}: cannot read {str(path)!r} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{setting}: {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{setting}: {str(path)!r} is not valid TOML ({exc})") from None
    entries = data.get("accounts")
    if not isinstance(entries, list) or not entries:
        raise SettingsError(f"{setting}: {str(path)!r} has no [[accounts]] entries")
    accounts: list[Account] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{setting}: accounts[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
            raise SettingsError(f"{where}: every account needs a string 'label'")
        label = _check_label(entry["label"], where)
        if label in seen:
            raise SettingsError(f"{setting}: duplicate account label {label!r}")
        seen.add(label)
        unknown = set(entry) - {
            "label",
            "tier",
            "currency",
            "api_key_env",
            "api_key_file",
            "api_secret_env",
            "api_secret_file",
        }
        if unknown:
            raise SettingsError(
                f"{where} ({label}): unknown keys {sorted(unknown)}; secrets go in *_env or *_file"
            )
        accounts.append(
            Account(
                label=label,
                api_key=_secret_from(entry, "api_key", f"{where} ({label})"),
                api_secret=check_api_secret(
                    _secret_from(entry, "api_secret", f"{where} ({label})"), f"{where} ({label}).api_secret"
                ),
                tier=_check_tier(str(entry.get("tier", "starter")), f"{where} ({label}).tier"),
                currency=(check_currency(entry["currency"], f"{where} ({label}).currency")
                          if "currency" in entry else None),
            )
        )
    return accounts


def _secret_from(entry: dict[str, Any], name: str, where: str) -> SecretStr | None:
    env_name = entry.get(f"{name}_env")
    file_name = entry.get(f"{name}_file")
    if env_name and file_name:
        raise SettingsError(f"{where}: set {name}_env or {name}_file, not both")
    if file_name:
        return read_secret_file(str(file_name), f"{where}.{name}_file")
    if env_name:
        value = os.environ.get(str(env_name))
        if not value:
            raise SettingsError(f"{where}.{name}_env: environment variable {env_name!r} is not set")
        return SecretStr(value)
    return None


def load_settings() -> Settings:
    """Read the settings from the environment, turning pydantic's errors into one-line SettingsErrors.

    Raises:
        SettingsError: naming the first setting that is wrong.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "settings"
        raise SettingsError(f"{name}: {first['msg']}") from None
    _check_tier(settings.tier, "KRAKEN_TIER")
    check_endpoint(settings.api_url, "KRAKEN_API_URL", "https", "http")
    check_endpoint(settings.ws_auth_url, "KRAKEN_WS_AUTH_URL", "wss", "ws")
    settings.sqlalchemy_url()  # validates DATABASE_URL early
    settings.accounts()  # validates tiers, labels, secret files and the TOML config early
    return settings
