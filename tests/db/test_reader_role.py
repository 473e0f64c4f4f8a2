"""The kraken_reader role can read the schema and write nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import ProgrammingError


def test_reader_can_select(conn: Connection) -> None:
    conn.execute(text("SET LOCAL ROLE kraken_reader"))
    assert conn.execute(text("SELECT count(*) FROM kraken.ledger_entry")).scalar_one() == 0


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO kraken.sync_state (account, stream) VALUES ('a', 'ledgers')",
        "UPDATE kraken.ledger_entry SET fee = 0",
        "DELETE FROM kraken.trade",
        "TRUNCATE kraken.quarantine",
        "CREATE TABLE kraken.intruder (x int)",
    ],
)
def test_reader_cannot_write(conn: Connection, statement: str) -> None:
    conn.execute(text("SET LOCAL ROLE kraken_reader"))
    with pytest.raises(ProgrammingError, match="permission denied"):
        conn.execute(text(statement))


def test_reader_has_no_login_and_no_password(conn: Connection) -> None:
    row = conn.execute(
        text("SELECT rolcanlogin, rolpassword IS NULL FROM pg_authid WHERE rolname = 'kraken_reader'")
    ).one()
    assert row == (False, True)
