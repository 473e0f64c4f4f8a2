"""`wallets_settled`: every entry that loads ledger rows (`run_sync`, `run_import`, `run_backfill`) gives the
rows it wrote their wallets before it returns, through the one owner of wallet assignment
(`kraken_etl.recon.wallets.assign_wallets`, SQL in `kraken_etl.db.recon_wallets`).

Without it, rows from REST (no wallet) beside rows from an export (a wallet each) would form two balance
chains of one asset until the next `reconcile`, and `reporting.balances_at` would count the asset twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from kraken_etl.db.recon_store import watermark
from kraken_etl.db.runs import Engine
from kraken_etl.recon.wallets import assign_wallets


@contextmanager
def wallets_settled(engine: Engine, account: str) -> Iterator[None]:
    """Around a load of `account`: afterwards, rows written since the block began (by the database's clock,
    and any row still without a wallet) are assigned one. Nothing is assigned when the block raises: the next
    load or `reconcile` does it."""
    with engine.connect() as conn:
        since = watermark(conn)
    yield
    with engine.begin() as conn:
        assign_wallets(conn, account, since)
