"""The record reader (the test oracle `tests.exports.recordreader`), table-driven from literal samples of
real ledgers and trades exports; `test_exportrows` checks the product's reader agrees with it."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kraken_etl.core.assets import rest_asset
from kraken_etl.core.exportheader import PENDING_REASON, ExportFileError, detect_header
from kraken_etl.core.records import LedgerEntry, Rejected, Trade
from kraken_etl.core.timeutil import parse_export_time, to_unix
from kraken_etl.jobs.streams import EXPORT_ROWS
from tests.exports.recordreader import iter_export_batches, parse_time, read_export_text

# -- ledgers: every header era, same rows --------------------------------------------------------------

LEDGER_HEADERS = {
    "legacy": '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"',
    "legacy_usd": (
        '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance","amountusd"'
    ),
    "wallet": '"txid","refid","time","type","subtype","aclass","asset","wallet","amount","fee","balance"',
    "wallet_usd": (
        '"txid","refid","time","type","subtype","aclass","asset","wallet","amount","fee","balance","amountusd"'
    ),
    "subclass": (
        '"txid","refid","time","type","subtype","aclass","subclass","asset","wallet","amount","fee","balance"'
    ),
    "subclass_usd": (
        '"txid","refid","time","type","subtype","aclass","subclass","asset","wallet","amount","fee","balance",'
        '"amountusd","feeusd","balanceusd","feecurrency"'
    ),
}

# One logical row per sample line of a ledgers export, with the cells each era adds.
SAMPLE_ROWS = [
    dict(txid="LG001", refid="REF001", time="2025-02-14 22:18:09", type="trade", subtype="tradespot",
         aclass="currency", subclass="fiat", asset="EUR", wallet="spot / main", amount="-187.2514",
         fee="0.7490", balance="193.9828", amountusd="-202.10", feeusd="0.81", balanceusd="209.37",
         feecurrency="EUR"),
    dict(txid="LG002", refid="REF001", time="2025-02-14 22:18:09", type="trade", subtype="tradespot",
         aclass="currency", subclass="crypto", asset="BTC", wallet="spot / main", amount="0.0020104289",
         fee="0", balance="0.0030521628", amountusd="202.10", feeusd="0", balanceusd="306.8",
         feecurrency="BTC"),
    dict(txid="L520RN", refid="ZDANTNI", time="2025-07-04 15:35:39", type="earn", subtype="autoallocation",
         aclass="currency", subclass="crypto", asset="BTC", wallet="spot / main", amount="-0.0003102764",
         fee="0", balance="0.0000000002", amountusd="-33.2", feeusd="0", balanceusd="0",
         feecurrency="BTC"),
    dict(txid="L520RO", refid="ZDANTNI", time="2025-07-04 15:35:39", type="earn", subtype="autoallocation",
         aclass="currency", subclass="crypto", asset="BTC", wallet="earn / liquid", amount="0.0003102764",
         fee="0", balance="0.0003102764", amountusd="33.2", feeusd="0", balanceusd="33.2",
         feecurrency="BTC"),
]
NUMERIC = {"amount", "fee", "balance", "amountusd", "feeusd", "balanceusd"}


def _columns(header: str) -> list[str]:
    return [c.strip('"') for c in header.split(",")]


def render(header: str, rows: list[dict[str, str]], *, sep: str = ",", quote: bool = True,
           eol: str = "\n") -> str:
    cols = _columns(header)
    lines = [sep.join(f'"{c}"' if quote else c for c in cols)]
    for row in rows:
        cells = [row[c] if (c in NUMERIC or not quote) else f'"{row[c]}"' for c in cols]
        lines.append(sep.join(cells))
    return eol.join(lines) + eol


def parse_all(text: str, batch_rows: int = 1000) -> tuple[list[LedgerEntry | Trade], list[Rejected]]:
    records: list[LedgerEntry | Trade] = []
    rejected: list[Rejected] = []
    for batch in read_export_text(text, batch_rows=batch_rows):
        records.extend(batch.records)
        rejected.extend(batch.rejected)
    return records, rejected


@pytest.mark.parametrize("era", list(LEDGER_HEADERS))
@pytest.mark.parametrize("sep", [",", "\t"])
def test_every_ledger_era_parses_the_same_values(era: str, sep: str) -> None:
    header = LEDGER_HEADERS[era]
    records, rejected = parse_all(render(header, SAMPLE_ROWS, sep=sep))
    assert rejected == []
    assert [r.ledger_id for r in records] == ["LG001", "LG002", "L520RN", "L520RO"]
    first = records[0]
    assert isinstance(first, LedgerEntry)
    assert first.refid == "REF001"
    assert first.time == datetime(2025, 2, 14, 22, 18, 9, tzinfo=UTC)
    assert first.time_raw == Decimal("1739571489") and first.time_raw.as_tuple().exponent == 0
    # modern tickers become the REST asset ids, so export and REST rows agree; raw keeps the file's text
    assert (first.type, first.subtype, first.aclass, first.asset) == ("trade", "tradespot", "currency", "ZEUR")
    assert records[1].asset == "XXBT" and records[1].raw["asset"] == "BTC"
    assert first.amount == Decimal("-187.2514") and str(first.amount) == "-187.2514"
    assert first.fee == Decimal("0.7490") and str(first.fee) == "0.7490"
    assert first.balance == Decimal("193.9828")
    has_wallet = "wallet" in header
    has_subclass = "subclass" in header
    assert first.wallet == ("spot / main" if has_wallet else None)
    assert first.subclass == ("fiat" if has_subclass else None)
    assert records[3].wallet == ("earn / liquid" if has_wallet else None)
    assert str(records[1].amount) == "0.0020104289" and records[1].fee == 0
    assert records[2].balance == Decimal("0.0000000002")
    # the raw record keeps every column verbatim, USD columns included
    assert set(first.raw) == set(_columns(header))
    if "amountusd" in header:
        assert first.raw["amountusd"] == "-202.10"


def test_detects_kind_and_format() -> None:
    assert detect_header(LEDGER_HEADERS["subclass"], EXPORT_ROWS).kind == "ledgers"
    names = "txid ordertxid pair time type ordertype price cost fee vol margin misc ledgers".split()
    h = detect_header("\ufeff" + "\t".join(names) + "\r\n", EXPORT_ROWS)
    assert (h.kind, h.format, h.columns[0]) == ("trades", "TSV", "txid")


@pytest.mark.parametrize(
    "header",
    [
        '"a","b","c"',
        '"txid","refid","time"',
        "",
        '"txid","txid","refid","time","type","asset","amount","fee","balance"',
    ],
)
def test_unknown_header_is_refused(header: str) -> None:
    with pytest.raises(ExportFileError):
        list(read_export_text(header + "\n1,2,3\n"))


def test_empty_file_is_refused() -> None:
    with pytest.raises(ExportFileError, match="empty"):
        list(read_export_text("\n\n"))


# -- the pending rows, BOM, CRLF, blank lines, missing trailing newline ---------------------------------

PENDING_SAMPLE = (
    '"txid","refid","time","type","subtype","aclass","asset","amount","fee","balance"\n'
    '"","QCCA6ZN-5V5YRZ-GFXN7W","2020-12-31 06:14:02","deposit","","currency","ZEUR",1000.0000,0.0000,""\n'
    '"LYOM2B-J6VD2-YRYBOA","QCCA6ZN-5V5YRZ-GFXN7W","2020-12-31 06:14:54","deposit","","currency","ZEUR",'
    "1000.0000,0.0000,10581.8771\n"
)


def test_pending_row_is_rejected_with_reason_not_loaded_not_dropped() -> None:
    records, rejected = parse_all(PENDING_SAMPLE)
    assert len(records) == 1
    entry = records[0]
    assert isinstance(entry, LedgerEntry)
    assert entry.ledger_id == "LYOM2B-J6VD2-YRYBOA"
    assert entry.refid == "QCCA6ZN-5V5YRZ-GFXN7W"
    assert entry.subtype == "" and entry.wallet is None and entry.subclass is None
    assert entry.amount == Decimal("1000.0000") and entry.balance == Decimal("10581.8771")
    assert entry.time_raw == Decimal("1609395294")
    assert len(rejected) == 1
    pending = rejected[0]
    assert pending.stream == "ledgers" and pending.reason == PENDING_REASON and pending.record_id is None
    assert pending.raw["refid"] == "QCCA6ZN-5V5YRZ-GFXN7W" and pending.raw["balance"] == ""


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda t: t, id="lf"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda t: "\ufeff" + t, id="bom"),
        pytest.param(lambda t: "\ufeff" + t.replace("\n", "\r\n"), id="bom-crlf"),
        pytest.param(lambda t: t.rstrip("\n"), id="no-trailing-newline"),
        pytest.param(lambda t: t.replace("\n", "\n\n"), id="blank-lines"),
        pytest.param(lambda t: "\n" + t.replace("\n", "\r\n\r\n"), id="blank-lines-crlf"),
    ],
)
def test_layout_quirks(transform: object) -> None:
    text = transform(render(LEDGER_HEADERS["subclass"], SAMPLE_ROWS))  # type: ignore[operator]
    records, rejected = parse_all(text)
    assert rejected == []
    assert [r.ledger_id for r in records] == ["LG001", "LG002", "L520RN", "L520RO"]
    assert records[-1].balance == Decimal("0.0003102764")


def test_bom_in_a_utf8_file_opened_without_sig(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "ledgers.csv"
    path.write_bytes(("\ufeff" + PENDING_SAMPLE).encode("utf-8"))
    with path.open(encoding="utf-8", newline="") as stream:
        batches = list(iter_export_batches(stream))
    assert batches[0].records[0].ledger_id == "LYOM2B-J6VD2-YRYBOA"  # type: ignore[union-attr]


def test_tsv_unquoted() -> None:
    records, rejected = parse_all(render(LEDGER_HEADERS["wallet"], SAMPLE_ROWS, sep="\t", quote=False))
    assert rejected == [] and records[3].wallet == "earn / liquid"  # type: ignore[union-attr]


def test_batches_are_bounded_and_complete() -> None:
    rows = [dict(SAMPLE_ROWS[0], txid=f"L{i:05d}") for i in range(2500)]
    batches = list(read_export_text(render(LEDGER_HEADERS["subclass"], rows), batch_rows=1000))
    assert [b.rows for b in batches] == [1000, 1000, 500]
    assert sum(len(b.records) for b in batches) == 2500


def test_bad_cells_go_to_rejected_with_reason() -> None:
    header = LEDGER_HEADERS["legacy"]
    text = (
        header + "\n"
        '"L1","R1","2024-01-01 00:00:00","deposit","","currency","ZEUR",abc,0,1\n'
        '"L2","R2","2024-13-01 00:00:00","deposit","","currency","ZEUR",1,0,1\n'
        '"L3","R3","2024-01-01 00:00:00","deposit","","currency","ZEUR",1,0\n'
        '"L4","R4","2024-01-01 00:00:00","deposit","","currency","ZEUR",NaN,0,1\n'
        '"L5","R5","2024-01-01 00:00:00","deposit","","currency","ZEUR",1,0,1\n'
    )
    records, rejected = parse_all(text)
    assert [r.ledger_id for r in records] == ["L5"]  # type: ignore[union-attr]
    reasons = {r.record_id: r.reason for r in rejected}
    assert reasons["L1"].startswith("amount:")
    assert reasons["L2"].startswith("time:")
    assert reasons["L3"] == "row has 9 fields, header has 10"
    assert reasons["L4"].startswith("amount:")


@pytest.mark.parametrize("amount", ["1E+1000000", "1_000", "\uff11\uff12", "\u0661\u0662", "+5", " 12 ", "9" * 400,
                                    "9" * 60, "NaN", "Infinity", "1e5", '"1,5"'])
def test_amounts_outside_krakens_grammar_are_rejected_and_the_rest_loads(amount: str) -> None:
    """Regression: such amounts loaded silently (or overflowed the column and failed the whole file)."""
    header = LEDGER_HEADERS["legacy"]
    text = (
        header + "\n"
        f'"L1","R1","2024-01-01 00:00:00","deposit","","currency","ZEUR",{amount},0,1\n'
        '"L2","R2","2024-01-01 00:00:00","deposit","","currency","ZEUR",1.50,0,1\n'
    )
    records, rejected = parse_all(text)
    assert [r.ledger_id for r in records] == ["L2"]  # type: ignore[union-attr]
    assert str(records[0].amount) == "1.50"  # type: ignore[union-attr]
    assert [r.record_id for r in rejected] == ["L1"] and rejected[0].reason.startswith("amount:")
    assert "Kraken number" in rejected[0].reason


# -- trades ---------------------------------------------------------------------------------------------

TRADE_BASIC = (
    '"txid","ordertxid","pair","time","type","ordertype","price","cost","fee","vol","margin","misc","ledgers"'
)
TRADE_ROW = (
    '"T67CDX-SB6EI-XIRITS","O3VT22-ABCDE-FGHIJK","XXBTZEUR","2023-06-19 13:34:05.4856","buy","limit",'
    '24300.00000,49.99992,0.13000,0.00205761,0.00000,"initiated","LUBMNQ-ZAVX6-IGKZMJ,LWLY4J-OZSCV-P4RHND"'
)
POSITION_TAIL = ',"postxid","posstatus","cprice","ccost","cfee","cvol","cmargin","net","trades"'
POSITION_CELLS = ',"TKH2SE-M7IF5-CFI7LT","","","","","","","",""'
TRADE_VARIANTS = {
    "basic": (TRADE_BASIC, TRADE_ROW, None),
    "position": (TRADE_BASIC + POSITION_TAIL, TRADE_ROW + POSITION_CELLS, "TKH2SE-M7IF5-CFI7LT"),
    "posttxid+posstatuscode": (
        TRADE_BASIC + POSITION_TAIL.replace("postxid", "posttxid") + ',"posstatuscode"',
        TRADE_ROW + POSITION_CELLS + ',""',
        "TKH2SE-M7IF5-CFI7LT",
    ),
    "costusd": (
        TRADE_BASIC.replace(',"ledgers"', "") + ',"ledgers"' + POSITION_TAIL.replace(',"trades"', "")
        + ',"costusd","trades"',
        TRADE_ROW + POSITION_CELLS.rsplit(",", 1)[0] + ',53.71,""',
        "TKH2SE-M7IF5-CFI7LT",
    ),
    "aclass+subclass": (
        TRADE_BASIC.replace('"pair"', '"pair","aclass","subclass"'),
        TRADE_ROW.replace('"XXBTZEUR"', '"XXBTZEUR","currency","crypto"'),
        None,
    ),
}


@pytest.mark.parametrize("variant", list(TRADE_VARIANTS))
@pytest.mark.parametrize("sep", [",", "\t"])
def test_every_trade_variant(variant: str, sep: str) -> None:
    header, row, postxid = TRADE_VARIANTS[variant]
    text = header + "\n" + row + "\n"
    if sep == "\t":
        text = "\n".join(
            "\t".join(cell for cell in next(__import__("csv").reader([line]))) for line in text.splitlines()
        ) + "\n"
    records, rejected = parse_all(text)
    assert rejected == []
    (trade,) = records
    assert isinstance(trade, Trade)
    assert trade.txid == "T67CDX-SB6EI-XIRITS"
    assert trade.ordertxid == "O3VT22-ABCDE-FGHIJK"
    assert trade.pair == "XXBTZEUR"
    assert trade.time == datetime(2023, 6, 19, 13, 34, 5, 485600, tzinfo=UTC)
    assert trade.time_raw == Decimal("1687181645.4856") and trade.time_raw.as_tuple().exponent == -4
    assert (trade.type, trade.ordertype, trade.misc) == ("buy", "limit", "initiated")
    assert str(trade.price) == "24300.00000" and str(trade.cost) == "49.99992"
    assert str(trade.fee) == "0.13000" and str(trade.vol) == "0.00205761"
    assert trade.margin == Decimal("0.00000")
    assert trade.ledgers == ("LUBMNQ-ZAVX6-IGKZMJ", "LWLY4J-OZSCV-P4RHND")
    assert trade.postxid == postxid
    assert (trade.leverage, trade.trade_id, trade.maker) == (None, None, None)
    if variant == "costusd":
        assert trade.raw["costusd"] == "53.71"


@pytest.mark.parametrize(
    ("text", "raw", "moment"),
    [
        ("2024-03-19 19:43:31.6798", "1710877411.6798",
         datetime(2024, 3, 19, 19, 43, 31, 679800, tzinfo=UTC)),
        ("2024-03-19 19:43:31.67", "1710877411.67", datetime(2024, 3, 19, 19, 43, 31, 670000, tzinfo=UTC)),
        ("2024-03-19 19:43:31.6798123", "1710877411.6798123",
         datetime(2024, 3, 19, 19, 43, 31, 679812, tzinfo=UTC)),
        ("2024-03-19 19:43:31", "1710877411", datetime(2024, 3, 19, 19, 43, 31, tzinfo=UTC)),
    ],
)
def test_time_fractions_of_varying_length(text: str, raw: str, moment: datetime) -> None:
    parsed, parsed_raw = parse_time(text)
    assert parsed == moment
    assert str(parsed_raw) == raw
    # agrees with the shared helper and with to_unix at microsecond precision
    assert parsed == parse_export_time(text)
    assert to_unix(parsed) == Decimal(raw).quantize(Decimal("0.000001"), rounding="ROUND_FLOOR")


@pytest.mark.parametrize("text", ["2024-03-19T19:43:31", "2024-03-19 19:43:31+00:00", "2024-03-19", "x"])
def test_bad_times(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


@pytest.mark.parametrize(
    ("name", "rest"),
    [("BTC", "XXBT"), ("XBT", "XXBT"), ("XXBT", "XXBT"), ("EUR", "ZEUR"), ("ZEUR", "ZEUR"), ("DOGE", "XXDG"),
     ("USDT", "USDT"), ("DOT", "DOT"), ("BTC.M", "XBT.M"), ("ETH2.S", "ETH2.S"), ("USD.HOLD", "USD.HOLD"),
     ("KFEE", "KFEE")],
)
def test_rest_asset(name: str, rest: str) -> None:
    assert rest_asset(name) == rest


@pytest.mark.parametrize(
    ("prose", "rest"),
    [("limit", "limit"), ("market", "market"), ("stop market", "stop-loss"), ("touched market", "take-profit"),
     ("liquidation market", "liquidation market")],
)
def test_trade_ordertype_prose(prose: str, rest: str) -> None:
    text = TRADE_BASIC + "\n" + TRADE_ROW.replace('"limit"', f'"{prose}"') + "\n"
    (trade,), _ = parse_all(text)
    assert trade.ordertype == rest and trade.raw["ordertype"] == prose  # type: ignore[union-attr]


def test_quoted_ledgers_list_with_single_and_empty() -> None:
    text = (
        TRADE_BASIC + "\n"
        + TRADE_ROW.replace('"LUBMNQ-ZAVX6-IGKZMJ,LWLY4J-OZSCV-P4RHND"', '"LONE11-AAAAA-BBBBBB"') + "\n"
        + TRADE_ROW.replace("T67CDX", "T67CDY").replace('"LUBMNQ-ZAVX6-IGKZMJ,LWLY4J-OZSCV-P4RHND"', '""')
        + "\n"
    )
    records, _ = parse_all(text)
    assert [t.ledgers for t in records] == [("LONE11-AAAAA-BBBBBB",), None]  # type: ignore[union-attr]


def test_streaming_does_not_read_ahead() -> None:
    """The reader pulls lines lazily: after the first batch, most of the stream is still unread."""
    rows = [dict(SAMPLE_ROWS[0], txid=f"L{i:05d}") for i in range(5000)]
    stream = io.StringIO(render(LEDGER_HEADERS["subclass"], rows), newline="")
    iterator = iter_export_batches(stream, batch_rows=500)
    next(iterator)
    assert stream.tell() < len(stream.getvalue()) / 2
