"""Naming the account of a file import: configured, already stored, new on purpose, or a likely typo."""

from __future__ import annotations

import pytest

from kraken_etl.jobs.accounts import choose_import_account
from kraken_etl.settings import SettingsError

CONFIGURED = {"treasury", "default"}
STORED = {"client-acme"}


@pytest.mark.parametrize("label", ["treasury", "client-acme"])
def test_known_labels_are_accepted_as_they_are(label: str) -> None:
    choice = choose_import_account(label, CONFIGURED, STORED, allow_new=False)
    assert (choice.label, choice.new) == (label, False)


def test_a_new_label_is_accepted_and_said_to_be_new() -> None:
    choice = choose_import_account("client-zeta", CONFIGURED, STORED, allow_new=False)
    assert (choice.label, choice.new) == ("client-zeta", True)


@pytest.mark.parametrize(("label", "meant"), [("Treasury", "treasury"), ("tresury", "treasury"),
                                              ("client-acmee", "client-acme")])
def test_a_likely_typo_is_refused_with_the_known_label(label: str, meant: str) -> None:
    with pytest.raises(SettingsError) as info:
        choose_import_account(label, CONFIGURED, STORED, allow_new=False)
    assert repr(meant) in str(info.value) and "--new-account" in str(info.value)


def test_new_account_overrides_the_typo_check() -> None:
    choice = choose_import_account("Treasury", CONFIGURED, STORED, allow_new=True)
    assert (choice.label, choice.new) == ("Treasury", True)


@pytest.mark.parametrize("label", ["x'; DROP TABLE kraken.ledger_entry; --", "$(rm -rf /)", "main\n", "<b>x</b>"])
def test_labels_off_the_label_rule_are_refused_naming_it(label: str) -> None:
    with pytest.raises(SettingsError, match="1-63 ASCII letters"):
        choose_import_account(label, CONFIGURED, STORED, allow_new=True)


def test_an_empty_label_is_refused() -> None:
    with pytest.raises(SettingsError):
        choose_import_account("  ", CONFIGURED, STORED, allow_new=True)
