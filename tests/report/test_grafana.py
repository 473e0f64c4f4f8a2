"""The Grafana dashboard: generated JSON equals the committed file; every panel's SQL runs as kraken_reader."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from tests.report.conftest import Loaded

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grafana_dashboard", GRAFANA / "dashboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _targets() -> list[tuple[str, dict[str, Any]]]:
    board = json.loads((GRAFANA / "dashboards" / "kraken-etl.json").read_text(encoding="utf-8"))
    return [(p["title"], t) for p in board["panels"] if p["type"] != "row" for t in p["targets"]]


def test_committed_dashboard_is_the_generated_one() -> None:
    committed = (GRAFANA / "dashboards" / "kraken-etl.json").read_text(encoding="utf-8")
    assert _generator().render() == committed, "run .venv/bin/python deploy/grafana/dashboard.py"


def test_panels_use_the_provisioned_read_only_source() -> None:
    source = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "kraken-etl.yaml").read_text())
    (ds,) = source["datasources"]
    assert ds["user"] == "kraken_grafana" and "password" not in ds and ds["secureJsonData"]["password"].startswith(
        "$__file{/run/secrets/")
    login = (GRAFANA / "grafana-login.sql").read_text()
    assert "IN ROLE kraken_reader" in login
    targets = _targets()
    assert len(targets) >= 8
    assert all(t["datasource"] == {"type": ds["type"], "uid": ds["uid"]} for _, t in targets)
    assert all("reporting." in t["rawSql"] and "kraken." not in t["rawSql"] for _, t in targets)


def _expand_macros(sql: str) -> str:
    """Grafana's $__timeFilter(col) for the dashboard's default range (the last two years)."""
    return re.sub(r"\$__timeFilter\((\w+)\)", r"\1 BETWEEN now() - interval '2 years' AND now()", sql)


@pytest.mark.parametrize("title", [title for title, _ in _targets()])
def test_panel_sql_runs_as_reader_and_returns_rows(loaded: Loaded, title: str) -> None:
    sql = next(t["rawSql"] for name, t in _targets() if name == title)
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            run = conn.execute(text(
                "INSERT INTO kraken.reconciliation_run (account, as_of, started_at, finished_at, status) "
                "VALUES ('default', now(), now(), now(), 'ok') RETURNING id")).scalar_one()
            conn.execute(text(
                "INSERT INTO kraken.reconciliation_finding (run_id, account, check_name, kind, severity, message, "
                "fingerprint) VALUES (:r, 'default', 'balance_chain', 'gap', 'break', 'a row is missing', 'g1')"),
                {"r": run})
            conn.execute(text("SET LOCAL ROLE kraken_reader"))
            rows = conn.exec_driver_sql(_expand_macros(sql)).all()
        finally:
            tx.rollback()
    assert rows, title
    assert all(any(v is not None for v in r) for r in rows)
