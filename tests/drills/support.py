"""Helpers for the drills: the CLI as a real process, loopback servers that misbehave, output checks."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# A canary credential: base64 like a real secret, and unique enough to grep for anywhere.
CANARY_KEY = "CANARYKEY-7f3a9c1e5b2d4680-KRAKENETL"
CANARY_SECRET = base64.b64encode(b"CANARY-SECRET-" + b"9d8e7f6a5b" * 5).decode()  # 64 bytes, like Kraken's
CANARY_PASSWORD = "CanaryPw-4b1d9e"


@dataclass
class CliRun:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def error_lines(self) -> list[str]:
        """stderr's error lines (progress bars also go to stderr, and are not errors)."""
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def clean_env(**overrides: str) -> dict[str, str]:
    """The process environment without any project setting, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRAKEN_", "DATABASE_URL"))}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
    env.update(overrides)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> CliRun:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kraken_etl", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return CliRun(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


def assert_one_clean_line(run: CliRun, *, code: int, naming: str) -> str:
    """The run failed with exactly one error line naming `naming`, no traceback, no canary."""
    assert run.code == code, (run.code, run.output[-2000:])
    assert "Traceback" not in run.output, run.output[-3000:]
    lines = run.error_lines()
    assert len(lines) == 1, run.stderr
    others = [line for line in run.stderr.splitlines() if line.strip() and not line.startswith("error:")]
    # nothing besides the error but progress bars and the line saying where each stream's sync starts
    assert all("━" in line or re.fullmatch(r"\S+ \S+: starts .+", line) for line in others), others
    assert naming in lines[0], lines[0]
    for canary in (CANARY_KEY, CANARY_SECRET, CANARY_PASSWORD):
        assert canary not in run.output
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_listener() -> Iterator[int]:
    """A loopback TCP port that accepts connections and never says a word (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@contextmanager
def http_server(status: int, body: bytes, content_type: str = "text/html") -> Iterator[str]:
    """A loopback HTTP server answering every request with `status` and `body`; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
