"""Tidy `--help`: value names a user can read (``TEXT``, ``DATE``, ``FILE...``), nothing after a flag.

Typer's help shows each parameter's Python type (``--help <bool>``, ``--stream <list[str]>``) and writes a
required variadic argument as ``{FILE...}...``. The command and group classes here give every parameter a
plain value name before the help is drawn: none for a flag, ``TEXT``/``INTEGER``/``NUMBER``/``PATH`` for a
value (a repeatable option says so in its help), and the argument's own name followed by ``...`` when it
takes several. Used by every command (`kraken_etl.cli.main`).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH", "datetime": "DATE"}


def _value_name(param: TyperOption) -> str:
    shown = param.display_type(None)  # type: ignore[arg-type]  # e.g. "<list[str]>", "<int>", "<Path>"
    inner = shown.strip("<>").removeprefix("list[").removesuffix("]")
    return _NAMES.get(inner, inner.upper())


def _no_type(ctx: Any) -> None:
    return None


def _tidy(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "_kraken_tidy", False):
            continue
        if isinstance(param, TyperOption):
            if param.is_flag:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = _value_name(param)
        elif isinstance(param, TyperArgument):
            param.display_type_rich = _no_type  # type: ignore[method-assign]  # the name says it all
        param._kraken_tidy = True
    return params


def _usage(command: Any, ctx: Any) -> list[str]:
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = (param.metavar or (param.name or "").upper()).removesuffix("...")
            name += "..." if param.nargs != 1 else ""
            pieces.append(name if param.required else f"[{name}]")
    return pieces


class Command(TyperCommand):
    """A command whose help names values plainly."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage(self, ctx)


class Group(TyperGroup):
    """A command group whose help names values plainly."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return [*_usage(self, ctx), self.subcommand_metavar]
