"""Ledgers / QueryLedgers entries → `LedgerEntry` (Kraken's Ledgers docs), and Kraken's ledger vocabulary as data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kraken_etl.core.parsing import Reader, rawify
from kraken_etl.core.records import LedgerEntry

# The official `type` enum plus types seen in the wild (rotki PR#6971, CoinTaxman#185). Unknown types load,
# flagged `unknown_type`, and surface as reconciliation findings.
LEDGER_TYPES: frozenset[str] = frozenset({
    "none", "trade", "deposit", "withdrawal", "transfer", "margin", "adjustment", "rollover", "spend",
    "receive", "settled", "credit", "staking", "reward", "dividend", "sale", "conversion", "nfttrade",
    "nftcreatorfee", "nftrebate", "custodytransfer", "earn", "invite bonus", "hybridearnwithdrawal",
})


def parse_ledger_entry(ledger_id: str, raw: Mapping[str, Any]) -> LedgerEntry:
    """One entry of ``result["ledger"]`` (keyed by its ledger id).

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    r = Reader("ledgers", ledger_id, raw)
    time, time_raw = r.time("time")
    return LedgerEntry(
        ledger_id=ledger_id,
        refid=r.opt_text("refid"),
        time=time,
        time_raw=time_raw,
        type=r.text("type"),
        subtype=r.text("subtype", ""),
        aclass=r.text("aclass", "currency"),
        asset=r.text("asset"),
        amount=r.dec("amount"),
        fee=r.dec("fee"),
        balance=r.opt_dec("balance"),
        subclass=r.opt_text("subclass"),
        wallet=r.opt_text("wallet"),
        raw=rawify(raw),
    )
