"""The report's gains section: realised gains per asset and year, and income, from the stored cost-basis
computations (`kraken-etl pnl`); no section at all when none is stored for the report's accounts.

Each row names its entity, method and currency; a money heading names the currency when every row has the
same one. Per computation and year a `total` row adds the assets up (exact sums).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kraken_etl.core.money import exact_sum
from kraken_etl.core.visible import visible
from kraken_etl.db import report_gains as g
from kraken_etl.db.reporting import ReportFilter
from kraken_etl.report.page import Section

GAIN_MONEY = ("proceeds", "cost", "fees", "gain")
INCOME_MONEY = ("value",)
_KEY = ("entity", "method", "currency", "year")


def queries(f: ReportFilter) -> dict[str, Callable[[Any], Any]]:
    """The gains queries, to run with the report's others."""
    return {
        "book_runs": lambda c: g.stored_runs(c, f),
        "gains": lambda c: g.realised_gains(c, f),
        "income": lambda c: g.income_by_year(c, f),
    }


def _with_totals(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    group: list[Mapping[str, Any]] = []
    for row in [*rows, None]:
        if group and (row is None or tuple(row[k] for k in _KEY) != tuple(group[0][k] for k in _KEY)):
            out += [dict(r) for r in group]
            if len(group) > 1:
                total: dict[str, Any] = {k: group[0][k] for k in _KEY}
                total["asset"] = "total"
                total["disposals"] = sum(int(r["disposals"]) for r in group)
                total.update({k: exact_sum(r[k] for r in group) for k in GAIN_MONEY})
                total["has_shortfall"] = any(r["has_shortfall"] for r in group)
                out.append(total)
            group = []
        if row is not None:
            group.append(row)
    return out


def _relabel(rows: Sequence[Mapping[str, Any]], money: Sequence[str], label: str) -> list[dict[str, Any]]:
    return [{(f"{k} {label}" if k in money else k): value for k, value in r.items()} for r in rows]


def sections(got: Mapping[str, Any]) -> list[Section]:
    """The gains section, or none when no computation is stored for the report's accounts."""
    runs = got["book_runs"]
    if not runs:
        return []
    currencies = {r["currency"] for r in runs}
    label = f"({next(iter(currencies))})" if len(currencies) == 1 else "(the row's currency)"
    described = ", ".join(visible(f"{r['entity']} {r['method']} {r['currency']}") for r in runs)
    return [Section(
        "gains", f"Realised gains and income {label}",
        f"From the stored cost-basis books ({described}; `kraken-etl pnl` brings them up to date), per calendar "
        "year (UTC) of the report's range and asset, with a total per year; has_shortfall: a disposal exceeded "
        "the lots held (see pnl's findings). Below, the income received (valued at receipt) per year, asset and "
        "kind.",
        rows=_relabel(_with_totals(got["gains"]), GAIN_MONEY, label),
        columns=("entity", "method", "currency", "year", "asset", "disposals", "amount", f"proceeds {label}",
                 f"cost {label}", f"fees {label}", f"gain {label}", "has_shortfall"),
        extra_rows=_relabel(got["income"], INCOME_MONEY, label),
        extra_columns=("entity", "method", "currency", "year", "asset", "kind", "entries", "amount",
                       f"value {label}"),
        extra_title="Income")]
