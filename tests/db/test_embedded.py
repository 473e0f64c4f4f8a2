"""The embedded PostgreSQL adapter: start, reuse from a second process, stop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

from kraken_etl.db import embedded

SECOND_PROCESS = """
import sys, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
from kraken_etl.db import embedded
server = embedded.ensure_running(Path(sys.argv[1]))
print(server.libpq_url())
"""


def _postmaster_pid(home: Path) -> int:
    return int((embedded.pgdata_dir(home) / "postmaster.pid").read_text().splitlines()[0])


def test_start_reuse_stop(cluster_home: Path) -> None:
    home = cluster_home / "home"
    server = embedded.ensure_running(home)
    try:
        with psycopg.connect(server.libpq_url()) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (embedded.DATABASE_NAME,)
        pid = _postmaster_pid(home)

        # A second process attaches to the same running cluster instead of starting another one.
        out = subprocess.run(
            [sys.executable, "-c", SECOND_PROCESS, str(home)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == server.libpq_url()
        assert _postmaster_pid(home) == pid
        assert embedded.running_server(home) == server
    finally:
        assert embedded.stop(home) is True
    assert embedded.running_server(home) is None
    assert embedded.stop(home) is False


def test_concurrent_first_start(cluster_home: Path) -> None:
    """Two commands starting a fresh cluster at once both succeed and share one server."""
    home = cluster_home / "race"
    procs = [
        subprocess.Popen([sys.executable, "-c", SECOND_PROCESS, str(home)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
        assert outputs[0] == outputs[1] != ""
    finally:
        embedded.stop(home)
