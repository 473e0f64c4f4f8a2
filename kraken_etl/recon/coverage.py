"""Check `coverage`: what the other checks cannot see because it is not there.

- unresolved quarantine (a warning per stream: rows Kraken sent that are not in the books);
- unknown assets and ledger types (info: stored and flagged, never rejected);
- asset codes holding invisible or bidirectional characters (``\u202eCTB``, ``B\u200bTC``: loaded, never
  rejected, but they can display as another asset): a warning per code, the code shown escaped;
- holes in sync coverage: time, since the first successful window or export of a stream, that no
  successful window covers (a warning per hole);
- the newest balance snapshot is older than the last ledger load, or there is none (info: the
  ledger-vs-exchange check then proves nothing about the newest rows).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kraken_etl.core.assets import is_known_asset
from kraken_etl.core.idcheck import visible
from kraken_etl.core.ledger import LEDGER_TYPES
from kraken_etl.db import recon_coverage
from kraken_etl.jobs.streams import LEDGERS, STREAMS
from kraken_etl.recon.check import CheckInput, CheckReport
from kraken_etl.recon.finding import Finding

NAME = "coverage"
VOCABULARY = "vocabulary"  # scope of unknown-asset/type findings: an incremental run sees only new rows

# The streams whose coverage is a run of time windows (the others are read per order, or whole).
WINDOWED: tuple[str, ...] = tuple(spec.name for spec in STREAMS if spec.paging == "window")


def _quarantine(inp: CheckInput) -> list[Finding]:
    return [Finding(check=NAME, kind="open_quarantine", severity="warning", source_ids=(q["stream"],),
                    message=f"{q['n']} {q['stream']} record(s) in quarantine, unresolved (e.g. {q['reason']})",
                    details={"stream": q["stream"], "rows": q["n"], "examples": q["ids"]})
            for q in recon_coverage.open_quarantine(inp.conn, inp.account)]


def _vocabulary(inp: CheckInput) -> tuple[int, list[Finding]]:
    rows = recon_coverage.vocabulary(inp.conn, inp.account, inp.as_of, inp.since)
    assets: dict[str, tuple[int, str]] = {}
    types: dict[str, tuple[int, str]] = {}
    hidden: dict[str, tuple[int, str]] = {}
    for asset, kind, n, example in rows:
        if visible(asset) != asset:
            hidden[asset] = (hidden.get(asset, (0, example))[0] + n, example)
        if not is_known_asset(asset):
            assets[asset] = (assets.get(asset, (0, example))[0] + n, example)
        if kind.lower() not in LEDGER_TYPES:
            types[kind] = (types.get(kind, (0, example))[0] + n, example)
    findings = [Finding(check=NAME, kind="hidden_characters_asset", severity="warning", asset=a, source_ids=(a,),
                        message=(f"asset code {a!a} holds invisible or bidirectional characters: it can "
                                 f"display as {visible(a)!a} while it is another asset ({n} row(s), e.g. "
                                 f"{ex!a})"),
                        details={"rows": n, "example": ex, "escaped": ascii(a), "displays_as": visible(a)},
                        scope=VOCABULARY) for a, (n, ex) in sorted(hidden.items())]
    findings += [Finding(check=NAME, kind="unknown_asset", severity="info", asset=a, source_ids=(a,),
                        message=f"asset {a!r} is not in the known-asset table ({n} row(s), e.g. {ex})",
                        details={"rows": n, "example": ex}, scope=VOCABULARY) for a, (n, ex) in sorted(assets.items())]
    findings += [Finding(check=NAME, kind="unknown_ledger_type", severity="info", source_ids=(t,),
                         message=f"ledger type {t!r} is not a known Kraken type ({n} row(s), e.g. {ex})",
                         details={"rows": n, "example": ex}, scope=VOCABULARY) for t, (n, ex) in sorted(types.items())]
    return sum(r[2] for r in rows), findings


def holes(windows: list[dict[str, Any]]) -> list[tuple[str, datetime, datetime]]:
    """Per stream, the gaps between successful windows (merged; a start of None covers everything before)."""
    out: list[tuple[str, datetime, datetime]] = []
    by_stream: dict[str, list[tuple[datetime | None, datetime]]] = {}
    for w in windows:
        by_stream.setdefault(w["stream"], []).append((w["window_start"], w["window_end"]))
    for stream, spans in sorted(by_stream.items()):
        spans.sort(key=lambda s: (s[0] is not None, s[0] or s[1]))
        reach: datetime | None = None
        for start, end in spans:
            if reach is not None and start is not None and start > reach:
                out.append((stream, reach, start))
            reach = end if reach is None else max(reach, end)
    return out


def _holes(inp: CheckInput) -> list[Finding]:
    return [Finding(check=NAME, kind="coverage_hole", severity="warning", source_ids=(stream, lo.isoformat()),
                    message=f"{stream}: no successful window covers {lo:%Y-%m-%d %H:%M:%S} .. {hi:%Y-%m-%d %H:%M:%S}",
                    details={"stream": stream, "from": lo, "to": hi}, at=lo.isoformat())
            for stream, lo, hi in holes(recon_coverage.sync_windows(inp.conn, inp.account, inp.as_of, WINDOWED))]


def _snapshot_age(inp: CheckInput, ledger_rows: int) -> list[Finding]:
    synced = recon_coverage.last_sync(inp.conn, inp.account, inp.as_of, LEDGERS.name)
    snapshot = recon_coverage.last_snapshot(inp.conn, inp.account, inp.as_of)
    if snapshot is None:
        if synced is None and not ledger_rows:
            return []
        later = recon_coverage.next_snapshot(inp.conn, inp.account, inp.as_of)
        message = ("no balance snapshot is stored: the ledger was not compared with Kraken's balances"
                   if later is None else
                   f"no balance snapshot at or before the cut-off ({inp.as_of:%Y-%m-%d %H:%M:%S}): the one taken "
                   f"at {later:%Y-%m-%d %H:%M:%S} is after it (a sync's snapshot is taken after its cut-off); "
                   "a run with a later cut-off compares it with the ledger")
        return [Finding(check=NAME, kind="no_balance_snapshot", severity="info", message=message)]
    if synced is not None and snapshot < synced:
        return [Finding(check=NAME, kind="stale_balance_snapshot", severity="info",
                        message=(f"the newest balance snapshot ({snapshot:%Y-%m-%d %H:%M:%S}) is older than the "
                                 f"last ledger load ({synced:%Y-%m-%d %H:%M:%S})"),
                        details={"snapshot": snapshot, "last_sync": synced})]
    return []


def check_coverage(inp: CheckInput) -> CheckReport:
    """Quarantine, unknown vocabulary, sync holes and snapshot age."""
    examined, vocab = _vocabulary(inp)
    findings = _quarantine(inp) + vocab + _holes(inp) + _snapshot_age(inp, examined)
    # Incremental: the vocabulary scope is not re-examined (older rows were not read), so it stays open.
    return CheckReport(examined, findings, None if inp.since is None else {"": None})
