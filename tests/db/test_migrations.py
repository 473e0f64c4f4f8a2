"""Migrations: one head, up → down → up, and the models agree with what the migrations build."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from kraken_etl.db import embedded, migrate
from kraken_etl.db.engine import make_engine
from models import SCHEMA, Base

TABLES = {
    "ledger_entry",
    "trade",
    "closed_order",
    "order_amend",
    "balance_snapshot",
    "ws_execution",
    "ws_balance_update",
    "export_job",
    "sync_state",
    "sync_run",
    "quarantine",
    "reconciliation_run",
    "reconciliation_finding",
    "asset",
}


def test_single_head() -> None:
    assert len(migrate.heads()) == 1


def test_every_mission_table_exists(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        names = set(inspect(engine).get_table_names(schema=SCHEMA))
    finally:
        engine.dispose()
    assert TABLES <= names


def _include_name(name: str | None, type_: str, _parents: object) -> bool:
    if type_ == "schema":
        return name == SCHEMA
    return not (type_ == "table" and name == "alembic_version")


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": _include_name,
                    "compare_type": True,
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_models_match_migrations(db_url: str) -> None:
    assert _diff(db_url) == []


_INDEXES = text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = :schema ORDER BY indexname")


def test_models_and_migrations_build_the_same_indexes(db_url: str, pg_admin_url: str) -> None:
    """Every index (and key) with its columns, INCLUDE list and predicate: autogenerate's comparison does
    not look at INCLUDE, and the reconciliation reads the covering ones from the index alone."""
    from sqlalchemy.schema import CreateSchema

    from tests import dbharness

    def indexes(url: str) -> list[tuple[str, str]]:
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                return [(r.indexname, r.indexdef) for r in conn.execute(_INDEXES, {"schema": SCHEMA})
                        if r.indexname != "alembic_version_pkc"]
        finally:
            engine.dispose()

    name = dbharness.unique_name("kt_models")
    embedded.create_database(pg_admin_url, name)
    try:
        url = dbharness.url_for(pg_admin_url, name)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(CreateSchema(SCHEMA))
                Base.metadata.create_all(conn)
        finally:
            engine.dispose()
        built = indexes(url)
    finally:
        dbharness.drop_database(pg_admin_url, name)
    migrated = indexes(db_url)
    assert built == migrated


def test_upgrade_downgrade_upgrade(db_url: str) -> None:
    migrate.downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        assert not (TABLES & set(inspect(engine).get_table_names(schema=SCHEMA)))
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
    assert _diff(db_url) == []


def test_every_step_downgrades(db_url: str) -> None:
    """Walk down one revision at a time and back up: each step's downgrade runs."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config(db_url))
    revisions = [rev.revision for rev in script.walk_revisions()]  # newest first
    for _ in revisions:
        migrate.downgrade(db_url, "-1")
    migrate.upgrade(db_url)
    assert _diff(db_url) == []


def test_no_float_columns(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'kraken' AND data_type IN ('real', 'double precision', 'money')"
            ).fetchall()
    finally:
        engine.dispose()
    assert rows == []
