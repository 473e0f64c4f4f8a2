"""TradesHistory / QueryTrades entries → `Trade` (Kraken's TradesHistory documentation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kraken_etl.core.parsing import Reader, rawify
from kraken_etl.core.records import Trade

TRADE_SIDES: frozenset[str] = frozenset({"buy", "sell"})


def parse_trade(txid: str, raw: Mapping[str, Any]) -> Trade:
    """One entry of ``result["trades"]`` (keyed by its trade txid); a position trade's fields (``posstatus``,
    ``cprice, ccost, cfee, cvol, cmargin, net``, ``trades``) are kept when present.

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    r = Reader("trades", txid, raw)
    time, time_raw = r.time("time")
    return Trade(
        txid=txid,
        ordertxid=r.opt_text("ordertxid"),
        postxid=r.opt_text("postxid"),
        pair=r.text("pair"),
        time=time,
        time_raw=time_raw,
        type=r.text("type"),
        ordertype=r.text("ordertype"),
        price=r.dec("price"),
        cost=r.dec("cost"),
        fee=r.dec("fee"),
        vol=r.dec("vol"),
        margin=r.opt_dec("margin"),
        leverage=r.opt_token("leverage"),
        misc=r.text("misc", ""),
        trade_id=r.opt_int("trade_id"),
        maker=r.opt_bool("maker"),
        ledgers=r.opt_ids("ledgers"),
        posstatus=r.opt_text("posstatus"),
        cprice=r.opt_dec("cprice"),
        ccost=r.opt_dec("ccost"),
        cfee=r.opt_dec("cfee"),
        cvol=r.opt_dec("cvol"),
        cmargin=r.opt_dec("cmargin"),
        net=r.opt_dec("net", plus=True),
        position_trades=r.opt_ids("trades"),
        raw=rawify(raw),
    )
