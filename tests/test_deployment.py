"""docker-compose.yml and prefect.yaml: valid, and every command they run also works outside Docker.

No Docker engine runs on our machines, so the compose file is checked against the Compose
Specification's JSON schema (vendored by check-jsonschema) and each of its commands is run here for real:
`kraken-etl …` commands, `prefect server start`, `prefect work-pool create` and `prefect deploy --all`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import re
import shutil
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
from prefect.deployments.steps.core import run_steps
from prefect.utilities.templating import apply_values

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


# --- the worker's environment, the pull step, the recipe's secrets -------------------------------------------

DOCKERFILE = (REPO / "Dockerfile").read_text()
OPERATIONS = (REPO / "docs" / "operations.md").read_text()
# Who the processes of third-party images run as: the postgres image's entrypoint drops to `postgres` (999)
# for the server and runs any other command as root; Grafana's image runs as `grafana` (472).
IMAGE_UIDS = {"postgres": 999, "grafana/grafana-oss": 472}


def _dockerfile_env() -> dict[str, str]:
    """The ENV of the Dockerfile (continued lines joined), as every container of the image starts with."""
    joined = DOCKERFILE.replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in joined.splitlines():
        if line.startswith("ENV "):
            env.update(pair.split("=", 1) for pair in line[4:].split())  # type: ignore[misc]
    return env


def _dockerfile_workdir() -> str:
    return re.findall(r"^WORKDIR (\S+)$", DOCKERFILE, re.MULTILINE)[-1]


def _image_uid() -> int:
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)[-1]
    return int(re.search(rf"useradd [^&]*--uid (\d+) {user}\b", DOCKERFILE)[1])  # type: ignore[index]


def _worker_env() -> dict[str, str]:
    """The worker container's environment: the image's ENV overlaid by the compose service's."""
    return {**_dockerfile_env(), **{k: str(v) for k, v in COMPOSE["services"]["worker"]["environment"].items()}}


def _image_copies() -> list[tuple[list[str], str]]:
    """The Dockerfile's COPY lines as (sources, target)."""
    return [(line.split()[1:-1], line.split()[-1]) for line in DOCKERFILE.splitlines() if line.startswith("COPY ")]


def test_the_pull_step_renders_to_the_project_in_the_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect renders `{{ $NAME }}` from the process environment: the worker's, as the image and compose
    give it (nothing inherited from the machine running the tests)."""
    monkeypatch.delenv("KRAKEN_ETL_PROJECT_DIR", raising=False)
    for name, value in _worker_env().items():
        monkeypatch.setenv(name, value)
    rendered = apply_values(PREFECT_YAML["pull"], {})
    directory = rendered[0]["prefect.deployments.steps.set_working_directory"]["directory"]
    assert directory == _dockerfile_workdir()
    copied = {source for sources, _ in _image_copies() for source in sources}
    for deployment in PREFECT_YAML["deployments"]:  # the image copies every entrypoint into that directory
        assert deployment["entrypoint"].split("/")[0] in copied, deployment["name"]


def test_the_rendered_pull_step_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Prefect's own step runner, with the worker's environment re-rooted under a temporary directory that
    holds what the image copies into its WORKDIR: the flow run lands in the project and finds every
    entrypoint."""
    env = _worker_env()
    project = tmp_path / env["KRAKEN_ETL_PROJECT_DIR"].lstrip("/")
    for sources, target in _image_copies():
        for source in sources:
            destination = project / (source if target.endswith("/") else target)
            if (REPO / source).is_dir():
                shutil.copytree(REPO / source, destination, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(REPO / source, destination)
    for name, value in env.items():
        monkeypatch.setenv(name, str(tmp_path / value.lstrip("/")) if name == "KRAKEN_ETL_PROJECT_DIR" else value)
    monkeypatch.chdir(tmp_path)  # the step changes the process's directory; restored afterwards
    asyncio.run(run_steps(PREFECT_YAML["pull"], print_function=lambda *a, **k: None))
    assert Path.cwd() == project
    for deployment in PREFECT_YAML["deployments"]:
        assert Path(deployment["entrypoint"].split(":")[0]).is_file(), deployment["name"]


def _recipe() -> str:
    """The shell block of docs/operations.md's "Deploying with compose"."""
    section = OPERATIONS.split("## Deploying with compose", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL)[1]  # type: ignore[index]


def test_the_recipe_creates_every_secret_file_private() -> None:
    recipe = _recipe()
    lines = recipe.splitlines()
    private = next((i for i, line in enumerate(lines) if line.split("#")[0].split() == ["umask", "077"]), None)
    for name, secret in COMPOSE["secrets"].items():
        path = secret["file"].removeprefix("./")
        written = [i for i, line in enumerate(lines) if re.search(rf"> {re.escape(path)}$", line)]
        assert written, f"the recipe does not create {path} ({name})"
        assert private is not None and private < written[0], f"{path} is not created 0600"


def test_the_recipe_sets_every_variable_the_compose_file_requires() -> None:
    required = set(re.findall(r"\$\{(\w+):?\?", (REPO / "docker-compose.yml").read_text()))
    assert required  # PREFECT_DB_PASSWORD
    up = next(line for line in _recipe().splitlines() if "docker compose up" in line)
    assert required <= set(re.findall(r"(\w+)=", up))


def _reader_uid(service: dict[str, Any]) -> int:
    if service.get("build"):
        return _image_uid()
    image = service["image"].split(":")[0]
    if image == "postgres" and "command" in service:
        return 0  # the entrypoint runs a command other than the server as root
    return IMAGE_UIDS[image]


def test_each_secret_is_owned_by_the_uid_that_reads_it() -> None:
    """Compose bind-mounts a file secret with its host owner and mode: a 0600 file must belong to its reader."""
    chowned = {path: int(uid) for uid, paths in re.findall(r"chown (\d+) ((?:secrets/\S+ ?)+)", _recipe())
               for path in paths.split()}
    for name, secret in COMPOSE["secrets"].items():
        readers = {_reader_uid(s) for s in COMPOSE["services"].values() if name in s.get("secrets", [])} - {0}
        assert len(readers) <= 1, f"{name} is read by several uids: {readers}"
        if readers:
            assert chowned.get(secret["file"].removeprefix("./")) == readers.pop(), name


def test_prefect_has_its_own_database_which_a_one_shot_service_creates() -> None:
    server = COMPOSE["services"]["prefect-server"]
    database = server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].rsplit("/", 1)[1]
    assert database != COMPOSE["services"]["postgres"]["environment"]["POSTGRES_DB"]
    creators = [name for name, service in COMPOSE["services"].items()
                if any(f"CREATE DATABASE {database} " in (REPO / v.split(":")[0]).read_text()
                       for v in service.get("volumes", []) if v.startswith("./") and v.split(":")[0].endswith(".sql"))]
    assert creators and all(server["depends_on"][c]["condition"] == "service_completed_successfully"
                            for c in creators)


def test_only_the_nightly_deployment_is_scheduled_and_backfill_dates_are_asked_for() -> None:
    scheduled = [d["name"] for d in PREFECT_YAML["deployments"] if d.get("schedules")]
    assert scheduled == ["nightly"]  # it reconciles too: a second scheduled reconcile would do it twice
    backfill = next(d for d in PREFECT_YAML["deployments"] if d["name"] == "backfill")
    assert not {"date_from", "date_to"} & set(backfill.get("parameters") or {})
    from flows.backfill import backfill_flow

    signature = inspect.signature(backfill_flow.fn).parameters
    assert all(signature[p].default is inspect.Parameter.empty for p in ("date_from", "date_to"))
