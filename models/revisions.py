"""Earlier migrations as modules: a later revision restores what an earlier one created (on downgrade) or
builds on its SQL text, without copying it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def earlier_revision(number: str, versions: Path) -> ModuleType:
    """The migration numbered `number` (its file `*_<number>_*.py` in the `versions` folder), loaded."""
    path = next(versions.glob(f"*_{number}_*.py"))
    spec = importlib.util.spec_from_file_location(f"_revision_{number}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load migration {number} from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
