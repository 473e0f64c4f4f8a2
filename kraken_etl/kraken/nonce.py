"""Nonces: strictly increasing per API key, across threads AND processes.

Choice: a per-key lock file plus state file under ``KRAKEN_ETL_HOME/nonce/`` (``fcntl.flock``), held
*across nonce generation and the send* (as rotki does). Why not a PostgreSQL sequence: a sequence hands
out increasing numbers but cannot order their *arrival* at Kraken; two processes that drew 101 and 102 can
still deliver 102 first and get ``EAPI:Invalid nonce``. Ordering needs a lock held while the request is in
flight, and holding a database connection and advisory lock across an HTTP call couples the HTTP ring to
SQL and to the database being up. `flock` is released by the kernel when a process dies, costs
microseconds, and works without a database (the simulator, the benchmark). Limit: it serialises the
processes of ONE machine; workers of one key on several machines need separate keys (Kraken's own advice:
one key per purpose) or a `NonceSource` backed by the database, which this protocol allows injecting.

Nonces are milliseconds since the epoch (ccxt, rotki, krakenex use that scale; mixing scales on one key
breaks the smaller one, Kraken.Net#23), bumped to ``last + 1`` when calls come faster than 1 ms.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from kraken_etl.core.clock import Clock


class NonceSource(Protocol):
    """Hands out a nonce and keeps others waiting until the request that carries it has been sent."""

    def hold(self) -> AbstractContextManager[int]: ...


def key_id(api_key: str) -> str:
    """A short, non-reversible id for an API key (file names, registries); never the key itself."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:24]


class MemoryNonceSource:
    """Thread-safe nonces for one process (tests, and when no state directory is wanted)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[int]:
        with self._lock:
            self._last = max(self._last + 1, int(self._clock.now() * 1000))
            yield self._last


class FileNonceSource:
    """Nonces shared by every thread and process of this machine using one key (see module docstring)."""

    def __init__(self, directory: Path, api_key_id: str, clock: Clock) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{api_key_id}.nonce"
        self._clock = clock
        self._thread_lock = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[int]:
        with self._thread_lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
                last = int(text) if text.isdigit() else 0
                nonce = max(last + 1, int(self._clock.now() * 1000))
                encoded = str(nonce).encode()
                os.ftruncate(fd, 0)
                os.pwrite(fd, encoded, 0)
                yield nonce
            finally:
                os.close(fd)  # closing releases the flock



def _nonce_path(home: Path, api_key_id: str) -> Path:
    return home / "nonce" / f"{api_key_id}.nonce"


def raise_nonce_floor(home: Path, api_key_id: str, floor: int) -> int:
    """Make this machine's next nonce for the key exceed `floor` (the high-water mark of other machines).

    Takes the same `flock` as `FileNonceSource.hold`, so it never interleaves with a send. Returns the
    file's last nonce afterwards.
    """
    path = _nonce_path(home, api_key_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        last = int(text) if text.isdigit() else 0
        if floor > last:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(floor).encode(), 0)
            last = floor
        return last
    finally:
        os.close(fd)


def last_nonce(home: Path, api_key_id: str) -> int:
    """The last nonce this machine handed out for the key (0 when it never used it)."""
    return raise_nonce_floor(home, api_key_id, 0)
