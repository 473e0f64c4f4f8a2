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


def _board() -> dict[str, Any]:
    return json.loads((GRAFANA / "dashboards" / "kraken-etl.json").read_text(encoding="utf-8"))


def _variables() -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in _board()["templating"]["list"]}


def _quoted(values: list[str]) -> str:
    """A multi-value variable as Grafana writes it into PostgreSQL SQL: quoted, comma-separated."""
    return ",".join("'" + v.replace("'", "''") + "'" for v in values)


def _expand(sql: str, values: dict[str, list[str]]) -> str:
    """Grafana's $__timeFilter(col) for the dashboard's default range (the last two years), and the variables."""
    sql = re.sub(r"\$__timeFilter\((\w+)\)", r"\1 BETWEEN now() - interval '2 years' AND now()", sql)
    for name, chosen in values.items():
        sql = sql.replace(f"${name}", _quoted(chosen))
    assert "$" not in sql, sql
    return sql


def _run_as_reader(loaded: Loaded, sql: str) -> list[Any]:
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            run = conn.execute(text(
                "INSERT INTO kraken.reconciliation_run (account, as_of, started_at, finished_at, status) "
                "VALUES ('demo', now(), now(), now(), 'ok') RETURNING id")).scalar_one()
            conn.execute(text(
                "INSERT INTO kraken.reconciliation_finding (run_id, account, check_name, kind, severity, message, "
                "fingerprint) VALUES (:r, 'demo', 'balance_chain', 'gap', 'break', 'a row is missing', 'g1')"),
                {"r": run})
            conn.execute(text("SET LOCAL ROLE kraken_reader"))
            return list(conn.exec_driver_sql(sql).all())
        finally:
            tx.rollback()


def _chosen(loaded: Loaded, account: str) -> dict[str, list[str]]:
    """What Grafana resolves the variables to when `account` is chosen and "All" assets."""
    assets = [r[0] for r in _run_as_reader(loaded, _expand(_variables()["asset"]["query"], {"account": [account]}))]
    return {"account": [account], "asset": assets}


def test_the_variables_list_the_demo_account_and_its_assets(demo_loaded: Loaded) -> None:
    accounts = [r[0] for r in _run_as_reader(demo_loaded, _variables()["account"]["query"])]
    assert accounts == ["demo"]
    assert len(_chosen(demo_loaded, "demo")["asset"]) >= 5


def test_every_panel_is_filtered_by_the_account_variable() -> None:
    assert _variables()["account"]["multi"] and _variables()["account"]["includeAll"]
    for title, target in _targets():
        assert re.search(r"\baccount IN \(\$account\)", target["rawSql"]), title


def test_balances_over_time_are_one_panel_per_asset() -> None:
    (panel,) = [p for p in _board()["panels"] if p["type"] == "timeseries" and "balance" in p["title"].lower()]
    assert panel["repeat"] == "asset" and "$asset" in panel["title"]
    (target,) = panel["targets"]
    assert "asset IN ($asset)" in target["rawSql"]


@pytest.mark.parametrize("title", [title for title, _ in _targets()])
def test_panel_sql_runs_as_reader_and_returns_rows(demo_loaded: Loaded, title: str) -> None:
    sql = next(t["rawSql"] for name, t in _targets() if name == title)
    chosen = _chosen(demo_loaded, "demo")
    rows = _run_as_reader(demo_loaded, _expand(sql, chosen))
    assert rows, title
    assert all(any(v is not None for v in r) for r in rows)
    other = _run_as_reader(demo_loaded, _expand(sql, {**chosen, "account": ["someone-else"]}))
    assert other != rows, f"{title}: the account variable does not change what the panel shows"
    if "$asset" in sql:  # each repeated panel shows its own asset only
        one = _run_as_reader(demo_loaded, _expand(sql, {**chosen, "asset": chosen["asset"][:1]}))
        assert one and len(one) < len(rows)
