"""One listener per account: a row lock on `kraken.listener_lock` that the read-only role cannot take."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from kraken_etl.core.clock import SystemClock
from kraken_etl.listen.loop import Listener
from kraken_etl.listen.stats import ListenerBusy
from kraken_etl.simulator import RunningSimulator
from tests.listen.conftest import FAST, sim_client, start_listener


def _reader(engine: Engine) -> Connection:
    conn = engine.connect()
    conn.execute(text("SET ROLE kraken_reader"))
    conn.commit()
    assert conn.execute(text("SELECT current_user")).scalar_one() == "kraken_reader"
    return conn


def _second_listener(sim: RunningSimulator, engine: Engine) -> Listener:
    return Listener(account="main", ws_url=sim.ws_url, client=sim_client(sim), engine=engine, clock=SystemClock(),
                    stop=threading.Event(), config=FAST, rng=random.Random(2))


def test_a_second_listener_of_the_account_stops_at_once(sim: RunningSimulator, engine: Engine) -> None:
    first = start_listener(sim, engine)
    try:
        second = _second_listener(sim, engine)
        with pytest.raises(ListenerBusy, match="already runs for account 'main'"):
            second.run()
        second.client.close()
    finally:
        first.halt()
    again = start_listener(sim, engine)  # the stopped listener let go of its lock
    again.halt()


def test_the_read_only_role_cannot_hold_a_listener_off(sim: RunningSimulator, engine: Engine) -> None:
    reader = _reader(engine)
    try:
        # what the read-only role could do before: hold the listener's advisory key
        reader.execute(text("SELECT pg_advisory_lock(hashtext('kraken-etl listen'), hashtext('main'))"))
        running = start_listener(sim, engine)  # raised ListenerBusy while the lock was an advisory lock
        try:
            with pytest.raises(DBAPIError, match="permission denied"):
                reader.execute(text("SELECT 1 FROM kraken.listener_lock WHERE account = 'main' FOR UPDATE NOWAIT"))
            reader.rollback()
            with pytest.raises(DBAPIError, match="permission denied"):
                reader.execute(text("LOCK TABLE kraken.listener_lock IN EXCLUSIVE MODE NOWAIT"))
            reader.rollback()
        finally:
            running.halt()
    finally:
        reader.invalidate()
        reader.close()
