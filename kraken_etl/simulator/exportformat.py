"""What an export file holds: the header eras of Kraken's ledgers and trades exports, each row rendered in
them, and the ``…usd`` columns priced on the market path (`simulator.market`).

`lines` yields an export's text for `exports.ExportBook` (the job book: statuses, ids, zips). Header eras
(`SimConfig.ledgers_header`, `trades_header`) and TSV quoting follow the reference; where it is silent they
are UNVERIFIED (docs/simulator.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.generator import TICKS
from kraken_etl.simulator.records import fmt_scaled, ledger_fields, trade_ledger_ids, trade_record
from kraken_etl.simulator.store import Store
from kraken_etl.simulator.table import Column

if TYPE_CHECKING:
    from kraken_etl.simulator.exports import ExportJob

LEDGER_FIELDS = ("refid", "time", "type", "subtype", "aclass", "asset", "amount", "fee", "balance", "wallet")
TRADE_FIELDS = ("ordertxid", "time", "ordertype", "price", "cost", "fee", "vol", "margin", "misc", "ledgers")
LEDGER_HEADERS: dict[str, tuple[str, ...]] = {
    "legacy": ("txid", "refid", "time", "type", "subtype", "aclass", "asset", "amount", "fee", "balance"),
    "wallet": ("txid", "refid", "time", "type", "subtype", "aclass", "asset", "wallet", "amount", "fee",
               "balance"),
    "subclass": ("txid", "refid", "time", "type", "subtype", "aclass", "subclass", "asset", "wallet",
                 "amount", "fee", "balance"),
}
LEDGER_HEADERS["legacy_usd"] = (*LEDGER_HEADERS["legacy"], "amountusd")
LEDGER_HEADERS["wallet_usd"] = (*LEDGER_HEADERS["wallet"], "amountusd")
LEDGER_HEADERS["subclass_usd"] = (*LEDGER_HEADERS["subclass"], "amountusd", "feeusd", "balanceusd",
                                  "feecurrency")
_POSITION = ("postxid", "posstatus", "cprice", "ccost", "cfee", "cvol", "cmargin", "net")
TRADE_HEADERS: dict[str, tuple[str, ...]] = {
    "basic": ("txid", "ordertxid", "pair", "time", "type", "ordertype", "price", "cost", "fee", "vol",
              "margin", "misc", "ledgers"),
}
TRADE_HEADERS["position"] = (*TRADE_HEADERS["basic"], *_POSITION, "trades")
TRADE_HEADERS["position_costusd"] = (*TRADE_HEADERS["basic"], *_POSITION, "costusd", "trades")
NUMERIC = {"amount", "fee", "balance", "amountusd", "feeusd", "balanceusd", "price", "cost", "vol",
           "margin", "cprice", "ccost", "cfee", "cvol", "cmargin", "net", "costusd"}
ALWAYS = {"txid", "pair", "type", "subclass", "amountusd", "feeusd", "balanceusd", "feecurrency",
          "postxid", "posstatus", "cprice", "ccost", "cfee", "cvol", "cmargin", "net", "costusd",
          "trades"}



def _usd(value: int, asset: int, price: int, places: int) -> str:
    """A scaled amount's USD value at `price` (one unit's, scaled by 10**places), 4 decimals."""
    return fmt_scaled(value * price // 10 ** (c.ASSETS[asset].decimals + places - 4), 4)


def _usd_prices(store: Store, assets: np.ndarray, ticks: np.ndarray) -> tuple[list[int], list[int]]:
    """Per row, its asset's USD price on the market path (`simulator.market`) at its time, and the price's
    decimals: one vectorised pass per asset instead of a path lookup per cell."""
    prices = np.zeros(len(ticks), dtype=np.int64)
    places = np.zeros(len(ticks), dtype=np.int64)
    for asset in np.unique(assets):
        rows = assets == asset
        prices[rows], places[rows] = store.market.usd_prices(int(asset), ticks[rows])  # type: ignore[attr-defined]
    return prices.tolist(), places.tolist()



def lines(config: SimConfig, store: Store, job: ExportJob) -> Iterator[str]:
    """The export's text in chunks of lines (header first)."""
    sep = "\t" if job.format == "TSV" else ","
    quote = job.format == "CSV" or config.tsv_quote
    if job.report == "ledgers":
        header = LEDGER_HEADERS[config.ledgers_header]
        rows = _ledger_rows(config, store, job)
    else:
        header = TRADE_HEADERS[config.trades_header]
        rows = _trade_rows(config, store, job)
    chosen = set(job.fields.split(",")) if job.fields != "all" else None
    cols = [h for h in header if chosen is None or h in chosen or h in ALWAYS]

    def cell(name: str, value: str) -> str:
        return value if (name in NUMERIC or not quote) else f'"{value}"'

    buf = [sep.join(cell("", h) if quote else h for h in cols)]
    for row in rows:
        buf.append(sep.join(cell(h, row.get(h, "")) for h in cols))
        if len(buf) >= 5_000:
            yield "\n".join(buf) + "\n"
            buf = []
    if buf:
        yield "\n".join(buf) + "\n"

