"""The KRAKEN_ETL_CONFIG file: its accounts (labels, credentials by environment variable or file, tiers,
reporting currencies) and its tax entities. Secrets stay `SecretStr` from the moment they are read.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from kraken_etl.settings.rules import (
    SettingsError,
    check_api_secret,
    check_currency,
    check_label,
    check_tier,
    read_secret_file,
)


@dataclass(frozen=True, slots=True)
class Account:
    """One Kraken account: a label for its rows, its credentials and its verification tier."""

    label: str
    api_key: SecretStr | None
    api_secret: SecretStr | None
    tier: str = "starter"
    currency: str | None = None  # reporting currency of this account (None: KRAKEN_REPORTING_CURRENCY)

    @property
    def has_credentials(self) -> bool:
        return self.api_key is not None and self.api_secret is not None

    def __repr__(self) -> str:
        credentials = "set" if self.has_credentials else "missing"
        return f"Account(label={self.label!r}, tier={self.tier!r}, credentials={credentials})"


def load_entities_file(path: Path) -> dict[str, list[str]]:
    """Each account of a KRAKEN_ETL_CONFIG file alone, then its `[entities.NAME] accounts = ["a", "b"]` tables
    (no secret is read: the books need none)."""
    setting = "KRAKEN_ETL_CONFIG"
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{setting}: cannot read {str(path)!r} ({exc})") from None
    labels = [e["label"] for e in data.get("accounts", []) if isinstance(e, dict) and isinstance(e.get("label"), str)]
    tables = data.get("entities", {})
    if not isinstance(tables, dict):
        raise SettingsError(f"{setting}: 'entities' must be tables: [entities.NAME] accounts = [...]")
    entities: dict[str, list[str]] = {}
    for name, table in tables.items():
        where = f"{setting}: entities.{name}"
        check_label(name, where)
        accounts = table.get("accounts") if isinstance(table, dict) else None
        if not isinstance(accounts, list) or not accounts or not all(isinstance(a, str) for a in accounts):
            raise SettingsError(f"{where}: needs accounts = [\"label\", ...]")
        unknown = [a for a in accounts if a not in labels]
        if unknown:
            raise SettingsError(f"{where}: unknown account {unknown[0]!r}; configured: {', '.join(labels)}")
        entities[name] = list(dict.fromkeys(accounts))
    return {**{label: [label] for label in labels}, **entities}


def load_accounts_file(path: Path) -> list[Account]:
    """Parse a KRAKEN_ETL_CONFIG file.

    Format::

        [[accounts]]
        label = "main"
        tier = "intermediate"
        currency = "EUR"                  # optional: reporting currency (default KRAKEN_REPORTING_CURRENCY)
        api_key_env = "MAIN_KEY"          # or api_key_file = "/run/secrets/main_key"
        api_secret_file = "/run/secrets/main_secret"   # or api_secret_env = "MAIN_SECRET"

    Secrets are never written in the file itself: each comes from an environment variable or a file.

    Raises:
        SettingsError: naming KRAKEN_ETL_CONFIG and what is wrong.
    """
    setting = "KRAKEN_ETL_CONFIG"
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{setting}: cannot read {str(path)!r} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{setting}: {str(path)!r} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{setting}: {str(path)!r} is not valid TOML ({exc})") from None
    entries = data.get("accounts")
    if not isinstance(entries, list) or not entries:
        raise SettingsError(f"{setting}: {str(path)!r} has no [[accounts]] entries")
    accounts: list[Account] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{setting}: accounts[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str):
            raise SettingsError(f"{where}: every account needs a string 'label'")
        label = check_label(entry["label"], where)
        if label in seen:
            raise SettingsError(f"{setting}: duplicate account label {label!r}")
        seen.add(label)
        unknown = set(entry) - {
            "label",
            "tier",
            "currency",
            "api_key_env",
            "api_key_file",
            "api_secret_env",
            "api_secret_file",
        }
        if unknown:
            raise SettingsError(
                f"{where} ({label}): unknown keys {sorted(unknown)}; secrets go in *_env or *_file"
            )
        accounts.append(
            Account(
                label=label,
                api_key=_secret_from(entry, "api_key", f"{where} ({label})"),
                api_secret=check_api_secret(
                    _secret_from(entry, "api_secret", f"{where} ({label})"), f"{where} ({label}).api_secret"
                ),
                tier=check_tier(str(entry.get("tier", "starter")), f"{where} ({label}).tier"),
                currency=(check_currency(entry["currency"], f"{where} ({label}).currency")
                          if "currency" in entry else None),
            )
        )
    return accounts


def _secret_from(entry: dict[str, Any], name: str, where: str) -> SecretStr | None:
    env_name = entry.get(f"{name}_env")
    file_name = entry.get(f"{name}_file")
    if env_name and file_name:
        raise SettingsError(f"{where}: set {name}_env or {name}_file, not both")
    if file_name:
        return read_secret_file(str(file_name), f"{where}.{name}_file")
    if env_name:
        value = os.environ.get(str(env_name))
        if not value:
            raise SettingsError(f"{where}.{name}_env: environment variable {env_name!r} is not set")
        return SecretStr(value)
    return None
