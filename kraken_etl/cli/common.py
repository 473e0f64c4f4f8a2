"""What every command shares: settings loading, the effective database, and one-line errors.

An expected failure (bad setting, unreachable database, a fatal Kraken error) ends the command with one
clear line on stderr and a non-zero exit code, never a traceback and never a secret.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console

from kraken_etl.settings import Settings, SettingsError, load_settings

P = ParamSpec("P")
R = TypeVar("R")

console = Console()
err_console = Console(stderr=True)

# Exceptions that end a command with one line. Other rings register theirs with `expected_error`.
_EXPECTED: list[type[BaseException]] = [SettingsError]


def expected_error(exc_type: type[BaseException]) -> type[BaseException]:
    """Register an exception type whose message is fit to show a user as it is."""
    if exc_type not in _EXPECTED:
        _EXPECTED.append(exc_type)
    return exc_type


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so expected errors print one line and exit non-zero."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from kraken_etl.db.embedded import EmbeddedDatabaseError

        expected_error(EmbeddedDatabaseError)
        warnings.filterwarnings("ignore", module="platformdirs")
        try:
            return func(*args, **kwargs)
        except tuple(_EXPECTED) as exc:
            raise fail(str(exc), code=2 if isinstance(exc, SettingsError) else 1) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)

    return wrapper


def parse_date(text: str, option: str) -> datetime:
    """``2024-01-01`` or an ISO 8601 time (``…Z`` accepted); a naive value means UTC.

    Raises:
        typer.BadParameter: naming `option`.
    """
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD or ISO 8601)", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def settings() -> Settings:
    """The settings, or SettingsError (turned into one line by `handle_errors`)."""
    return load_settings()
