"""Apply Alembic migrations programmatically (`kraken-etl db upgrade`, the demo and the tests).

Alembic is imported when a function here is called, not with this module: every command and flow run that
reaches the database imports this module (`jobs.wiring`), most never migrate, and Alembic's import is about a
second of CPU, paid again by every flow run of a fanned-out nightly (a process each).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import models

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(models.__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic Config bound to `url` and this project's migrations directory."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (idempotent; concurrent callers serialise)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def heads() -> list[str]:
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config("unused")).get_heads())
