"""Check `balance_chain`: per (asset, wallet), each entry's balance = the previous balance + amount - fee.

SQL (`kraken_etl.db.recon_chain`) returns the single rows that break and every moment holding several
rows; here a multi-row moment is accepted when some order of its rows chains (each row's starting
balance, plus the group's end, equals each row's balance, plus the group's start, as multisets). A
break names the stored row before the gap and the first row after it, the expected and stated balance,
and the difference (= what is missing between them: a hidden row's amount - fee). Rows wallet
assignment could not place are reported as `wallet_unknown` warnings, not breaks. A chain whose stored
history does not open at zero (it starts after the account's first entry: an export of a date range, a
sync from a later date) is reported as one `partial_history` info finding naming the opening balance the
reporting views take for it (Kraken's balance of its first stored entry minus that entry's net).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from kraken_etl.db import recon_chain, recon_coverage, recon_openings
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding, chain_scope

NAME = "balance_chain"


def orders_exist(group: recon_chain.Group) -> bool:
    """True when some order of the group's rows chains from the previous end to the group's end."""
    befores = Counter(b - n for b, n in zip(group.balances, group.nets, strict=True))
    befores[group.prev_end + group.net] += 1
    afters = Counter(group.balances)
    afters[group.prev_end] += 1
    return befores == afters


def _break(g: recon_chain.Group) -> Finding:
    expected = g.prev_end + g.net
    diff = g.end - expected
    rows = g.ids[0] if g.n == 1 else f"{g.n} rows at {g.moment:%Y-%m-%d %H:%M:%S}"
    if g.prev_id is None:
        return Finding(
            check=NAME, kind="chain_break", severity="break", asset=g.asset, wallet=g.wallet,
            expected=expected, actual=g.end, difference=diff, source_ids=g.ids,
            message=(f"{g.asset} [{g.wallet}]: the asset's history starts from zero, but this chain opens with "
                     f"{rows} stating {g.end} where its rows add up to {expected}: {diff} unaccounted for before "
                     f"{g.end_id}"),
            details={"before_id": None, "after_id": g.end_id, "moment": g.moment, "rows": list(g.ids)},
            scope=chain_scope(g.asset, g.wallet), at=g.moment.isoformat(),
        )
    return Finding(
        check=NAME, kind="chain_break", severity="break", asset=g.asset, wallet=g.wallet,
        expected=expected, actual=g.end, difference=diff, source_ids=(g.prev_id, *g.ids),
        message=(f"{g.asset} [{g.wallet}]: after {g.prev_id} the balance is {g.prev_end}; {rows} states "
                 f"{g.end}, expected {expected}: {diff} unaccounted for between {g.prev_id} and {g.end_id}"),
        details={"before_id": g.prev_id, "after_id": g.end_id, "before_moment": g.prev_moment,
                 "moment": g.moment, "rows": list(g.ids)},
        scope=chain_scope(g.asset, g.wallet), at=g.moment.isoformat(),
    )


def _altered(g: recon_chain.Group) -> Finding:
    expected = g.prev_end + g.net
    diff = g.end - expected
    return Finding(
        check=NAME, kind="balance_altered", severity="break", asset=g.asset, wallet=g.wallet,
        expected=expected, actual=g.end, difference=diff, source_ids=(g.end_id,),
        message=(f"{g.asset} [{g.wallet}]: {g.end_id} states balance {g.end}, but {g.prev_id} + its amount - fee "
                 f"gives {expected} and the next row continues from {expected} (off by {diff})"),
        details={"before_id": g.prev_id, "after_id": g.end_id, "moment": g.moment, "rows": [g.end_id]},
        scope=chain_scope(g.asset, g.wallet), at=g.moment.isoformat(),
    )


def _judge(groups: list[recon_chain.Group]) -> list[Finding]:
    """Breaks; a row whose balance alone is off (it breaks, the next row breaks back by as much) is one
    `balance_altered` finding naming that row, not two breaks."""
    bad = [g for g in groups if g.n == 1 or not orders_exist(g)]
    out: list[Finding] = []
    i = 0
    while i < len(bad):
        g = bad[i]
        nxt = bad[i + 1] if i + 1 < len(bad) else None
        if (nxt is not None and g.n == 1 and g.prev_id is not None and (nxt.asset, nxt.wallet) == (g.asset, g.wallet)
                and nxt.prev_id == g.end_id and orders_exist(replace(nxt, prev_end=g.prev_end + g.net))):
            out.append(_altered(g))
            i += 2
            continue
        out.append(_break(g))
        i += 1
    return out


def _partial(o: recon_openings.Opening) -> Finding:
    return Finding(
        check=NAME, kind="partial_history", severity="info", asset=o.asset, wallet=o.wallet, actual=o.balance,
        source_ids=(o.first_id,),
        message=(f"{o.asset} [{o.wallet}]: the stored history starts at {o.first_id} ({o.first_time:%Y-%m-%d %H:%M:%S} "
                 f"UTC), not at the account's first entry; its balances open at {o.balance} (Kraken's balance "
                 f"there minus that entry's amount - fee), not at 0"),
        details={"first_id": o.first_id, "first_time": o.first_time, "opening_balance": o.balance},
        scope=chain_scope(o.asset, o.wallet), at=None,
    )


def check_balance_chain(inp: CheckInput) -> CheckReport:
    """Every chain break, every chain whose stored history is partial (info), and every row whose wallet
    is unknown."""
    examined, groups = recon_chain.chain_groups(inp.conn, inp.account, inp.as_of, inp.since)
    findings = _judge(groups)
    findings += [_partial(o) for o in recon_openings.partial_openings(inp.conn, inp.account, inp.as_of)]
    for asset, n, ids in recon_coverage.unknown_wallets(inp.conn, inp.account, inp.as_of):
        findings.append(Finding(
            check=NAME, kind="wallet_unknown", severity="warning", asset=asset, source_ids=tuple(ids),
            message=f"{asset}: {n} row(s) fit no wallet's balance chain (first: {', '.join(ids[:3])})",
            details={"rows": n}, scope="",
        ))
    scopes: dict[str, str | None] | None = None
    if inp.since is not None:
        starts = recon_chain.chain_scopes(inp.conn, inp.account, inp.as_of, inp.since)
        scopes = {key: (start.isoformat() if start else None) for key, start in starts.items()}
        scopes[""] = None
    return CheckReport(examined, findings, scopes)
