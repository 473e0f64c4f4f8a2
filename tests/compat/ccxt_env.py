"""A separate virtualenv for ccxt (it pins many common libraries: keep it out of the main environment).

`ensure_ccxt_python()` creates ``<repo>/.venv-compat`` once, with the pinned ccxt, and returns its
interpreter. It prefers uv (``.venv/bin/uv``, ``python -m uv``, ``uv`` on PATH, ``$KRAKEN_ETL_UV``) and
falls back to ``python -m venv`` + pip. Run it directly to prepare the venv ahead of a test run:
``python -m tests.compat.ccxt_env``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CCXT_PIN = "ccxt==4.5.90"
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-compat"
PYTHON = VENV / "bin" / "python"


def _has_ccxt(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import ccxt; print(ccxt.__version__)"],
                           capture_output=True, text=True, check=False)
    return probe.returncode == 0 and probe.stdout.strip() == CCXT_PIN.split("==")[1]


def _uv() -> list[str] | None:
    candidates: list[list[str]] = []
    if os.environ.get("KRAKEN_ETL_UV"):
        candidates.append([os.environ["KRAKEN_ETL_UV"]])
    local = ROOT / ".venv" / "bin" / "uv"
    if local.exists():
        candidates.append([str(local)])
    candidates.append([sys.executable, "-m", "uv"])
    on_path = shutil.which("uv")
    if on_path:
        candidates.append([on_path])
    for cmd in candidates:
        if subprocess.run([*cmd, "--version"], capture_output=True, check=False).returncode == 0:
            return cmd
    return None


def ensure_ccxt_python() -> Path:
    """The interpreter of a venv holding the pinned ccxt (created on first use).

    Raises:
        subprocess.CalledProcessError: when the venv or the install fails.
    """
    if _has_ccxt(PYTHON):
        return PYTHON
    uv = _uv()
    if uv is not None:
        subprocess.run([*uv, "venv", "--python", sys.executable, str(VENV)], check=True, capture_output=True)
        subprocess.run([*uv, "pip", "install", "--python", str(PYTHON), CCXT_PIN], check=True,
                       capture_output=True)
    else:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", CCXT_PIN], check=True,
                       capture_output=True)
    if not _has_ccxt(PYTHON):
        raise RuntimeError(f"{CCXT_PIN} not importable from {PYTHON}")
    return PYTHON


if __name__ == "__main__":
    print(ensure_ccxt_python())
