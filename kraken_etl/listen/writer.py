"""The listener's committer: a thread that writes handed-over batches, so reading and parsing go on while
PostgreSQL commits (the commit's round trips and fsync overlap the next batch's arrival).

Batches that queue up while a commit runs are merged into the next transaction (group commit), so a slow
disk makes transactions bigger rather than the listener slower. When more than `max_waiting` messages
wait, `put` blocks: the WebSocket backs up in the socket instead of memory. A database error is kept for
the listener to raise, and sets `stop`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from kraken_etl.core.clock import Clock
from kraken_etl.db.runs import Engine
from kraken_etl.db.wscommit import CommitConnection
from kraken_etl.listen.batch import Batch

log = logging.getLogger(__name__)
CommitHook = Callable[[list[float], list[datetime], float], None]


class BatchWriter:
    """Commits batches on its own thread (see the module docstring)."""

    def __init__(self, *, engine: Engine, account: str, session_id: int | None, clock: Clock,
                 stop: threading.Event, on_commit: CommitHook | None = None, max_waiting: int = 20_000) -> None:
        self.engine, self.account, self.session_id, self.clock = engine, account, session_id, clock
        self.stop, self.on_commit, self.max_waiting = stop, on_commit, max_waiting
        self.messages = self.executions = self.balance_updates = self.quarantined = self.batches = 0
        self.error: BaseException | None = None
        self._queue: list[Batch] = []
        self._waiting = 0
        self._busy = False
        self._closing = False
        self._cond = threading.Condition()
        self._db = CommitConnection(engine, clock)  # used by the committer thread only
        self._thread = threading.Thread(target=self._run, name=f"commit-{account}", daemon=True)
        self._thread.start()

    def put(self, batch: Batch) -> None:
        """Hand a batch over (blocks while too many messages wait)."""
        with self._cond:
            self._queue.append(batch)
            self._waiting += batch.size
            self._cond.notify_all()
            while self._waiting > self.max_waiting and self.error is None:
                self._cond.wait(0.1)

    def drain(self) -> None:
        """Wait until everything handed over is committed (or failed)."""
        with self._cond:
            while (self._queue or self._busy) and self.error is None:
                self._cond.wait(0.1)

    def close(self) -> None:
        """Commit what waits, then end the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    self._db.close()
                    return
                batches, self._queue = self._queue, []
                taken = sum(b.size for b in batches)  # now: committing merges and empties the batches
                self._busy = True
            try:
                if self.error is None:
                    self._commit(batches)
            except BaseException as exc:  # the listener raises it after stopping
                log.error("%s: commit failed: %s", self.account, exc)
                self.error = exc
                self.stop.set()
            finally:
                with self._cond:
                    self._busy = False
                    self._waiting -= taken
                    self._cond.notify_all()

    def _commit(self, batches: list[Batch]) -> None:
        merged = batches[0]
        for other in batches[1:]:
            merged.absorb(other)
        received = merged.received
        events = ([r.timestamp for r in merged.executions] + [r.timestamp for r in merged.balance_updates]
                  if self.on_commit is not None else [])
        counts = merged.commit(self._db, self.account, self.session_id)
        self.messages += len(received)
        self.executions += counts.executions
        self.balance_updates += counts.balance_updates
        self.quarantined += counts.quarantined
        self.batches += 1
        if self.on_commit is not None:
            self.on_commit(received, events, self.clock.now())
