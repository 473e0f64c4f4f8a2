"""Done-when: every injected discrepancy is found and named as exactly as the data allows, nothing else.

The expected findings are derived from what `GET /_sim/faults` names and the simulator's truth:
- a hidden ledger row: a chain break of its asset whose later row is the next stored row of that chain
  and whose difference is the hidden row's amount - fee (rows hidden back to back add up); a hidden row
  that was the last of its chain shows as a snapshot difference instead;
- a missing trade leg: the trade and the leg's ledger id (plus the gap it leaves in the quote chain);
- balance drift: the asset, and the difference between Kraken's balance and the ledger's;
- an order mismatch: the order; a trade leg whose amount differs: the trade and the leg (plus the row
  breaking its chain); an altered balance: that one row.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kraken_etl.jobs.streams import SYNC_ORDER
from kraken_etl.jobs.sync import sync_account
from kraken_etl.recon import Finding, reconcile
from tests.oracle import common_code, seconds
from tests.pipeline.conftest import InProcessSim, make_sim

SPEC = "hide_ledger=4,missing_leg=3,balance_drift=2,vol_exec_mismatch=2,leg_amount=2,altered_balance=2,seed={seed}"


def _chains(ledger: dict[str, dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    chains: dict[tuple[str, str], list[tuple[Decimal, str]]] = defaultdict(list)
    for lid, rec in ledger.items():
        chains[(rec["asset"], rec["wallet"])].append((seconds(rec["time"]), lid))
    return {k: [lid for _, lid in sorted(v)] for k, v in chains.items()}


def _net(rec: dict[str, Any]) -> Decimal:
    return Decimal(str(rec["amount"])) - Decimal(str(rec["fee"]))


def _complete_assets(ledger: dict[str, dict[str, Any]], hidden: set[str]) -> set[str]:
    """Assets whose first stored row starts from zero (their chains open from zero: checkable)."""
    first: dict[str, tuple[Decimal, str]] = {}
    for lid, rec in ledger.items():
        key = (seconds(rec["time"]), lid)
        if lid not in hidden and (rec["asset"] not in first or key < first[rec["asset"]]):
            first[rec["asset"]] = key
    return {a for a, (_, lid) in first.items() if Decimal(ledger[lid]["balance"]) == _net(ledger[lid])}


def _stored(engine: Engine, account: str) -> dict[str, tuple[Decimal, Decimal]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ledger_id, amount, balance FROM kraken.ledger_entry WHERE account = :a"),
                            {"a": account})
        return {r.ledger_id: (r.amount, r.balance) for r in rows}


def expected(sim: InProcessSim, engine: Engine, account: str) -> list[tuple[str, Any]]:
    """(kind, key) pairs the reconciliation must report, exactly."""
    faults = sim.http.get("/_sim/faults").json()
    ledger = sim.truth("ledgers")["ledger"]
    stored = _stored(engine, account)
    out: list[tuple[str, Any]] = []
    snapshot_diff: dict[str, Decimal] = defaultdict(Decimal)
    for asset, drift in faults["balance_drift"].items():
        snapshot_diff[common_code(asset)] += Decimal(drift)
    hidden = set(faults["hidden_ledger_ids"]) | set(faults["missing_legs"].values())
    complete = _complete_assets(ledger, hidden)
    for (asset, _), ids in _chains(ledger).items():
        gap, opened = Decimal(0), False
        for lid in ids:
            if lid in hidden:
                gap += _net(ledger[lid])
                continue
            if gap and (opened or asset in complete):  # a chain's first stored row is taken as given
                out.append(("chain_break", (asset, lid, gap)))
            gap, opened = Decimal(0), True
        if gap:
            snapshot_diff[common_code(asset)] += gap
    out += [("balance_mismatch", (asset, diff)) for asset, diff in snapshot_diff.items() if diff]
    out += [("missing_leg", (trade, leg)) for trade, leg in faults["missing_legs"].items()]
    out += [("order_mismatch", order) for order in faults["vol_exec_mismatch"]]
    for trade, leg in faults["leg_amount"].items():
        delta = stored[leg][0] - Decimal(ledger[leg]["amount"])
        out += [("leg_amount_mismatch", (trade, leg)), ("chain_break", (ledger[leg]["asset"], leg, -delta))]
    for row in faults["altered_balance"]:
        out.append(("balance_altered", (row, stored[row][1] - Decimal(ledger[row]["balance"]))))
    return out


def _key(f: Finding) -> tuple[str, Any]:
    if f.kind == "chain_break":
        return f.kind, (f.asset, f.details["after_id"], f.difference)
    if f.kind == "balance_mismatch":
        return f.kind, (f.asset, f.difference)
    if f.kind in ("missing_leg", "leg_amount_mismatch"):
        return f.kind, f.source_ids
    if f.kind == "order_mismatch":
        return f.kind, f.source_ids[0]
    if f.kind == "balance_altered":
        return f.kind, (f.source_ids[0], f.difference)
    return f.kind, f.message


@pytest.mark.parametrize("seed", [3, 4, 5, 6, 7, 8])
def test_each_injected_discrepancy_is_found_exactly_and_nothing_else(seed: int, engine: Engine) -> None:
    sim = make_sim(seed=seed, ledger_entries=1_200)
    sim.faults(SPEC.format(seed=seed))
    sync_account(SYNC_ORDER, client=sim.client(), engine=engine, account="main")
    result = reconcile(engine, "main", clock=sim.clock)
    want = sorted(expected(sim, engine, "main"), key=repr)
    got = sorted((_key(f) for f in result.open_findings if f.kind != "partial_history"), key=repr)
    assert got == want
    # a chain whose first stored row is not the account's first (a hidden row before it, or a wallet the
    # assignment opened for rows that fit nowhere) is named as partial, with Kraken's opening: info only
    ledger = sim.truth("ledgers")["ledger"]
    for f in (f for f in result.open_findings if f.kind == "partial_history"):
        first = ledger[f.source_ids[0]]
        assert f.severity == "info" and f.actual == Decimal(first["balance"]) - _net(first) != 0
    assert len(want) >= 15  # every fault kind fired
    # a hidden row is named by the two stored rows around the gap
    gaps = [f for f in result.open_findings if f.kind == "chain_break"]
    assert all(f.details["before_id"] in (*f.source_ids, None) and f.expected is not None for f in gaps)
