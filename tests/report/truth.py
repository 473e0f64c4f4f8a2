"""Answers computed from the simulator's /_sim/truth alone (no SQL), to check the reporting views against."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.oracle import base_and_suffix, common_code, seconds

ZERO = Decimal(0)


def entries(truths: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Truth ledger rows oldest first, with `at` (unix seconds) and `when` (aware datetime) added."""
    rows = []
    for lid, rec in truths["ledgers"]["ledger"].items():
        at = seconds(rec["time"])
        rows.append({**rec, "id": lid, "at": at,
                     "when": datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(at))})
    rows.sort(key=lambda r: (r["at"], r["id"]))
    return rows


def balances_by_chain(rows: list[dict[str, Any]], until: Decimal | None = None, *,
                      per_wallet: bool = False) -> dict[tuple[str, str | None], Decimal]:
    """Kraken's own `balance` field: the last one per (asset, wallet) at or before `until`, wallets summed
    unless `per_wallet` (an answer that does not add amounts up, so it checks the views' sums)."""
    last: dict[tuple[str, str], Decimal] = {}
    for r in rows:
        if until is not None and r["at"] > until:
            break
        last[(r["asset"], r["wallet"])] = Decimal(r["balance"])
    out: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for (asset, wallet), value in last.items():
        out[(common_code(asset), wallet if per_wallet else None)] += value
    return dict(out)


def month_of(r: dict[str, Any]) -> date:
    return r["when"].date().replace(day=1)


def fees_by_month(rows: list[dict[str, Any]]) -> dict[tuple[date, str], Decimal]:
    out: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if Decimal(r["fee"]) != ZERO:
            out[(month_of(r), common_code(r["asset"]))] += Decimal(r["fee"])
    return dict(out)


def deposits_withdrawals(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
    out: dict[tuple[str, str], tuple[int, Decimal, Decimal]] = {}
    for r in rows:
        if r["type"] in ("deposit", "withdrawal"):
            key = (common_code(r["asset"]), r["type"])
            n, amount, fee = out.get(key, (0, ZERO, ZERO))
            out[key] = (n + 1, amount + Decimal(r["amount"]), fee + Decimal(r["fee"]))
    return out


def rewards(rows: list[dict[str, Any]]) -> dict[tuple[date, str, str], Decimal]:
    out: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if r["type"] == "staking" or (r["type"] == "earn" and r.get("subtype") == "reward"):
            kind = "staking" if r["type"] == "staking" else "earn"
            out[(month_of(r), common_code(r["asset"]), kind)] += Decimal(r["amount"]) - Decimal(r["fee"])
    return dict(out)


def base_of(asset: str) -> str:
    return common_code(base_and_suffix(asset)[0])
