"""A test seam in front of the simulator (ASGI middleware; the simulator itself is unchanged): it counts the
private calls per method, keeps the parameters of each method's first call since the last `reset`, and,
when armed, SIGKILLs a client process on its n-th private call (a real kill at a seeded, reproducible
moment: the client is synchronous, so what it committed before that call is all it will ever commit)."""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qs


class CallLog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.first: dict[str, dict[str, str]] = {}
        self.pid: int | None = None
        self.kill_at = 0
        self.killed = False

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.first.clear()
            self.pid, self.kill_at, self.killed = None, 0, False

    def arm(self, pid: int, nth_call: int) -> None:
        with self.lock:
            self.pid, self.kill_at = pid, nth_call

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class LoggingMiddleware:
    def __init__(self, app: Any, log: CallLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/0/private/"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        method = path.rsplit("/", 1)[-1]
        log = self.log
        with log.lock:
            log.calls[method] += 1
            if method not in log.first:
                log.first[method] = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if log.pid is not None and log.total >= log.kill_at:
                os.kill(log.pid, signal.SIGKILL)
                log.pid, log.killed = None, True
        await self.app(scope, replay, send)
