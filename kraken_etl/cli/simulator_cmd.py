"""`kraken-etl simulator …`: run the local Kraken.

``serve`` prints exactly one JSON line on stdout once listening —
``{"rest_url": …, "ws_url": …, "api_key": …, "api_secret": …}`` (plus ``"accounts": [{"account": i, "api_key": …,
"api_secret": …}, …]`` with ``--accounts N`` > 1) — and serves until SIGTERM/SIGINT. That line is the only place
the simulator ever shows its secrets.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from kraken_etl.core.callcounter import TIERS
from kraken_etl.simulator.config import PROFILES

app = typer.Typer(help="The local Kraken simulator (REST, exports, WebSocket v2, faults).",
                  no_args_is_help=True)


@app.callback()
def simulator() -> None:
    """The local Kraken simulator."""


def _end_time(text: str | None) -> datetime | None:
    if not text:
        return None
    from kraken_etl.core.timeutil import as_utc

    return as_utc(text)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on (keep it loopback)."),
    port: int = typer.Option(0, help="TCP port; 0 picks a free one."),
    seed: int = typer.Option(1, help="Seed of the account history and the API key."),
    accounts: int = typer.Option(1, help="Accounts to serve, each with its own key, history and call counter "
                                         "(requests are routed by API key; the line lists every key pair)."),
    ledger_entries: int = typer.Option(2_000, help="Size of the generated history (up to 2,000,000+)."),
    profile: str = typer.Option("default", help=f"Account shapes to generate: {', '.join(PROFILES)}."),
    tier: str = typer.Option("starter", help=f"Call-counter tier: {', '.join(TIERS)}."),
    faults: str = typer.Option("", help="Fault spec, e.g. 'http_5xx=0.05,rate_limit_storm=3,seed=7'."),
    rate_scale: float = typer.Option(1.0, help="Multiply the call-counter decay (faster tests)."),
    no_rate_limits: bool = typer.Option(False, "--no-rate-limits", help="Disable the call counter."),
    end_time: str = typer.Option("", help="End of the generated history (ISO 8601; default 2026-11-01Z)."),
    history_days: int = typer.Option(730, help="Span of the generated history in days."),
    nonce_window: int = typer.Option(0, help="Tolerated nonce lag for the default key."),
    export_queued_seconds: float = typer.Option(1.0, help="Seconds an export stays Queued."),
    export_processing_seconds: float = typer.Option(2.0, help="Seconds an export stays Processing."),
    ledgers_header: str = typer.Option("subclass", help="Ledgers export header era."),
    trades_header: str = typer.Option("basic", help="Trades export header era."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Serve the simulator until SIGTERM/SIGINT; print the connection JSON line once listening."""
    from kraken_etl.simulator.config import SimConfig
    from kraken_etl.simulator.faults import FaultSpecError, parse_fault_spec
    from kraken_etl.simulator.server import serve as run

    if tier not in TIERS:
        raise typer.BadParameter(f"tier must be one of {', '.join(TIERS)}", param_hint="--tier")
    try:
        spec = parse_fault_spec(faults)
    except FaultSpecError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from exc
    changes: dict[str, object] = {}
    moment = _end_time(end_time)
    if moment is not None:
        changes["end_time"] = moment
    try:
        config = SimConfig(
            seed=seed, accounts=accounts, ledger_entries=ledger_entries, profile=profile, tier=tier, faults=spec,
            rate_scale=rate_scale, rate_limits=not no_rate_limits, history_days=history_days, nonce_window=nonce_window,
            export_queued_seconds=export_queued_seconds,
            export_processing_seconds=export_processing_seconds, ledgers_header=ledgers_header,
            trades_header=trades_header,
        ).with_changes(**changes)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    def ready(line: dict[str, object]) -> None:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    run(config, host, port, ready, log_level=log_level)


@app.command("ohlcvt")
def ohlcvt(
    out: Annotated[Path, typer.Option(help="Directory (one PAIR_INTERVAL.csv each) or a FILE.zip to write.")],
    since: Annotated[str, typer.Option(help="First day (YYYY-MM-DD, UTC).")],
    until: Annotated[str, typer.Option(help="Day after the last (YYYY-MM-DD, UTC).")],
    pair: Annotated[list[str] | None, typer.Option(help="Pair altname (repeatable; default every pair).")] = None,
    interval: Annotated[list[int] | None, typer.Option(
        help="Candle width in minutes (repeatable; default 60 and 1440).")] = None,
    seed: int = typer.Option(1, help="Seed of the account (the path runs through its fills)."),
    ledger_entries: int = typer.Option(2_000, help="Size of the generated history."),
    end_time: str = typer.Option("", help="End of the generated history (as for serve)."),
    history_days: int = typer.Option(730, help="Span of the generated history in days."),
) -> None:
    """Write Kraken-style OHLCVT files of the simulated market for a date range (same account as `serve`)."""
    from kraken_etl.simulator.config import SimConfig
    from kraken_etl.simulator.context import SimContext
    from kraken_etl.simulator.marketapi import ohlcvt_files, ohlcvt_zip

    start, stop = _end_time(since), _end_time(until)
    if start is None or stop is None or start >= stop:
        raise typer.BadParameter("--since must be a day before --until")
    changes: dict[str, object] = {}
    moment = _end_time(end_time)
    if moment is not None:
        changes["end_time"] = moment
    ctx = SimContext(SimConfig(seed=seed, ledger_entries=ledger_entries, history_days=history_days,
                               rate_limits=False).with_changes(**changes))
    query = {"since": str(int(start.timestamp())), "until": str(int(stop.timestamp())),
             "interval": ",".join(map(str, interval or [60, 1440])), "pair": ",".join(pair or [])}
    files = ohlcvt_files(ctx.market, query, ctx.now_ticks())
    if out.suffix.lower() == ".zip":
        out.write_bytes(ohlcvt_zip(files))
    else:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
    sys.stdout.write(f"{len(files)} files, {sum(t.count(chr(10)) for t in files.values())} rows -> {out}\n")
