"""Project settings (pydantic-settings), per the contract in docs/architecture.md.

Environment variables: DATABASE_URL, KRAKEN_ETL_HOME, KRAKEN_API_URL, KRAKEN_WS_AUTH_URL,
KRAKEN_API_KEY / KRAKEN_API_SECRET (or KRAKEN_API_KEY_FILE / KRAKEN_API_SECRET_FILE), KRAKEN_TIER,
KRAKEN_ACCOUNT and KRAKEN_ETL_CONFIG (a TOML file listing several accounts), and the knobs below
(KRAKEN_FLEET_CONCURRENCY, …).

Secrets are `SecretStr`: they never appear in a repr, a log line or an error message. Every problem with a
setting is raised as `SettingsError`, whose message names the setting and what is wrong, in one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kraken_etl.settings.files import Account, load_accounts_file, load_entities_file
from kraken_etl.settings.rules import (
    LABEL_RULE,
    SettingsError,
    check_api_secret,
    check_currency,
    check_endpoint,
    check_label,
    check_tier,
    normalise_database_url,
    read_secret_file,
)

__all__ = [  # the rules and the file's accounts are named here too: every caller imports settings from one place
    "LABEL_RULE",
    "Account",
    "Settings",
    "SettingsError",
    "check_label",
    "load_accounts_file",
    "load_settings",
    "normalise_database_url",
]


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
    # deployment): how many flow runs at once, how many accounts each runs (a batch shares one process and its
    # imports), and how often the parent reads their states.
    fleet_concurrency: int = Field(default=8, alias="KRAKEN_FLEET_CONCURRENCY", gt=0)
    fleet_batch_size: int = Field(default=32, alias="KRAKEN_FLEET_BATCH_SIZE", gt=0)
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
                label=check_label(self.account_label, "KRAKEN_ACCOUNT"),
                api_key=key,
                api_secret=secret,
                tier=check_tier(self.tier, "KRAKEN_TIER"),
            )
        ]

    def entities(self) -> dict[str, list[str]]:
        """Tax entities for the books: `[entities.NAME] accounts = [...]` in the KRAKEN_ETL_CONFIG file, plus
        every account alone under its own label (unless an entity of that name is declared).

        Raises:
            SettingsError: on an entity naming an account that is not configured, or a malformed table.
        """
        if self.config_file is None:
            label = check_label(self.account_label, "KRAKEN_ACCOUNT")
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
    check_tier(settings.tier, "KRAKEN_TIER")
    check_endpoint(settings.api_url, "KRAKEN_API_URL", "https", "http")
    check_endpoint(settings.ws_auth_url, "KRAKEN_WS_AUTH_URL", "wss", "ws")
    settings.sqlalchemy_url()  # validates DATABASE_URL early
    settings.accounts()  # validates tiers, labels, secret files and the TOML config early
    return settings
