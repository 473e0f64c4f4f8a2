"""The per-key call-counter mark (`kraken.call_counter_mark`): the level the last machine left a key's counter
at, handed to the next machine that holds the key's account (`jobs.exclusive`).

A machine's counter file (`kraken.ratelimit`) sees only its own calls. The mark is written when a holder takes
the key (``released`` false: whoever finds it so later knows the holder died mid-run and did not say how much
it spent) and when it lets go (its level, ``released`` true). Times are the database's clock, so the machines'
clocks need not agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.postgresql import insert

from models import CallCounterMarkRow


@dataclass(frozen=True, slots=True)
class CounterMark:
    """A key's recorded counter level, how many seconds ago (database clock) and whether it was let go."""

    level: Decimal
    elapsed: Decimal
    released: bool


def counter_mark(engine: Engine, key_id: str) -> CounterMark | None:
    """The key's mark, or None when no machine has recorded one."""
    elapsed = func.greatest(func.extract("epoch", func.now() - CallCounterMarkRow.recorded_at), 0)
    stmt = select(CallCounterMarkRow.level, elapsed, CallCounterMarkRow.released).where(
        CallCounterMarkRow.key_id == key_id)
    with engine.connect() as conn:
        row = conn.execute(stmt).one_or_none()
    return None if row is None else CounterMark(Decimal(row[0]), Decimal(row[1]), bool(row[2]))


def record_counter(engine: Engine, key_id: str, level: Decimal, *, released: bool) -> None:
    """Store the key's level now (database clock) and whether its holder has let go."""
    stmt = insert(CallCounterMarkRow).values(key_id=key_id, level=level, released=released, recorded_at=func.now())
    stmt = stmt.on_conflict_do_update(
        index_elements=["key_id"],
        set_={"level": stmt.excluded.level, "released": stmt.excluded.released, "recorded_at": func.now()},
    )
    with engine.begin() as conn:
        conn.execute(stmt)
