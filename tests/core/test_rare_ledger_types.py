"""The rarer ledger types of real retail accounts, from the shapes Kraken writes them in (Kraken's Ledgers
documentation: the REST ledger record; the late-2025 `subclass` export header, numbers unquoted, modern asset
codes): they parse to the values written, their types are known (never `unknown_type`), their suffixed assets
map back to Kraken's ids, and the treatments table classifies every one without the unknown-type default.

The types are Kraken's documented enum (`sale`, `custodytransfer`, `nfttrade`, `nftcreatorfee`, `nftrebate`,
`adjustment`, `conversion`) and `hybridearnwithdrawal` as exports show it (CoinTaxman#185), also as an `earn`
subtype; opt-in rewards mirrors `XBT.M` / `BTC.M`, `USD.M`, `DOT.F`, `ETH.B` (Kraken's Assets and Balance
examples).
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from kraken_etl.books.treatments import ANY, DEFAULTS, rule_for
from kraken_etl.core.assets import rest_asset
from kraken_etl.core.exportrows import LEDGER_ROWS, iter_cell_batches
from kraken_etl.core.ledger import parse_ledger_entry
from kraken_etl.core.money import loads
from kraken_etl.jobs.streams import EXPORT_ROWS
from kraken_etl.jobs.validation import unknown_ledger_type

# (ledger id, REST record) as Ledgers writes them: one asset per entry, strings at the asset's decimals
REST = loads("""{
  "LRSAL1-AAAAA-AAAAAA": {"refid": "BSALE1-AAAAA-AAAAAA", "time": 1700000000.1234, "type": "sale", "subtype": "",
    "aclass": "currency", "asset": "SOL", "amount": "-1.2500000000", "fee": "0.0000000000", "balance": "3.0000000000"},
  "LRCUS1-AAAAA-AAAAAA": {"refid": "BCUST1-AAAAA-AAAAAA", "time": 1700000001, "type": "custodytransfer",
    "subtype": "", "aclass": "currency", "asset": "XXBT", "amount": "0.5000000000", "fee": "0.0000000000",
    "balance": "0.5000000000"},
  "LRNFT1-AAAAA-AAAAAA": {"refid": "BNFTT1-AAAAA-AAAAAA", "time": 1680000000.5, "type": "nfttrade", "subtype": "",
    "aclass": "currency", "asset": "XETH", "amount": "-0.0450000000", "fee": "0.0000000000",
    "balance": "1.9550000000"},
  "LRNFT2-AAAAA-AAAAAA": {"refid": "BNFTT2-AAAAA-AAAAAA", "time": 1680000100, "type": "nftcreatorfee",
    "subtype": "", "aclass": "currency", "asset": "XETH", "amount": "-0.0020000000", "fee": "0.0000000000",
    "balance": "1.9530000000"},
  "LRNFT3-AAAAA-AAAAAA": {"refid": "CREBT1-AAAAA-AAAAAA", "time": 1680000200, "type": "nftrebate", "subtype": "",
    "aclass": "currency", "asset": "XETH", "amount": "0.0001000000", "fee": "0.0000000000",
    "balance": "1.9531000000"},
  "LRADJ1-AAAAA-AAAAAA": {"refid": "CADJU1-AAAAA-AAAAAA", "time": 1690000000, "type": "adjustment", "subtype": "",
    "aclass": "currency", "asset": "ZUSD", "amount": "-0.0042", "fee": "0.0000", "balance": "12.5000"},
  "LRHYB1-AAAAA-AAAAAA": {"refid": "EHYBRD1", "time": 1735000000, "type": "hybridearnwithdrawal", "subtype": "",
    "aclass": "currency", "asset": "XXBT", "amount": "0.0100000000", "fee": "0.0000000000",
    "balance": "0.5100000000"},
  "LROPT1-AAAAA-AAAAAA": {"refid": "STOPT1-AAAAA-AAAAAA", "time": 1620000000, "type": "staking", "subtype": "",
    "aclass": "currency", "asset": "XBT.M", "amount": "0.0000123400", "fee": "0.0000000000",
    "balance": "0.2000123400"},
  "LRDST1-AAAAA-AAAAAA": {"refid": "BDUST1-AAAAA-AAAAAA", "time": 1710000000, "type": "conversion", "subtype": "",
    "aclass": "currency", "asset": "DOT", "amount": "-0.4200000000", "fee": "0.0000000000",
    "balance": "0.0000000000"}
}""")

SUBCLASS = '"txid","refid","time","type","subtype","aclass","subclass","asset","wallet","amount","fee","balance"'
EXPORT = "\n".join([SUBCLASS, *(
    f'"{lid}","{ref}","{when}","{kind}","{sub}","currency","{cls}","{asset}","{wallet}",{amount},{fee},{balance}'
    for lid, ref, when, kind, sub, cls, asset, wallet, amount, fee, balance in (
        ("LXSAL1-AAAAA-AAAAAA", "BSALE1-AAAAA-AAAAAA", "2023-11-14 22:13:20", "sale", "", "crypto", "SOL",
         "spot / main", "-1.2500000000", "0", "3.0000000000"),
        ("LXHYB1-AAAAA-AAAAAA", "EHYBRD1", "2025-09-30 10:00:00", "earn", "hybridearnwithdrawal", "crypto", "BTC",
         "earn / flexible", "-0.0100000000", "0", "0.0200000000"),
        ("LXOPT1-AAAAA-AAAAAA", "STOPT1-AAAAA-AAAAAA", "2021-05-03 00:00:00", "staking", "", "crypto", "BTC.M",
         "spot / main", "0.0000123400", "0", "0.2000123400"),
        ("LXNFT1-AAAAA-AAAAAA", "BNFTT1-AAAAA-AAAAAA", "2023-03-28 10:40:00", "nfttrade", "", "crypto", "ETH",
         "spot / main", "-0.0450000000", "0", "1.9550000000"),
        ("LXOPT2-AAAAA-AAAAAA", "STOPT2-AAAAA-AAAAAA", "2021-05-03 00:00:01", "transfer", "stakingtospot", "fiat",
         "USD.M", "spot / main", "-100.0000", "0", "0.0000"),
    ))]) + "\n"


@pytest.mark.parametrize("ledger_id", list(REST))
def test_rest_records_of_the_rarer_types_parse_exactly_and_are_known(ledger_id: str) -> None:
    raw = REST[ledger_id]
    entry = parse_ledger_entry(ledger_id, raw)
    assert (entry.type, entry.subtype, entry.asset, entry.refid) == (raw["type"], raw["subtype"], raw["asset"],
                                                                     raw["refid"])
    assert entry.amount == Decimal(raw["amount"]) and str(entry.amount) == raw["amount"]
    assert entry.balance == Decimal(raw["balance"]) and entry.fee == Decimal(raw["fee"])
    assert not unknown_ledger_type(entry.type)


def test_export_rows_of_the_rarer_types_keep_their_cells() -> None:
    batches = list(iter_cell_batches(io.StringIO(EXPORT, newline=""), EXPORT_ROWS, batch_rows=2))
    assert [r.reason for b in batches for r in b.rejected] == []
    rows = [dict(zip(LEDGER_ROWS.columns, values, strict=True)) for b in batches for values in b.values]
    assert [r["ledger_id"] for r in rows] == ["LXSAL1-AAAAA-AAAAAA", "LXHYB1-AAAAA-AAAAAA", "LXOPT1-AAAAA-AAAAAA",
                                               "LXNFT1-AAAAA-AAAAAA", "LXOPT2-AAAAA-AAAAAA"]
    assert [(r["type"], r["subtype"]) for r in rows] == [
        ("sale", ""), ("earn", "hybridearnwithdrawal"), ("staking", ""), ("nfttrade", ""),
        ("transfer", "stakingtospot")]
    assert [r["asset"] for r in rows] == ["SOL", "XXBT", "XBT.M", "XETH", "USD.M"]  # modern codes mapped back
    assert [r["amount"] for r in rows] == ["-1.2500000000", "-0.0100000000", "0.0000123400", "-0.0450000000",
                                           "-100.0000"]
    assert [r["wallet"] for r in rows][:2] == ["spot / main", "earn / flexible"]
    assert all(not unknown_ledger_type(r["type"]) for r in rows)
    assert rest_asset("BTC.M") == "XBT.M" and rest_asset("DOT.F") == "DOT.F"


@pytest.mark.parametrize(("kind", "subtype"), [
    ("sale", ""), ("custodytransfer", ""), ("nfttrade", ""), ("nftcreatorfee", ""), ("nftrebate", ""),
    ("adjustment", ""), ("hybridearnwithdrawal", ""), ("earn", "hybridearnwithdrawal"), ("conversion", ""),
    ("staking", ""), ("transfer", "stakingtospot"), ("transfer", "spotfromstaking"),
])
def test_the_treatments_table_classifies_every_rarer_type(kind: str, subtype: str) -> None:
    rule = rule_for(DEFAULTS, kind, subtype)
    assert rule is not DEFAULTS[(ANY, ANY)], (kind, subtype)
    assert rule.flagged == (kind == "adjustment")  # an adjustment is classified, and reported for a look
