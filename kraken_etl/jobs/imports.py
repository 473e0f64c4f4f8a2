"""`run_import`: the one entry of `kraken-etl import`: export files a person downloaded from Kraken.

In order: the database is reached and migrated; every path is checked before anything opens it (a FIFO or
/dev/zero would never end); the label is chosen (`jobs.accounts.choose_import_account`: a likely typo of a
known label is refused unless `allow_new`); then, under the account's lock (`jobs.exclusive.exclusive`; a
label with no key needs no nonce hand-over) and with the collector relaxed, `jobs.fileload.import_files`
loads each file in its own transaction and the rows get their wallets (`jobs.wallets`); last, the days
already summed by the reporting schema are refreshed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kraken_etl.core.results import JobResult
from kraken_etl.core.tuning import relaxed_gc
from kraken_etl.db.summary import stored_accounts
from kraken_etl.jobs.accounts import choose_import_account
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.exclusive import exclusive
from kraken_etl.jobs.fileload import check_import_file, import_files
from kraken_etl.jobs.refresh import Refreshed, refresh_after_load
from kraken_etl.jobs.wallets import wallets_settled
from kraken_etl.jobs.wiring import database
from kraken_etl.settings import Account, Settings, load_settings


@dataclass(frozen=True, slots=True)
class ImportRun:
    """What one import did: the account, each file's result (a rejected file has `error`), the refresh."""

    account: str
    new_account: bool
    results: list[JobResult]
    refreshed: Refreshed | None

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.results if r.error)


def run_import(paths: Sequence[Path], *, account: str | None = None, allow_new: bool = False,
               settings: Settings | None = None, progress: Progress = quiet_progress) -> ImportRun:
    """Import `paths` into `account` (default: the first configured account).

    A new label is announced through `progress` (an event of kind ``note``) before any file loads.

    Raises:
        ExportFileError: a path that is not a regular readable file (nothing was opened or loaded).
        SettingsError: an empty label, or a likely typo of a known one without `allow_new`.
        AccountBusy: another run holds the account (nothing was loaded).
    """
    current = settings or load_settings()
    configured = current.select_accounts(None)
    with database(current, upgrade=True) as engine:  # an unreachable database is the first thing said
        for path in paths:  # before the lock and before a file is opened
            check_import_file(path)
        if account:
            choice = choose_import_account(account, {a.label for a in configured}, stored_accounts(engine),
                                           allow_new=allow_new)
            label, new = choice.label, choice.new
        else:
            label, new = configured[0].label, False
        if new:
            progress(Event("note", f"new account {label!r}: not configured (a file import needs no key)"))
        owner = next((a for a in configured if a.label == label), Account(label, None, None))
        with exclusive(engine, owner, current.home, purpose="import", rate_scale=current.rate_scale), \
                relaxed_gc(), wallets_settled(engine, label):
            results = import_files(engine, paths, account=label, progress=progress)
        refreshed = refresh_after_load(engine, [label])  # rows in days already summed: show them now
    return ImportRun(label, new, results, refreshed)
