"""`Listener`: one account's WebSocket v2 listener, until its stop event is set.

The loop: fresh token → connect → subscribe (executions with order and trade snapshots, balances with
snapshot) → consume. Messages are parsed on arrival and committed in small batches (`batch_max` messages
or `batch_seconds`, whichever comes first), rows and the session's progress in one transaction.

Gaps (each recorded in `listener_gap` by `listen.gaps` before it is filled from REST by `listen.gapfill`):

- ``restart``: at start, from the last moment a previous session was alive to the new subscription
  (covers a kill -9 and the downtime after it);
- ``sequence``: a channel's sequence jumped: from the last event before it to the first after;
- ``disconnect`` / ``silence``: the socket closed, or nothing (not even a heartbeat) arrived for
  `silence_seconds`: from the last message to the next subscription.

Reconnects wait an exponential backoff with full jitter. A stop (SIGTERM/SIGINT via `run`) notes where
reading ended (`read_until`: the session covered up to there, and the next start's gap starts there),
commits what is waiting, records any open interval as a gap (left pending for the next start, like every gap whose
fill has not finished), closes the socket and marks the session stopped.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from datetime import datetime, timedelta

from kraken_etl.core.clock import Clock
from kraken_etl.core.switching import hold_switch_interval
from kraken_etl.core.wsframes import Frame, MalformedMessage, classify, decode
from kraken_etl.core.wsgaps import SequenceTracker
from kraken_etl.db import ws as store
from kraken_etl.db.runs import Engine
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import KrakenError
from kraken_etl.kraken.ws import TokenKeeper, WsConnection, WsDisconnected, WsSubscriptionRefused
from kraken_etl.listen.batch import Batch, as_datetime
from kraken_etl.listen.config import ListenerConfig
from kraken_etl.listen.gapfill import GapFiller, warm_up
from kraken_etl.listen.gaps import GapRecorder, gap_start
from kraken_etl.listen.stats import ListenerBusy, ListenStats
from kraken_etl.listen.subscribe import subscribe
from kraken_etl.listen.writer import BatchWriter, CommitHook

__all__ = ["ListenStats", "Listener", "ListenerBusy"]

log = logging.getLogger(__name__)


class Listener:
    """The listener of one account (see the module docstring)."""

    def __init__(self, *, account: str, ws_url: str, client: KrakenClient, engine: Engine, clock: Clock,
                 stop: threading.Event, config: ListenerConfig | None = None, rng: random.Random | None = None,
                 on_commit: CommitHook | None = None) -> None:
        self.account, self.ws_url, self.client, self.engine, self.clock = account, ws_url, client, engine, clock
        self.stop = stop
        self.config = config or ListenerConfig()
        self.rng = rng or random.Random()  # jitter, not cryptography
        self.on_commit = on_commit
        self.tokens = TokenKeeper(client, clock, self.config.token_margin)
        self.stats = ListenStats(account)
        self.batch = Batch()
        self.tracker = SequenceTracker()
        self._last_event: dict[str, datetime] = {}
        self.gaps = GapRecorder(engine=engine, account=account, clock=clock, fill_delay=self.config.fill_delay,
                                stats=self.stats)
        self._last_received: float | None = None
        self.filler: GapFiller | None = None
        self.writer: BatchWriter | None = None
        self._open_gap: tuple[str, datetime] | None = None  # (kind, start) of a gap not yet recorded
        self._read_until: datetime | None = None  # a stop: where reading ended (what the session covered)

    # -- the whole run ------------------------------------------------------------------------------

    def run(self) -> ListenStats:
        """Listen until `stop` is set; returns the counters.

        Raises:
            ListenerBusy: when another listener holds this account.
            FatalKrakenError: when the key cannot get a token or read REST (invalid key, permission).
            WsDisconnected: after `max_connect_failures` failed connects in a row (when set).
        """
        lock = self.engine.connect()
        if not store.try_lock_account(lock, self.account):
            lock.close()
            raise ListenerBusy(f"a listener already runs for account {self.account!r}")
        release_switch = hold_switch_interval(self.config.switch_interval)
        try:
            warm_up()
            now = as_datetime(self.clock.now())
            with self.engine.begin() as conn:
                alive = store.interrupt_stale_sessions(conn, self.account, now)
                if alive is not None:
                    alive = gap_start(alive, store.newest_events(conn, self.account))
                self.stats.session_id = store.start_session(conn, self.account, now, os.getpid())
                leftover = store.open_gaps(conn, self.account)
            self.writer = BatchWriter(engine=self.engine, account=self.account, session_id=self.stats.session_id,
                                      clock=self.clock, stop=self.stop, on_commit=self.on_commit)
            self.filler = GapFiller(client=self.client, engine=self.engine, account=self.account, clock=self.clock,
                                    margin=self.config.margin, stop=self.stop)
            self.filler.submit([g.id for g in leftover])
            self.gaps.filler = self.filler
            if alive is not None:  # recorded at once, so a crash before the first subscription keeps it
                self.gaps.record("restart", alive, now)
            self._loop(now)  # the start-up itself, until the subscription, is a gap too
        finally:
            try:
                self._finish()
            finally:
                release_switch()
                store.unlock_account(lock, self.account)
                lock.close()
        for helper in (self.writer, self.filler):
            if helper is not None and helper.error is not None:
                raise helper.error
        return self.stats

    def _loop(self, started: datetime) -> None:
        try:
            self._connections(("restart", started), 0)
        finally:
            if self._open_gap is not None:  # stopped while not subscribed: the interval still counts
                kind, start = self._open_gap
                self.gaps.record(kind, start, as_datetime(self.clock.now()))
                self._open_gap = None

    def _connections(self, gap_from: tuple[str, datetime] | None, failures: int) -> None:
        self._open_gap = gap_from
        while not self.stop.is_set():
            conn: WsConnection | None = None
            try:
                conn = self._connect()
                failures = 0
                connected = as_datetime(self.clock.now())
                if self._open_gap is not None:
                    self.gaps.record(self._open_gap[0], self._open_gap[1], connected)
                self._open_gap = None
                reason = self._consume(conn)
            except (WsDisconnected, WsSubscriptionRefused) as exc:
                reason = "disconnect"
                log.warning("%s: %s", self.account, exc)
            except KrakenError as exc:
                if not exc.retryable:
                    raise
                reason = "disconnect"
                log.warning("%s: token: %s", self.account, exc)
            finally:
                if conn is not None:
                    conn.close()
            self._flush()
            if self._open_gap is None and reason != "stop":
                last = self._last_received
                self._open_gap = (reason, gap_start(
                    as_datetime(last if last is not None else self.clock.now()), list(self._last_event.values())))
            if self.stop.is_set():
                break
            failures += 1
            if self.config.max_connect_failures and failures >= self.config.max_connect_failures:
                raise WsDisconnected(f"{failures} connection attempts failed in a row")
            self.stop.wait(self.config.backoff.delay(failures - 1, self.rng))

    def _finish(self) -> None:
        try:
            self._flush()
            if self.writer is not None:
                self.writer.close()
                self._sync_stats()
            if self.filler is not None:  # gaps not filled yet stay pending for the next start
                self.filler.close()
                self.stats.gaps_filled = self.filler.filled
        finally:
            if self.stats.session_id is not None:
                with self.engine.begin() as conn:
                    store.stop_session(conn, self.stats.session_id, as_datetime(self.clock.now()),
                                       self.stats.stop_reason or "stopped", read_until=self._read_until)

    # -- one connection -----------------------------------------------------------------------------

    def _connect(self) -> WsConnection:
        token = self.tokens.fresh()  # a new token for every connection
        conn = WsConnection(self.ws_url)
        self.tracker.reset()  # a new connection starts new subscriptions (and sequences)
        subscribe(conn, token, self.tokens, self.clock, self.config.subscribe_timeout, self._handle)
        self.stats.connects += 1
        with self.engine.begin() as db:
            store.mark_connected(db, self.stats.session_id or 0, as_datetime(self.clock.now()))
        return conn

    def _consume(self, conn: WsConnection) -> str:
        cfg, clock, stop = self.config, self.clock, self.stop
        last_any = now = clock.now()
        next_ping = last_any + cfg.ping_seconds
        while not stop.is_set():
            now = clock.now()
            wait = min(last_any + cfg.silence_seconds, next_ping, now + 0.25)
            first = self.batch.first_at
            if first is not None and first + cfg.batch_seconds < wait:
                wait = first + cfg.batch_seconds
            due = self.gaps.due
            if due is not None and due < wait:
                wait = due
            text = conn.recv(wait - now)
            now = clock.now()
            if text is not None:
                last_any = now
                for message in (text, *conn.read_ahead()):  # every message the same socket read brought
                    self._handle(message, now)
                    if self.batch.size >= cfg.batch_max:
                        self._flush()
            else:
                self._sync_stats()
            first = self.batch.first_at
            if first is not None and now - first >= cfg.batch_seconds:
                self._flush()
            if due is not None and now >= due:
                self.gaps.hand_over()
            if now - last_any >= cfg.silence_seconds:
                return "silence"
            if now >= next_ping:
                conn.ping()
                next_ping = now + cfg.ping_seconds
        self.stats.stop_reason = "signal"
        # what this session covered ends at its last read (or earlier, at the newest event of a channel
        # whose messages may still have been on their way), not when the shutdown finishes
        self._read_until = gap_start(as_datetime(now), list(self._last_event.values()))
        return "stop"

    def _handle(self, text: str, now: float | None = None) -> Frame | None:
        if now is None:
            now = self.clock.now()
        self._last_received = now
        try:
            frame = classify(decode(text))
        except MalformedMessage as exc:
            self.batch.reject("ws", str(exc), {"text": text[:2000]}, received_at=now)
            return None
        channel = frame.channel
        if frame.kind != "data" or channel is None:
            return frame
        gap = self.tracker.observe(channel, frame.type, frame.sequence)
        before = self._last_event.get(channel)
        newest = self.batch.add(frame, now)
        if newest is not None and frame.type != "snapshot":  # a trades snapshot holds old fills
            if before is None or newest > before:
                self._last_event[channel] = newest
        if gap is not None:
            end = newest or as_datetime(now)
            self.gaps.record("sequence", before or end - timedelta(seconds=self.config.silence_seconds), end,
                             channel=gap.channel, expected=gap.expected, got=gap.got)
        return frame

    # -- commits ---------------------------------------------------------------------------

    def _flush(self) -> None:
        """Hand the batch to the committer and start a new one."""
        if not self.batch.size or self.writer is None:
            return
        self.writer.put(self.batch)
        self.batch = Batch()
        self._sync_stats()

    def _sync_stats(self) -> None:
        w = self.writer
        if w is not None:
            self.stats.messages, self.stats.executions = w.messages, w.executions
            self.stats.balance_updates, self.stats.quarantined, self.stats.batches = (
                w.balance_updates, w.quarantined, w.batches)
