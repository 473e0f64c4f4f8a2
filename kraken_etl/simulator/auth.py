"""Private-call authentication as Kraken does it: key, signature over the raw body, nonce, permission,
call counter, lockouts.

Order of checks (each failure is an HTTP 200 envelope error): unknown key → ``EAPI:Invalid key``; a key
in lockout → ``EGeneral:Temporary lockout``; missing/garbled nonce or bad signature →
``EAPI:Invalid signature`` / ``EAPI:Invalid nonce``; nonce not above the last accepted (minus the key's
window) → ``EAPI:Invalid nonce``; method not allowed → ``EGeneral:Permission denied``; counter full →
``EAPI:Rate limit exceeded``. Signature and nonce failures count towards a lockout, as do repeated
rate-limit violations (support "API Error Codes"; the thresholds are knobs).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kraken_etl.core.callcounter import TIERS, CallCounter
from kraken_etl.core.clock import Clock
from kraken_etl.core.signature import verify
from kraken_etl.simulator.config import METHOD_COSTS, METHOD_PERMISSIONS, ApiKey, SimConfig


class ApiError(Exception):
    """A Kraken API error to send as ``{"error": [message]}`` with HTTP 200."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(slots=True)
class KeyState:
    """Per-key mutable state: nonce history, counter, failures, lockout."""

    key: ApiKey
    counter: CallCounter
    last_nonce: int = -1
    recent: set[int] = field(default_factory=set)  # nonces accepted inside the window
    failures: deque[float] = field(default_factory=deque)
    violations: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class Authenticator:
    """Checks private requests against the configured keys."""

    def __init__(self, config: SimConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        tier = TIERS[config.tier].scaled(config.rate_scale)
        self.keys = {k.key: KeyState(k, CallCounter(tier, at=clock.now())) for k in config.api_keys}
        self.lock = threading.Lock()
        self.storm: Callable[[], bool] | None = None  # set by the context: consumes a storm budget

    def _fail(self, state: KeyState, message: str, now: float) -> ApiError:
        self._strike(state, state.failures, self.config.lockout_after, now)
        return ApiError(message)

    def _strike(self, state: KeyState, strikes: deque[float], limit: int, now: float) -> None:
        """Count one strike against the key; `limit` strikes within the lockout window lock it out."""
        window = self.config.lockout_seconds
        strikes.append(now)
        while strikes and strikes[0] < now - window:
            strikes.popleft()
        if len(strikes) >= limit:
            state.locked_until = now + window
            strikes.clear()

    def authenticate(self, method: str, path: str, body: bytes, api_key: str | None,
                     api_sign: str | None, nonce_text: str | None) -> ApiKey:
        """Return the calling key when the request passes; charge the call counter.

        Raises:
            ApiError: with Kraken's error string when any check fails.
        """
        now = self.clock.now()
        with self.lock:
            state = self.keys.get((api_key or "").strip())
            if state is None:
                raise ApiError("EAPI:Invalid key")
            if now < state.locked_until:
                raise ApiError("EGeneral:Temporary lockout")
            try:
                nonce = int(str(nonce_text).strip())
            except ValueError:
                raise self._fail(state, "EAPI:Invalid nonce", now) from None
            if nonce < 0 or nonce >= 2**64:
                raise self._fail(state, "EAPI:Invalid nonce", now)
            if not api_sign or not verify(path, str(nonce_text), body, state.key.secret, api_sign.strip()):
                raise self._fail(state, "EAPI:Invalid signature", now)
            self._check_nonce(state, nonce, now)
            if not (METHOD_PERMISSIONS.get(method, frozenset()) & state.key.permissions):
                raise ApiError("EGeneral:Permission denied")
            self._charge(state, method, now)
            return state.key

    def _check_nonce(self, state: KeyState, nonce: int, now: float) -> None:
        window = state.key.nonce_window
        if nonce > state.last_nonce:
            if window:
                state.recent = {n for n in state.recent if n > nonce - window}
                state.recent.add(nonce)
            state.last_nonce = nonce
            return
        # Inside the window a lower nonce is tolerated once (duplicates: UNVERIFIED, refused here).
        if window and nonce > state.last_nonce - window and nonce not in state.recent:
            state.recent.add(nonce)
            return
        raise self._fail(state, "EAPI:Invalid nonce", now)

    def _charge(self, state: KeyState, method: str, now: float) -> None:
        if self.storm is not None and self.storm():
            raise ApiError("EAPI:Rate limit exceeded")
        if not self.config.rate_limits:
            return
        cost = self.config.closed_orders_cost if method == "ClosedOrders" else METHOD_COSTS.get(method, 1)
        if state.counter.try_spend(cost, now):
            return
        self._strike(state, state.violations, self.config.rate_lockout_after, now)
        raise ApiError("EAPI:Rate limit exceeded")
