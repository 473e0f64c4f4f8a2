"""Running listeners for configured accounts: one thread per account, one stop event, clean signals.

`listen_accounts` is what the CLI and the Prefect flow call. SIGTERM and SIGINT (installed by
`stop_on_signals`, main thread only) set the stop event: every listener commits what it holds, records its
open interval as a gap (filled at the next start), marks its session stopped and returns; the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from kraken_etl.core.clock import SystemClock
from kraken_etl.listen.config import ListenerConfig
from kraken_etl.listen.loop import Listener, ListenStats
from kraken_etl.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """Set `stop` on SIGTERM/SIGINT while inside the block (previous handlers restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping the listener", signum)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def listen_accounts(labels: list[str] | None, settings: Settings, stop: threading.Event,
                    config: ListenerConfig | None = None) -> list[ListenStats]:
    """Run a listener per selected account until `stop` is set (or one fails fatally: then all stop).

    Raises:
        SettingsError: for an unknown label; the first listener's fatal error (ListenerBusy, a fatal
            Kraken error) after every listener has stopped.
    """
    from kraken_etl.db import migrate
    from kraken_etl.db.engine import effective_url, make_engine
    from kraken_etl.jobs.wiring import client_for

    accounts = settings.select_accounts(labels)
    url = effective_url(settings)
    migrate.upgrade(url)
    engine = make_engine(url, pool_size=2 * len(accounts) + 2)
    results: list[ListenStats] = []
    errors: list[BaseException] = []

    def one(account_label: str) -> None:
        account = settings.select_accounts([account_label])[0]
        try:
            with client_for(account, settings) as client:
                listener = Listener(account=account.label, ws_url=settings.ws_auth_url, client=client,
                                    engine=engine, clock=SystemClock(), stop=stop, config=config)
                results.append(listener.run())
        except BaseException as exc:
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=one, args=(a.label,), name=f"listen-{a.label}", daemon=True)
               for a in accounts]
    try:
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    finally:
        engine.dispose()
    if errors:
        raise errors[0]
    return results