def _window(times: Column, job: ExportJob) -> range:
    lo = int(np.searchsorted(times, job.starttm * TICKS, side="left"))
    hi = int(np.searchsorted(times, job.endtm * TICKS, side="right"))
    return range(lo, max(lo, hi))

def _ledger_rows(config: SimConfig, store: Store, job: ExportJob) -> Iterator[dict[str, str]]:
    modern = config.ledgers_header.startswith("subclass")
    cols = store.ledger.columns()
    window = _window(cols["time"], job)
    with_usd = "amountusd" in LEDGER_HEADERS[config.ledgers_header]
    if with_usd:
        prices, places = _usd_prices(store, np.asarray(cols["asset"][window.start:window.stop], dtype=np.int64),
                                     np.asarray(cols["time"][window.start:window.stop], dtype=np.int64))
    for pos in window:
        rec = ledger_fields(store, pos)
        asset = int(cols["asset"][pos])
        a = c.ASSETS[asset]
        rec["txid"] = store.ledger_id(pos)
        rec["time"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(cols["time"][pos]) // TICKS))
        rec["subclass"] = a.subclass
        rec["asset"] = a.ticker if modern else a.id
        fee = int(cols["fee"][pos])
        if modern and fee == 0:
            rec["fee"] = "0"
        if with_usd:
            price, digits = prices[pos - window.start], places[pos - window.start]
            rec["amountusd"] = _usd(int(cols["amount"][pos]), asset, price, digits)
            rec["feeusd"] = _usd(fee, asset, price, digits)
            rec["balanceusd"] = _usd(int(cols["balance"][pos]), asset, price, digits)
        rec["feecurrency"] = a.ticker if modern else a.id
        yield rec

def _trade_rows(config: SimConfig, store: Store, job: ExportJob) -> Iterator[dict[str, str]]:
    cols = store.trades.columns()
    window = _window(cols["time"], job)
    with_usd = "costusd" in TRADE_HEADERS[config.trades_header]
    if with_usd:
        quotes = np.array([p.quote for p in c.PAIRS], dtype=np.int64)[
            np.asarray(cols["pair"][window.start:window.stop], dtype=np.int64)]
        prices, places = _usd_prices(store, quotes, np.asarray(cols["time"][window.start:window.stop],
                                                               dtype=np.int64))
    for idx in window:
        rec = trade_record(store, idx)
        ticks = int(cols["time"][idx])
        frac = ticks % TICKS // 1_000
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ticks // TICKS))
        pair = c.PAIRS[int(cols["pair"][idx])]
        rec["txid"] = store.trade_id(idx)
        rec["time"] = f"{stamp}.{frac:04d}"
        rec["ordertype"] = c.ORDER_TYPES_PROSE[int(cols["otype"][idx])]
        rec["ledgers"] = ",".join(trade_ledger_ids(store, idx))
        if with_usd:
            price, digits = prices[idx - window.start], places[idx - window.start]
            rec["costusd"] = _usd(int(cols["cost"][idx]), pair.quote, price, digits)
        if "trades" in rec:  # an opening trade's closing trades: one comma-joined cell
            rec["trades"] = ",".join(rec["trades"])
        yield rec
