"""rp2 (PyPI) driven through its Python API: acquisitions and disposals in, gains per disposal out.

rp2 reads its column layout from an INI file even when its transactions are built in memory, so the oracle
writes a minimal one; no ODS file, no report generator, no network. Only what both tools understand the
same way goes in: buys at a cost, sells for proceeds, fees kept at zero (rp2 and this engine agree on fees
only when given in the same form; their fee rules are compared on the engine's own hand-made cases).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from datetime import UTC
from decimal import Decimal, FloatOperation, localcontext
from importlib import import_module
from pathlib import Path

from kraken_etl.books.lots_model import Event, Kind

INI = """[general]
assets = {assets}
exchanges = Kraken
holders = Owner

[in_header]
timestamp = 0
asset = 1
exchange = 2
holder = 3
transaction_type = 4
spot_price = 5
crypto_in = 6
fiat_fee = 7

[out_header]
timestamp = 0
asset = 1
exchange = 2
holder = 3
transaction_type = 4
spot_price = 5
crypto_out_no_fee = 6
crypto_fee = 7

[intra_header]
timestamp = 0
asset = 1
from_exchange = 2
from_holder = 3
to_exchange = 4
to_holder = 5
spot_price = 6
crypto_sent = 7
crypto_received = 8
"""


def rp2_gains(events: list[Event], method: str, workdir: Path) -> dict[tuple[str, ...], Decimal]:
    """rp2's gain per disposal (keyed by the disposal's entries), summed over the lots it drew from.

    rp2 creates `./log/` when imported and logs there: it is imported and run inside `workdir`. Importing it
    also sets the thread's decimal context (precision, a trap on floats); it runs in a local context with rp2's
    settings, so the tests that run after it in the same process keep the default context."""
    with contextlib.chdir(workdir), localcontext() as context:
        from rp2.rp2_decimal import CRYPTO_DECIMALS

        context.prec = CRYPTO_DECIMALS + 18  # what importing rp2 sets
        context.traps[FloatOperation] = True
        return _rp2_gains(events, method, workdir)


def _rp2_gains(events: list[Event], method: str, workdir: Path) -> dict[tuple[str, ...], Decimal]:
    from prezzemolo.avl_tree import AVLTree
    from rp2.accounting_engine import AccountingEngine
    from rp2.configuration import MIN_DATE, Configuration
    from rp2.in_transaction import InTransaction
    from rp2.input_data import InputData
    from rp2.out_transaction import OutTransaction
    from rp2.plugin.country.us import US
    from rp2.rp2_decimal import RP2Decimal
    from rp2.tax_engine import compute_tax
    from rp2.transaction_set import TransactionSet

    assets = sorted({e.asset for e in events})
    ini = workdir / "rp2.ini"
    ini.write_text(INI.format(assets=", ".join(assets)), encoding="utf-8")
    configuration = Configuration(str(ini), US())
    methods: AVLTree = AVLTree()
    methods.insert_node(MIN_DATE.year, import_module(f"rp2.plugin.accounting_method.{method}").AccountingMethod())
    gains: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for asset in assets:
        ins = TransactionSet(configuration, "IN", asset)
        outs = TransactionSet(configuration, "OUT", asset)
        intras = TransactionSet(configuration, "INTRA", asset)
        by_id: dict[str, tuple[str, ...]] = {}
        for row, event in enumerate(e for e in events if e.asset == asset):
            stamp = event.at.astimezone(UTC).isoformat()
            unit = RP2Decimal(str(event.value / event.amount))
            uid = "|".join(event.entries) or f"row{row}"
            by_id[uid] = event.entries
            if event.kind is Kind.ACQUIRE:
                ins.add_entry(InTransaction(configuration, stamp, asset, "Kraken", "Owner", "BUY", unit,
                                            RP2Decimal(str(event.amount)), fiat_in_no_fee=RP2Decimal(str(event.value)),
                                            fiat_fee=RP2Decimal(0), row=row + 2, unique_id=uid))
            elif event.kind is Kind.DISPOSE:
                outs.add_entry(OutTransaction(configuration, stamp, asset, "Kraken", "Owner", "SELL", unit,
                                              RP2Decimal(str(event.amount)), RP2Decimal(0),
                                              fiat_out_no_fee=RP2Decimal(str(event.value)), row=row + 2, unique_id=uid))
            else:
                raise ValueError(f"the rp2 oracle takes buys and sells only, not {event.kind}")
        computed = compute_tax(configuration, AccountingEngine(methods), InputData(asset, ins, outs, intras))
        for gain_loss in computed.gain_loss_set:
            gains[by_id[gain_loss.taxable_event.unique_id]] += Decimal(str(gain_loss.fiat_gain))
    return dict(gains)
