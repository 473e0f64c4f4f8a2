"""What a listener did, and the error when another one already runs for the account."""

from __future__ import annotations

from dataclasses import dataclass

from kraken_etl.core.errors import KrakenEtlError


class ListenerBusy(KrakenEtlError):
    """Another listener already runs for this account (one per account: a row lock on `kraken.listener_lock`)."""


@dataclass(slots=True)
class ListenStats:
    """What a listener did (also the session row's counters)."""

    account: str
    session_id: int | None = None
    messages: int = 0
    executions: int = 0
    balance_updates: int = 0
    quarantined: int = 0
    connects: int = 0
    gaps: int = 0
    gaps_filled: int = 0
    batches: int = 0
    stop_reason: str = ""
