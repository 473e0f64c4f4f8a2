"""A fake Kraken at the network seam, on loopback: every call is answered ``EGeneral:Temporary lockout``, so
the client's retry sleeps (a lockout probe waits minutes). `answered` is set once the first call was answered:
the client is then in its retry wait."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCKOUT = json.dumps({"error": ["EGeneral:Temporary lockout"], "result": {}}).encode()


@contextmanager
def lockout_kraken() -> Iterator[tuple[str, threading.Event]]:
    """(base URL, `answered`) of a server answering every request with a lockout, stopped afterwards."""
    answered = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(LOCKOUT)))
            self.end_headers()
            self.wfile.write(LOCKOUT)
            answered.set()

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()
