"""One run per account: the account lock plus the hand-over of the key's nonces between machines.

`exclusive(engine, account, home, purpose=…)` is what every entry that writes an account wraps its work in
(`jobs.sync.run_sync`, `jobs.backfill.run_backfill`, `jobs.nightly.run_nightly`: the commands and the Prefect
tasks alike; `kraken-etl import`):

1. take the account's lock (`db.locks.account_lock`; `AccountBusy` at once when taken);
2. raise this machine's nonce file for the account's key above the key's high-water mark in the database
   (`db.noncemark.nonce_floor`), so a key that last ran on another machine keeps increasing nonces;
3. record this machine's clock as the new mark right away (a holder that is killed later is still
   covered, since the floor ages with time), run the block, and record the last nonce on the way out;
4. the same hand-over for the key's call counter (`db.countermark`): raise this machine's counter model to
   the level the last machine left, aged by the database's clock (`core.callcounter.handed_over_level`: taken
   as full when that holder died before letting go), mark the key taken, and record the level on the way out.
   So a key is paced as one counter whichever worker, on whichever machine, runs its account next.

The lock is per account label and the mark per key: one key per account (docs/operations.md) makes the
lock serialise every user of a key. A key shared by two accounts is only as safe as one machine's
nonce file.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from kraken_etl.core.callcounter import handed_over_level
from kraken_etl.core.clock import Clock, SystemClock
from kraken_etl.db.countermark import counter_mark, record_counter
from kraken_etl.db.locks import account_lock
from kraken_etl.db.noncemark import nonce_floor, record_nonce
from kraken_etl.db.runs import Engine
from kraken_etl.jobs.wiring import Session, client_for, database
from kraken_etl.kraken.client import key_counter
from kraken_etl.kraken.nonce import key_id, last_nonce, raise_nonce_floor
from kraken_etl.kraken.ratelimit import SharedCounter
from kraken_etl.settings import Account, Settings, load_settings


@contextmanager
def exclusive(engine: Engine, account: Account, home: Path, *, purpose: str,
              clock: Clock | None = None, rate_scale: float = 1.0) -> Iterator[None]:
    """Hold `account`'s lock for the block and hand its key's nonces and call counter over from other machines.

    `home` is this machine's KRAKEN_ETL_HOME (where the key's nonce and counter files live); `rate_scale` is
    KRAKEN_RATE_SCALE (the counter's decay, as the client charges it).

    Raises:
        AccountBusy: when another run holds the account (nothing was touched).
    """
    with account_lock(engine, account.label, purpose=purpose):
        if account.api_key is None:  # nothing to sign with (a file import): only the lock matters
            yield
            return
        clock = clock or SystemClock()
        kid = key_id(account.api_key.get_secret_value())
        floor = nonce_floor(engine, kid)
        seeded = raise_nonce_floor(home, kid, floor) if floor is not None else last_nonce(home, kid)
        record_nonce(engine, kid, max(seeded, int(clock.now() * 1000)))
        counter = key_counter(account.api_key, account.tier, home, rate_scale)
        take_counter(engine, kid, counter, clock)
        try:
            yield
        finally:
            record_nonce(engine, kid, last_nonce(home, kid))
            record_counter(engine, kid, _units(counter.level(clock)), released=True)


def take_counter(engine: Engine, kid: str, counter: SharedCounter, clock: Clock) -> float:
    """Raise this machine's model of the key's counter to what the last machine left (aged), and mark the key
    taken; returns the level handed over (0 when no machine recorded one)."""
    mark = counter_mark(engine, kid)
    handed = 0.0
    if mark is not None:
        handed = handed_over_level(counter.tier, float(mark.level),  # float-ok: counter units, not money
                                   float(mark.elapsed), mark.released)  # float-ok: seconds
        counter.raise_level(handed, clock)
    record_counter(engine, kid, _units(counter.level(clock)), released=False)
    return handed


def _units(level: float) -> Decimal:
    """A counter level as the NUMERIC it is stored as (micro-units are plenty)."""
    return Decimal(f"{level:.6f}")


@contextmanager
def locked_account(label: str, settings: Settings | None, *, purpose: str) -> Iterator[Session]:
    """The configured account `label` held `exclusive`, then its client and engine (`jobs.wiring.Session`):
    what each command's entry (`run_sync`, `run_backfill`, `run_nightly`) runs in. The lock comes first, so a
    busy account is reported as busy even without a key configured.

    Raises:
        SettingsError: an unknown label; AccountBusy as `exclusive`; then MissingCredentials without a key.
    """
    current = settings or load_settings()
    account = current.select_accounts([label])[0]
    with database(current) as engine, \
            exclusive(engine, account, current.home, purpose=purpose, rate_scale=current.rate_scale), \
            client_for(account, current) as client:
        yield Session(current, account, client, engine)
