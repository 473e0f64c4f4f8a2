"""Ctrl-C or SIGTERM stops `kraken-etl nightly` while a task waits in the client's retry (a lockout probe
waits two minutes): a real process, a real PostgreSQL, a fake Kraken at the network seam answering every call
with a lockout. The command ends with one line and a non-zero exit instead of finishing its waits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.sync_support import REPO
from tests.nightly.lockout_kraken import lockout_kraken

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

STOP_DEADLINE = 60.0  # seconds to exit after the signal; without cancellable waits the probes last 16 min


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_stops_nightly_while_the_client_waits(sig: signal.Signals, db_url: str, tmp_path: Path) -> None:
    with lockout_kraken() as (url, answered):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL", "PREFECT_"))}
        env = {**base, "DATABASE_URL": db_url, "KRAKEN_ETL_HOME": str(tmp_path), "KRAKEN_API_URL": url,
               "KRAKEN_API_KEY": "a2V5", "KRAKEN_API_SECRET": "c2VjcmV0", "KRAKEN_ACCOUNT": "main",
               "PREFECT_HOME": str(tmp_path / "prefect"), "COLUMNS": "200", "NO_COLOR": "1"}
        out, err = (tmp_path / "stdout").open("w+"), (tmp_path / "stderr").open("w+")
        proc = subprocess.Popen([sys.executable, "-m", "kraken_etl", "nightly"], cwd=REPO, env=env,
                                stdout=out, stderr=err, text=True)
        try:
            assert answered.wait(240), "the nightly run never called Kraken"
            proc.send_signal(sig)
            deadline = time.monotonic() + STOP_DEADLINE
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            stopped = proc.poll()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err.seek(0)
    out.seek(0)
    stderr, stdout = err.read(), out.read()
    assert stopped is not None, f"still running {STOP_DEADLINE:.0f} s after the signal: {stderr[-2000:]}"
    assert stopped != 0
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0], stderr[-3000:]
    assert "Traceback" not in stdout + stderr
