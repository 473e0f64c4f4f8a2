"""How the CLI prints: every string as plain text, hidden characters visible, no wrapping into a pipe.

Assets, labels, notes, messages and file names come from files and from Kraken, and the commands print
them in lines, table cells, titles and progress descriptions. So the two consoles here never interpret a
string: Rich markup, emoji codes and highlighting are off (``A[/]B`` and ``[bold red]`` print as written),
and every string Rich is given to render passes through `kraken_etl.core.visible.visible` first (an ESC,
a bidirectional override or a zero-width space prints as ``\\x1b``, ``\\u202e``, ``\\u200b``). Styling is
done with `rich.text.Text` pieces built here (`error_line`, `styled`), never with markup.

When the output is not a terminal (a pipe, a file, a CI log) and ``COLUMNS`` is not set, nothing is wrapped
or folded: tables take the width their contents need and lines stay whole.
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from rich.console import Console, ConsoleDimensions
from rich.progress import ProgressColumn, Task
from rich.text import Text

from kraken_etl.core.visible import visible

UNWRAPPED = 100_000  # the width given to a console that is not a terminal: nothing wraps


class PlainConsole(Console):
    """A Rich console that prints strings as text: no markup, no emoji, no highlighting, hidden characters
    visible; unwrapped when its file is not a terminal."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(visible(text), **kwargs)

    @property
    def size(self) -> ConsoleDimensions:
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        if self._width is None and not self.is_terminal:
            return ConsoleDimensions(UNWRAPPED, size.height)
        return size  # type: ignore[no-any-return]

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = PlainConsole()
err_console = PlainConsole(stderr=True)


def data(value: object) -> Text:
    """One value from the data as a Rich `Text` (hidden characters visible), e.g. for a table cell."""
    return Text(visible("" if value is None else value))


def styled(value: object, style: str) -> Text:
    """`value` as plain text in a Rich style (the way to colour something: never markup)."""
    return Text(visible(value), style=style)


def error_line(message: object) -> Text:
    """``error: <message>`` with the prefix in bold red and the message as plain text."""
    return Text.assemble(("error:", "bold red"), " ", visible(message))


def print_error(message: object) -> None:
    """One ``error: …`` line on stderr."""
    err_console.print(error_line(message), soft_wrap=True)


class DescriptionColumn(ProgressColumn):
    """A progress bar's description as plain text (Rich's `TextColumn` reads it as markup)."""

    def render(self, task: Task) -> Text:
        return Text(visible(task.description))


class VisibleFormatter(logging.Formatter):
    """A log formatter whose lines show hidden characters as escapes (log messages carry data too)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return visible(super().formatMessage(record))


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # exact, as written: never a float
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def json_text(value: object) -> str:
    """`value` as indented JSON for ``--json``: amounts as exact decimal strings, times in ISO 8601."""
    return orjson.dumps(value, default=_json_value, option=orjson.OPT_INDENT_2).decode()
