"""Which account a file import belongs to: a configured label, a label already in the database, or a new one.

A file import needs no key, so an accountant may load a client's export under a label nobody configured. A
new label is accepted and said to be new; only a label that could be a typo of a known one (the same
letters in another case, or a close spelling) is refused unless the caller says it is new on purpose.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from kraken_etl.settings import SettingsError, check_label


@dataclass(frozen=True, slots=True)
class AccountChoice:
    label: str
    new: bool  # neither configured nor in the database yet


def choose_import_account(label: str, configured: set[str], stored: set[str], *, allow_new: bool) -> AccountChoice:
    """Accept `label` for a file import, or refuse a likely typo of a known label.

    Raises:
        SettingsError: an empty label, or one close to a known label while `allow_new` is False.
    """
    if not label.strip():
        raise SettingsError("--account: the label is empty")
    check_label(label, "--account")
    known = configured | stored
    if label in known:
        return AccountChoice(label, new=False)
    if not allow_new:
        same_letters = [k for k in sorted(known) if k.casefold() == label.casefold()]
        close = same_letters or difflib.get_close_matches(label, sorted(known), n=1, cutoff=0.75)
        if close:
            raise SettingsError(
                f"--account {label!r} is not a known account; did you mean {close[0]!r}? "
                f"Pass --new-account to start a new account named {label!r}")
    return AccountChoice(label, new=True)
