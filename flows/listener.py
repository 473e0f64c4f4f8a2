"""The listener flow: a long-running Prefect deployment around `kraken-etl listen`'s code.

It runs until the flow run is cancelled or the worker stops it (SIGTERM): the listeners then commit,
record open gaps (filled at the next start) and stop cleanly. Parameters are account labels, never keys.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Any

from prefect import flow

from kraken_etl.listen.run import listen_accounts, stop_on_signals
from kraken_etl.settings import load_settings


@flow(name="kraken-listener", retries=100, retry_delay_seconds=30)
def listener_flow(accounts: list[str] | None = None) -> list[dict[str, Any]]:
    """Listen for `accounts` (default: every configured one) until stopped."""
    stop = threading.Event()
    with stop_on_signals(stop):
        return [asdict(r) for r in listen_accounts(accounts, load_settings(), stop)]
