"""Generate the kraken-etl Grafana dashboard with grafana-foundation-sdk (typed builders, no hand-edited JSON).

    .venv/bin/python deploy/grafana/dashboard.py      # rewrites deploy/grafana/dashboards/kraken-etl.json

Every panel reads schema `reporting` through the provisioned PostgreSQL data source (the read-only
`kraken_reader` role). The SDK has no builder for PostgreSQL queries, so `SqlQuery` below is the one
query variant we add, through the SDK's own extension point (`cogvariants.Dataquery`). A test checks
that the committed JSON is what this script generates, and runs every panel's SQL as `kraken_reader`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

from grafana_foundation_sdk.builders import barchart, dashboard, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh, VariableSort

OUT = Path(__file__).resolve().parent / "dashboards" / "kraken-etl.json"
DATASOURCE = DataSourceRef(type_val="grafana-postgresql-datasource", uid="kraken-etl-pg")


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL target of Grafana's PostgreSQL data source."""

    def __init__(self, sql: str, fmt: Literal["table", "time_series"], ref_id: str = "A") -> None:
        self.sql, self.fmt, self.ref_id = sql, fmt, ref_id

    def to_json(self) -> dict[str, object]:
        return {"refId": self.ref_id, "datasource": DATASOURCE.to_json(), "editorMode": "code",
                "format": self.fmt, "rawQuery": True, "rawSql": self.sql}


class Sql(cogbuilder.Builder[SqlQuery]):
    def __init__(self, sql: str, fmt: Literal["table", "time_series"] = "table") -> None:
        self._query = SqlQuery(" ".join(sql.split()), fmt)

    def build(self) -> SqlQuery:
        return self._query


# The dashboard's variables: `$account` (one, several or all accounts) filters every panel; `$asset` (the
# assets those accounts hold) repeats the balance panel, one per asset, so BTC and USDT never share an axis.
# Grafana writes a PostgreSQL variable's values quoted and comma-separated, hence `IN ($account)`.
ACCOUNTS = "SELECT account FROM reporting.balance_daily UNION SELECT account FROM reporting.sync_health ORDER BY 1"
ASSETS = "SELECT DISTINCT asset FROM reporting.balance_daily WHERE account IN ($account) ORDER BY 1"

HOLDINGS = """
SELECT account, asset, wallet, balance FROM reporting.balances_at(now())
WHERE account IN ($account) AND balance <> 0 ORDER BY account, asset, wallet NULLS FIRST
"""
PORTFOLIO = """
SELECT (day::timestamp AT TIME ZONE 'UTC') AS time, account || ' (' || currency || ')' AS metric, sum(value) AS value
FROM reporting.portfolio_daily WHERE account IN ($account) AND $__timeFilter(day) GROUP BY 1, 2 ORDER BY 1
"""
BALANCES = """
SELECT (day::timestamp AT TIME ZONE 'UTC') AS time, account || ' ' || asset AS metric, sum(balance) AS balance
FROM reporting.balance_daily WHERE account IN ($account) AND asset IN ($asset) AND $__timeFilter(day)
GROUP BY 1, 2 ORDER BY 1
"""
FEES = """
SELECT (month::timestamp AT TIME ZONE 'UTC') AS time, asset AS metric, sum(fees) AS fees
FROM reporting.fees_monthly WHERE account IN ($account) AND $__timeFilter(month) GROUP BY 1, 2 ORDER BY 1
"""
TRADES = """
SELECT base || '/' || quote AS pair, count(*) FILTER (WHERE side = 'buy') AS buys,
       count(*) FILTER (WHERE side = 'sell') AS sells
FROM reporting.trade WHERE account IN ($account) AND $__timeFilter(time) GROUP BY 1 ORDER BY 1
"""
OPEN_BREAKS = """
SELECT coalesce(sum(open_breaks), 0) AS open_breaks FROM reporting.reconciliation_latest WHERE account IN ($account)
"""
RECONCILIATION = """
SELECT account, run_id, as_of, status, open_breaks, open_warnings, acknowledged
FROM reporting.reconciliation_latest WHERE account IN ($account) ORDER BY account
"""
FINDINGS = """
SELECT account, severity, check_name, asset, wallet, expected, actual, difference, message, last_seen_at
FROM reporting.reconciliation_open_findings WHERE account IN ($account)
ORDER BY severity = 'break' DESC, last_seen_at DESC LIMIT 100
"""
STALEST = "SELECT max(age_seconds) AS stalest_stream_seconds FROM reporting.sync_health WHERE account IN ($account)"
SYNC_HEALTH = """
SELECT account, stream, last_success_at, age_seconds, last_run_status, last_error, open_quarantine
FROM reporting.sync_health WHERE account IN ($account) ORDER BY account, stream
"""


