"""The rings, enforced: walk every module's imports (ast) and its string literals, fail on a crossing.

kraken_etl.core      pure: no HTTP, no SQL, no Prefect, no clock (except core.clock, the one seam)
kraken_etl.kraken    the only HTTP/WS client of Kraken (with the simulator, which *is* a Kraken)
kraken_etl.db        the only SQL (with models/ and migrations/)
flows/               thin composition: no HTTP, no SQL
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("kraken_etl", "models", "flows", "migrations")

HTTP = ("httpx", "websockets", "requests", "urllib.request", "aiohttp", "http.client")
SQL = ("sqlalchemy", "psycopg", "psycopg2", "alembic", "asyncpg")
SQL_TEXT = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|CREATE\s+(TABLE|INDEX|SCHEMA)\s|COPY\s+\S+(\s*\([^)]*\))?\s+(FROM|TO)\s)",
    re.IGNORECASE | re.DOTALL,
)
CLOCK_SEAM = "kraken_etl.core.clock"  # the one module that reads real time; everything else is handed a Clock
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter", "sleep"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    tree: ast.Module


def _modules() -> list[Module]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            found.append(Module(name, path, ast.parse(path.read_text(encoding="utf-8"), str(path))))
    return found


MODULES = _modules()


def _imports(module: Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _uses(imports: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(i for i in imports if any(i == p or i.startswith(p + ".") for p in prefixes))


def _in(module: Module, *prefixes: str) -> bool:
    return any(module.name == p or module.name.startswith(p + ".") for p in prefixes)


def test_modules_were_found() -> None:
    names = {m.name for m in MODULES}
    assert {"kraken_etl.core.money", "kraken_etl.db.engine", "models.tables"} <= names


@pytest.mark.parametrize("module", [m for m in MODULES if _in(m, "kraken_etl.core")], ids=lambda m: m.name)
def test_core_is_pure(module: Module) -> None:
    imports = _imports(module)
    clock_seam = module.name == CLOCK_SEAM
    forbidden = _uses(imports, HTTP + SQL + ("prefect", "starlette", "uvicorn") + (() if clock_seam else ("time",)))
    forbidden += _uses(
        imports, ("kraken_etl.kraken", "kraken_etl.db", "kraken_etl.simulator", "models", "flows")
    )
    assert forbidden == [], f"{module.name} (core) imports {forbidden}"
    clock = [
        node.func.attr
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in {"datetime", "date", "time"}
    ]
    assert clock == [] or clock_seam, f"{module.name} (core) reads the clock: {clock}"


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if not _in(m, "kraken_etl.kraken", "kraken_etl.simulator")],
    ids=lambda m: m.name,
)
def test_http_only_in_the_kraken_ring(module: Module) -> None:
    assert _uses(_imports(module), HTTP) == [], f"{module.name} speaks HTTP outside kraken_etl.kraken"


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if not _in(m, "kraken_etl.db", "models", "migrations")],
    ids=lambda m: m.name,
)
def test_sql_only_in_the_db_ring(module: Module) -> None:
    assert _uses(_imports(module), SQL) == [], f"{module.name} imports a SQL library outside kraken_etl.db"
    sql_strings = [
        node.value[:60]
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value)
    ]
    assert sql_strings == [], f"{module.name} holds SQL text outside kraken_etl.db: {sql_strings}"


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if not _in(m, "kraken_etl.db", "migrations", "models", "kraken_etl.streams")],
    ids=lambda m: m.name,
)
def test_models_are_imported_by_the_db_ring_only(module: Module) -> None:
    assert _uses(_imports(module), ("models",)) == [], f"{module.name} imports models/"


@pytest.mark.parametrize("module", [m for m in MODULES if _in(m, "flows")], ids=lambda m: m.name)
def test_flows_are_thin(module: Module) -> None:
    lines = [line for line in module.path.read_text().splitlines() if line.strip()]
    assert len(lines) <= 150, f"{module.name} has {len(lines)} lines: flows compose, they don't implement"
    assert _uses(_imports(module), ("kraken_etl.simulator",)) == []


@pytest.mark.parametrize(
    "module", [m for m in MODULES if _in(m, "kraken_etl", "models", "flows")], ids=lambda m: m.name
)
def test_no_float_conversions(module: Module) -> None:
    """Money never passes through float: no float() calls in product code.

    A float that is not money (a probability, a duration) is allowed when its line says why with a
    `# float-ok: <reason>` comment, so every exception is visible in review.
    """
    source = module.path.read_text().splitlines()
    calls = [
        node.lineno
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "float"
        and "# float-ok:" not in source[node.lineno - 1]
    ]
    assert calls == [], f"{module.name} calls float() at lines {calls}"
