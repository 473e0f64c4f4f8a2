"""`kraken-etl listen [--account A]…`: run the WebSocket v2 listener until SIGTERM/SIGINT.

Every execution and balance update is stored once as it arrives; sequence gaps, disconnects, heartbeat
silence and the downtime before a restart are recorded and filled from REST (see docs/listener.md). On
SIGTERM or SIGINT the listener commits what it holds, leaves unfilled gaps pending for the next start,
marks its session stopped, prints one summary line per account and exits 0.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer

from kraken_etl.cli.common import console, handle_errors, settings
from kraken_etl.cli.output import VisibleFormatter


@handle_errors
def listen(
    account: Annotated[list[str] | None, typer.Option(
        "--account", "-a", help="Account label to listen for (repeatable). Default: every configured account.")] = None,
    batch_ms: Annotated[float, typer.Option(
        "--batch-ms", help="Commit at least this often while messages wait (milliseconds).")] = 10.0,
    batch_max: Annotated[int, typer.Option("--batch-max", help="Commit when this many messages wait.")] = 500,
) -> None:
    """Listen to the WebSocket v2 executions and balances channels, storing every message once."""
    from kraken_etl.listen.config import ListenerConfig
    from kraken_etl.listen.run import listen_accounts, stop_on_signals

    handler = logging.StreamHandler()
    handler.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for noisy in ("httpx", "alembic"):  # request lines and migration steps are not the listener's news
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = ListenerConfig(batch_seconds=batch_ms / 1000, batch_max=batch_max)
    stop = threading.Event()
    with stop_on_signals(stop):
        results = listen_accounts(account, settings(), stop, config)
    for r in results:
        console.print(f"{r.account}: {r.messages:,} messages, {r.executions:,} executions, "
                      f"{r.balance_updates:,} balance updates, {r.gaps} gaps ({r.gaps_filled} filled), "
                      f"{r.connects} connects", highlight=False)
