"""What every command shares: settings loading, the effective database, one-line errors, the consoles.

The consoles (`kraken_etl.cli.output`) print every string as plain text with hidden characters visible.

An expected failure (bad setting, unreachable database, a fatal Kraken error, a rejected file) is a
`KrakenEtlError`: it ends the command with one clear line on stderr and its `exit_code` (2 for a
configuration problem, 1 otherwise; Typer exits 2 on usage errors), never a traceback and never a secret.
Commands that read the database open it through `database_url`, which migrates it first; a command that
still meets an unmigrated database ends with one line saying to run `kraken-etl db upgrade`.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import typer

from kraken_etl.cli.output import console, err_console, error_line
from kraken_etl.core.clock import stop_waits
from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.core.period import Period, PeriodError, as_of_moment, resolve_period
from kraken_etl.core.timeutil import as_utc
from kraken_etl.settings import Settings, load_settings

P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["console", "err_console", "fail", "handle_errors", "one_line", "parse_date", "settings"]


SCHEMA_MISSING = "the database is not migrated to this version's schema: run `kraken-etl db upgrade`"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: <message>`` (plain text, hidden characters visible) and return the exit to raise."""
    err_console.print(error_line(message), soft_wrap=True)
    return typer.Exit(code)


def one_line(exc: BaseException) -> str:
    """The error's message on one line (a multi-line message is joined; never a traceback)."""
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so every `KrakenEtlError` prints one line and exits with its `exit_code`
    (configuration problems 2, the rest 1); so does the database going away mid-command (1). Ctrl-C and
    SIGTERM stop every wait of the process at once (`core.clock.stop_waits`: a Prefect task's thread too)
    and end the command with one `interrupted` line, exit 130. Anything else is a bug and keeps its
    traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from kraken_etl.db.engine import DATABASE_ERRORS, SCHEMA_ERRORS, describe_database_error, schema_missing

        warnings.filterwarnings("ignore", module="platformdirs")
        previous = _on_stop_signals()
        try:
            return func(*args, **kwargs)
        except KeyboardInterrupt:
            stop_waits()
            err_console.print("interrupted")
            sys.exit(130)
        except KrakenEtlError as exc:
            raise fail(one_line(exc), code=exc.exit_code) from None
        except SCHEMA_ERRORS as exc:
            if not schema_missing(exc):
                raise
            raise fail(f"{SCHEMA_MISSING}: {describe_database_error(exc).removeprefix('database: ')}", 2) from None
        except DATABASE_ERRORS as exc:  # the database went away mid-command: operational, one line
            raise fail(describe_database_error(exc), code=1) from None
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    return wrapper


def _stop(signum: int, frame: object) -> None:
    stop_waits()  # first: a worker thread's retry wait must not outlive the main thread
    raise KeyboardInterrupt


def _on_stop_signals() -> dict[signal.Signals, Any]:
    """SIGINT and SIGTERM → `_stop` (main thread only); the previous handlers, to restore."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}


def parse_date(text: str, option: str) -> datetime:
    """``2024-01-01`` or an ISO 8601 time (``…Z`` accepted); a naive value means UTC.

    Raises:
        typer.BadParameter: naming `option`.
    """
    try:
        return as_utc(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD or ISO 8601)", param_hint=option) from None


def checked_labels(value: str | list[str] | None) -> str | list[str] | None:
    """A Typer callback for an `--account` option: every label must follow the one rule
    (`settings.check_label`); a wrong one is a usage error naming the rule."""
    from kraken_etl.settings import SettingsError, check_label

    labels = [value] if isinstance(value, str) else list(value or [])
    try:
        for label in labels:
            check_label(label, "--account")
    except SettingsError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--account: "), param_hint="--account") from None
    return value


def parse_period(date_from: str, date_to: str) -> Period:
    """`--from` (inclusive) and `--to` (inclusive: a day runs through its end) as one half-open UTC interval
    (`kraken_etl.core.period`); a range that ends before it starts or starts in the future is a usage error.

    Raises:
        typer.Exit: code 2 after one line naming the offending option.
    """
    try:
        return resolve_period(date_from, date_to, now=datetime.now(UTC))
    except PeriodError as exc:
        raise fail(f"{exc.option}: {exc}", code=2) from None


def parse_as_of(text: str) -> datetime:
    """`--as-of` read like an inclusive `--to` (`kraken_etl.core.period.as_of_moment`): a day through its end.

    Raises:
        typer.Exit: code 2 after one line naming the option.
    """
    try:
        return as_of_moment(text)
    except PeriodError as exc:
        raise fail(f"{exc.option}: {exc}", code=2) from None


def settings() -> Settings:
    """The settings, or SettingsError (turned into one line by `handle_errors`)."""
    return load_settings()


def database_url(current: Settings | None = None) -> str:
    """The effective database's URL, migrated to this version's schema first (idempotent, as `reconcile`,
    `sync` and `import` do), so a command on a new KRAKEN_ETL_HOME or an empty DATABASE_URL just works.

    Raises:
        SettingsError, DatabaseUnreachable, EmbeddedDatabaseError: see `effective_url`.
    """
    from kraken_etl.db import migrate
    from kraken_etl.db.engine import effective_url

    url = effective_url(current or settings())
    migrate.upgrade(url)
    return url
