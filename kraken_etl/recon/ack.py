"""`acknowledge`: an accountant's note that an open finding is acceptable, kept with its time.

Every note is kept (`kraken.reconciliation_ack`); the finding shows the newest. Only open findings are
acknowledged: a resolved one no longer holds, so a note on it is refused with when it was resolved. A set
is chosen by ids, or by account and/or check (every open finding of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kraken_etl.db import recon_store
from kraken_etl.db.recon_store import Engine
from kraken_etl.recon.registry import CHECKS
from kraken_etl.recon.runner import ReconError


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """One finding acknowledged, and how many notes it already had (they are kept)."""

    finding_id: int
    account: str
    severity: str
    earlier_notes: int


def acknowledge(engine: Engine, note: str, *, ids: Sequence[int] = (), account: str | None = None,
                check: str | None = None) -> list[Acknowledged]:
    """Acknowledge the findings `ids`, or every open finding of `account` and/or `check`, with `note`.

    Raises:
        ReconError: an empty note, no selection, an unknown check, an id that does not exist or is
            resolved (nothing is acknowledged then), or a selection with no open finding.
    """
    note = note.strip()
    if not note:
        raise ReconError("an acknowledgement needs a note (--note TEXT)")
    if ids and (account or check):
        raise ReconError("give finding ids, or --account/--check for a set, not both")
    if not ids and not account and not check:
        raise ReconError("say which findings: their ids, or --account and/or --check for every open one of them")
    if check is not None and check not in CHECKS:
        raise ReconError(f"unknown check: {check}; known: {', '.join(CHECKS)}")
    with recon_store.transaction(engine) as conn:
        if ids:
            rows = {r["id"]: r for r in recon_store.findings_by_id(conn, ids)}
            missing = [i for i in ids if i not in rows]
            if missing:
                raise ReconError(f"no reconciliation finding with id {', '.join(map(str, missing))}")
            resolved = [rows[i] for i in ids if rows[i]["status"] != "open"]
            if resolved:
                said = ", ".join(f"{r['id']} (resolved {r['resolved_at']:%Y-%m-%d %H:%M} UTC)" for r in resolved)
                raise ReconError(f"finding {said} no longer holds: only open findings are acknowledged; "
                                 "nothing was acknowledged")
            chosen = list(dict.fromkeys(ids))
        else:
            chosen = recon_store.open_finding_ids(conn, account, check)
            if not chosen:
                what = " and ".join(x for x in (account and f"account {account!r}", check and f"check {check!r}") if x)
                raise ReconError(f"no open findings of {what}: nothing was acknowledged")
            rows = {r["id"]: r for r in recon_store.findings_by_id(conn, chosen)}
        earlier = recon_store.acknowledge(conn, chosen, note)
    return [Acknowledged(i, rows[i]["account"], rows[i]["severity"], earlier.get(i, 0)) for i in chosen]
