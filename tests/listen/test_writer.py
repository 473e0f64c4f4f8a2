"""The committer thread (merged batches release their place in the queue), its kept connection, and the
thread switch interval a running listener asks for."""

from __future__ import annotations

import sys
import threading

import pytest
from sqlalchemy import Connection, Engine, text

from kraken_etl.core.clock import ManualClock, SystemClock
from kraken_etl.core.switching import hold_switch_interval
from kraken_etl.core.wsmessages import classify, decode
from kraken_etl.db.wscommit import CommitConnection
from kraken_etl.listen.batch import Batch
from kraken_etl.listen.writer import BatchWriter


def _batch(n: int) -> Batch:
    batch = Batch()
    batch.add(classify(decode(
        f'{{"channel":"balances","type":"update","sequence":{n},"data":[{{"ledger_id":"LW-{n}","type":"trade",'
        '"timestamp":"2026-12-02T01:02:03Z","asset":"BTC","amount":1.5,"balance":2}]}')), 1.0)
    return batch


def test_merged_batches_free_the_queue(engine: Engine) -> None:
    stop = threading.Event()
    writer = BatchWriter(engine=engine, account="writer", session_id=None, clock=SystemClock(), stop=stop,
                         max_waiting=5)
    done = threading.Event()

    def produce() -> None:
        for n in range(300):  # far more messages than may wait: each put waits for room, never for good
            writer.put(_batch(n))
        writer.drain()
        done.set()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    finished = done.wait(30)
    writer.close()
    assert finished, "put blocked although every batch was committed"
    assert writer.error is None and writer.messages == 300
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM kraken.ws_balance_update WHERE account = 'writer'"))
        assert stored.scalar() == 300


def _backend(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_the_commit_connection_is_kept_renewed_when_idle_and_replaced_when_dead(engine: Engine) -> None:
    clock = ManualClock(1000.0)
    db = CommitConnection(engine, clock, idle_seconds=30.0)
    first = db.transaction(_backend)
    clock.advance(5)
    assert db.transaction(_backend) == first  # kept between batches: no checkout, no pre-ping
    with pytest.raises(ZeroDivisionError):
        db.transaction(lambda conn: _backend(conn) // 0)
    after_failure = db.transaction(_backend)  # a failed transaction never leaves its connection behind
    with engine.connect() as other:  # the server ends our session under it (a restart, an admin)
        other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": after_failure})
        other.commit()
    revived = db.transaction(_backend)  # found dead on reuse: run again on a fresh connection
    assert revived != after_failure
    clock.advance(31)
    db.transaction(_backend)  # idle too long: checked out again through the pool (with its pre-ping)
    db.close()


def test_listeners_lower_the_switch_interval_while_they_run() -> None:
    before = sys.getswitchinterval()
    first = hold_switch_interval(0.0005)
    second = hold_switch_interval(0.001)  # a second listener in the process never raises it again
    assert sys.getswitchinterval() == min(before, 0.0005)
    first()
    assert sys.getswitchinterval() == min(before, 0.001)
    first()  # releasing twice changes nothing
    second()
    assert sys.getswitchinterval() == before
