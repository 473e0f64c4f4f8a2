"""One run per account: the account lock plus the hand-over of the key's nonces between machines.

`exclusive(engine, account, settings, purpose=…)` is what every entry that writes an account wraps its
work in (`kraken-etl sync`, `backfill`, `import`, and the Prefect tasks of sync, backfill and nightly):

1. take the account's lock (`db.locks.account_lock`; `AccountBusy` at once when taken);
2. raise this machine's nonce file for the account's key above the key's high-water mark in the database
   (`db.noncemark.nonce_floor`), so a key that last ran on another machine keeps increasing nonces;
3. record this machine's clock as the new mark right away (a holder that is killed later is still
   covered, since the floor ages with time), run the block, and record the last nonce on the way out.

The lock is per account label and the mark per key: one key per account (docs/operations.md) makes the
lock serialise every user of a key. A key shared by two accounts is only as safe as one machine's
nonce file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.db.locks import account_lock
from kraken_etl.db.noncemark import nonce_floor, record_nonce
from kraken_etl.db.runs import Engine
from kraken_etl.jobs.wiring import database
from kraken_etl.kraken.nonce import key_id, last_nonce, raise_nonce_floor
from kraken_etl.settings import Account, Settings, load_settings


@contextmanager
def exclusive(engine: Engine, account: Account, home: Path, *, purpose: str,
              clock: Clock | None = None) -> Iterator[None]:
    """Hold `account`'s lock for the block and hand its key's nonces over from other machines.

    `home` is this machine's KRAKEN_ETL_HOME (where the key's nonce file lives).

    Raises:
        AccountBusy: when another run holds the account (nothing was touched).
    """
    with account_lock(engine, account.label, purpose=purpose):
        if account.api_key is None:  # nothing to sign with (a file import): only the lock matters
            yield
            return
        kid = key_id(account.api_key.get_secret_value())
        floor = nonce_floor(engine, kid)
        seeded = raise_nonce_floor(home, kid, floor) if floor is not None else last_nonce(home, kid)
        record_nonce(engine, kid, max(seeded, int((clock or SystemClock()).now() * 1000)))
        try:
            yield
        finally:
            record_nonce(engine, kid, last_nonce(home, kid))


@contextmanager
def exclusive_label(label: str, *, purpose: str, settings: Settings | None = None) -> Iterator[None]:
    """`exclusive` for a configured account named by label, on its own engine (what a Prefect task uses).

    Raises:
        SettingsError: when the label is not configured; AccountBusy as `exclusive`.
    """
    current = settings or load_settings()
    account = current.select_accounts([label])[0]
    with database(current) as engine, exclusive(engine, account, current.home, purpose=purpose):
        yield
