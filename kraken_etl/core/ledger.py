"""Ledgers / QueryLedgers entries → `LedgerEntry` (Kraken's Ledgers docs), and Kraken's ledger vocabulary as data."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from kraken_etl.core.parsing import Reader, fields, rawify
from kraken_etl.core.records import LedgerEntry

# The official `type` enum plus types seen in the wild (rotki PR#6971, CoinTaxman#185). Unknown types load,
# flagged `unknown_type`, and surface as reconciliation findings.
LEDGER_TYPES: frozenset[str] = frozenset({
    "none", "trade", "deposit", "withdrawal", "transfer", "margin", "adjustment", "rollover", "spend",
    "receive", "settled", "credit", "staking", "reward", "dividend", "sale", "conversion", "nfttrade",
    "nftcreatorfee", "nftrebate", "custodytransfer", "earn", "invite bonus", "hybridearnwithdrawal",
})


_FIELDS = fields(
    (Reader.text, "type asset"),
    (partial(Reader.text, default=""), "subtype"),
    (partial(Reader.text, default="currency"), "aclass"),
    (Reader.dec, "amount fee"),
    (Reader.opt_dec, "balance"),
    (Reader.opt_text, "refid subclass wallet"),
)

def parse_ledger_entry(ledger_id: str, raw: Mapping[str, Any]) -> LedgerEntry:
    """One entry of ``result["ledger"]`` (keyed by its ledger id).

    Raises:
        MalformedRecord: when a required field is missing or unparseable.
    """
    r = Reader("ledgers", ledger_id, raw)
    time, time_raw = r.time("time")
    return LedgerEntry(ledger_id=ledger_id, time=time, time_raw=time_raw, **r.read(_FIELDS), raw=rawify(raw))
