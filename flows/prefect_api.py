"""Prefect's API started early, in the background, for a command that will run a flow later.

Without a `PREFECT_API_URL`, the first flow run starts Prefect's temporary server in a subprocess and
waits for it: on a fresh home that is an import of Prefect's server and a migration of its SQLite
database (the longest step of a first `make demo`, measured). `start_in_background()` does the same
through Prefect's public client, in a thread, so the wait overlaps the command's own work; the server
is the process-wide one that the flow run then finds already healthy.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from kraken_etl.core.errors import KrakenEtlError

# How long a command waits for Prefect's temporary server to answer. Its first start on a fresh home migrates
# Prefect's SQLite database; on a busy 2-core machine that took over 90 s. Waiting costs nothing when it is fast.
STARTUP_TIMEOUT_SECONDS = 300


class PrefectUnavailable(KrakenEtlError):
    """Prefect's API could not be started or reached."""



def _start() -> None:
    from prefect.client.orchestration import get_client

    import flows.nightly  # noqa: F401  (importing Prefect is part of the wait)

    try:
        with get_client(sync_client=True) as client:
            problem = client.api_healthcheck()
    except RuntimeError as exc:  # the temporary server did not answer in time (or its process died)
        raise PrefectUnavailable(_advice(str(exc).split(" stdout:")[0])) from exc
    if problem is not None:
        raise PrefectUnavailable(_advice(f"the Prefect API is unhealthy: {problem}")) from problem


def _advice(what: str) -> str:
    api = os.environ.get("PREFECT_API_URL")
    if api:
        return f"{what} (PREFECT_API_URL={api}: is the server running?)"
    wait = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT_SECONDS)
    return (f"{what} Waited {wait} s (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS) for Prefect's temporary "
            "server; its first start migrates its database, which is slow on a busy machine. Run again, raise "
            "that setting, or point PREFECT_API_URL at a running `prefect server`.")


def ensure_api() -> None:
    """Start (or reach) the Prefect API now.

    Raises:
        PrefectUnavailable: when it does not answer, with what to do about it.
    """
    start_in_background().result()


def start_in_background() -> Future[None]:
    """Start (or reach) the Prefect API in a thread; `.result()` waits for it and raises `PrefectUnavailable`."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefect-api")
    try:
        return pool.submit(_start)
    finally:
        pool.shutdown(wait=False)


def offline(home: Path) -> None:
    """Prefect without telemetry, its state under `home` (KRAKEN_ETL_HOME) unless PREFECT_HOME says otherwise;
    a PREFECT_API_URL in the environment (a Prefect server) is used as it is. Call before importing Prefect."""
    os.environ.setdefault("PREFECT_HOME", str((home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(STARTUP_TIMEOUT_SECONDS))
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)


def quiet_console() -> None:
    """No Prefect log line on the terminal (a failed task logs its traceback there; the temporary server
    announces itself): the command prints its own summary. Prefect reads the console handler's level from the
    environment when it configures logging; logs still reach the Prefect API (the flow run's page). Call
    before importing Prefect."""
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"
