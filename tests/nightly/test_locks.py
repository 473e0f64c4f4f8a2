"""The per-account lock and the nonce high-water mark, against a real PostgreSQL (in one process)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from kraken_etl.core.errors import KrakenEtlError
from kraken_etl.db.engine import make_engine
from kraken_etl.db.locks import AccountBusy, account_lock, held_locks, lock_is_held
from kraken_etl.db.noncemark import nonce_floor, record_nonce
from kraken_etl.jobs.exclusive import exclusive
from kraken_etl.kraken.nonce import key_id, last_nonce, raise_nonce_floor
from kraken_etl.settings import Account


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    made = make_engine(db_url)
    yield made
    made.dispose()


def test_a_second_holder_of_the_same_account_gets_one_line_naming_it(engine: Engine) -> None:
    with account_lock(engine, "main", purpose="nightly"):
        assert lock_is_held(engine, "main")
        with pytest.raises(AccountBusy) as caught, account_lock(engine, "main", purpose="sync"):
            pytest.fail("the second holder must not get in")
    busy = caught.value
    assert isinstance(busy, KrakenEtlError) and busy.exit_code == 3
    message = str(busy)
    assert "\n" not in message and "'main' is busy" in message
    assert "kraken-etl nightly main" in message  # who holds it: purpose, account and host
    assert not lock_is_held(engine, "main")


def test_other_accounts_are_not_blocked(engine: Engine) -> None:
    with account_lock(engine, "main", purpose="sync"), account_lock(engine, "other", purpose="backfill"):
        assert lock_is_held(engine, "main") and lock_is_held(engine, "other")
        held = held_locks(engine)
        assert [h.split(" @")[0] for h in held] == ["kraken-etl sync main", "kraken-etl backfill other"]
    assert held_locks(engine) == []


def test_the_lock_is_released_when_the_block_raises(engine: Engine) -> None:
    with pytest.raises(RuntimeError), account_lock(engine, "main"):
        raise RuntimeError("boom")
    with account_lock(engine, "main"):  # free again
        assert lock_is_held(engine, "main")


def test_a_lock_returned_to_the_pool_is_not_kept_by_the_pooled_connection(engine: Engine) -> None:
    for _ in range(3):  # the pool hands the same connection back; it must not still hold the lock
        with account_lock(engine, "main"):
            pass
    done = threading.Event()
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            with account_lock(engine, "main"):
                done.set()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(30)
    assert errors == [] and done.is_set()


def test_the_nonce_floor_ages_with_time_and_never_goes_down(engine: Engine) -> None:
    assert nonce_floor(engine, "k1") is None
    record_nonce(engine, "k1", 1_000_000)
    first = nonce_floor(engine, "k1")
    assert first is not None and first >= 1_000_000
    record_nonce(engine, "k1", 5)  # a lower nonce never lowers the mark
    floor = nonce_floor(engine, "k1")
    assert floor is not None and floor >= first
    assert nonce_floor(engine, "k2") is None


def test_raise_nonce_floor_only_moves_the_file_up(tmp_path: Path) -> None:
    assert last_nonce(tmp_path, "kid") == 0
    assert raise_nonce_floor(tmp_path, "kid", 500) == 500
    assert raise_nonce_floor(tmp_path, "kid", 100) == 500
    assert last_nonce(tmp_path, "kid") == 500


def test_exclusive_seeds_this_machine_from_the_mark_and_records_on_the_way_out(engine: Engine,
                                                                                tmp_path: Path) -> None:
    account = Account("main", SecretStr("a-key"), SecretStr("c2VjcmV0"), "pro")
    kid = key_id("a-key")
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    raise_nonce_floor(machine_a, kid, 9_000_000_000_000)  # machine A used the key, far ahead
    with exclusive(engine, account, machine_a, purpose="sync"):
        pass
    mark = nonce_floor(engine, kid)
    assert mark is not None and mark >= 9_000_000_000_000
    with exclusive(engine, account, machine_b, purpose="sync"):  # machine B had never used the key
        assert last_nonce(machine_b, kid) >= 9_000_000_000_000
        with pytest.raises(AccountBusy):  # and the lock is held meanwhile
            with exclusive(engine, account, machine_a, purpose="sync"):
                pass


def _reader(engine: Engine) -> Connection:
    """A session of the read-only role (what a `kraken_reader` login gets), naming itself as the nightly."""
    conn = engine.connect()
    conn.execute(text("SET ROLE kraken_reader"))
    conn.execute(text("SELECT set_config('application_name', 'kraken-etl nightly main @worker-1', false)"))
    conn.commit()  # the session's settings outlive the rollbacks below
    assert conn.execute(text("SELECT current_user")).scalar_one() == "kraken_reader"
    return conn


def test_the_read_only_role_can_neither_take_the_lock_nor_pose_as_its_holder(engine: Engine) -> None:
    with account_lock(engine, "main", purpose="sync"):
        pass  # the account's lock row exists now
    reader = _reader(engine)
    try:
        with pytest.raises(DBAPIError, match="permission denied"):
            reader.execute(text("SELECT 1 FROM kraken.account_lock WHERE account = 'main' FOR UPDATE NOWAIT"))
        reader.rollback()
        with pytest.raises(DBAPIError, match="permission denied"):
            reader.execute(text("LOCK TABLE kraken.account_lock IN EXCLUSIVE MODE NOWAIT"))
        reader.rollback()
        with pytest.raises(DBAPIError, match="permission denied"):
            reader.execute(text("INSERT INTO kraken.account_lock_holder (account, pid, backend_start, purpose, host)"
                                " VALUES ('main', pg_backend_pid(), now(), 'nightly', 'worker-1')"))
        reader.rollback()
        # what the read-only role could do before: an advisory lock on any key, and a chosen name
        reader.execute(text("SELECT pg_advisory_lock(3833178745853738948)"))
        assert not lock_is_held(engine, "main") and held_locks(engine) == []
        with account_lock(engine, "main", purpose="sync"):  # a writer still gets in
            assert [h.split(" @")[0] for h in held_locks(engine)] == ["kraken-etl sync main"]
    finally:
        reader.invalidate()
        reader.close()


def test_a_reader_holding_a_transaction_on_the_lock_table_does_not_block_a_writer(engine: Engine) -> None:
    with account_lock(engine, "main"):
        pass
    reader = _reader(engine)
    try:
        reader.execute(text("LOCK TABLE kraken.account_lock IN ACCESS SHARE MODE"))  # all SELECT allows
        reader.execute(text("SELECT * FROM kraken.account_lock")).all()
        with account_lock(engine, "main", purpose="import"):
            assert lock_is_held(engine, "main")
    finally:
        reader.invalidate()
        reader.close()
