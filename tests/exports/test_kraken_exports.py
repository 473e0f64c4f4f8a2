"""The HTTP side of the export cycle against the simulator on loopback (no real sleeps)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from kraken_etl.jobs.exportzip import verify_export_file
from kraken_etl.kraken import exports as kx
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import InvalidArguments, KrakenError
from kraken_etl.simulator import RunningSimulator
from tests.exports.conftest import LinkedClock


def set_faults(sim: RunningSimulator, **faults: int) -> None:
    response = httpx.post(f"{sim.rest_url}/_sim/faults", json=faults)
    assert response.status_code == 200, response.text


START = int(datetime(2026, 7, 1, tzinfo=UTC).timestamp())
END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())


def test_full_cycle(client: KrakenClient, clock: LinkedClock, tmp_path: Path) -> None:
    export_id = kx.add_export(client, report="ledgers", description="t-full", starttm=START, endtm=END)
    info = kx.find_export(kx.export_statuses(client, "ledgers"), kraken_id=export_id)
    assert info is not None and info.status == "queued" and info.description == "t-full"
    assert kx.find_export(kx.export_statuses(client, "ledgers"), description="t-full") == info
    with pytest.raises(InvalidArguments):
        kx.retrieve_export(client, export_id, tmp_path / "early.zip")
    clock.sleep(30)
    info = kx.find_export(kx.export_statuses(client, "ledgers"), kraken_id=export_id)
    assert info is not None and info.status == "processed"
    sizes: list[int] = []
    download = kx.retrieve_export(client, export_id, tmp_path / "x" / "ledgers.zip", on_chunk=sizes.append)
    assert download.path.is_file() and download.size == download.path.stat().st_size
    assert not (tmp_path / "x" / "ledgers.zip.part").exists()
    verified = verify_export_file(download.path)
    assert verified.header.kind == "ledgers" and verified.sha256 == download.sha256
    assert kx.remove_export(client, export_id, "delete") is True
    assert kx.find_export(kx.export_statuses(client, "ledgers"), kraken_id=export_id) is None


def test_cancel_and_wrong_kind(client: KrakenClient) -> None:
    export_id = kx.add_export(client, report="trades", description="t-cancel", starttm=START, endtm=END)
    with pytest.raises(InvalidArguments):
        kx.remove_export(client, export_id, "delete")  # delete is only for processed exports
    assert kx.remove_export(client, export_id, "cancel") is True


def test_retrieve_unknown_id_is_a_typed_error(client: KrakenClient, tmp_path: Path) -> None:
    with pytest.raises(KrakenError):
        kx.retrieve_export(client, "ZZZZ", tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()


def test_corrupt_zip_fault_is_caught_by_verification(
    sim: RunningSimulator, client: KrakenClient, clock: LinkedClock, tmp_path: Path
) -> None:
    from kraken_etl.core.exportheader import ExportFileError

    export_id = kx.add_export(client, report="ledgers", description="t-corrupt", starttm=START, endtm=END)
    clock.sleep(30)
    set_faults(sim, corrupt_zip=1)
    download = kx.retrieve_export(client, export_id, tmp_path / "bad.zip")
    with pytest.raises(ExportFileError, match="corrupt or truncated"):
        verify_export_file(download.path)
    good = kx.retrieve_export(client, export_id, tmp_path / "good.zip")
    assert verify_export_file(good.path).header.kind == "ledgers"
    kx.remove_export(client, export_id, "delete")
