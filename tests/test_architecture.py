"""The rings, enforced: walk every module's imports (ast) and its string literals, fail on a crossing.

kraken_etl.core      pure: no HTTP, no SQL, no Prefect, no clock (except core.clock, the one seam)
kraken_etl.kraken    the only HTTP/WS client of Kraken (with the simulator, which *is* a Kraken)
kraken_etl.db        the only SQL (with models/ and migrations/)
kraken_etl.jobs      the composition layer; recon, listen, report and books are its siblings
flows/               thin composition: no HTTP, no SQL

Lower rings never import higher ones: core ← kraken, db ← jobs, recon, listen, report ← cli, flows. A name
imported through a module that merely re-exports it counts as imported from where it is defined, so a
re-export cannot launder a forbidden import.
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


BY_NAME = {m.name: m for m in MODULES}


def _origins(module: Module, seen: frozenset[str] = frozenset()) -> set[str]:
    """Every module `module` imports, plus, for a name taken from one of our modules that itself imported
    it from elsewhere, where that name really comes from (followed through any chain of re-exports)."""
    names = set(_imports(module))
    for node in ast.walk(module.tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        source = BY_NAME.get(node.module)
        if source is None or source.name in seen:
            continue
        imported = {alias.name for alias in node.names}
        for inner in ast.walk(source.tree):
            if isinstance(inner, ast.ImportFrom) and inner.module and inner.level == 0:
                if imported & {alias.name for alias in inner.names}:
                    names.add(inner.module)
                    upstream = BY_NAME.get(inner.module)
                    if upstream is not None:
                        names |= _origins(upstream, seen | {source.name})
    return names


def _uses(imports: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(i for i in imports if any(i == p or i.startswith(p + ".") for p in prefixes))


def _in(module: Module, *prefixes: str) -> bool:
    return any(module.name == p or module.name.startswith(p + ".") for p in prefixes)


def test_modules_were_found() -> None:
    names = {m.name for m in MODULES}
    assert {"kraken_etl.core.money", "kraken_etl.db.engine", "models.history"} <= names


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
    [m for m in MODULES if not _in(m, "kraken_etl.db", "migrations", "models")],
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


LOWER_RINGS = ("kraken_etl.core", "kraken_etl.kraken", "kraken_etl.db")
COMPOSITION = ("kraken_etl.jobs", "kraken_etl.recon", "kraken_etl.listen", "kraken_etl.report", "kraken_etl.books")
TOP = ("kraken_etl.cli", "flows")


@pytest.mark.parametrize("module", [m for m in MODULES if _in(m, *LOWER_RINGS)], ids=lambda m: m.name)
def test_lower_rings_never_import_the_composition_layer_or_the_top(module: Module) -> None:
    found = _uses(_origins(module), COMPOSITION + TOP)
    assert found == [], f"{module.name} imports {found}"


@pytest.mark.parametrize("module", [m for m in MODULES if _in(m, *COMPOSITION)], ids=lambda m: m.name)
def test_the_composition_layer_never_imports_the_cli_or_flows(module: Module) -> None:
    found = _uses(_origins(module), TOP)
    assert found == [], f"{module.name} imports {found}"


SIBLINGS = ("kraken_etl.recon", "kraken_etl.listen", "kraken_etl.report", "kraken_etl.books")


@pytest.mark.parametrize("module", [m for m in MODULES if _in(m, *SIBLINGS)], ids=lambda m: m.name)
def test_recon_listen_report_and_books_never_import_each_other(module: Module) -> None:
    """Siblings share what they need through the rings below them (a check's SQL in db, its types in core
    or its own package), so none of them runs only when another is importable."""
    own = next(s for s in SIBLINGS if _in(module, s))
    found = _uses(_origins(module), tuple(s for s in SIBLINGS if s != own))
    assert found == [], f"{module.name} imports {found}"


def test_a_re_export_does_not_launder_an_import() -> None:
    """The origin walk sees through a module that re-exports a name it imported."""
    relay = Module("kraken_etl.jobs.relay", REPO / "relay.py", ast.parse("from flows.sync import sync_flow\n"))
    user = Module("kraken_etl.db.user", REPO / "user.py", ast.parse("from kraken_etl.jobs.relay import sync_flow\n"))
    BY_NAME[relay.name] = relay
    try:
        assert "flows.sync" in _origins(user)
        assert _uses(_origins(user), TOP) == ["flows.sync"]
        assert _uses(_imports(user), TOP) == []  # what a direct-import check alone would miss
    finally:
        del BY_NAME[relay.name]


def test_no_loose_composition_modules_at_the_top_of_the_package() -> None:
    loose = sorted(p.name for p in (REPO / "kraken_etl").glob("*.py")
                   if p.name not in {"__init__.py", "__main__.py"})
    assert loose == [], f"modules at the top of kraken_etl/ belong in a package: {loose}"


ENGINE_FORBIDDEN = HTTP + SQL + ("prefect", "kraken_etl.db", "kraken_etl.kraken", "kraken_etl.jobs", "models",
                                 "flows", "kraken_etl.simulator")


@pytest.mark.parametrize(
    "module",
    [m for m in MODULES if _in(m, "kraken_etl.books")
     and m.name.split(".")[-1].startswith(("lots", "treatments", "event_lines", "openings", "trade_sides", "moves"))],
    ids=lambda m: m.name,
)
def test_the_lot_engine_is_pure(module: Module) -> None:
    """The lot engine and the treatments' logic: records in, lots out; no SQL, no HTTP, no flows, no clock."""
    found = _uses(_origins(module), (*ENGINE_FORBIDDEN, "time"))
    assert found == [], f"{module.name} (lot engine) imports {found}"
    clock = [node.func.attr for node in ast.walk(module.tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr in CLOCK_CALLS and isinstance(node.func.value, ast.Name)
             and node.func.value.id in {"datetime", "date", "time"}]
    assert clock == [], f"{module.name} (lot engine) reads the clock: {clock}"


def test_the_lot_engine_modules_exist() -> None:
    assert {"kraken_etl.books.lots", "kraken_etl.books.lots_uk", "kraken_etl.books.lots_model",
            "kraken_etl.books.event_lines", "kraken_etl.books.openings", "kraken_etl.books.trade_sides",
            "kraken_etl.books.moves"} <= set(BY_NAME)
