"""Attributing margin rollovers to positions (`recon.rollovers`), whether a rollover's refid is its position's id
or a refid of its own (Kraken does not document which: the simulator's `rollover_refid` knob plays both).

The records below are written the way Kraken's REST answers them (Ledgers entries: refid, time, type, asset,
amount, fee as strings; TradesHistory: txid, pair key, time, posstatus), then read the way the check reads
the stored rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from kraken_etl.recon.rollovers import Attribution, attribute, compare, quoted_in

# TradesHistory: three opening trades (position ids); the EUR one was closed by TCLOSE-EUR at 1700020000.
TRADES: dict[str, dict[str, Any]] = {
    "TUSD1A-AAAAA-AAAAAA": {"pair": "XXBTZUSD", "time": "1700000000.1234", "posstatus": "open"},
    "TUSD2B-BBBBB-BBBBBB": {"pair": "SOLUSD", "time": "1700016000.0000", "posstatus": "open"},
    "TEUR3C-CCCCC-CCCCCC": {"pair": "XXBTZEUR", "time": "1700000000.5000", "posstatus": "closed"},
}
CLOSED = {"TEUR3C-CCCCC-CCCCCC": "1700020000.0000"}


def _t(raw: str) -> datetime:
    return datetime.fromtimestamp(int(Decimal(raw)), UTC).replace(microsecond=int(Decimal(raw) % 1 * 1_000_000))


def _spans() -> list[dict[str, Any]]:
    return [{"txid": k, "pair": v["pair"], "opened": _t(v["time"]),
             "closed": _t(CLOSED[k]) if k in CLOSED else None} for k, v in TRADES.items()]


def _ledger(own_refids: bool) -> dict[str, dict[str, str]]:
    """Rollovers every 4 hours (14400 s) of each position, as Ledgers answers them."""
    out = {}
    for n, (pid, start, until, asset, fee) in enumerate((
            ("TUSD1A-AAAAA-AAAAAA", 1700000000, 1700040000, "ZUSD", "0.1200"),
            ("TUSD2B-BBBBB-BBBBBB", 1700016000, 1700040000, "ZUSD", "0.0400"),
            ("TEUR3C-CCCCC-CCCCCC", 1700000000, 1700020000, "ZEUR", "0.0900"))):
        for k, at in enumerate(range(start + 14_400, until, 14_400)):
            out[f"L{n}{k}AAAA-BBBBB-CCCCCC"] = {
                "refid": f"R{n}{k}XXXX-YYYYY-ZZZZZZ" if own_refids else pid, "time": f"{at}.0000",
                "type": "rollover", "subtype": "", "aclass": "currency", "asset": asset, "amount": "0.0000",
                "fee": fee, "balance": "100.0000"}
    return out


def _entries(ledger: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    return [{"ledger_id": lid, "refid": r["refid"], "asset": r["asset"], "time": _t(r["time"]),
             "fee": Decimal(r["fee"])} for lid, r in sorted(ledger.items(), key=lambda kv: kv[1]["time"])]


def test_a_pair_is_quoted_in_the_ledgers_asset_code_or_its_ticker() -> None:
    assert quoted_in("XXBTZUSD", "ZUSD") and quoted_in("SOLUSD", "ZUSD") and quoted_in("XXBTZEUR", "ZEUR")
    assert not quoted_in("XXBTZEUR", "ZUSD") and not quoted_in("ETHUSDT", "ZUSD")


def test_refids_that_are_position_ids_attribute_every_rollover_exactly() -> None:
    ledger = _ledger(own_refids=False)
    att = attribute(_entries(ledger), _spans())
    assert att.shared == [] and att.orphan == []
    assert {pid: len(es) for pid, es in att.own.items()} == {
        "TUSD1A-AAAAA-AAAAAA": 2, "TUSD2B-BBBBB-BBBBBB": 1, "TEUR3C-CCCCC-CCCCCC": 1}


def test_own_refids_attribute_by_currency_and_time_and_share_what_overlaps() -> None:
    att = attribute(_entries(_ledger(own_refids=True)), _spans())
    assert att.orphan == []
    # the EUR position is the only EUR one; the first USD rollover falls before the SOL position opened
    assert [e["ledger_id"] for e in att.own["TEUR3C-CCCCC-CCCCCC"]] == ["L20AAAA-BBBBB-CCCCCC"]
    assert [e["ledger_id"] for e in att.own["TUSD1A-AAAAA-AAAAAA"]] == ["L00AAAA-BBBBB-CCCCCC"]
    assert sorted((e["ledger_id"], c) for e, c in att.shared) == [
        ("L01AAAA-BBBBB-CCCCCC", ("TUSD1A-AAAAA-AAAAAA", "TUSD2B-BBBBB-BBBBBB")),
        ("L10AAAA-BBBBB-CCCCCC", ("TUSD1A-AAAAA-AAAAAA", "TUSD2B-BBBBB-BBBBBB"))]


@pytest.mark.parametrize("own_refids", [False, True])
def test_kraken_fees_that_match_the_ledger_agree_and_a_missing_rollover_does_not(own_refids: bool) -> None:
    ledger = _ledger(own_refids)
    at = _t("1700040000.0000")
    kraken = {"TUSD1A-AAAAA-AAAAAA": Decimal("0.2400"), "TUSD2B-BBBBB-BBBBBB": Decimal("0.0400")}
    assert all(g.agrees for g in compare(kraken, attribute(_entries(ledger), _spans()), at))
    del ledger["L01AAAA-BBBBB-CCCCCC"]  # the second rollover of the BTC position is not in our ledger
    groups = compare(kraken, attribute(_entries(ledger), _spans()), at)
    (bad,) = [g for g in groups if not g.agrees]
    assert bad.kraken - bad.ours - bad.maybe == Decimal("0.1200")
    # with own refids the two USD positions share entries, so they are judged together
    assert bad.positions == (("TUSD1A-AAAAA-AAAAAA", "TUSD2B-BBBBB-BBBBBB") if own_refids
                             else ("TUSD1A-AAAAA-AAAAAA",))


def test_an_entry_that_might_be_a_closed_positions_widens_the_bound() -> None:
    spans = [*_spans(), {"txid": "TUSD9Z-ZZZZZ-ZZZZZZ", "pair": "XETHZUSD", "opened": _t("1700000000.0000"),
                         "closed": _t("1700015000.0000")}]
    ledger = _ledger(own_refids=True)
    att = attribute(_entries(ledger), spans)
    (first,) = [c for e, c in att.shared if e["ledger_id"] == "L00AAAA-BBBBB-CCCCCC"]
    assert first == ("TUSD1A-AAAAA-AAAAAA", "TUSD9Z-ZZZZZ-ZZZZZZ")
    kraken = {"TUSD1A-AAAAA-AAAAAA": Decimal("0.2400"), "TUSD2B-BBBBB-BBBBBB": Decimal("0.0400")}
    (group,) = compare(kraken, att, _t("1700040000.0000"))
    assert group.maybe == Decimal("0.1200") and group.agrees
    # Kraken charging more than every entry that could be theirs is a mismatch
    over = {**kraken, "TUSD2B-BBBBB-BBBBBB": Decimal("0.1000")}
    assert not compare(over, att, _t("1700040000.0000"))[0].agrees


def test_a_rollover_no_position_explains_is_an_orphan() -> None:
    ledger = _ledger(own_refids=True)
    ledger["LORPHA-NNNNN-NNNNNN"] = {**ledger["L00AAAA-BBBBB-CCCCCC"], "time": "1690000000.0000"}
    att = attribute(_entries(ledger), _spans())
    assert [e["ledger_id"] for e in att.orphan] == ["LORPHA-NNNNN-NNNNNN"]
    assert isinstance(att, Attribution)
