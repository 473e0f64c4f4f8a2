"""Tax entities from the accounts file: `[entities.NAME] accounts = [...]`, each account alone by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from kraken_etl.settings import Settings, SettingsError

ACCOUNTS = """
[[accounts]]
label = "main"
api_key_env = "NO_SUCH_KEY"
api_secret_env = "NO_SUCH_SECRET"

[[accounts]]
label = "savings"
api_key_env = "NO_SUCH_KEY"
api_secret_env = "NO_SUCH_SECRET"
"""


def _settings(tmp_path: Path, extra: str) -> Settings:
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS + extra, encoding="utf-8")
    return Settings(KRAKEN_ETL_CONFIG=path)  # type: ignore[call-arg]


def test_declared_entities_pool_accounts_and_each_account_stays_its_own(tmp_path: Path) -> None:
    settings = _settings(tmp_path, '\n[entities.family]\naccounts = ["main", "savings", "main"]\n')
    assert settings.entities() == {"main": ["main"], "savings": ["savings"], "family": ["main", "savings"]}


@pytest.mark.parametrize(("extra", "message"), [
    ('\n[entities.family]\naccounts = ["main", "nobody"]\n', "unknown account 'nobody'"),
    ('\n[entities.family]\naccounts = []\n', "needs accounts"),
    ('\n[entities.family]\nmembers = ["main"]\n', "needs accounts"),
])
def test_a_wrong_entity_is_refused_naming_it(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        _settings(tmp_path, extra).entities()
