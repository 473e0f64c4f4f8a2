"""Benchmark: the WebSocket listener's sustained ingest and message-to-commit latency (not a test).

Set-up: the simulator serves REST (GetWebSocketsToken, gap fills) in a child process; a second child is a
minimal v2 private endpoint that acknowledges the subscriptions and then streams balances and executions
updates (one item per message, as Kraken sends them; unique ledger ids and order events, a third of the
executions without exec_id, numbers partly in exponent form) at `--rate` messages/s for `--seconds`,
each stamped with its send time. The listener runs in this process against a fresh database (the embedded
test cluster or TEST_DATABASE_URL) with its default batching.

Reported: messages/s committed over the steady part of the run, p50/p95/p99/max latency from the
message's send stamp to its commit, the listener process's CPU (user+sys seconds per wall second, over
the whole run and over the steady part, and per message committed in the steady part), the whole
machine's CPU and load average (other work on the machine competes for the same cores), and that every
message was stored exactly once. Targets: >= 5,000 msg/s
sustained, p99 <= 100 ms. Writes bench/results/listen.json.

With ``--floor`` a receive-only client (the WebSocket library and nothing else) first reads the same
emitter for the same time: the ceiling the machine, as loaded at that moment, allows; the report
carries it next to the listener's figures.

    .venv/bin/python bench/bench_listen.py [--rate 6000] [--seconds 20] [--floor]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results" / "listen.json"


# -- the emitter (child process) ------------------------------------------------------------------------

def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _messages(n: int, now: float, seq: dict[str, int], rng: random.Random) -> list[str]:
    out = []
    ts = _stamp(now)
    for _ in range(n):
        k = seq["n"] = seq["n"] + 1
        if k % 2:
            seq["balances"] += 1
            amount = f"{rng.randint(1, 99999)}e-{rng.choice((2, 5, 8))}"
            out.append(f'{{"channel":"balances","type":"update","sequence":{seq["balances"]},"data":[{{'
                       f'"ledger_id":"L{k:06d}-BENCH-{k % 999983:06d}","ref_id":"T{k:06d}-BENCH-R",'
                       f'"timestamp":"{ts}","type":"trade","asset":"BTC","asset_class":"currency",'
                       f'"category":"trade","wallet_type":"spot","wallet_id":"main","amount":{amount},'
                       f'"fee":0.00012,"balance":1234.56789}}]}}')
        else:
            seq["executions"] += 1
            if k % 3:
                item = (f'"exec_id":"T{k:06d}-BENCH-X","exec_type":"trade","trade_id":{k},"symbol":"BTC/USD",'
                        f'"side":"buy","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,'
                        f'"order_status":"partially_filled","fees":[{{"asset":"USD","qty":3.458e-01}}]')
            else:
                item = '"exec_type":"canceled","order_status":"canceled","cum_qty":0'
            out.append(f'{{"channel":"executions","type":"update","sequence":{seq["executions"]},"data":[{{'
                       f'"order_id":"O{k:06d}-BENCH-ORDER","order_userref":0,{item},"timestamp":"{ts}"}}]}}')
    return out


def emit(port: int, rate: float, seconds: float, count_file: str) -> None:
    from websockets.asyncio.server import serve

    async def handler(ws: Any) -> None:
        await ws.send('{"channel":"status","type":"update","data":[{"api_version":"v2","system":"online"}]}')
        subscribed = 0
        while subscribed < 2:
            msg = json.loads(await ws.recv())
            if msg.get("method") == "subscribe":
                subscribed += 1
                channel = msg["params"]["channel"]
                await ws.send(json.dumps({"method": "subscribe", "result": {"channel": channel}, "success": True,
                                          "req_id": msg.get("req_id")}))
        seq = {"n": 0, "balances": 1, "executions": 1}
        await ws.send('{"channel":"balances","type":"snapshot","sequence":1,"data":[]}')
        await ws.send('{"channel":"executions","type":"snapshot","sequence":1,"data":[]}')
        rng = random.Random(7)
        started = time.time()
        sent = 0
        while (now := time.time()) - started < seconds:
            due = int((now - started) * rate) - sent
            for text in _messages(due, now, seq, rng):
                await ws.send(text)
            sent += max(0, due)
            await asyncio.sleep(0.001)
        Path(count_file).write_text(str(sent))
        while True:  # heartbeats until the listener goes away
            await ws.send('{"channel":"heartbeat"}')
            await asyncio.sleep(0.5)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
            print("ready", flush=True)
            await asyncio.Future()

    asyncio.run(main())


# -- the measurement ------------------------------------------------------------------------------------

def _cpu_total() -> tuple[float, float]:
    with open("/proc/stat") as f:
        parts = [float(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return sum(parts) - idle, sum(parts)


def _start(args: list[str], ready: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, *args], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if ready not in line:
        raise SystemExit(f"child did not start: {line!r}")
    return proc, line


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def floor(rate: float, seconds: float) -> dict[str, Any]:
    """The same emitter, read by a client that only receives (the WebSocket library, nothing else): what
    this machine, loaded as it is now, allows any listener written on that library."""
    from kraken_etl.kraken.ws import WsConnection, WsToken

    port = _free_port()
    count_file = RESULTS.parent / "listen-floor-sent.txt"
    count_file.unlink(missing_ok=True)
    emitter, _ = _start([__file__, "--emit", str(port), str(rate), str(seconds), str(count_file)], "ready")
    lags: list[float] = []
    try:
        conn = WsConnection(f"ws://127.0.0.1:{port}/v2")
        conn.subscribe_private(WsToken("floor", time.time() + 900))
        received, started, cpu0 = 0, None, 0.0
        deadline = time.time() + seconds + 60
        while time.time() < deadline:
            text = conn.recv(1.0)
            if text is None or '"heartbeat"' in text:
                if count_file.exists() and received >= int(count_file.read_text()):
                    break
                continue
            at = text.find('"timestamp":"')
            if at < 0:
                continue
            if started is None:
                started, cpu0 = time.time(), time.process_time()
            received += 1
            stamp = datetime.fromisoformat(text[at + 13:at + 40])
            lags.append(time.time() - stamp.timestamp())
        wall, cpu = time.time() - (started or time.time()), time.process_time() - cpu0
        conn.close()
    finally:
        emitter.terminate()
        emitter.wait(10)
        count_file.unlink(missing_ok=True)
    ordered = sorted(lags) or [0.0]
    return {"messages": received, "msgs_per_s": round(received / max(1e-9, wall)),
            "cpu_us_per_msg": round(cpu / max(1, received) * 1e6, 1),
            "receive_lag_ms": {"p50": round(ordered[len(ordered) // 2] * 1000, 2),
                               "p99": round(ordered[int(len(ordered) * 0.99)] * 1000, 2)}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=6000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--emit", nargs=4)
    parser.add_argument("--floor", action="store_true", help="first measure a receive-only client (the floor)")
    args = parser.parse_args()
    if args.emit:
        emit(int(args.emit[0]), float(args.emit[1]), float(args.emit[2]), args.emit[3])
        return
    warnings.filterwarnings("ignore")
    from pydantic import SecretStr
    from sqlalchemy import text

    from kraken_etl.core.callcounter import TIERS
    from kraken_etl.core.clock import SystemClock
    from kraken_etl.db.engine import make_engine
    from kraken_etl.kraken.client import KrakenClient
    from kraken_etl.kraken.nonce import MemoryNonceSource
    from kraken_etl.kraken.ratelimit import SharedCounter
    from kraken_etl.listen.config import ListenerConfig
    from kraken_etl.listen.loop import Listener
    from tests import dbharness

    floor_report = floor(args.rate, args.seconds) if args.floor else None
    sim, line = _start(["-m", "kraken_etl", "simulator", "serve", "--port", "0", "--ledger-entries", "200"],
                       "rest_url")
    conn_line = json.loads(line)
    port = _free_port()
    count_file = RESULTS.parent / "listen-sent.txt"
    count_file.unlink(missing_ok=True)
    emitter, _ = _start([__file__, "--emit", str(port), str(args.rate), str(args.seconds), str(count_file)], "ready")
    admin = dbharness.admin_libpq_url()
    template = dbharness.create_template(admin)
    latencies: list[float] = []
    commits: list[tuple[float, int]] = []
    cpu_at: list[float] = []  # the process's CPU seconds at each commit (the steady-state CPU per message)

    def on_commit(received: list[float], events: list[datetime], committed: float) -> None:
        latencies.extend(committed - e.timestamp() for e in events)
        commits.append((committed, len(received)))
        cpu_at.append(time.process_time())

    try:
        with dbharness.database_copy(admin, template) as url:
            engine = make_engine(url, pool_size=4)
            clock = SystemClock()
            tier = TIERS["pro"]
            client = KrakenClient(conn_line["rest_url"], api_key=SecretStr(conn_line["api_key"]),
                                  api_secret=SecretStr(conn_line["api_secret"]), tier=tier, clock=clock,
                                  nonce=MemoryNonceSource(clock), counter=SharedCounter(tier))
            stop = threading.Event()
            listener = Listener(account="bench", ws_url=f"ws://127.0.0.1:{port}/v2", client=client, engine=engine,
                                clock=clock, stop=stop, config=ListenerConfig(), on_commit=on_commit)
            thread = threading.Thread(target=listener.run, daemon=True)
            cpu0, wall0, machine0 = time.process_time(), time.time(), _cpu_total()
            thread.start()
            deadline = time.time() + args.seconds + 60
            while not count_file.exists() and time.time() < deadline:
                time.sleep(0.2)
            expected = int(count_file.read_text()) if count_file.exists() else -1
            while listener.stats.messages < expected + 2 and time.time() < deadline:  # + the two snapshots
                time.sleep(0.05)
            cpu1, wall1, machine1 = time.process_time(), time.time(), _cpu_total()
            stop.set()
            thread.join(60)
            with engine.connect() as c:
                stored = c.execute(text("SELECT (SELECT count(*) FROM kraken.ws_balance_update) + "
                                        "(SELECT count(*) FROM kraken.ws_execution)")).scalar_one()
            engine.dispose()
            client.close()
    finally:
        for proc in (emitter, sim):
            proc.terminate()
            proc.wait(10)
        dbharness.drop_database(admin, template)

    data_commits = [(t, n) for t, n in commits]
    first, last = data_commits[0][0], data_commits[-1][0]
    inside = [i for i, (t, _) in enumerate(data_commits) if first + 1 <= t <= last - 1]
    steady = [data_commits[i] for i in inside]
    steady_rate = sum(n for _, n in steady[1:]) / max(1e-9, steady[-1][0] - steady[0][0]) if len(steady) > 2 else 0.0
    # CPU between the first and the last steady commit, per message committed and per wall second
    steady_cpu = cpu_at[inside[-1]] - cpu_at[inside[0]] if len(inside) > 2 else 0.0
    steady_msgs = sum(n for _, n in steady[1:])
    steady_wall = steady[-1][0] - steady[0][0] if len(steady) > 2 else 0.0
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 2)

    busy = (machine1[0] - machine0[0]) / max(1e-9, machine1[1] - machine0[1])
    report = {
        "benchmark": "listen", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(), "offered_rate": args.rate, "seconds": args.seconds,
        "messages_sent": expected, "messages_committed": listener.stats.messages - 2, "rows_stored": stored,
        "exactly_once": stored == expected and listener.stats.quarantined == 0,
        "sustained_msgs_per_s": round(steady_rate), "batches": listener.stats.batches,
        "latency_ms": {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99), "max": round(ordered[-1] * 1000, 2)},
        "listener_cpu_per_wall_s": round((cpu1 - cpu0) / (wall1 - wall0), 2),
        "listener_cpu_steady_per_wall_s": round(steady_cpu / max(1e-9, steady_wall), 2),
        "listener_cpu_us_per_msg": round(steady_cpu / max(1, steady_msgs) * 1e6, 1),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "machine_cpu_busy_fraction": round(busy, 2),
        "targets": {"msgs_per_s": 5000, "p99_ms": 100},
    }
    if floor_report is not None:
        report["floor_receive_only"] = floor_report
    report["meets_targets"] = report["sustained_msgs_per_s"] >= 5000 and report["latency_ms"]["p99"] <= 100
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
