"""Wallet assignment: give every ledger row a wallet and say where it came from.

The export, listener and suffix rules are single UPDATEs (`kraken_etl.db.recon_wallets`); the rows left
are placed by balance continuity (`kraken_etl.recon.continuity`), one asset at a time, from the first
unplaced row on, starting from each wallet's balance just before it.
"""

from __future__ import annotations

from datetime import datetime

from kraken_etl.db import recon_wallets
from kraken_etl.db.recon_store import Connection
from kraken_etl.recon.continuity import Row, infer_wallets


def assign_wallets(conn: Connection, account: str, since: datetime | None = None) -> int:
    """Assign wallets to rows that have none (and refresh rows a better source now names).

    Args:
        since: only rows changed after it are re-derived by the SQL rules (None: all rows).

    Returns:
        How many rows changed.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    changed = recon_wallets.assign_known_wallets(conn, account, since)
    for asset, first in recon_wallets.pending_assets(conn, account):
        state = recon_wallets.chain_state(conn, account, asset, first)
        rows = (Row(i, m, t, n, b, w) for i, m, t, n, b, w in recon_wallets.rows_since(conn, account, asset, first))
        known = recon_wallets.export_wallets(conn, account, asset)
        assigned = infer_wallets(rows, state, known)
        changed += recon_wallets.write_assignments(conn, account, [(a.ledger_id, a.wallet, a.source) for a in assigned])
    return changed
