"""`kraken-etl simulator serve`: one JSON line once listening, real HTTP, clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx
import pytest

from kraken_etl.simulator import SimConfig

SERVE = [sys.executable, "-c", "from kraken_etl.cli.simulator_cmd import app; app()", "serve"]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_one_line_and_stops_cleanly(stop: signal.Signals) -> None:
    proc = subprocess.Popen([*SERVE, "--port", "0", "--seed", "21", "--ledger-entries", "300",
                             "--faults", "seed=2", "--rate-scale", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
        assert set(line) == {"rest_url", "ws_url", "api_key", "api_secret"}
        assert line["rest_url"].startswith("http://127.0.0.1:") and line["ws_url"].endswith("/v2")
        key = SimConfig(seed=21).default_key
        assert (line["api_key"], line["api_secret"]) == (key.key, key.secret)
        reply = httpx.get(line["rest_url"] + "/0/public/SystemStatus", timeout=10).json()
        assert reply["result"]["status"] == "online"
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert out == "" and key.secret not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_rejects_a_bad_fault_spec() -> None:
    result = subprocess.run([*SERVE, "--faults", "nonsense=1"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "unknown fault" in result.stderr
