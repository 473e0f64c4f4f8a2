"""Check `ledger_vs_exchange`: the ledger's balance at each stored Balance/BalanceEx snapshot vs the snapshot.

At each snapshot's moment, every chain's last balance (entries after the snapshot excluded) is summed per
asset across wallets (Kraken's Balance has no wallet; a snapshot that names one is compared with that
wallet alone). Asset codes are normalised on both sides (`XXBT` = `XBT` = `BTC`; suffixes kept). An asset
the exchange reports that the ledger never saw counts as 0 in the ledger, and the other way round. A
difference below half a unit of the finer side's last decimal is rounding; anything else is a break,
one finding per asset and wallet, naming the latest snapshot that disagrees.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from kraken_etl.core.assets import normalize_asset
from kraken_etl.db import recon_snapshots
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

NAME = "ledger_vs_exchange"
ZERO = Decimal(0)


def _half_unit(*values: Decimal) -> Decimal:
    exps = [v.as_tuple().exponent for v in values]
    exp = min((e for e in exps if isinstance(e, int)), default=0)
    return Decimal(5).scaleb(exp - 1)


Sides = tuple[dict[str, Decimal], dict[tuple[str, str], Decimal], dict[str, list[str]]]


def _ledger_side(chains: list[tuple[str, str, Decimal, str]]) -> Sides:
    total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    per_wallet: dict[tuple[str, str], Decimal] = {}
    last_ids: dict[str, list[str]] = defaultdict(list)
    for asset, wallet, balance, ledger_id in chains:
        code = normalize_asset(asset)
        total[code] += balance
        per_wallet[(code, wallet)] = per_wallet.get((code, wallet), ZERO) + balance
        last_ids[code].append(ledger_id)
    return total, per_wallet, last_ids


def _compare(snaps: list[dict[str, Any]], chains: list[tuple[str, str, Decimal, str]]) -> list[dict[str, Any]]:
    total, per_wallet, last_ids = _ledger_side(chains)
    out = []
    seen: set[tuple[str, str | None]] = set()
    for snap in snaps:
        code = normalize_asset(snap["asset"])
        key = (code, snap["wallet"])
        if key in seen:  # Balance and BalanceEx at one moment: one comparison per asset and wallet
            continue
        seen.add(key)
        ledger = per_wallet.get((code, snap["wallet"]), ZERO) if snap["wallet"] else total.get(code, ZERO)
        out.append({"asset": code, "wallet": snap["wallet"], "exchange": snap["balance"], "ledger": ledger,
                    "source": snap["source"], "snapshot_id": snap["id"], "ids": last_ids.get(code, [])})
    for code, ledger in total.items():
        if (code, None) not in seen and not any(k[0] == code for k in seen) and ledger != ZERO:
            out.append({"asset": code, "wallet": None, "exchange": ZERO, "ledger": ledger, "source": snaps[0]["source"],
                        "snapshot_id": snaps[0]["id"], "ids": last_ids.get(code, [])})
    return out


def check_ledger_vs_exchange(inp: CheckInput) -> CheckReport:
    """One break per asset (and wallet) whose ledger balance differs from a stored snapshot."""
    snaps = recon_snapshots.snapshots(inp.conn, inp.account, inp.as_of)
    if not snaps:
        return CheckReport(0)
    at = recon_snapshots.ledger_at_snapshots(inp.conn, inp.account, inp.as_of)
    by_time: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    for snap in snaps:
        by_time[snap["taken_at"]].append(snap)
    worst: dict[tuple[str, str | None], tuple[datetime, dict[str, Any], int]] = {}
    for taken_at, group in sorted(by_time.items()):
        for row in _compare(group, at.get(taken_at, [])):
            if abs(row["exchange"] - row["ledger"]) < _half_unit(row["exchange"], row["ledger"]):
                continue
            key = (row["asset"], row["wallet"])
            count = worst[key][2] + 1 if key in worst else 1
            worst[key] = (taken_at, row, count)
    findings = []
    for (asset, wallet), (taken_at, row, count) in sorted(worst.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        diff = row["exchange"] - row["ledger"]
        findings.append(Finding(
            check=NAME, kind="balance_mismatch", severity="break", asset=asset, wallet=wallet,
            expected=row["ledger"], actual=row["exchange"], difference=diff,
            source_ids=(),
            message=(f"{asset}{f' [{wallet}]' if wallet else ''}: Kraken's {row['source']} "
                     f"at {taken_at:%Y-%m-%d %H:%M:%S} "
                     f"says {row['exchange']}, the ledger says {row['ledger']} (difference {diff})"),
            details={"taken_at": taken_at, "snapshot_id": row["snapshot_id"], "snapshots_disagreeing": count,
                     "last_ledger_ids": row["ids"]},
            scope="", at=taken_at.isoformat(),
        ))
    return CheckReport(len(snaps), findings)
