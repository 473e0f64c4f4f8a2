"""Run every benchmark in bench/ (each `bench_*.py` is a script writing JSON to bench/results/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    failures = 0
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print("no benchmarks found in bench/")
        return 1
    for script in scripts:
        print(f"== {script.name}", flush=True)
        status = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        failures += status != 0
    summary = {p.stem: json.loads(p.read_text()) for p in sorted(results.glob("*.json"))}
    (results / "summary.txt").write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary, indent=2, default=str))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
