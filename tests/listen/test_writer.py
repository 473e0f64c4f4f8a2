"""The committer thread: merged batches release their place in the queue (put never blocks for good)."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text

from kraken_etl.core.clock import SystemClock
from kraken_etl.core.wsmessages import classify, decode
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