def _variable(name: str, label: str, sql: str) -> dashboard.QueryVariable:
    """A multi-value variable (with "All") filled by `sql`, refreshed when the dashboard loads."""
    return (dashboard.QueryVariable(name).label(label).datasource(DATASOURCE).query(" ".join(sql.split()))
            .multi(True).include_all(True).refresh(VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(VariableSort.ALPHABETICAL_ASC))


def build() -> dashboard.Dashboard:
    """The dashboard, as typed builders."""
    return (
        dashboard.Dashboard("kraken-etl: holdings, fees, reconciliation, freshness")
        .uid("kraken-etl")
        .tags(["kraken-etl", "accounting"])
        .timezone("utc")
        .time("now-2y", "now")
        .refresh("15m")
        .editable()
        .with_variable(_variable("account", "Account", ACCOUNTS))
        .with_variable(_variable("asset", "Asset", ASSETS))
        .with_row(dashboard.Row("Holdings").id(1))
        .with_panel(table.Panel().id(5).title("Holdings now").description("reporting.balances_at(now())")
                    .datasource(DATASOURCE).with_target(Sql(HOLDINGS)).height(9).span(24))
        .with_panel(timeseries.Panel().id(15).title("Portfolio value (end of day, UTC)")
                    .description("reporting.portfolio_daily: balances x the price of the day's last hour, per "
                                 "account in its reporting currency; assets without a price are left out")
                    .datasource(DATASOURCE).with_target(Sql(PORTFOLIO, "time_series")).height(8).span(24))
        .with_row(dashboard.Row("Balances over time").id(14))
        .with_panel(timeseries.Panel().id(6).title("$asset balance (end of day, UTC)")
                    .description("reporting.balance_daily, wallets summed; one panel per asset, one line per "
                                 "account").datasource(DATASOURCE)
                    .with_target(Sql(BALANCES, "time_series")).repeat("asset").repeat_direction("h")
                    .height(8).span(8))
        .with_row(dashboard.Row("Fees and trades").id(2))
        .with_panel(timeseries.Panel().id(7).title("Fees per month").description("reporting.fees_monthly")
                    .datasource(DATASOURCE).with_target(Sql(FEES, "time_series")).height(8).span(12))
        .with_panel(barchart.Panel().id(8).title("Fills per pair").description("reporting.trade in the time range")
                    .datasource(DATASOURCE).with_target(Sql(TRADES)).height(8).span(12))
        .with_row(dashboard.Row("Reconciliation").id(3))
        .with_panel(stat.Panel().id(9).title("Open breaks").description("reporting.reconciliation_latest")
                    .datasource(DATASOURCE).with_target(Sql(OPEN_BREAKS)).height(6).span(4))
        .with_panel(table.Panel().id(10).title("Latest run per account").datasource(DATASOURCE)
                    .with_target(Sql(RECONCILIATION)).height(6).span(20))
        .with_panel(table.Panel().id(11).title("Open findings").description("reporting.reconciliation_open_findings")
                    .datasource(DATASOURCE).with_target(Sql(FINDINGS)).height(8).span(24))
        .with_row(dashboard.Row("Sync health").id(4))
        .with_panel(stat.Panel().id(12).title("Stalest stream").unit("s").description("reporting.sync_health")
                    .datasource(DATASOURCE).with_target(Sql(STALEST)).height(6).span(4))
        .with_panel(table.Panel().id(13).title("Streams").datasource(DATASOURCE).with_target(Sql(SYNC_HEALTH))
                    .height(6).span(20))
    )


def _drop_nulls(value: object) -> object:
    """Leave unset options out (Grafana fills its defaults for missing keys, not for nulls)."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def render() -> str:
    """The dashboard JSON, stable (sorted keys, two-space indent, final newline)."""
    encoded = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    return json.dumps(_drop_nulls(encoded), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")
