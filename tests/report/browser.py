"""Headless Debian chromium driven over the DevTools protocol: open a page offline, record every request.

`make test` installs Debian's `chromium` with apt-get before pytest starts when it is missing and the user
is root (as on CI); the tests never install anything. Without chromium a browser test fails, saying how to
get it: it is not skipped. Chromium gets no network: the host resolver maps every name to nothing and a
proxy that does not exist catches anything else; the DevTools `Network` domain records each request the
page makes, so a test can assert there were none besides the page itself.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

CHROMIUM = "/usr/bin/chromium"


def require_chromium() -> str:
    """The chromium binary; a failed test (not a skip) when it is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium (`make test` installs it "
                    "when run as root; otherwise `sudo apt-get install chromium`)", pytrace=False)
    return CHROMIUM


@dataclass
class Page:
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    result: Any = None


class _Session:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        while True:
            event = json.loads(self.ws.recv(timeout=60))
            if event.get("method") == method:
                return event  # type: ignore[no-any-return]
            self.events.append(event)


@contextmanager
def _browser() -> Iterator[str]:
    profile = tempfile.mkdtemp(prefix="kraken-etl-chromium-")
    proc = subprocess.Popen(
        [require_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            if found:
                yield found.group(1)
                break
        else:
            raise RuntimeError("chromium did not start its DevTools endpoint")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def open_offline(path: Path, expression: str) -> Page:
    """Load `path` in headless chromium, evaluate `expression` (its value must be JSON) after load."""
    page = Page()
    with _browser() as endpoint, connect(endpoint, max_size=None, open_timeout=30) as ws:
        s = _Session(ws)
        target = s.call("Target.createTarget", url="about:blank")["targetId"]
        sid = s.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        s.call("Network.enable", sid)
        s.call("Page.enable", sid)
        s.call("Page.navigate", sid, url=path.resolve().as_uri())
        s.wait_for("Page.loadEventFired")
        value = s.call("Runtime.evaluate", sid, expression=expression, returnByValue=True)
        page.result = json.loads(value["result"]["value"])
        for event in s.events:
            if event.get("method") == "Network.requestWillBeSent":
                page.requests.append(event["params"]["request"]["url"])
            if event.get("method") == "Network.loadingFailed":
                page.failed.append(event["params"].get("errorText", ""))
    return page
