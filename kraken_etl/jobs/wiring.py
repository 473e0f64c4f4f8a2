"""Wiring from settings: an account's Kraken client and the database engine, opened and closed together.

Entry points (the CLI, Prefect tasks, the demo) pass account labels, never keys; this module turns a label
into a live client (file-locked nonces under KRAKEN_ETL_HOME, the key's shared call counter) and an engine
on the effective database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.db import migrate
from kraken_etl.db.engine import effective_url, make_engine
from kraken_etl.db.runs import Engine
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import MissingCredentials
from kraken_etl.settings import Account, Settings, load_settings


def client_for(account: Account, settings: Settings, *, clock: Clock | None = None) -> KrakenClient:
    """The account's Kraken client.

    Raises:
        MissingCredentials: when the account has no key or secret configured.
    """
    if not account.has_credentials:
        raise MissingCredentials("EClient:Missing credentials", f"account {account.label!r}")
    return KrakenClient.for_account(
        settings.api_url, api_key=account.api_key, api_secret=account.api_secret, tier=account.tier,
        home=settings.home, rate_scale=settings.rate_scale, clock=clock or SystemClock(),
    )


@dataclass(frozen=True, slots=True)
class Session:
    """One account's live connections: its settings, client and the database engine."""

    settings: Settings
    account: Account
    client: KrakenClient
    engine: Engine

    @property
    def label(self) -> str:
        return self.account.label


@contextmanager
def database(settings: Settings | None = None, *, upgrade: bool = False) -> Iterator[Engine]:
    """An engine on the effective database (migrated first when `upgrade`), disposed afterwards."""
    current = settings or load_settings()
    url = effective_url(current)
    if upgrade:
        migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def open_account(label: str, settings: Settings | None = None, *, clock: Clock | None = None) -> Iterator[Session]:
    """The configured account `label` with its client and an engine, closed afterwards.

    Raises:
        SettingsError: when the label is not configured; MissingCredentials without a key.
    """
    current = settings or load_settings()
    account = current.select_accounts([label])[0]
    with database(current) as engine, client_for(account, current, clock=clock) as client:
        yield Session(current, account, client, engine)


def configured_labels(settings: Settings | None = None) -> list[str]:
    """The labels of every configured account."""
    return [a.label for a in (settings or load_settings()).select_accounts(None)]
