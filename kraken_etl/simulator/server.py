"""Serving the simulator with uvicorn on a real socket: in the foreground (``kraken-etl simulator
serve``), in a background thread for tests (`serve_in_thread`), or in a child process (`serving_process`:
the demo, so the simulator's work runs on its own core instead of sharing the client's interpreter).

The socket is bound before uvicorn starts, so port 0 picks a free port and the URL is known. In the
foreground, SIGTERM/SIGINT stop the server gracefully and the process exits 0 (uvicorn's default is to
re-raise the signal after shutdown).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from kraken_etl.simulator.admin import warn_if_exposed
from kraken_etl.simulator.app import create_app
from kraken_etl.simulator.config import SimConfig


class _Server(uvicorn.Server):
    """uvicorn's server, with signal handling that ends in a clean exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only turns TCP_NODELAY on for sockets whose proto says TCP; without
    # it every response waits for the client's delayed ACK (~40 ms per call on Linux).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def urls(host: str, port: int) -> tuple[str, str]:
    """REST base URL and WebSocket v2 URL for a bound address."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}", f"ws://{shown}:{port}/v2"


def connection_line(config: SimConfig, host: str, port: int) -> dict[str, Any]:
    """The one JSON object ``serve`` prints (the only place the secrets are shown); with several accounts it
    also lists each account's key pair under ``accounts`` (account 0's is the top-level one)."""
    rest_url, ws_url = urls(host, port)
    key = config.default_key
    line: dict[str, Any] = {"rest_url": rest_url, "ws_url": ws_url, "api_key": key.key, "api_secret": key.secret}
    if config.accounts > 1:
        keys = [config.account_config(i).default_key for i in range(config.accounts)]
        line["accounts"] = [{"account": i, "api_key": k.key, "api_secret": k.secret} for i, k in enumerate(keys)]
    return line


def _uvicorn_config(app: Starlette, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(app, log_level=log_level, access_log=False, lifespan="on", ws_ping_interval=None)


def serve(config: SimConfig, host: str, port: int, on_ready: Callable[[dict[str, Any]], None],
          log_level: str = "warning") -> None:
    """Serve in the foreground until SIGTERM/SIGINT; `on_ready` gets the connection line once listening.

    Raises:
        OSError: when the address cannot be bound.
    """
    app = create_app(config)
    # The account is long-lived: keep the cyclic GC from rescanning it (page p95 2 ms instead of 14 ms
    # at 2,000,000 entries, bench/bench_simulator.py).
    gc.freeze()
    sock = bind(host, port)
    warn_if_exposed(host)
    bound_port = sock.getsockname()[1]
    server = _Server(_uvicorn_config(app, log_level))

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            on_ready(connection_line(config, host, bound_port))
        await task

    asyncio.run(main())


@dataclass
class RunningSimulator:
    """A simulator served by uvicorn in a background thread (see `serve_in_thread`)."""

    app: Starlette
    rest_url: str
    ws_url: str
    api_key: str
    api_secret: str
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def ctx(self) -> Any:
        """The first account's `SimContext` (store, faults, clock, …)."""
        return self.app.state.sim

    def account_key(self, index: int) -> tuple[str, str]:
        """Account `index`'s API key and secret (0 is `api_key`/`api_secret`)."""
        key = self.app.state.fleet.config.account_config(index).default_key
        return key.key, key.secret

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def serve_in_thread(config: SimConfig | None = None, host: str = "127.0.0.1",
                    app: Starlette | None = None, timeout: float = 30.0) -> RunningSimulator:
    """Start the simulator on a free loopback port in a daemon thread; returns once it accepts.

    Raises:
        RuntimeError: when the server does not start within `timeout` seconds.
    """
    config = config or SimConfig()
    app = app or create_app(config)
    sock = bind(host, 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(app, "warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"kraken-sim-{port}")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("simulator did not start")
        time.sleep(0.01)
    rest_url, ws_url = urls(host, port)
    key = app.state.sim.config.default_key
    return RunningSimulator(app, rest_url, ws_url, key.key, key.secret, server, thread)


@contextlib.contextmanager
def running(config: SimConfig | None = None) -> Iterator[RunningSimulator]:
    """``with running(config) as sim:`` — `serve_in_thread` that always stops."""
    sim = serve_in_thread(config)
    try:
        yield sim
    finally:
        sim.stop()


@dataclass(frozen=True)
class ServedProcess:
    """A simulator served by a child process (see `serving_process`); no access to its state."""

    rest_url: str
    ws_url: str
    api_key: str
    api_secret: str
    accounts: tuple[tuple[str, str], ...] = ()  # every account's (key, secret) when it serves several


def _child(config: SimConfig, ready: Any) -> None:
    serve(config, "127.0.0.1", 0, on_ready=ready.send)


@contextlib.contextmanager
def serving_process(config: SimConfig, timeout: float = 60.0) -> Iterator[ServedProcess]:
    """``with serving_process(config) as sim:`` — the simulator on a free loopback port in a child process,
    stopped (SIGTERM, then SIGKILL) when the block ends.

    Raises:
        RuntimeError: when the child does not report ready within `timeout` seconds.
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(config, send), daemon=True, name="kraken-sim")
    child.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise RuntimeError(f"simulator did not start within {timeout:.0f} s (exit code {child.exitcode})")
        try:
            line = receive.recv()
        except EOFError:
            child.join(5)
            raise RuntimeError(f"simulator exited before it was ready (exit code {child.exitcode})") from None
        yield ServedProcess(line["rest_url"], line["ws_url"], line["api_key"], line["api_secret"],
                            tuple((a["api_key"], a["api_secret"]) for a in line.get("accounts", ())))
    finally:
        receive.close()
        child.terminate()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
