"""The MERGE RULE of every load, as SQL: which source's values win when a row already exists.

Shared by REST, exports and imports (also in docs/operations.md). Sources rank
``rest`` (3, also ``ws``) > ``export`` (2) > ``import`` (1). When a row already exists:

1. Time keeps the most precise value: the incoming ``time``/``time_raw`` replace the stored ones only if
   the incoming raw time has MORE fraction digits (``scale(time_raw)``), or as many and a rank at least
   as high. An export's whole-second time never overwrites REST's ``1688464484.1787``.
2. Nullable columns never go from a value to NULL: the higher-or-equal-ranked source wins where it has a
   value, the stored value is kept where it has none (REST has no ``wallet``/``subclass``; exports do, so
   an export after REST fills them and a REST re-read never erases them).
3. Every other column — and ``raw`` and ``source`` — comes from the most authoritative source seen: a
   lower-ranked source never overwrites a higher-ranked one's values.

`merge_statements` builds the staging table and the ``INSERT … ON CONFLICT DO UPDATE`` of one target,
`repeats_statement` and `lookalike_statement` the set-based checks a batch runs before its merge;
`kraken_etl.db.load` runs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Table

from models import Base

LoadSource = Literal["rest", "export", "import", "ws"]
SOURCE_RANK: Mapping[str, int] = {"rest": 3, "ws": 3, "export": 2, "import": 1}


@dataclass(frozen=True, slots=True)
class LoadTarget:
    """Where one stream's records go: table (schema `kraken`), natural key, record type, precise times."""

    table_name: str
    key: str
    record_type: type
    time_pairs: tuple[tuple[str, str], ...] = ()  # (timestamp column, raw column) kept by precision

    @property
    def table(self) -> Table:
        return Base.metadata.tables[f"kraken.{self.table_name}"]


# Columns the database (or reconciliation) manages, never copied from a record.
_MANAGED = {"first_seen_at", "updated_at", "amends_synced_at", "wallet_resolved", "wallet_source", "wallet_at"}


def target_columns(target: LoadTarget) -> list[str]:
    """The columns a load writes, in table order (those the database manages left out)."""
    return [c.name for c in target.table.columns if c.name not in _MANAGED]



def _rank(alias: str) -> str:
    cases = " ".join(f"WHEN '{s}' THEN {r}" for s, r in SOURCE_RANK.items())
    return f"(CASE {alias}.source {cases} ELSE 0 END)"


def _merge_expressions(target: LoadTarget, columns: list[str]) -> dict[str, str]:
    new, old = _rank("EXCLUDED"), _rank("t")
    wins = f"({new} >= {old})"
    exprs: dict[str, str] = {}
    paired = {}
    for ts, raw in target.time_pairs:
        more_precise = (
            f"(t.{raw} IS NULL OR (EXCLUDED.{raw} IS NOT NULL AND (scale(EXCLUDED.{raw}) > scale(t.{raw}) "
            f"OR (scale(EXCLUDED.{raw}) = scale(t.{raw}) AND {wins}))))"
        )
        paired[ts] = paired[raw] = more_precise
    for name in columns:
        if name in ("account", target.key):
            continue
        column = target.table.columns[name]
        if name in paired:
            exprs[name] = f"CASE WHEN {paired[name]} THEN EXCLUDED.{name} ELSE t.{name} END"
        elif column.nullable:
            exprs[name] = (f"CASE WHEN {wins} THEN COALESCE(EXCLUDED.{name}, t.{name}) "
                           f"ELSE COALESCE(t.{name}, EXCLUDED.{name}) END")
        else:
            exprs[name] = f"CASE WHEN {wins} THEN EXCLUDED.{name} ELSE t.{name} END"
    return exprs


_SQL_CACHE: dict[LoadTarget, tuple[str, str]] = {}


def merge_statements(target: LoadTarget) -> tuple[str, str]:
    cached = _SQL_CACHE.get(target)
    if cached:
        return cached
    table = target.table
    columns = target_columns(target)
    staging = f"stg_{table.name}"
    create = (f"CREATE TEMP TABLE IF NOT EXISTS {staging} "
              f"(LIKE {table.schema}.{table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    exprs = _merge_expressions(target, columns)
    cols = ", ".join(columns)
    sets = ",\n    ".join(f"{name} = {expr}" for name, expr in exprs.items())
    if "updated_at" in table.columns:
        sets += ",\n    updated_at = now()"
    current = ", ".join(f"t.{name}" for name in exprs)
    merged = ", ".join(f"({expr})" for expr in exprs.values())
    merge = (
        f"INSERT INTO {table.schema}.{table.name} AS t ({cols})\n"
        f"SELECT {cols} FROM {staging}\n"
        f"ON CONFLICT (account, {target.key}) DO UPDATE SET\n    {sets}\n"
        f"WHERE ROW({current}) IS DISTINCT FROM ROW({merged})\n"
        f"RETURNING (xmax = 0) AS inserted"
    )
    # Count on the server: a large batch's per-row flags never travel to the client.
    merge = f"WITH merged AS ({merge})\nSELECT count(*) FILTER (WHERE inserted), count(*) FROM merged"
    _SQL_CACHE[target] = (create, merge)
    return create, merge


def repeats_statement(target: LoadTarget) -> str:
    """Staged rows whose row THIS transaction already wrote (an earlier batch of the same file): removed
    from staging; returned with whether merging them would change that row (a conflicting copy)."""
    table = target.table
    exprs = _merge_expressions(target, target_columns(target))
    current = ", ".join(f"t.{name}" for name in exprs)
    merged = ", ".join(f"({expr})" for expr in exprs.values()).replace("EXCLUDED.", "s.")
    return (
        f"DELETE FROM stg_{table.name} s USING {table.schema}.{table.name} t\n"
        f"WHERE t.account = s.account AND t.{target.key} = s.{target.key} AND s.{target.key} = ANY(:keys)\n"
        f"  AND t.xmin::text::bigint = pg_current_xact_id()::text::bigint % 4294967296\n"
        f"RETURNING s.{target.key}, s.raw, ROW({current}) IS DISTINCT FROM ROW({merged}) AS differs"
    )


# Tables whose key is checked for look-alikes of stored keys (`core.idcheck`), by the stream they hold; each
# has an index on (account, lower(key)) (migration writer_lock_rejected_imports) so the check is a probe.
LOOKALIKE_CHECKED: Mapping[str, str] = {"ledger_entry": "ledgers", "trade": "trades"}


def lookalike_statement(target: LoadTarget) -> str:
    """Staged rows whose key equals a stored key of the account once lower-cased, while that exact key is
    not stored: removed from staging and returned with the stored key (set-based: one statement a batch)."""
    table = f"{target.table.schema}.{target.table.name}"
    key = target.key
    return (
        f"DELETE FROM stg_{target.table.name} s USING {table} t\n"
        f"WHERE t.account = s.account AND lower(t.{key}) = lower(s.{key}) AND t.{key} <> s.{key}\n"
        f"  AND NOT EXISTS (SELECT 1 FROM {table} e WHERE e.account = s.account AND e.{key} = s.{key})\n"
        f"RETURNING s.{key}, t.{key}, s.raw"
    )
