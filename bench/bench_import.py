"""Benchmark: importing an N-row ledger export end to end vs the database floor (same run).

    python bench/bench_import.py [--rows 1000000] [--rows 2000000]

For each size: writes a subclass-era ledgers export (zip with one CSV), then in the same run and the same
PostgreSQL (TEST_DATABASE_URL, or the embedded test cluster):

- ours: `kraken_etl.jobs.fileload.import_files` (verify zip, stream-parse, validate, upsert with the merge rule)
  in a child process, whose peak RSS (ru_maxrss) is reported;
- the floor: a plain INSERT of the same rows, pre-parsed into a typed staging table, into the real
  `kraken.ledger_entry` (PK + 3 indexes, JSONB raw), with no Python at all (`database_floor`);
- raw COPY: the same CSV into an unindexed table with text/numeric columns (for scale);
- a breakdown (first size only): the same import made sequential, in another child, with a timer on each
  step (unzip+parse, validate, COPY text, COPY into the table or staging, merge, other), so the parts add up.

Targets: ours / floor <= 1.25; peak RSS <= 500 MB, about the same at 2,000,000 rows.
Results: bench/results/import.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

HEADER = ('"txid","refid","time","type","subtype","aclass","subclass","asset","wallet","amount","fee",'
          '"balance"\n')
ASSETS = [("BTC", "crypto", 10), ("EUR", "fiat", 4), ("USD", "fiat", 4), ("ETH", "crypto", 10),
          ("USDT", "stable_coin", 8), ("DOT.S", "crypto", 10)]


def write_export(path: Path, rows: int, seed: int = 1) -> Path:
    """A realistic ledgers export zip of `rows` rows (streamed: constant memory)."""
    rng = random.Random(seed)
    t = 1_600_000_000
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open("ledgers.csv", "w", force_zip64=True) as member:
        member.write(HEADER.encode())
        buf = []
        for i in range(rows):
            t += rng.randint(0, 40)
            asset, subclass, dec = ASSETS[i % len(ASSETS)]
            scale = 10**dec
            amount = rng.randint(-10**9, 10**9)
            balance = rng.randint(0, 10**12)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
            buf.append(
                f'"L{i:07X}-{i % 99991:05d}-BENCHX","T{i // 2:07X}-AB-CD","{stamp}","trade","tradespot",'
                f'"currency","{subclass}","{asset}","spot / main",{amount / scale:.{dec}f},0,'  # float-ok: bench data
                f"{balance / scale:.{dec}f}\n"  # float-ok: bench data
            )
            if len(buf) >= 10_000:
                member.write("".join(buf).encode())
                buf = []
        member.write("".join(buf).encode())
    return path


def child_import(url: str, path: str) -> None:
    """Run in a child process: the import, then print seconds and peak RSS as JSON."""
    from kraken_etl.core.tuning import relaxed_gc
    from kraken_etl.db.engine import make_engine
    from kraken_etl.jobs.fileload import import_files

    engine = make_engine(url)
    started = time.perf_counter()
    with relaxed_gc():  # as the `import` command runs it
        (result,) = import_files(engine, [Path(path)], account="bench")
    elapsed = time.perf_counter() - started
    engine.dispose()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "rows": result.fetched, "loaded": result.loaded,
                      "quarantined": result.quarantined, "error": result.error,
                      "peak_rss_mb": rss_kb / 1024}))


def child_breakdown(url: str, path: str) -> None:
    """Run in a child process: the same import made sequential (no read-ahead thread) with a timer on each
    step, so the parts add up: unzip+parse, validate, prepare (COPY text), copy (COPY into staging), merge
    (the INSERT … SELECT … ON CONFLICT), other (quarantine, run log, commit)."""
    import pandas  # noqa: F401 - imported before the clock starts, like a warm process
    import pandera.pandas  # noqa: F401
    from sqlalchemy.engine import Connection

    from kraken_etl.core import exportrows
    from kraken_etl.core.tuning import relaxed_gc
    from kraken_etl.db.engine import make_engine
    from kraken_etl.jobs import fileload, producer

    spent: dict[str, float] = {"parse": 0.0, "validate": 0.0, "prepare": 0.0, "copy": 0.0, "merge": 0.0}

    def timed(func: Any, key: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - started
        return wrapper

    original_batches = exportrows._batches

    def batches(*args: Any, **kwargs: Any) -> Any:
        inner = original_batches(*args, **kwargs)
        while True:
            started = time.perf_counter()
            batch = next(inner, None)
            spent["parse"] += time.perf_counter() - started
            if batch is None:
                return
            yield batch

    original_execute = Connection.execute

    def execute(self: Connection, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if str(statement).startswith("WITH merged"):
            started = time.perf_counter()
            try:
                return original_execute(self, statement, *args, **kwargs)
            finally:
                spent["merge"] += time.perf_counter() - started
        return original_execute(self, statement, *args, **kwargs)

    exportrows._batches = batches
    names = vars(fileload)
    producer.MODE = "inline"  # every step in this process, one after the other
    names["check_cells"] = timed(names["check_cells"], "validate")
    names["prepare_cells"] = timed(names["prepare_cells"], "prepare")
    names["copy_new"] = timed(names["copy_new"], "copy")
    names["load_prepared"] = timed(names["load_prepared"], "copy")  # merge subtracted below
    Connection.execute = execute  # type: ignore[method-assign]
    engine = make_engine(url)
    started = time.perf_counter()
    with relaxed_gc():
        (result,) = fileload.import_files(engine, [Path(path)], account="bench")
    total = time.perf_counter() - started
    engine.dispose()
    spent["copy"] -= spent["merge"]
    spent["other"] = total - sum(spent.values())
    print(json.dumps({"sequential_seconds": round(total, 2), "error": result.error,
                      **{f"{k}_seconds": round(v, 2) for k, v in spent.items()}}))


def raw_copy(libpq_url: str, path: Path) -> float:
    """COPY the CSV inside the zip into an unindexed table; returns seconds (unzip included)."""
    import psycopg

    with psycopg.connect(libpq_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute(
            "CREATE TABLE bench_copy (txid text, refid text, time text, type text, subtype text, aclass text, "
            "subclass text, asset text, wallet text, amount numeric, fee numeric, balance numeric)"
        )
        started = time.perf_counter()
        with zipfile.ZipFile(path) as zf, zf.open("ledgers.csv") as member, conn.cursor() as cur, \
                cur.copy("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while data := member.read(1 << 20):
                copy.write(data)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_copy")
    return elapsed


def database_floor(libpq_url: str, path: Path) -> dict[str, float]:
    """What the database alone needs to store these rows in `kraken.ledger_entry`, with no Python at all.

    The CSV is COPYed into a text table and turned into typed staging rows in SQL (not timed), then timed:
    - ``merge``: our merge statement (`kraken_etl.db.load`), staging → the empty, indexed target;
    - ``insert``: a plain INSERT … SELECT of the same rows into the indexed target (no ON CONFLICT);
    - ``insert_unindexed``: the same INSERT into an unindexed copy of the target (still with JSONB raw);
    - ``insert_unindexed_no_raw``: the same without building the raw column.
    The gap between these and the raw COPY is the cost of the decided schema (four b-tree indexes, JSONB
    raw, ON CONFLICT), which no client-side work can remove.
    """
    import psycopg

    from kraken_etl.db import merge_rule
    from kraken_etl.jobs.streams import LEDGERS

    create, merge = merge_rule.merge_statements(LEDGERS.target)
    out: dict[str, float] = {}
    with psycopg.connect(libpq_url) as conn:
        conn.execute("CREATE TEMP TABLE floor_text (txid text, refid text, time text, type text, subtype text, "
                     "aclass text, subclass text, asset text, wallet text, amount text, fee text, balance text)")
        with zipfile.ZipFile(path) as zf, zf.open("ledgers.csv") as member, conn.cursor() as cur, \
                cur.copy("COPY floor_text FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while data := member.read(1 << 20):
                copy.write(data)
        conn.execute(create)
        conn.execute(
            "INSERT INTO stg_ledger_entry (account, ledger_id, refid, time, time_raw, type, subtype, aclass, "
            "subclass, asset, wallet, amount, fee, balance, flags, source, raw) "
            "SELECT 'bench', txid, nullif(refid, ''), (time || '+00')::timestamptz, "
            "extract(epoch FROM (time || '+00')::timestamptz)::bigint, type, subtype, aclass, subclass, asset, "
            "wallet, amount::numeric, fee::numeric, nullif(balance, '')::numeric, '{}', 'import', to_jsonb(f) "
            "FROM floor_text f")
        conn.execute("CREATE TEMP TABLE floor_plain (LIKE kraken.ledger_entry INCLUDING DEFAULTS)")

        def timed(key: str, statement: str) -> None:
            started = time.perf_counter()
            conn.execute(statement)
            out[key] = round(time.perf_counter() - started, 2)

        timed("merge_seconds", merge)
        conn.execute("TRUNCATE kraken.ledger_entry")
        timed("insert_seconds", "INSERT INTO kraken.ledger_entry SELECT * FROM stg_ledger_entry")
        timed("insert_unindexed_seconds", "INSERT INTO floor_plain SELECT * FROM stg_ledger_entry")
        conn.execute("TRUNCATE floor_plain")
        timed("insert_unindexed_no_raw_seconds",
              "INSERT INTO floor_plain SELECT account, ledger_id, refid, time, time_raw, type, subtype, aclass, "
              "subclass, asset, wallet, amount, fee, balance, flags, source, '{}' FROM stg_ledger_entry")
        conn.rollback()
    return out


def run_size(rows: int, workdir: Path, breakdown: bool) -> dict[str, object]:
    from tests import dbharness

    load_before = [round(x, 2) for x in os.getloadavg()]
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    path = write_export(workdir / f"ledgers_{rows}.zip", rows)
    try:
        with dbharness.database_copy(admin, template) as url:
            libpq = url.replace("postgresql+psycopg://", "postgresql://")
            copy_seconds = raw_copy(libpq, path)
            out = subprocess.run([sys.executable, __file__, "--child", url, str(path)], capture_output=True,
                                 text=True, check=True, cwd=REPO)
            ours = json.loads(out.stdout.strip().splitlines()[-1])
        with dbharness.database_copy(admin, template) as url:
            floor = database_floor(url.replace("postgresql+psycopg://", "postgresql://"), path)
        parts = None
        if breakdown:  # a second fresh database: the sequential, timed run
            with dbharness.database_copy(admin, template) as url:
                out = subprocess.run([sys.executable, __file__, "--breakdown", url, str(path)],
                                     capture_output=True, text=True, check=True, cwd=REPO)
                parts = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        dbharness.drop_database(admin, template)
        path.unlink(missing_ok=True)
    ours_rps = rows / ours["seconds"]
    copy_rps = rows / copy_seconds
    return {
        "rows": rows,
        "load_average_before": load_before,
        "ours_seconds": round(ours["seconds"], 2),
        "ours_rows_per_s": round(ours_rps),
        "copy_seconds": round(copy_seconds, 2),
        "copy_rows_per_s": round(copy_rps),
        "ratio_vs_copy": round(ours_rps / copy_rps, 3),
        "floor_insert_seconds": floor["insert_seconds"],
        "ratio_vs_floor": round(ours["seconds"] / floor["insert_seconds"], 2),
        "peak_rss_mb": round(ours["peak_rss_mb"], 1),  # the loader + its prepare process, summed
        "loaded": ours["loaded"],
        "quarantined": ours["quarantined"],
        "database_floor": floor,
        "floor_merge_vs_copy": round(floor["merge_seconds"] / copy_seconds, 1),
        "breakdown_sequential": parts,
        "targets": {"ratio_vs_floor": 1.25, "peak_rss_mb": 500},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, action="append")
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--breakdown", nargs=2)
    parser.add_argument("--no-breakdown", action="store_true", help="skip the sequential timed run")
    args = parser.parse_args()
    if args.child:
        child_import(*args.child)
        return
    if args.breakdown:
        child_breakdown(*args.breakdown)
        return
    warnings.filterwarnings("ignore")
    sizes = args.rows or [1_000_000, 2_000_000]
    workdir = REPO / "bench" / "results"
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for rows in sizes:
        result = run_size(rows, workdir, breakdown=not args.no_breakdown and rows == sizes[0])
        print(json.dumps(result))
        results.append(result)
    report = {"benchmark": "import", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
              "results": results}
    (workdir / "import.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
