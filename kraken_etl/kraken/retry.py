"""The per-request retry (level one): what is retried, how long it waits, when it gives up.

- Transport failures, HTTP 429/5xx, ``EService:*`` and ``EGeneral:Internal error``: bounded attempts
  (`RetryPolicy.max_attempts`) with exponential backoff and **full jitter** — the n-th wait is
  ``uniform(0, min(backoff_max, backoff_base * 2**(n-1)))`` — within `max_backoff_total` seconds of sleep.
  A connection that cannot even be opened (refused, unknown host) gets `connect_attempts` only: that is a
  wrong URL far more often than an outage, and the command must say so within seconds.
- ``EAPI:Rate limit exceeded``: not an attempt count but a **time budget driven by the counter model**. The
  shared counter is filled to the limit (`penalise`), so the next acquire waits for real decay; the retry
  goes on while the time spent since the first rejection is under `rate_limit_drains` full drains of the
  tier's counter (``limit / decay`` seconds each). A storm of 20 rejections on a Starter key (≈ 4 s of
  decay each) is ridden out; a key someone else keeps saturating fails after the budget.
- ``EAPI:Invalid nonce``: `nonce_retries` more tries with a fresh nonce.
- ``EGeneral:Temporary lockout``: one probe per `lockout_probe_seconds` within `lockout_budget_seconds`.
- Anything fatal raises at once. When a budget runs out, `RetriesExhausted` is raised from the last error.

All waits go through the injected `Clock`, so tests are instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from kraken_etl.core.callcounter import Tier
from kraken_etl.core.clock import Clock
from kraken_etl.kraken.errors import (
    InvalidNonce,
    KrakenError,
    RateLimitExceeded,
    RetriesExhausted,
    ServiceThrottled,
    TemporaryLockout,
)
from kraken_etl.kraken.http import transport_error
from kraken_etl.kraken.ratelimit import SharedCounter


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds of the per-request retry."""

    max_attempts: int = 8
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_backoff_total: float = 60.0  # seconds of backoff sleep per request, counter waits excluded
    connect_attempts: int = 3  # a connection that cannot be opened at all
    nonce_retries: int = 1
    rate_limit_drains: float = 4.0  # rate-limit budget: this many full drains of the tier's counter
    lockout_probe_seconds: float = 120.0
    lockout_budget_seconds: float = 960.0  # Kraken's lockout lasts about 15 minutes


@dataclass(slots=True)
class ClientStats:
    """What the client did: calls sent, seconds waited for the counter and for backoff, retries."""

    calls: int = 0
    counter_wait: float = 0.0
    backoff_wait: float = 0.0
    retries: int = 0
    rate_limited: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def wait_seconds(self) -> float:
        return self.counter_wait + self.backoff_wait

    def copy(self) -> ClientStats:
        return ClientStats(self.calls, self.counter_wait, self.backoff_wait, self.retries,
                           self.rate_limited, dict(self.errors))


def full_jitter(policy: RetryPolicy, attempt: int, rng: random.Random) -> float:
    """The wait after the `attempt`-th failure: ``uniform(0, min(backoff_max, backoff_base * 2**(attempt-1)))``
    (full jitter, AWS Architecture Blog "Exponential Backoff And Jitter")."""
    ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** (attempt - 1))
    return rng.uniform(0.0, ceiling)


@dataclass(slots=True)
class _Budget:
    attempts: int = 0  # failures that count against max_attempts
    connect_failures: int = 0
    backoff_total: float = 0.0
    lockout_total: float = 0.0
    nonce_retries: int = 0
    rate_limited_since: float | None = None


class Retrier:
    """Runs one request under the policy. `counter` is the key's call counter (None for public calls)."""

    def __init__(self, policy: RetryPolicy, clock: Clock, stats: ClientStats, rng: random.Random,
                 tier: Tier, host: str) -> None:
        self.policy = policy
        self.clock = clock
        self.stats = stats
        self.rng = rng
        self.tier = tier
        self.host = host

    def rate_limit_budget(self) -> float:
        """Seconds a rate-limit storm may last: `rate_limit_drains` full drains of the counter."""
        return self.policy.rate_limit_drains * self.tier.limit / self.tier.decay_per_second

    def run(self, name: str, attempt: Callable[[], Any], counter: SharedCounter | None) -> Any:
        budget = _Budget(nonce_retries=self.policy.nonce_retries)
        while True:
            try:
                return attempt()
            except httpx.TransportError as exc:
                error = transport_error(exc, self.host, name)
                if isinstance(exc, httpx.ConnectError):
                    budget.connect_failures += 1
            except KrakenError as exc:
                error = exc
            self.stats.errors[error.code] = self.stats.errors.get(error.code, 0) + 1
            delay = self._next_delay(name, error, budget, counter)
            self.stats.retries += 1
            if delay > 0:
                self.clock.sleep(delay)
                self.stats.backoff_wait += delay

    def _next_delay(self, name: str, error: KrakenError, budget: _Budget, counter: SharedCounter | None) -> float:
        """Seconds to sleep before the next attempt; raises when the error is fatal or a budget is spent."""
        policy = self.policy
        if isinstance(error, TemporaryLockout):
            if budget.lockout_total + policy.lockout_probe_seconds > policy.lockout_budget_seconds:
                raise error
            budget.lockout_total += policy.lockout_probe_seconds
            return policy.lockout_probe_seconds
        if not error.retryable:
            raise error
        if isinstance(error, RateLimitExceeded) and counter is not None:
            self.stats.rate_limited += 1
            now = self.clock.now()
            if budget.rate_limited_since is None:
                budget.rate_limited_since = now
            spent = now - budget.rate_limited_since
            if spent >= self.rate_limit_budget():
                raise self._exhausted(name, error, f"rate limited for {spent:.0f}s "
                                                   f"({self.stats.rate_limited} rejections)")
            counter.penalise(self.clock)  # the next acquire waits for the counter's decay
            return 0.0
        if isinstance(error, InvalidNonce):
            if budget.nonce_retries <= 0:
                raise error
            budget.nonce_retries -= 1
        budget.attempts += 1
        delay = full_jitter(policy, budget.attempts, self.rng)
        if isinstance(error, ServiceThrottled) and error.retry_at is not None:
            delay = max(delay, error.retry_at - self.clock.now())
        if budget.connect_failures >= policy.connect_attempts:
            raise self._exhausted(name, error, f"{budget.connect_failures} connection attempts")
        if budget.attempts >= policy.max_attempts or budget.backoff_total + delay > policy.max_backoff_total:
            raise self._exhausted(name, error, f"{budget.attempts} attempts")
        budget.backoff_total += delay
        return delay

    @staticmethod
    def _exhausted(name: str, error: KrakenError, what: str) -> RetriesExhausted:
        detail = f"{what}; last: {error.label}" + (f" ({error.message})" if error.message else "")
        exhausted = RetriesExhausted("EClient:Retries exhausted", detail, method=name)
        exhausted.__cause__ = error
        return exhausted
