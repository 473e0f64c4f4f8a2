"""The journal of a retail account (profile retail-2019-2025), checked by the accounting tools themselves: Buy
Crypto's spend and receive, a sale filled from spot and Earn, the Earn migration, delisting and ETH2 conversions
and the rarer ledger types post like every other entry, and bean-check and hledger accept the files with every
balance assertion (Kraken's running balance)."""

from __future__ import annotations

import re
from pathlib import Path

from kraken_etl.jobs.journal import export_journal
from tests.books.conftest import ACCOUNT, bean_check, hledger_check, synced_account

# The narrations of the retail shapes (the entries' type/subtype): Buy Crypto, the Earn migration, the delisting
# conversion, and the types beyond the documented enum.
RETAIL_SHAPES = ("spend, receive", "earn/migration", "transfer/delistingconversion", "invite bonus", "dividend",
                 "airdrop")


def test_a_retail_accounts_journal_passes_bean_check_and_hledger(pg_admin_url: str, pg_template: str,
                                                                  tmp_path: Path) -> None:
    # from 2021-11 on: legacy DOT staking before Kraken's Earn launch (2023-11-15), so the history holds the
    # Earn migration (an account opened after the launch stakes through Earn and has nothing to migrate)
    with synced_account(pg_admin_url, pg_template, seed=3, profile="retail-2019-2025",
                        history_days=1_800) as account:
        beancount = export_journal(account.engine, tmp_path / "retail.beancount", "beancount", accounts=[ACCOUNT])
        ledger = export_journal(account.engine, tmp_path / "retail.journal", "ledger", accounts=[ACCOUNT])
    checked = bean_check(beancount.path)
    assert checked.code == 0, checked.output[:3000]
    checked = hledger_check(ledger.path)
    assert checked.code == 0, checked.output[:3000]
    assert beancount.stats.assertions > 100 and beancount.stats.unasserted == 0
    body = beancount.path.read_text()
    narrations = set(re.findall(r'^\d{4}-\d\d-\d\d \* "Kraken" "([^"]*)"$', body, flags=re.M))
    for shape in RETAIL_SHAPES:  # each shape's entries are posted, as transactions of their own kind
        assert shape in narrations, (shape, sorted(narrations))
