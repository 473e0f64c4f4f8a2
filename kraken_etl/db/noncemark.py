"""The per-key nonce high-water mark (`kraken.nonce_high_water`), shared by every machine using a key.

A machine's nonce file (`kraken.nonce`) knows only its own nonces. The mark lets the next machine that
uses the key start above everything sent before: `nonce_floor` is the last recorded nonce plus the
milliseconds elapsed since it was recorded (both times read from the database's clock), so it also covers
nonces a holder sent after its last write and before it crashed (a nonce is the sender's clock in ms, so
it cannot grow faster than time passes). Written at lock time and when the lock is released.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Engine, cast, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from models import NonceHighWaterRow


def _aged() -> ColumnElement[int]:
    """The stored mark plus the milliseconds since it was written (never less than the mark)."""
    elapsed = func.floor(func.extract("epoch", func.now() - NonceHighWaterRow.updated_at) * 1000)
    return NonceHighWaterRow.last_nonce + func.greatest(cast(elapsed, BigInteger), 0)


def nonce_floor(engine: Engine, key_id: str) -> int | None:
    """The lowest nonce this key may safely send next from a machine that did not send the last ones."""
    stmt = select(_aged()).where(NonceHighWaterRow.key_id == key_id)
    with engine.connect() as conn:
        value = conn.execute(stmt).scalar_one_or_none()
    return int(value) if value is not None else None


def record_nonce(engine: Engine, key_id: str, nonce: int) -> None:
    """Raise the key's mark to `nonce` and stamp it with the database's time.

    The stored value never goes down: it becomes the larger of `nonce` and the old mark aged to now, so
    re-stamping a mark never shortens the time it covers.
    """
    stmt = insert(NonceHighWaterRow).values(key_id=key_id, last_nonce=literal(nonce, BigInteger), updated_at=func.now())
    stmt = stmt.on_conflict_do_update(
        index_elements=["key_id"],
        set_={"last_nonce": func.greatest(_aged(), stmt.excluded.last_nonce),
              "updated_at": func.now()},
    )
    with engine.begin() as conn:
        conn.execute(stmt)
