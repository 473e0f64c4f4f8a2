"""The profiles' matrix (`make drills` only, minutes): five seeds x the four ways data arrives (REST sync, export
backfill, export then REST, file import) x the `retail-2019-2025` and `margin-trader` profiles; each account
equals the truth, reconciles without a break and holds every shape of its profile. `make test` runs one seed
of each (tests/recon/test_retail_profile.py, tests/recon/test_margin_paths.py). Then each profile end to end on
loopback: the `valuation` check after `sync` and `prices sync` (tests/e2e/profile_checks.py) and the WebSocket
listener (tests/listen/profile_listen.py), two seeds each. The file name keeps pytest's default collection
(`make test`) away from it; `make drills` names it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.e2e.profile_checks import profile_findings
from tests.listen.profile_listen import check_listener
from tests.recon.arrival import MODES
from tests.recon.test_margin_paths import check_margin
from tests.recon.test_retail_profile import check_retail

SEEDS = (3, 17, 29, 101, 2026)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", MODES)
def test_retail_seed_and_path(mode: str, seed: int, engine: Engine, tmp_path: Path) -> None:
    check_retail(mode, seed, engine, tmp_path)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("mode", MODES)
def test_margin_seed_and_path(mode: str, seed: int, engine: Engine, tmp_path: Path) -> None:
    check_margin(mode, seed, engine, tmp_path)


PROFILES = ("retail-2019-2025", "margin-trader")


@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("profile", PROFILES)
def test_valuation_of_a_profile_end_to_end(profile: str, seed: int, db_env: str, tmp_path: Path) -> None:
    found, examined = profile_findings(profile, seed, db_env, tmp_path)
    assert found == [] and examined > 0


@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("profile", PROFILES)
def test_the_listener_on_a_profile(profile: str, seed: int, engine: Engine) -> None:
    check_listener(profile, seed, engine)
