"""Run BittyTax's UK individual calculation on a transaction-records CSV and print its disposals as JSON.

Run as a child process with HOME pointing at a scratch directory: BittyTax writes its config under
`~/.bittytax` when imported. Every record carries its GBP value, so BittyTax looks up no price.
Usage: python bittytax_script.py RECORDS.csv
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

# No price source at all: a record without its GBP value fails instead of reaching the network.
OFFLINE_CONFIG = "local_currency: GBP\ndata_source_fiat: []\ndata_source_crypto: []\ndata_source_select: {}\n"


def main(path: str) -> None:
    home = Path(os.environ["HOME"]) / ".bittytax"
    home.mkdir(exist_ok=True)
    (home / "bittytax.conf").write_text(OFFLINE_CONFIG, encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        from bittytax.bt_types import DisposalType, TaxRules
        from bittytax.import_records import ImportRecords
        from bittytax.price.valueasset import ValueAsset
        from bittytax.tax import TaxCalculator
        from bittytax.tax_event import TaxEventCapitalGains
        from bittytax.transactions import TransactionHistory

        records = ImportRecords()
        with open(path, encoding="utf-8", newline="") as handle:
            records.import_csv(handle, path)
        if records.failure_cnt:
            raise SystemExit(f"BittyTax could not import {records.failure_cnt} row(s)")
        history = TransactionHistory(records.get_records(), ValueAsset())
        tax = TaxCalculator(history.transactions, TaxRules.UK_INDIVIDUAL)
        tax.pool_same_day()
        tax.match_sell(DisposalType.SAME_DAY)
        tax.match_buyback(DisposalType.BED_AND_BREAKFAST)
        tax.process_section104(True)
    out = []
    for year, events in sorted(tax.tax_events.items()):
        for event in events:
            if isinstance(event, TaxEventCapitalGains):
                out.append({
                    "year": int(year), "date": event.date.isoformat(), "asset": str(event.asset),
                    "type": event.disposal_type.value, "quantity": str(event.quantity),
                    "proceeds": str(event.proceeds), "cost": str(event.cost), "fees": str(event.fees),
                    "gain": str(event.gain),
                })
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
