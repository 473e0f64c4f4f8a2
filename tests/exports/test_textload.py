"""A file import through the text path stores exactly what the record path (`upsert_records`) stores.

Both ways the text path loads: COPY straight into the table (the account had no rows there) and the merge
(it had). Numbers keep the file's text (value and scale); rows outside Kraken's number grammar are
quarantined with the record parser's reason and the rest loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from kraken_etl.core.money import NotADecimal, parse_kraken_number
from kraken_etl.db.engine import make_engine
from kraken_etl.db.load import upsert_records
from kraken_etl.jobs.fileload import import_files
from kraken_etl.jobs.streams import BY_NAME
from kraken_etl.jobs.validation import validate_batch
from tests.exports.recordreader import read_export_text

LEDGER_HEADER = ('"txid","refid","time","type","subtype","aclass","subclass","asset","wallet","amount","fee",'
                 '"balance","amountusd"\n')
LEDGER_ROWS = [
    '"L1","R1","2024-03-19 19:43:31","trade","tradespot","currency","crypto","BTC","spot / main",'
    '0.0000000100,-0.0001,1.50,"12.3"\n',
    '"L2","","2024-03-19 19:43:32","bonus","","currency","crypto","NOPE.S","spot / main",-24.5000,0,,""\n',
    '"L3","R3","2024-03-19 19:43:33","deposit","","currency","fiat","EUR","a\\b\tc",100,-0.0000,7\n'
    .replace(",7\n", ',7,"x"\n'),
    '"L4","R4","2024-03-19 19:43:34.123456789","wat","","currency","fiat","USD","",'
    '123456789012345678901234567890.123456789012345678901234567890,0.0000,5\n'.replace(",5\n", ',5,""\n'),
]
TRADE_HEADER = ('"txid","ordertxid","pair","time","type","ordertype","price","cost","fee","vol","margin","misc",'
                '"ledgers","postxid"\n')
TRADE_ROWS = [
    '"T1","O1","XXBTZEUR","2023-06-19 13:34:05.4856","buy","limit",25000.10000,50.0002,0.1300,0.00200000,'
    '0.00000,"initiated","L1,L2",""\n',
    '"T2","","XETHZEUR","2023-06-19 13:34:06.0000","sell","stop market",1800.0,18.00,-0.01,0.01,,"","",'
    '"TPOS1"\n',
]
COLUMNS = {
    "ledgers": "ledger_id, refid, time, time_raw::text, type, subtype, aclass, subclass, asset, wallet, "
               "amount::text, fee::text, balance::text, flags, source, raw",
    "trades": "txid, ordertxid, postxid, pair, time, time_raw::text, type, ordertype, price::text, cost::text, "
              "fee::text, vol::text, margin::text, leverage, misc, trade_id, maker, ledgers, flags, source, raw",
}
TABLE = {"ledgers": "ledger_entry", "trades": "trade"}


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _rows(engine: Engine, stream: str, account: str, skip: str = "") -> list[tuple[Any, ...]]:
    key = BY_NAME[stream].target.key
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            f"SELECT {COLUMNS[stream]} FROM kraken.{TABLE[stream]} WHERE account = :a AND {key} <> :s "
            f"ORDER BY {key}"), {"a": account, "s": skip})]


def _record_path(engine: Engine, stream: str, account: str, content: str) -> None:
    spec = BY_NAME[stream]
    with engine.begin() as conn:
        for batch in read_export_text(content):
            checked = validate_batch(spec, batch.records)  # type: ignore[arg-type]
            upsert_records(conn, account, spec.target, checked.valid, "import", flags=checked.flags)


@pytest.mark.parametrize(("stream", "content", "other"), [
    ("ledgers", LEDGER_HEADER + "".join(LEDGER_ROWS), LEDGER_ROWS[0].replace('"L1"', '"L0"')),
    ("trades", TRADE_HEADER + "".join(TRADE_ROWS), TRADE_ROWS[0].replace('"T1"', '"T0"')),
])
def test_direct_copy_and_merge_store_what_the_record_path_stores(
    engine: Engine, tmp_path: Path, stream: str, content: str, other: str
) -> None:
    path = tmp_path / f"{stream}.csv"
    path.write_text(content)
    header = content.splitlines(keepends=True)[0]
    _record_path(engine, stream, "by_records", content)
    _record_path(engine, stream, "merged", header + other)  # the account has a row: the merge path
    (direct,) = import_files(engine, [path], account="direct", batch_rows=2)
    (merged,) = import_files(engine, [path], account="merged", batch_rows=2)
    assert direct.error is None and merged.error is None
    assert direct.inserted == merged.inserted == content.count("\n") - 1
    expected = _rows(engine, stream, "by_records")
    assert _rows(engine, stream, "direct") == expected
    assert _rows(engine, stream, "merged", skip=other.split('"')[1]) == expected
    (again,) = import_files(engine, [path], account="direct", batch_rows=2)
    assert (again.inserted, again.updated) == (0, 0), "a re-import changes nothing"


def test_stored_numbers_are_the_files_text(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ledgers.csv"
    path.write_text(LEDGER_HEADER + "".join(LEDGER_ROWS))
    import_files(engine, [path], account="main")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT amount::text, fee::text, balance::text, time_raw::text "
                                   "FROM kraken.ledger_entry ORDER BY ledger_id")).all()
    assert [tuple(r) for r in stored] == [
        ("0.0000000100", "-0.0001", "1.50", "1710877411"),
        ("-24.5000", "0", None, "1710877412"),
        ("100", "0.0000", "7", "1710877413"),
        ("123456789012345678901234567890.123456789012345678901234567890", "0.0000", "5", "1710877414.123456789"),
    ]


@pytest.mark.parametrize("amount", ["1E+1000000", "1_000", "\uff11\uff12", "\u0661\u0662", "+5", " 12 ", "9" * 400,
                                    "NaN", "Infinity", "-Infinity", "1e5", ".5", "5.", ""])
def test_a_number_outside_the_grammar_is_quarantined_with_the_parsers_reason(
    engine: Engine, tmp_path: Path, amount: str
) -> None:
    bad = LEDGER_ROWS[1].replace("-24.5000", f'"{amount}"').replace(",0,,", ",x,,")  # amount AND fee bad
    path = tmp_path / "ledgers.csv"
    path.write_text(LEDGER_HEADER + LEDGER_ROWS[0] + bad + LEDGER_ROWS[2])
    (result,) = import_files(engine, [path], account="main")
    assert (result.inserted, result.quarantined) == (2, 1)
    with pytest.raises(NotADecimal) as expected:
        parse_kraken_number(amount)
    with engine.connect() as conn:
        reason, raw = conn.execute(text("SELECT reason, raw FROM kraken.quarantine")).one()
    assert reason == f"amount: {expected.value}", "the first bad field in the record's order, as the parser says"
    assert raw["txid"] == "L2" and raw["amount"] == amount
    assert [r[0] for r in _rows(engine, "ledgers", "main")] == ["L1", "L3"]
