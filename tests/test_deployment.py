"""docker-compose.yml and prefect.yaml: valid, and every command they run also works outside Docker.

No Docker engine runs on our machines, so the compose file is checked against the Compose
Specification's JSON schema (vendored by check-jsonschema) and each of its commands is run here for real:
`kraken-etl …` commands, `prefect server start`, `prefect work-pool create` and `prefect deploy --all`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from jsonschema import Draft7Validator
from prefect import Flow

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
PREFECT_YAML = yaml.safe_load((REPO / "prefect.yaml").read_text())
BIN = Path(sys.executable).parent


def test_compose_matches_the_compose_specification() -> None:
    schema = get_builtin_schema("vendor.compose-spec")
    errors = sorted(Draft7Validator(schema).iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_compose_validation_catches_a_broken_file() -> None:
    broken = {"services": {"db": {"image": "postgres", "ports": "not-a-list", "bogus_key": 1}}}
    assert list(Draft7Validator(get_builtin_schema("vendor.compose-spec")).iter_errors(broken))


def _commands() -> dict[str, list[str]]:
    return {name: service["command"] for name, service in COMPOSE["services"].items() if "command" in service}


@pytest.mark.parametrize(
    ("service", "command"), [(n, c) for n, c in _commands().items() if c[0] == "kraken-etl"], ids=lambda x: str(x)
)
def test_compose_kraken_etl_commands_exist(service: str, command: list[str]) -> None:
    argv = [str(BIN / command[0]), *command[1:], "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{service}: {result.stderr}"


def test_compose_secrets_are_files_outside_the_repository() -> None:
    for name, secret in COMPOSE["secrets"].items():
        assert secret["file"].startswith("./secrets/"), name
    assert "secrets/" in (REPO / ".gitignore").read_text()


def test_worker_pool_matches_the_deployments() -> None:
    worker = COMPOSE["services"]["worker"]["command"]
    pool = worker[worker.index("--pool") + 1]
    assert {d["work_pool"]["name"] for d in PREFECT_YAML["deployments"]} == {pool}


@pytest.mark.parametrize("deployment", PREFECT_YAML["deployments"], ids=lambda d: d["name"])
def test_deployment_entrypoints_are_flows_taking_their_parameters(deployment: dict[str, Any]) -> None:
    path, name = deployment["entrypoint"].split(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    flow = getattr(module, name)
    assert isinstance(flow, Flow)
    accepted = set(inspect.signature(flow.fn).parameters)
    assert set(deployment.get("parameters") or {}) <= accepted


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The compose file's `prefect server start`, on loopback, with its own PREFECT_HOME."""
    port = _free_port()
    env = dict(os.environ, PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1", KRAKEN_ETL_PROJECT_DIR=str(REPO))
    command = _commands()["prefect-server"]
    command = [str(BIN / "prefect"), *command[1:]]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core CI box needs well over 90 s
        while True:
            assert server.poll() is None, "prefect server exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "prefect server did not become healthy in 240 s"
            time.sleep(0.5)  # polling a server's health until it is up, not dodging a race
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.e2e
def test_compose_prefect_commands_deploy_everything(prefect_server: dict[str, str]) -> None:
    def run(command: list[str]) -> str:
        result = subprocess.run(
            [str(BIN / "prefect"), *command[1:]], env=prefect_server, cwd=REPO, capture_output=True, text=True,
            timeout=240,
        )
        assert result.returncode == 0, f"{command}: {result.stdout[-2000:]} {result.stderr[-2000:]}"
        return result.stdout

    commands = _commands()
    run(commands["work-pool"])
    run(commands["deploy"])
    listed = run(["prefect", "deployment", "ls"])
    for deployment in PREFECT_YAML["deployments"]:
        assert deployment["name"] in listed
