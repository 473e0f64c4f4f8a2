"""The export cycle: timing, zip content in each header era, fields, RemoveExport rules, faults."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.core.timeutil import parse_export_time
from kraken_etl.simulator import FaultSpec, ManualClock, SimConfig, create_app
from tests.simulator.conftest import Kraken, make_kraken

NOW = 1_800_000_000.0
WIDE = {"starttm": 1_500_000_000, "endtm": 1_800_000_000}


def _setup(**changes: object) -> tuple[Kraken, ManualClock]:
    clock = ManualClock(NOW)
    config = SimConfig(seed=9, ledger_entries=1_500, rate_limits=False, clock=clock,
                       export_queued_seconds=5, export_processing_seconds=10).with_changes(**changes)
    return make_kraken(create_app(config)), clock


def _status(kraken: Kraken, report: str, export_id: str) -> dict[str, Any]:
    return next(s for s in kraken.result("ExportStatus", report=report) if s["id"] == export_id)


def _retrieve(kraken: Kraken, export_id: str) -> tuple[str, str]:
    response = kraken.raw("RetrieveExport", {"id": export_id})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.content[:4] == b"PK\x03\x04"
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        (name,) = zf.namelist()
        return name, zf.read(name).decode()


def _ready(kraken: Kraken, clock: ManualClock, **params: Any) -> str:
    export_id = kraken.result("AddExport", description="test", **params)["id"]
    clock.advance(16)
    return str(export_id)


def test_status_moves_queued_processing_processed_and_remove_rules() -> None:
    kraken, clock = _setup()
    export_id = kraken.result("AddExport", report="ledgers", description="mine", **WIDE)["id"]
    assert len(export_id) == 4 and export_id.isupper()
    status = _status(kraken, "ledgers", export_id)
    assert status["status"] == "Queued" and status["completedtm"] == "0"
    assert all(isinstance(status[k], str) and status[k].isdigit() for k in ("createdtm", "expiretm"))
    assert kraken.call("RetrieveExport", id=export_id)["error"] == ["EGeneral:Invalid arguments:id"]
    clock.advance(6)
    assert _status(kraken, "ledgers", export_id)["status"] == "Processing"
    assert kraken.call("RemoveExport", id=export_id, type="delete")["error"] == [
        "EGeneral:Invalid arguments:type"]
    clock.advance(10)
    status = _status(kraken, "ledgers", export_id)
    assert status["status"] == "Processed" and int(status["completedtm"]) > 0
    assert kraken.result("ExportStatus", report="trades") == []
    assert kraken.call("RemoveExport", id=export_id, type="cancel")["error"] == [
        "EGeneral:Invalid arguments:type"]
    assert kraken.result("RemoveExport", id=export_id, type="delete") == {"delete": True}
    assert kraken.result("ExportStatus", report="ledgers") == []
    other = kraken.result("AddExport", report="trades", description="x")["id"]
    assert kraken.result("RemoveExport", id=other, type="cancel") == {"cancel": True}
    assert kraken.call("AddExport", report="orders", description="x")["error"] == [
        "EGeneral:Invalid arguments:report"]


def test_ledgers_csv_current_header_matches_truth() -> None:
    kraken, clock = _setup()
    truth = kraken.truth("ledgers")["ledger"]
    export_id = _ready(kraken, clock, report="ledgers", **WIDE)
    name, text = _retrieve(kraken, export_id)
    assert name.endswith(".csv")
    lines = text.splitlines()
    assert lines[0] == ('"txid","refid","time","type","subtype","aclass","subclass","asset","wallet",'
                        '"amount","fee","balance"')
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(truth)
    assert {r["txid"] for r in rows} == set(truth)
    for row in rows[:300]:
        t = truth[row["txid"]]
        assert row["refid"] == t["refid"] and row["wallet"] == t["wallet"]
        assert Decimal(row["amount"]) == Decimal(t["amount"]) and Decimal(row["balance"]) == Decimal(t["balance"])
        assert parse_export_time(row["time"]) == datetime.fromtimestamp(int(Decimal(str(t["time"]))), UTC)
    assert ',"BTC",' in text and ',"XXBT",' not in text  # subclass era speaks tickers
    sample = next(line for line in lines[1:] if '"trade"' in line)
    assert sample.split(",")[9][0] != '"'  # numbers unquoted


@pytest.mark.parametrize(("era", "width", "legacy"), [("legacy", 10, True), ("wallet_usd", 12, True),
                                                      ("subclass_usd", 16, False)])
def test_older_ledger_header_eras(era: str, width: int, legacy: bool) -> None:
    kraken, clock = _setup(ledgers_header=era)
    name, text = _retrieve(kraken, _ready(kraken, clock, report="ledgers", format="TSV", **WIDE))
    assert name.endswith(".tsv")
    header = text.splitlines()[0].split("\t")
    assert len(header) == width and header[0] == "txid"
    assert ("\tXXBT\t" in text) == legacy


def test_trades_csv_and_time_window_and_fields() -> None:
    kraken, clock = _setup(trades_header="position")
    trades = kraken.truth("trades")["trades"]
    times = sorted(int(Decimal(str(t["time"]))) for t in trades.values())
    lo, hi = times[10], times[-10]
    expected = {i for i, t in trades.items() if lo <= Decimal(str(t["time"])) <= hi}
    _, text = _retrieve(kraken, _ready(kraken, clock, report="trades", starttm=lo, endtm=hi))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["txid"] for r in rows} == expected
    assert list(rows[0])[-1] == "trades" and "postxid" in rows[0]
    row = rows[0]
    assert row["ledgers"].split(",") == trades[row["txid"]]["ledgers"]
    assert len(row["time"].split(".")[1]) == 4
    _, text = _retrieve(kraken, _ready(kraken, clock, report="trades", fields="time,vol", **WIDE))
    assert text.splitlines()[0].startswith('"txid","pair","time","type","vol"')


def test_export_faults_stuck_and_corrupt() -> None:
    kraken, clock = _setup(faults=FaultSpec(export_stuck=1, corrupt_zip=1))
    stuck = kraken.result("AddExport", report="ledgers", description="a", **WIDE)["id"]
    fine = kraken.result("AddExport", report="ledgers", description="b", **WIDE)["id"]
    clock.advance(10_000)
    assert _status(kraken, "ledgers", stuck)["status"] == "Processing"
    assert _status(kraken, "ledgers", fine)["status"] == "Processed"
    bad = kraken.raw("RetrieveExport", {"id": fine})
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(bad.content)).testzip()
    _retrieve(kraken, fine)  # the next retrieval is whole again
    assert kraken.result("RemoveExport", id=stuck, type="cancel") == {"cancel": True}


def test_large_export_streams_to_disk() -> None:
    kraken, clock = _setup(ledger_entries=60_000)
    _, text = _retrieve(kraken, _ready(kraken, clock, report="ledgers", **WIDE))
    assert text.count("\n") == kraken.client.app.state.sim.store.ledger.n + 1
