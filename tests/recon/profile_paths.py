"""Done-when of an account profile, for one seed and one way the data arrives (REST sync, export backfill,
export then REST, file import): the database holds what Kraken served (REST: every stream equals
`/_sim/truth`; the export paths: every ledger row's refid, type, subtype, amount, fee and balance, as exports
and REST speak different asset codes) and reconciliation finds no break. Used by the one-seed tests of
`make test` and by the five-seed matrix of `make drills` (tests/drills/matrix_profiles.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from kraken_etl.recon import reconcile
from kraken_etl.recon.result import ReconResult
from tests.pipeline.conftest import make_sim
from tests.pipeline.truth import compare_all
from tests.recon.arrival import arrive

# The informational findings a clean account may carry: `airdrop` is outside Kraken's documented types (loaded
# and flagged), and an export alone brings no balance snapshot.
ALLOWED_INFO = {"rest": {"unknown_ledger_type"}, "export_then_rest": {"unknown_ledger_type"},
                "export": {"no_balance_snapshot", "unknown_ledger_type"},
                "import": {"no_balance_snapshot", "unknown_ledger_type"}}
# Every profile's history starts after this (the export paths ask from here).
FROM = datetime(2019, 1, 1, tzinfo=UTC)

Facts = dict[str, tuple[str, str, str, Decimal, Decimal, Decimal]]


def _truth_facts(ledger: dict[str, Any]) -> Facts:
    return {lid: (r["refid"], r["type"], r["subtype"], Decimal(r["amount"]), Decimal(r["fee"]), Decimal(r["balance"]))
            for lid, r in ledger.items()}


def _ledger_facts(engine: Engine, account: str) -> Facts:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT ledger_id, refid, type, subtype, amount, fee, balance "
                                 "FROM kraken.ledger_entry WHERE account = :a"), {"a": account})
        return {r.ledger_id: (r.refid, r.type, r.subtype, r.amount, r.fee, r.balance) for r in rows}


def stored_kinds(engine: Engine, account: str) -> tuple[set[str], set[str], set[str]]:
    """The ledger types, subtypes and assets stored for `account`."""
    with engine.connect() as conn:
        kinds = conn.execute(text("SELECT array_agg(DISTINCT type), array_agg(DISTINCT subtype), "
                                  "array_agg(DISTINCT asset) FROM kraken.ledger_entry WHERE account = :a"),
                             {"a": account}).one()
    return set(kinds[0]), set(kinds[1]), set(kinds[2])


def load_and_reconcile(profile: str, seed: int, mode: str, engine: Engine, home: Path, *, entries: int,
                       history_days: int, **knobs: Any) -> tuple[ReconResult, dict[str, Any]]:
    """Load `seed`'s account of `profile` the way `mode` says, check it equals the truth and reconciles without
    a break (only the allowed info findings); returns the reconciliation and the truth."""
    sim = make_sim(seed=seed, ledger_entries=entries, history_days=history_days, profile=profile, **knobs)
    try:
        account = f"{profile[0]}{seed}"
        arrive(mode, sim, engine, account, home / account, start=FROM)
        truths = {**sim.truths(), "positions": sim.truth("positions")}
        if mode == "rest":
            assert compare_all(engine, account, truths) == []
        else:
            assert _ledger_facts(engine, account) == _truth_facts(truths["ledgers"]["ledger"])
        result = reconcile(engine, account, clock=sim.clock)
        unexpected = [f for f in result.open_findings if f.severity != "info" or f.kind not in ALLOWED_INFO[mode]]
        assert unexpected == [], (profile, mode, seed, [f.message for f in unexpected])
        unknown = {f.source_ids for f in result.open_findings if f.kind == "unknown_ledger_type"}
        assert unknown <= {("airdrop",)}
        return result, truths
    finally:
        sim.http.close()
