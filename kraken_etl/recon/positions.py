"""Check `positions`: Kraken's open positions and margin state against what the stored trades and ledger imply.

At the latest balance snapshot up to `as_of` that stored TradeBalance, for each position Kraken's
OpenPositions listed (stored only when TradeBalance showed margin in use):

- `position_unknown`: no opening trade with the position's id is stored (the trades stream is behind or a
  trade is missing);
- `position_closed_here`: we store trades that closed the whole position before the snapshot, Kraken still
  lists it open;
- `position_mismatch`: its volume, cost or margin differ from its opening trade's, or its `vol_closed` from the
  volume its closing trades stored by then closed (a partly closed position; the field is named);
- `rollover_mismatch`: its fee (opening fee plus the rollovers charged so far, as Kraken reports it) differs
  from the opening trade's fee plus the `rollover` ledger entries attributed to it (`recon.rollovers`: by
  refid, else by the positions open then in the entry's currency; positions that share entries are judged
  together): a rollover entry missing from, or extra in, our ledger;
- `margin_state_mismatch`: TradeBalance's margin `m` differs from the sum of the listed positions' margins
  (compared only when every position is quoted in the currency TradeBalance was asked in, to 0.0001 a
  position: Kraken's rounding);

and for the positions our trades show open at that moment:

- `position_missing`: an opening trade whose closing trades stored by then close less than its volume that
  Kraken does not list (a closing trade we do not have, or a snapshot without OpenPositions: TradeBalance
  `m` was 0).

Over the whole history, for every opening trade Kraken marks closed or partly closed (`posstatus` `partial`),
against the closing trades it names (`trades`):

- `position_close_missing`: no trade that closes it is stored;
- `position_close_mismatch`: the volume closed, or (closed by trades, not settled) the profit or loss the
  closing trades' `margin` entries realised, differ from the opening trade's `cvol` / `net`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kraken_etl.core.assets import normalize_asset
from kraken_etl.core.tradebalance import trade_balance_asset
from kraken_etl.db import positions as db
from kraken_etl.db.valuation import account_currency
from kraken_etl.recon import rollovers
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

CHECK = "positions"
_UNIT = Decimal("0.0001")


def _finding(kind: str, message: str, ids: tuple[str, ...], at: Any, **values: Any) -> Finding:
    return Finding(check=CHECK, kind=kind, severity="break", message=message, source_ids=ids, scope=ids[0],
                   at=at.isoformat() if at is not None else None, **values)


def _listed(p: dict[str, Any], taken: str) -> list[Finding]:
    pid, at = p["postxid"], p["time"]
    if p["trade"] is None:
        return [_finding("position_unknown", f"Kraken lists open position {pid} ({p['pair']} {p['type']} vol "
                         f"{p['vol']}) at {taken}; no trade {pid} is stored", (pid,), at,
                         details={"position": pid, "pair": p["pair"], "vol": p["vol"], "cost": p["cost"]})]
    if p["closed_by"] and p["trade_vol"] is not None and p["closed_vol"] >= p["trade_vol"]:
        closing = ", ".join(p["closed_by"])
        return [_finding("position_closed_here", f"Kraken lists position {pid} open at {taken}, but trade(s) "
                         f"{closing} closed it before then", (pid, *p["closed_by"]), at,
                         details={"position": pid, "closed_by": p["closed_by"]})]
    out = []
    for field, theirs, ours in (("vol", p["vol"], p["trade_vol"]), ("cost", p["cost"], p["trade_cost"]),
                                ("margin", p["margin"], p["trade_margin"]),
                                # closes are known only from trades with position fields (an export's
                                # basic header has none)
                                ("vol_closed", p["vol_closed"],
                                 p["closed_vol"] if p["trade_posstatus"] is not None else None)):
        if theirs is not None and ours is not None and theirs != ours:
            ours_are = "its closing trades closed" if field == "vol_closed" else "its opening trade's"
            out.append(_finding("position_mismatch", f"open position {pid} ({p['pair']}): Kraken's {field} "
                                f"{theirs}, {ours_are} {ours}", (pid, field), at, expected=ours,
                                actual=theirs, difference=theirs - ours,
                                details={"position": pid, "field": field}))
    return out


def _rollovers(inp: CheckInput, listed: list[dict[str, Any]], at: Any) -> list[Finding]:
    known = [p for p in listed if p["trade"] is not None and p["closed_vol"] < p["trade_vol"]]
    if not known:
        return []
    since = min(p["time"] for p in known)  # the rollovers and positions that matter: since the oldest opened
    spans = db.position_spans(inp.conn, inp.account, since, at)
    stored = {s["txid"] for s in spans}  # Kraken's list also opens a position whose trade lacks position fields
    spans += [{"txid": p["postxid"], "pair": p["pair"], "opened": p["time"], "closed": None}
              for p in known if p["postxid"] not in stored]
    att = rollovers.attribute(db.rollover_entries(inp.conn, inp.account, since, at), spans)
    kraken = {p["postxid"]: p["fee"] - p["trade_fee"] for p in known}
    by_id = {p["postxid"]: p for p in known}
    out = []
    for g in rollovers.compare(kraken, att, at):
        if g.agrees:
            continue
        fees = sum((by_id[pid]["fee"] for pid in g.positions), start=Decimal(0))
        opening = fees - g.kraken
        ours, bound = opening + g.ours, opening + g.ours + g.maybe
        diff = fees - (ours if fees < ours else bound)
        names = ", ".join(f"{pid} ({by_id[pid]['pair']})" for pid in g.positions)
        maybe = f", and up to {g.maybe} that may be a closed position's" if g.maybe else ""
        out.append(_finding(
            "rollover_mismatch",
            f"open position{'s' if len(g.positions) > 1 else ''} {names}: Kraken's fee {fees} (opening and "
            f"rollovers so far), ours {ours} (opening trade fee {opening} + {g.entries} rollover entries "
            f"{g.ours}{maybe}, the last at {g.last or 'none'}): a rollover entry is missing from or extra in the "
            f"ledger", g.positions, by_id[g.positions[0]]["time"], expected=ours, actual=fees, difference=diff,
            details={"position": g.positions[0], "positions": list(g.positions), "rollovers": g.entries,
                     "rollover_fees": g.ours, "rollover_fees_maybe": g.maybe, "last_rollover": g.last}))
    return out


def _margin_state(snap: dict[str, Any], listed: list[dict[str, Any]]) -> list[Finding]:
    currency = normalize_asset(snap["asset"])
    if snap["m"] is None or not listed or any(not p["pair"].endswith((snap["asset"], currency)) for p in listed):
        return []
    total = sum((p["margin"] or Decimal(0) for p in listed), start=Decimal(0))
    if abs(snap["m"] - total) <= _UNIT * len(listed):
        return []
    return [_finding("margin_state_mismatch",
                     f"TradeBalance at {snap['taken_at']:%Y-%m-%d %H:%M:%S} says margin {snap['m']} "
                     f"{currency} is used; the {len(listed)} open position(s) Kraken lists hold {total}",
                     ("",), snap["taken_at"], expected=total, actual=snap["m"], difference=snap["m"] - total,
                     details={"positions": [p["postxid"] for p in listed]})]


def _closed(row: dict[str, Any]) -> list[Finding]:
    pid, at = row["txid"], row["time"]
    if not row["closed_by"]:
        how = "partly closed" if row.get("posstatus") == "partial" else "closed"
        return [_finding("position_close_missing", f"position {pid} ({row['pair']}) is {how} at Kraken, "
                         f"but no trade that closes it is stored (Kraken names {row['position_trades'] or 'none'})",
                         (pid,), at, details={"position": pid, "position_trades": row["position_trades"]})]
    ids = (pid, *row["closed_by"])
    out = []
    if row["cvol"] is not None and row["cvol"] != row["closed_vol"]:
        out.append(_finding("position_close_mismatch", f"position {pid} ({row['pair']}): Kraken closed "
                            f"{row['cvol']}, its closing trades {', '.join(row['closed_by'])} {row['closed_vol']}",
                            ids, at, expected=row["cvol"], actual=row["closed_vol"],
                            difference=row["closed_vol"] - row["cvol"], details={"position": pid, "field": "cvol"}))
    # Kraken's `net` is the profit or loss before fees or after the closing fees (which one is not documented:
    # either agrees)
    nets = (row["realised"], row["realised"] - row["closing_fees"])
    if not row["settled_legs"] and row["net"] is not None and row["net"] not in nets:
        out.append(_finding("position_close_mismatch", f"position {pid} ({row['pair']}): Kraken's net "
                            f"{row['net']}, the margin entries of its closing trades realise {row['realised']} "
                            f"(fees {row['closing_fees']})",
                            ids, at, expected=row["net"], actual=row["realised"],
                            difference=row["realised"] - row["net"], details={"position": pid, "field": "net"}))
    return out


def check_positions(inp: CheckInput) -> CheckReport:
    """Open positions and margin state vs the trades and ledger; closed positions vs their closing trades."""
    findings: list[Finding] = []
    examined = 0
    asked = trade_balance_asset(account_currency(inp.conn, inp.account))
    snap = db.latest_snapshot(inp.conn, inp.account, inp.as_of, asked)
    if snap is not None:
        taken = f"{snap['taken_at']:%Y-%m-%d %H:%M:%S}"
        listed = db.snapshot_positions(inp.conn, inp.account, snap["taken_at"])
        examined += len(listed)
        for p in listed:
            findings += _listed(p, taken)
        findings += _rollovers(inp, listed, snap["taken_at"])
        findings += _margin_state(snap, listed)
        for t in db.unlisted_open(inp.conn, inp.account, snap["taken_at"]):
            examined += 1
            findings.append(_finding(
                "position_missing", f"our trades show position {t['txid']} ({t['pair']} {t['type']} vol "
                f"{t['vol']}) open at {taken}; Kraken does not list it (TradeBalance margin {snap['m']})",
                (t["txid"],), t["time"], details={"position": t["txid"], "pair": t["pair"], "vol": t["vol"]}))
    closed = db.closed_positions(inp.conn, inp.account, inp.as_of)
    examined += len(closed)
    for row in closed:
        findings += _closed(row)
    return CheckReport(examined, findings)
