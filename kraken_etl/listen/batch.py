"""A batch of received messages: parsed to records on arrival, committed in one transaction.

Unparseable items are kept as `Rejected` (quarantined with the reason and the raw item, never dropped);
the batch remembers when its oldest message arrived (for the time trigger) and every message's receipt
time (for the message-to-commit latency the benchmark reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from kraken_etl.core.parsing import rawify
from kraken_etl.core.records import Rejected
from kraken_etl.core.timeutil import from_unix
from kraken_etl.core.wsmessages import (
    Frame,
    MalformedMessage,
    WsBalanceUpdate,
    WsExecution,
    WsWalletBalance,
    parse_balance_snapshot,
    parse_balance_update,
    parse_execution,
)
from kraken_etl.db.ws import StoredCounts
from kraken_etl.db.wscommit import CommitConnection, commit_batch


@dataclass(slots=True)
class Batch:
    """Records waiting for their commit."""

    executions: list[WsExecution] = field(default_factory=list)
    balance_updates: list[WsBalanceUpdate] = field(default_factory=list)
    wallets: list[WsWalletBalance] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    received: list[float] = field(default_factory=list)  # receipt time of each message (clock seconds)

    @property
    def size(self) -> int:
        return len(self.received)

    @property
    def first_at(self) -> float | None:
        return self.received[0] if self.received else None

    def add(self, frame: Frame, received_at: float) -> datetime | None:
        """Parse one data frame's items into the batch (bad items become `Rejected`); the newest event
        time among the executions or balance updates it added (None when it added none)."""
        self.received.append(received_at)
        snapshot = frame.type == "snapshot"
        sequence = frame.sequence
        newest: datetime | None = None
        for item in frame.data:
            try:
                if frame.channel == "executions":
                    execution = parse_execution(item, sequence=sequence, is_snapshot=snapshot)
                    self.executions.append(execution)
                    stamp = execution.timestamp
                elif snapshot:
                    self.wallets.extend(parse_balance_snapshot([item]))
                    continue
                else:
                    update = parse_balance_update(item, sequence=sequence)
                    self.balance_updates.append(update)
                    stamp = update.timestamp
            except MalformedMessage as exc:
                self.reject(f"ws_{frame.channel}", str(exc), item)
                continue
            if newest is None or stamp > newest:
                newest = stamp
        return newest

    def absorb(self, other: Batch) -> None:
        """Append another batch's contents (merging batches into one transaction)."""
        self.executions += other.executions
        self.balance_updates += other.balance_updates
        self.wallets += other.wallets
        self.rejected += other.rejected
        self.received += other.received

    def reject(self, stream: str, reason: str, item: object, received_at: float | None = None) -> None:
        """Keep an unusable message or item for quarantine."""
        if received_at is not None:
            self.received.append(received_at)
        payload = rawify(item) if isinstance(item, dict) else {"value": rawify(item)}
        rid = payload.get("ledger_id") or payload.get("exec_id") or payload.get("order_id")
        self.rejected.append(Rejected(stream, str(rid) if rid else None, reason, payload))

    def commit(self, db: CommitConnection, account: str, session_id: int | None) -> StoredCounts:
        """Write everything in one transaction with the session's progress; then empty the batch."""
        last = from_unix(_seconds(self.received[-1])) if self.received else None

        counts = commit_batch(db, account, executions=self.executions, balance_updates=self.balance_updates,
                              wallets=self.wallets, rejected=self.rejected, session_id=session_id,
                              messages=self.size, last_message_at=last)
        self.executions, self.balance_updates, self.wallets, self.rejected = [], [], [], []
        self.received = []
        return counts


def _seconds(value: float) -> str:
    return f"{value:.6f}"


def as_datetime(value: float) -> datetime:
    """A clock reading as an aware UTC datetime (microseconds)."""
    return from_unix(_seconds(value))
