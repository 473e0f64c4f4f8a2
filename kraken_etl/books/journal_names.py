"""Names the accounting tools accept: commodities, account renames (the configurable chart), quoted text.

Commodities. Beancount accepts ``[A-Z][A-Z0-9'._-]*[A-Z0-9]``, so most of Kraken's normalised codes are
used as they are, suffix included: ``BTC``, ``DOT.S``, ``ETH2.S``, ``USD.HOLD``, ``KFEE``. Any other code (a
leading digit such as ``1INCH``, lower case, a single letter, other characters, more than 24 characters) is
upper-cased, its other characters made ``-``, prefixed with ``K`` when it does not start with a letter, cut to
16 characters, and given ``-`` plus 6 hex digits of its SHA-1: ``1INCH`` → ``K1INCH-…``. Two codes never
share a name. The same name is used in every format (Ledger/hledger quote it when it is not letters only).

Accounts. `reporting.journal` names accounts in the default chart; a `Chart` renames them by prefix on
component boundaries (``Equity:Transfers`` → ``Assets:Bank:Clearing``; ``Assets:Kraken`` →
``Assets:Exchanges:Kraken``), the longest prefix first.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kraken_etl.core.visible import visible

_BEANCOUNT_COMMODITY = re.compile(r"[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]")
_ACCOUNT = re.compile(r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+")
_LETTERS = re.compile(r"[A-Z]+")
_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII but '"' and '\\'


class ChartError(ValueError):
    """A chart of accounts that cannot be used (unreadable file, an account name the tools refuse)."""


def commodity(asset: str) -> str:
    """The commodity name of a normalised Kraken asset code, valid in Beancount, Ledger and hledger."""
    if _BEANCOUNT_COMMODITY.fullmatch(asset):
        return asset
    cleaned = re.sub(r"[^A-Z0-9]", "-", asset.upper()).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = "K" + cleaned
    digest = hashlib.sha1(asset.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()[:6].upper()
    return f"{cleaned[:16].rstrip('-')}-{digest}"


def ledger_commodity(name: str) -> str:
    """A commodity as Ledger/hledger write it: bare when letters only, else in double quotes."""
    return name if _LETTERS.fullmatch(name) else f'"{name}"'


def is_account(name: str) -> bool:
    """True for an account name Beancount (and so Ledger/hledger) accepts."""
    return _ACCOUNT.fullmatch(name) is not None


def quoted(value: object) -> str:
    """Text as a Beancount string: hidden characters made visible, backslash and quote escaped."""
    if isinstance(value, str) and _PLAIN.fullmatch(value):
        return f'"{value}"'  # the common case (Kraken's ids), no per-character work
    return '"' + visible(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def plain(value: object) -> str:
    """Text for a Ledger/hledger description or tag value: one visible line, no comment or tag separator."""
    return visible(value).replace(";", "_").replace(",", "_").replace("|", "_")


@dataclass(frozen=True)
class Chart:
    """Account renames over the default chart: prefix → replacement, on component boundaries."""

    renames: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for source, target in self.renames.items():
            if not is_account(source) and source.split(":")[0] not in {
                    "Assets", "Liabilities", "Equity", "Income", "Expenses"}:
                raise ChartError(f"{visible(source)!r} is not an account or account prefix of the default chart")
            if not is_account(target):
                raise ChartError(f"{visible(target)!r} is not a valid account name (Beancount syntax: "
                                 "Assets|Liabilities|Equity|Income|Expenses, then :Components starting "
                                 "with a capital letter or digit, letters, digits and '-')")

    def name(self, gl_account: str) -> str:
        """The account `gl_account` is written as."""
        if not self.renames:
            return gl_account
        best = ""
        for source in self.renames:
            if (gl_account == source or gl_account.startswith(source + ":")) and len(source) > len(best):
                best = source
        return self.renames[best] + gl_account[len(best):] if best else gl_account

    @classmethod
    def load(cls, path: Path) -> Chart:
        """A chart from a TOML file with an ``[accounts]`` table of renames.

        Raises:
            ChartError: unreadable file, not TOML, or a name the tools refuse.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ChartError(f"cannot read the chart {path}: {exc}") from exc
        accounts = data.get("accounts", {})
        if not isinstance(accounts, dict) or not all(isinstance(v, str) for v in accounts.values()):
            raise ChartError(f"{path}: [accounts] must map account names to account names")
        return cls(dict(accounts))
