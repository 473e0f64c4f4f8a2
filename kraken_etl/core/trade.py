"""TradesHistory / QueryTrades entries → `Trade` (Kraken's TradesHistory documentation)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from kraken_etl.core.parsing import Reader, fields, rawify
from kraken_etl.core.records import Trade

TRADE_SIDES: frozenset[str] = frozenset({"buy", "sell"})

_FIELDS = fields(
    (Reader.text, "pair type ordertype"),
    (Reader.dec, "price cost fee vol"),
    (Reader.opt_text, "ordertxid postxid posstatus"),
    (Reader.opt_dec, "margin cprice ccost cfee cvol cmargin"),
    (partial(Reader.opt_dec, plus=True), "net"),
    (Reader.opt_token, "leverage"),
    (partial(Reader.text, default=""), "misc"),
    (Reader.opt_int, "trade_id"),
    (Reader.opt_bool, "maker"),
    (Reader.opt_ids, "ledgers position_trades=trades"),
)


def parse_trade(txid: str, raw: Mapping[str, Any]) -> Trade:
    """One entry of ``result["trades"]`` (keyed by its trade txid); a position trade's fields (``posstatus``,
    ``cprice, ccost, cfee, cvol, cmargin, net``, ``trades``) are kept when present.

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    r = Reader("trades", txid, raw)
    time, time_raw = r.time("time")
    return Trade(txid=txid, time=time, time_raw=time_raw, **r.read(_FIELDS), raw=rawify(raw))
