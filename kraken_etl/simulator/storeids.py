"""A simulated account's ids: which Kraken id each stored position renders as, and back.

Kraken pages newest first with ties broken by id; the store keeps rows in chronological *position* order
and makes position order agree with (time, id) order by choosing, inside each group of equal timestamps,
which serial (and so which id) each position gets (`tie_deltas`, stored as the `sdelta`/`pdelta` columns).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from kraken_etl.simulator.ids import IdCodec
from kraken_etl.simulator.table import Column, Table

Int8s = npt.NDArray[np.int8]
TIE = {"sdelta": "b", "pdelta": "b"}


def tie_deltas(times: Column, start: int, codec: IdCodec) -> tuple[Int8s, Int8s]:
    """Serial deltas so that, within equal times, higher position ⇔ higher id (see module doc)."""
    pos = np.arange(start, start + len(times), dtype=np.int64)
    keys = codec.numbers(pos)
    serial = pos[np.lexsort((keys, times))]
    sdelta = (serial - pos).astype(np.int8)
    pdelta = np.zeros(len(times), dtype=np.int8)
    pdelta[serial - start] = (pos - serial).astype(np.int8)
    if len(times) and int(np.abs(serial - pos).max()) > 127:
        raise RuntimeError("a tie group larger than 127 rows")
    return sdelta, pdelta



class StoreIds:
    """Id rendering and lookup of the store's three tables (a part of `Store`)."""

    ledger: Table
    trades: Table
    orders: Table
    lid: IdCodec
    tid: IdCodec
    oid: IdCodec

    def ledger_id(self, pos: int) -> str:
        """Ledger id of position `pos`."""
        return self.lid.encode(pos + int(self.ledger.col("sdelta")[pos]))

    def trade_id(self, idx: int) -> str:
        """Trade txid of trade `idx`."""
        return self.tid.encode(idx + int(self.trades.col("sdelta")[idx]))

    def order_id(self, idx: int) -> str:
        """Order txid of order `idx`."""
        return self.oid.encode(idx + int(self.orders.col("sdelta")[idx]))

    @staticmethod
    def _lookup(codec: IdCodec, table: Table, text: str) -> int | None:
        serial = codec.decode(text.strip())
        if serial is None or serial >= table.n:
            return None
        return serial + int(table.col("pdelta")[serial])

    def ledger_pos(self, text: str) -> int | None:
        """Position of a ledger id, or None."""
        return self._lookup(self.lid, self.ledger, text)

    def trade_idx(self, text: str) -> int | None:
        """Index of a trade txid, or None."""
        return self._lookup(self.tid, self.trades, text)

    def order_idx(self, text: str) -> int | None:
        """Index of an order txid, or None."""
        return self._lookup(self.oid, self.orders, text)
