"""The export cycle: AddExport → ExportStatus (Queued → Processing → Processed) → RetrieveExport (zip)
→ RemoveExport.

Status is a function of the injected clock and two durations. The zip is built in a background thread
from AddExport on (as Kraken processes an export while it is Queued/Processing; a RetrieveExport that
comes first waits for it), or on first retrieval with ``export_prebuild`` off. It is streamed row by row
into a temporary file (bounded memory at any size), and holds one
``.csv``/``.tsv`` in a selectable header era (Kraken's ledgers and trades exports). Exports show every row (the
hide/missing-leg faults only affect REST). Member names, TSV quoting and error strings for
unknown/unready ids are UNVERIFIED (documented in docs/simulator.md).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.auth import ApiError
from kraken_etl.simulator.config import SimConfig
from kraken_etl.simulator.generator import TICKS
from kraken_etl.simulator.ids import hashed_id
from kraken_etl.simulator.records import fmt_scaled, ledger_fields, trade_ledger_ids, trade_record
from kraken_etl.simulator.store import Store
from kraken_etl.simulator.table import Column

log = logging.getLogger(__name__)

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


@dataclass(slots=True)
class ExportJob:
    """One requested export."""

    id: str
    report: str
    descr: str
    format: str
    fields: str
    starttm: int
    endtm: int
    createdtm: float
    stuck: bool
    path: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


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


class ExportBook:
    """All exports of the account, their timing and their files."""

    def __init__(self, config: SimConfig, store: Store) -> None:
        self.config = config
        self.store = store
        self.jobs: dict[str, ExportJob] = {}
        self.counter = 0
        self.dir = tempfile.mkdtemp(prefix="kraken-sim-exports-")

    def status_of(self, job: ExportJob, now: float) -> str:
        """Queued, Processing or Processed at `now`."""
        queued_until = job.createdtm + self.config.export_queued_seconds
        if now < queued_until:
            return "Queued"
        if job.stuck or now < queued_until + self.config.export_processing_seconds:
            return "Processing"
        return "Processed"

    def add(self, params: dict[str, str], now: float, stuck: bool) -> str:
        """AddExport: validate and queue a job; returns its id.

        Raises:
            ApiError: ``EGeneral:Invalid arguments:<field>`` for a bad report, description, format,
                fields, starttm or endtm.
        """
        report = params.get("report", "")
        if report not in ("trades", "ledgers"):
            raise ApiError("EGeneral:Invalid arguments:report")
        descr = params.get("description", "")
        if not descr:
            raise ApiError("EGeneral:Invalid arguments:description")
        fmt = params.get("format", "CSV").upper()
        if fmt not in ("CSV", "TSV"):
            raise ApiError("EGeneral:Invalid arguments:format")
        fields = params.get("fields", "all") or "all"
        allowed = LEDGER_FIELDS if report == "ledgers" else TRADE_FIELDS
        if fields != "all" and not set(fields.split(",")) <= set(allowed):
            raise ApiError("EGeneral:Invalid arguments:fields")
        month = datetime.fromtimestamp(now, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        try:
            starttm = int(params.get("starttm") or month.timestamp())
            endtm = int(params.get("endtm") or now)
        except ValueError as exc:
            raise ApiError("EGeneral:Invalid arguments:starttm") from exc
        while True:
            self.counter += 1
            export_id = hashed_id(self.store.seed, "", self.counter, (4,))
            if export_id not in self.jobs:
                break
        job = ExportJob(export_id, report, descr, fmt, fields, starttm, endtm, now, stuck)
        self.jobs[export_id] = job
        if self.config.export_prebuild and not stuck:
            threading.Thread(target=self._prebuild, args=(job,), name=f"sim-export-{export_id}",
                             daemon=True).start()
        return export_id

    def _prebuild(self, job: ExportJob) -> None:
        """Build the zip ahead of RetrieveExport; a failure here is left to the retrieval to raise."""
        try:
            path = self.zip_path(job, corrupt=False)
        except Exception:  # RetrieveExport builds again and reports it
            log.exception("export %s: building the zip ahead failed", job.id)
            return
        if job.id not in self.jobs:  # removed while it was being built
            with suppress(OSError):
                os.unlink(path)

    def status(self, report: str, now: float) -> list[dict[str, str]]:
        """ExportStatus: every live export of that kind (times as integer strings)."""
        if report not in ("trades", "ledgers"):
            raise ApiError("EGeneral:Invalid arguments:report")
        out = []
        for job in self.jobs.values():
            if job.report != report:
                continue
            st = self.status_of(job, now)
            started = job.createdtm + self.config.export_queued_seconds
            done = started + self.config.export_processing_seconds
            out.append({
                "id": job.id, "descr": job.descr, "format": job.format, "report": job.report,
                "subtype": "all", "status": st, "flags": "0", "fields": job.fields,
                "createdtm": str(int(job.createdtm)),
                "expiretm": str(int(job.createdtm + self.config.export_expire_seconds)),
                "starttm": str(int(started)) if st != "Queued" else str(job.starttm),
                "completedtm": str(int(done)) if st == "Processed" else "0",
                "datastarttm": str(job.starttm), "dataendtm": str(job.endtm),
                "aclass": "forex", "asset": "all",
            })
        return out

    def remove(self, export_id: str, kind: str, now: float) -> dict[str, bool]:
        """RemoveExport: ``cancel`` a Queued/Processing export or ``delete`` a Processed one.

        Raises:
            ApiError: for an unknown id or a type that does not fit the export's status.
        """
        job = self.jobs.get(export_id)
        if job is None:
            raise ApiError("EGeneral:Invalid arguments:id")
        st = self.status_of(job, now)
        if kind not in ("cancel", "delete") or (kind == "delete") != (st == "Processed"):
            raise ApiError("EGeneral:Invalid arguments:type")
        del self.jobs[export_id]
        if job.path:
            for path in (job.path, job.path + ".corrupt"):
                if os.path.exists(path):
                    os.unlink(path)
        return {kind: True}

    def ready_job(self, export_id: str, now: float) -> ExportJob:
        """The job behind RetrieveExport, once Processed.

        Raises:
            ApiError: ``EGeneral:Invalid arguments:id`` for unknown or not yet processed exports.
        """
        job = self.jobs.get(export_id)
        if job is None or self.status_of(job, now) != "Processed":
            raise ApiError("EGeneral:Invalid arguments:id")
        return job

    def zip_path(self, job: ExportJob, corrupt: bool) -> str:
        """Build (once) and return the zip's path; `corrupt` returns a truncated copy."""
        with job.lock:
            if job.path is None:
                path = os.path.join(self.dir, f"{job.id}.zip")
                ext = "tsv" if job.format == "TSV" else "csv"
                with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
                        zf.open(f"{job.report}.{ext}", "w") as member:
                    for chunk in self.lines(job):
                        member.write(chunk.encode())
                job.path = path
            if not corrupt:
                return job.path
            bad = job.path + ".corrupt"
            if not os.path.exists(bad):
                with open(job.path, "rb") as src, open(bad, "wb") as dst:
                    data = src.read()
                    dst.write(data[: max(10, len(data) // 2)])
            return bad

    def lines(self, job: ExportJob) -> Iterator[str]:
        """The export's text in chunks of lines (header first)."""
        sep = "\t" if job.format == "TSV" else ","
        quote = job.format == "CSV" or self.config.tsv_quote
        if job.report == "ledgers":
            header = LEDGER_HEADERS[self.config.ledgers_header]
            rows = self._ledger_rows(job)
        else:
            header = TRADE_HEADERS[self.config.trades_header]
            rows = self._trade_rows(job)
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

    def _window(self, times: Column, job: ExportJob) -> range:
        lo = int(np.searchsorted(times, job.starttm * TICKS, side="left"))
        hi = int(np.searchsorted(times, job.endtm * TICKS, side="right"))
        return range(lo, max(lo, hi))

    def _ledger_rows(self, job: ExportJob) -> Iterator[dict[str, str]]:
        store = self.store
        modern = self.config.ledgers_header.startswith("subclass")
        cols = store.ledger.columns()
        window = self._window(cols["time"], job)
        with_usd = "amountusd" in LEDGER_HEADERS[self.config.ledgers_header]
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

    def _trade_rows(self, job: ExportJob) -> Iterator[dict[str, str]]:
        store = self.store
        cols = store.trades.columns()
        window = self._window(cols["time"], job)
        with_usd = "costusd" in TRADE_HEADERS[self.config.trades_header]
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
            yield rec
