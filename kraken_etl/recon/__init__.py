"""Reconciliation: prove the copy right against Kraken's own numbers, and name every row that is not.

Checks are plain functions of one shape (`CheckInput -> CheckReport`) returning `Finding`s; SQL in
`kraken_etl.db.recon_*` does the heavy lifting. Entry points: `reconcile(engine, account, *, as_of,
checks, full)`, `acknowledge(engine, note, *, ids, account, check)`, and `CHECKS` (the registry by name).
"""

from __future__ import annotations

from kraken_etl.recon.ack import Acknowledged, acknowledge
from kraken_etl.recon.finding import Finding
from kraken_etl.recon.registry import CHECKS
from kraken_etl.recon.result import CheckSummary, ReconResult
from kraken_etl.recon.runner import ReconError, reconcile

__all__ = ["CHECKS", "Acknowledged", "CheckSummary", "Finding", "ReconError", "ReconResult", "acknowledge",
           "reconcile"]
