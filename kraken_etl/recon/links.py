"""Checks `trade_ledger` (every trade's ledger legs exist and agree) and `order_trades` (each closed order's
vol_exec, cost and fee equal the sums over its trades). SQL returns only the rows that disagree."""

from __future__ import annotations

from typing import Any

from kraken_etl.db import recon_links, recon_orders
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

TRADE = "trade_ledger"
ORDER = "order_trades"


def _legs(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"ledger_id": i, "asset": a, "amount": m, "fee": f}
            for i, a, m, f in zip(row["leg_ids"] or [], row["assets"] or [], row["amounts"] or [],
                                  row["fees"] or [], strict=True)]


def _trade_findings(row: dict[str, Any]) -> list[Finding]:
    txid, verdict, legs = row["txid"], row["verdict"], _legs(row)
    details = {"trade": txid, "pair": row["pair"], "type": row["type"], "vol": row["vol"], "cost": row["cost"],
               "fee": row["fee"], "legs": legs, "time": row["time"]}
    base = {"check": TRADE, "kind": verdict, "severity": "break", "details": details, "scope": txid,
            "at": row["time"].isoformat()}
    if verdict == "missing_leg":
        return [Finding(**base, asset=None, source_ids=(txid, leg["ledger_id"]),
                        message=f"trade {txid} ({row['pair']}): ledger leg {leg['ledger_id']} is not stored")
                for leg in legs if leg["asset"] is None]
    if verdict == "no_legs":
        return [Finding(**base, source_ids=(txid,),
                        message=f"trade {txid} ({row['pair']}) has no ledger legs (no listed ids, no refid match)")]
    if verdict == "leg_fee_mismatch":
        fees = sum((leg["fee"] for leg in legs), start=row["fee"] * 0)
        return [Finding(**base, expected=row["fee"], actual=fees, difference=fees - row["fee"],
                        source_ids=(txid, *(leg["ledger_id"] for leg in legs)),
                        message=f"trade {txid} ({row['pair']}): fee {row['fee']} but its legs charge {fees}")]
    return _amount_findings(row, legs, base)


def _amount_findings(row: dict[str, Any], legs: list[dict[str, Any]], base: dict[str, Any]) -> list[Finding]:
    """Name the leg whose amount disagrees: the moving leg that matches neither vol nor cost (or the wrong sign)."""
    txid, vol, cost, buy = row["txid"], row["vol"], row["cost"], row["type"] == "buy"
    moving = [leg for leg in legs if leg["amount"] != 0]
    matched = {"vol": any(abs(leg["amount"]) == vol for leg in moving),
               "cost": any(abs(leg["amount"]) == cost for leg in moving)}
    out = []
    for leg in moving:
        amount = leg["amount"]
        if (abs(amount) == vol and (amount > 0) == buy) or (abs(amount) == cost and (amount < 0) == buy):
            continue
        want_vol = not matched["vol"]
        expected = (vol if buy else -vol) if want_vol else (-cost if buy else cost)
        out.append(Finding(**base, asset=leg["asset"], expected=expected, actual=amount,
                           difference=amount - expected, source_ids=(txid, leg["ledger_id"]),
                           message=(f"trade {txid} ({row['pair']} {row['type']} vol {vol} cost {cost}): leg "
                                    f"{leg['ledger_id']} moves {amount} {leg['asset']}, expected {expected}")))
    if not out:
        out.append(Finding(**base, source_ids=(txid,),
                           message=(f"trade {txid} ({row['pair']}): {len(moving)} moving legs, "
                                    "expected a base and a quote leg")))
    return out


def check_trade_ledger(inp: CheckInput) -> CheckReport:
    """Trades whose ledger legs are missing or disagree with vol, cost and fee."""
    examined, ids, rows = recon_links.trade_mismatches(inp.conn, inp.account, inp.as_of, inp.since)
    findings = [f for row in rows for f in _trade_findings(row)]
    return CheckReport(examined, findings, _scopes(ids))


def check_order_trades(inp: CheckInput) -> CheckReport:
    """Closed orders whose vol_exec, cost or fee differ from the sums over their trades."""
    examined, ids, rows = recon_orders.order_mismatches(inp.conn, inp.account, inp.as_of, inp.since)
    findings = []
    for row in rows:
        txid = row["txid"]
        parts = [(name, row[mine], row[theirs]) for name, mine, theirs in
                 (("vol_exec", "vol_exec", "vol"), ("cost", "cost", "tcost"), ("fee", "fee", "tfee"))
                 if row[mine] != row[theirs]]
        name, mine, theirs = parts[0] if parts else ("vol_exec", row["vol_exec"], row["vol"])
        findings.append(Finding(
            check=ORDER, kind="order_mismatch", severity="break", expected=theirs, actual=mine,
            difference=mine - theirs, source_ids=(txid,),
            message=(f"order {txid}: " + "; ".join(f"{n} {m} but its {row['n']} trade(s) sum to {t}"
                                                   for n, m, t in parts or [(name, mine, theirs)])),
            details={"order": txid, "fields": [p[0] for p in parts], "trades": row["ids"] or [],
                     "vol_exec": row["vol_exec"], "trades_vol": row["vol"], "cost": row["cost"],
                     "trades_cost": row["tcost"], "fee": row["fee"], "trades_fee": row["tfee"]},
            scope=txid, at=row["closetm"].isoformat(),
        ))
    return CheckReport(examined, findings, _scopes(ids))


def _scopes(ids: list[str] | None) -> dict[str, str | None] | None:
    """Incremental: only the trades/orders re-examined can be resolved."""
    return None if ids is None else {txid: None for txid in ids}
