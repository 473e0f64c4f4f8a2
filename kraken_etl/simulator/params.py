"""Request parameters: the raw body parsed (form or JSON) and Kraken's argument rules.

Bad arguments raise ``EGeneral:Invalid arguments:<field>``. `start`/`end` take unix seconds (any
fraction) or an id; ids map to their record's time through the lookup the caller passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.generator import TICKS

Params = dict[str, str]


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return str(value)


def parse_body(body: bytes, content_type: str) -> Params:
    """Form-urlencoded (repeated keys joined with commas) or a JSON object.

    Raises:
        ApiError: ``EGeneral:Invalid arguments`` for an undecodable body.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return {}
    if "json" in content_type or text.startswith("{"):
        try:
            data = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise ApiError("EGeneral:Invalid arguments") from exc
        if not isinstance(data, dict):
            raise ApiError("EGeneral:Invalid arguments")
        return {str(k): _text(v) for k, v in data.items()}
    out: Params = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def flag(params: Params, name: str, default: bool = False) -> bool:
    """A boolean argument (``true``/``1``; pks sends ``True``)."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if value.strip().lower() in ("true", "1", "yes"):
        return True
    if value.strip().lower() in ("false", "0", "no"):
        return False
    raise ApiError(f"EGeneral:Invalid arguments:{name}")


def integer(params: Params, name: str, default: int | None = None, minimum: int = 0) -> int | None:
    """An integer argument (None/default when absent).

    Raises:
        ApiError: when present but not an integer ≥ `minimum`.
    """
    value = params.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ApiError(f"EGeneral:Invalid arguments:{name}") from None
    if number < minimum:
        raise ApiError(f"EGeneral:Invalid arguments:{name}")
    return number


def bound(params: Params, name: str, id_time: Callable[[str], int | None]) -> int | None:
    """`start`/`end` in ticks: unix seconds (floored to the tick) or an id mapped to its time.

    Raises:
        ApiError: when the value is neither a number nor a known id.
    """
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        seconds = Decimal(value)
    except InvalidOperation:
        ticks = id_time(value)
        if ticks is None:
            raise ApiError(f"EGeneral:Invalid arguments:{name}") from None
        return ticks
    if not seconds.is_finite():
        raise ApiError(f"EGeneral:Invalid arguments:{name}")
    return int((seconds * TICKS).to_integral_value(rounding="ROUND_FLOOR"))


def id_list(params: Params, name: str, maximum: int, required: bool = True) -> list[str]:
    """A comma-separated id list of at most `maximum` ids.

    Raises:
        ApiError: when missing (and required) or too long.
    """
    ids = [v.strip() for v in (params.get(name) or "").split(",") if v.strip()]
    if (required and not ids) or len(ids) > maximum:
        raise ApiError(f"EGeneral:Invalid arguments:{name}")
    return ids
