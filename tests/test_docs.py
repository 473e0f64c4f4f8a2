"""The docs stay true: the CLI reference is the app's own help, every figure's result file is committed, and no
text in the repository points a reader at a document the repository does not hold."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CLI_REFERENCE = REPO / "docs" / "cli.md"
DOCS = sorted([*(REPO / "docs").glob("*.md"), REPO / "README.md"])


def generated_cli_reference() -> str:
    """What `make docs` writes to docs/cli.md: Typer's own Markdown of the assembled app."""
    done = subprocess.run(
        [sys.executable, "-m", "typer", "kraken_etl.cli.main", "utils", "docs", "--name", "kraken-etl",
         "--title", "kraken-etl command reference"],
        cwd=REPO, capture_output=True, text=True, check=True, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"},
    )
    return done.stdout


def test_the_cli_reference_is_generated_from_the_app() -> None:
    assert CLI_REFERENCE.read_text().rstrip("\n") == generated_cli_reference().rstrip("\n"), (
        "docs/cli.md differs from the app's help: run `make docs` and commit the result")


def committed_files() -> set[str]:
    done = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return set(done.stdout.splitlines())


def test_every_result_file_a_doc_cites_is_committed() -> None:
    committed = committed_files()
    cited = {(doc.name, m) for doc in DOCS for m in re.findall(r"bench/results/[\w.-]+\.json", doc.read_text())}
    assert cited, "the docs cite no result file at all: the pattern no longer matches how they cite"
    missing = sorted((doc, path) for doc, path in cited if path not in committed)
    assert missing == [], f"docs cite result files that are not committed: {missing}"


# Documents a reader of the repository does not have: the team's shared design notes and reference, and the
# issue tracker.
FOREIGN = re.compile(r"§\s*\d|\bAppendix [A-Z]\b|kraken-api\.md|ARCHITECTURE\.md|stack-notes|shared/design|"
                     r"shared/reference|\b[Ii]ssue\s+#?\d+|\bthe lead\b")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".j2", ".sql", ".json", ".ini", ".cfg", ".txt", ""}


def test_no_text_cites_a_document_outside_the_repository() -> None:
    offenders = []
    for name in sorted(committed_files()):
        path = REPO / name
        if path.suffix not in TEXT_SUFFIXES or not path.is_file() or name == "uv.lock" or name.startswith(
                "bench/results/") or name == "tests/test_docs.py":
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if FOREIGN.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:100]}")
    assert offenders == [], "\n".join(offenders)


# How the reconciliation's modules name a finding's kind: `kind="…"`, a `_finding("…"` helper (positions,
# ws_vs_rest), a verdict returned as a string (trade_ledger and its margin legs), or on its own line as the
# first argument of a `_finding(` call that wraps.
_KIND_PATTERNS = (r'kind="([a-z_]+)"', r'_finding\(\s*"([a-z_]+)"', r'return "([a-z]+_[a-z_]+)"',
                  r'\("([a-z]+_[a-z_]+)" if listed')


def test_every_finding_kind_has_a_runbook_line() -> None:
    sources = "\n".join(p.read_text() for p in sorted((REPO / "kraken_etl" / "recon").glob("*.py")))
    kinds = {k for pattern in _KIND_PATTERNS for k in re.findall(pattern, sources)}
    assert {"chain_break", "position_missing", "margin_leg_mismatch", "ws_rest_amount_mismatch", "no_legs",
            "value_mismatch", "hidden_characters_asset"} <= kinds  # the patterns still see every form
    runbook = (REPO / "docs" / "reconciliation.md").read_text()
    runbook = runbook[runbook.index("## The checks (runbook)"):runbook.index("## Incremental runs")]
    lines = [line for line in runbook.splitlines() if line.lstrip().startswith("- `")]
    missing = sorted(k for k in kinds if not any(f"`{k}`" in line for line in lines))
    assert missing == [], f"finding kinds without a runbook line in docs/reconciliation.md: {missing}"
