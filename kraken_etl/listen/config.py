"""The listener's knobs, with the defaults `kraken-etl listen` uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from kraken_etl.core.wsgaps import Backoff


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """How the listener batches, watches and reconnects.

    - batches commit when `batch_max` messages are waiting or the oldest waited `batch_seconds`;
    - no message at all (not even a heartbeat, ~1/s when idle) for `silence_seconds` = a dead connection
      (Kraken's reconnection guide: ~5 s);
    - an application ping every `ping_seconds`;
    - a detected gap is filled `fill_delay` seconds later (REST shows new rows after a moment, and gaps
      close together merge into one REST window), reading `margin` seconds either side of it;
    - reconnects wait `backoff` (exponential, full jitter); `max_connect_failures` in a row (0 = never)
      ends the listener;
    - while it runs, the interpreter hands the GIL between threads every `switch_interval` seconds at
      most (Python's default is 5 ms): the committer thread waits for the GIL after each PostgreSQL
      round trip while the reading thread is busy, and at 5 ms a turn those waits were most of a
      commit's time (bench/bench_listen.py at 6,000 msg/s: p99 1,084 → 734 ms and 149 → 87 ms in two
      paired runs, CPU per message unchanged).
    """

    batch_max: int = 500
    batch_seconds: float = 0.010
    silence_seconds: float = 5.0
    ping_seconds: float = 15.0
    fill_delay: float = 1.0
    margin: float = 2.0
    token_margin: float = 60.0
    backoff: Backoff = field(default_factory=Backoff)
    max_connect_failures: int = 0
    subscribe_timeout: float = 10.0
    switch_interval: float = 0.0005


