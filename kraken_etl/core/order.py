"""ClosedOrders / QueryOrders entries → `ClosedOrder` (Kraken's ClosedOrders documentation)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from kraken_etl.core.money import ZERO
from kraken_etl.core.parsing import Reader, fields, rawify
from kraken_etl.core.records import ClosedOrder
from kraken_etl.core.timeutil import from_unix


def _descr_price(r: Reader, field: str) -> Decimal | None:
    """`descr.price`: a decimal, except trailing stops (``"+1.0000%"``), kept only in raw."""
    text = r.opt_token(field)
    if text is None or text.endswith("%"):
        return None
    return r.opt_dec(field)


_FIELDS = fields(
    (Reader.text, "status"),
    (Reader.dec, "vol vol_exec cost fee price"),
    (Reader.opt_text, "refid cl_ord_id reason trigger"),
    (Reader.opt_int, "userref"),
    (Reader.opt_time_raw, "starttm_raw=starttm expiretm_raw=expiretm"),
    (Reader.opt_dec, "stopprice limitprice"),
    (partial(Reader.text, default=""), "misc oflags"),
    (Reader.opt_ids, "trades"),
    (Reader.opt_bool, "margin"),
)
_DESCR = fields(  # the fields of `descr`
    (Reader.text, "pair side=type ordertype"),
    (_descr_price, "descr_price=price descr_price2=price2"),
    (Reader.opt_token, "leverage"),
    (Reader.opt_text, "order_descr=order"),
)

def is_amended(raw: Mapping[str, Any]) -> bool:
    """Kraken marks an amended order by ``amended: true`` or ``amended`` in `misc`."""
    flag = raw.get("amended")
    if flag is True or flag in ("true", "1", 1):
        return True
    misc = raw.get("misc")
    return isinstance(misc, str) and "amended" in (p.strip() for p in misc.split(","))


def parse_closed_order(txid: str, raw: Mapping[str, Any]) -> ClosedOrder:
    """One entry of ``result["closed"]`` (keyed by its order txid).

    `closetm`/`starttm`/`expiretm` of ``0`` mean "unset": `closetm` becomes None, the raw values are kept.

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    r = Reader("closed_orders", txid, raw)
    descr_raw = raw.get("descr")
    if not isinstance(descr_raw, Mapping):
        raise r.fail("descr", descr_raw, "is not an object")
    d = Reader("closed_orders", txid, descr_raw)
    opentm, opentm_raw = r.time("opentm")
    closetm_raw = r.opt_time_raw("closetm")
    closetm = from_unix(closetm_raw) if closetm_raw is not None and closetm_raw != ZERO else None
    return ClosedOrder(
        txid=txid, opentm=opentm, opentm_raw=opentm_raw, closetm=closetm, closetm_raw=closetm_raw,
        **r.read(_FIELDS), **d.read(_DESCR), amended=is_amended(raw), raw=rawify(raw))
