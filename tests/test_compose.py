"""docker-compose.yml and the Dockerfiles, checked without Docker (no engine here): the Compose
specification's JSON schema (as vendored by the check-jsonschema package), and checks of our own
that keep the files true to the code they run — paths, ports, commands and the install command.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests import stacks

ROOT = stacks.ROOT
COMPOSE = ROOT / "docker-compose.yml"


@dataclass
class Dockerfile:
    """The instructions of a Dockerfile that the checks need."""

    path: Path
    workdir: str = "/"
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # (sources, destination)
    runs: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Dockerfile:
        parsed = cls(path)
        text = re.sub(r"\\\n", " ", path.read_text())  # continuation lines
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            instruction, _, argument = line.strip().partition(" ")
            instruction, argument = instruction.upper(), argument.strip()
            if instruction == "WORKDIR":
                parsed.workdir = argument
            elif instruction == "COPY":
                *sources, destination = shlex.split(argument)
                parsed.copies.append((sources, destination))
            elif instruction == "RUN":
                parsed.runs.append(argument)
            elif instruction == "CMD":
                parsed.cmd = json.loads(argument)
        return parsed


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, Any]:
    return compose()["services"]


def dockerfile_of(service: str) -> Dockerfile:
    build = services()[service]["build"]
    return Dockerfile.read(ROOT / build["context"] / build["dockerfile"])


def schema_errors(document: dict[str, Any]) -> list[str]:
    text = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(text.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(compose()) == []


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d["services"]["postgres"].update(helthcheck={}),
        lambda d: d["services"]["byom-sql"]["depends_on"]["postgres"].update(condition="healthy"),
        lambda d: d["services"]["mlflow"]["healthcheck"].update(test={"CMD": "true"}),
        lambda d: d.update(service={}),
    ],
)
def test_the_schema_check_catches_mistakes(break_it: Any) -> None:
    document = copy.deepcopy(compose())
    break_it(document)
    assert schema_errors(document) != []


def test_the_four_services_with_healthchecks_and_conditions() -> None:
    found = services()
    assert set(found) == {"byom-sql", "postgres", "ray-serve", "mlflow"}
    for name, service in found.items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in found
            assert how == {"condition": "service_healthy"}, f"{name} → {dependency}"
    assert set(found["byom-sql"]["depends_on"]) == {"postgres", "ray-serve", "mlflow"}


def test_every_path_the_files_name_exists() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for name, service in services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}"
        if "build" not in service:
            continue
        context = ROOT / service["build"]["context"]
        dockerfile = dockerfile_of(name)
        for sources, _ in dockerfile.copies:
            for source in sources:
                assert (context / source).exists(), f"{dockerfile.path} copies {source}"
                assert not any(fnmatch.fnmatch(source, p) for p in ignored), source


def test_the_image_installs_byom_sql_as_the_readme_does() -> None:
    """The same command as the README's quick start; the image adds the PostgreSQL extra."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme[readme.index("## Quick start") :]
    command = re.search(r"python3 -m venv \.venv && \.venv/bin/pip install -q (\S+)", quick_start)
    assert command, "the README's quick start has no install command"
    [run] = [r for r in dockerfile_of("byom-sql").runs if "pip install" in r]
    prefix = command.group(0)[: -len(command.group(1))]
    assert run.startswith(prefix)
    target = run[len(prefix) :]
    assert target == command.group(1) or re.fullmatch(r"'\.\[[a-z,]+\]'", target), target


def test_the_byom_sql_image_serves_what_compose_publishes() -> None:
    dockerfile = dockerfile_of("byom-sql")
    service = services()["byom-sql"]
    command = dockerfile.cmd
    assert command[:2] == ["byom-sql", "serve"]
    port = command[command.index("--port") + 1]
    assert service["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert f"('127.0.0.1', {port})" in service["healthcheck"]["test"][-1]
    database = command[command.index("--database") + 1]
    assert any(v.endswith(":" + str(Path(database).parent)) for v in service["volumes"])
    password = command[command.index("--password-env") + 1]
    assert password in service["environment"]
    done = subprocess.run(  # the options exist (once `byom-sql serve` is there)
        [sys.executable, "-m", "byom_sql", "serve", "--help"], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip("`byom-sql serve` is not there yet (the Postgres-wire server's branch)")
    for option in (o for o in command[2:] if o.startswith("--")):
        assert option in done.stdout, option


def _help(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_ray_serve_image_runs_the_example_app() -> None:
    stacks.require_modules("ray", "sklearn", "fastapi")
    dockerfile = dockerfile_of("ray-serve")
    command = dockerfile.cmd
    assert command[:2] == ["python", "app.py"]
    assert (["examples/ray_serve/app.py"], "./") in dockerfile.copies
    assert (["examples/ray_serve/requirements.txt"], "./") in dockerfile.copies
    app_help = _help([sys.executable, "examples/ray_serve/app.py", "--help"])
    for option in (o for o in command[2:] if o.startswith("--")):
        assert option in app_help, option
    port = command[command.index("--port") + 1]
    health = services()["ray-serve"]["healthcheck"]["test"][-1]
    assert f"http://127.0.0.1:{port}/my_model/health" in health


def test_the_mlflow_image_serves_the_trained_example() -> None:
    stacks.require_modules("mlflow")
    dockerfile = dockerfile_of("mlflow")
    assert dockerfile.runs[-1] == "python mlflow/train.py --output /app/model"
    assert (["examples/mlflow/train.py"], "./mlflow/") in dockerfile.copies
    # train.py reads ../data/home_rentals.csv beside its own directory
    assert (["examples/data/home_rentals.csv"], "./data/") in dockerfile.copies
    command = dockerfile.cmd
    assert command[:3] == ["mlflow", "models", "serve"]
    assert command[command.index("-m") + 1] == "/app/model"
    assert command[command.index("--env-manager") + 1] == "local"
    serve_help = _help([str(Path(sys.executable).with_name("mlflow")), "models", "serve", "--help"])
    for option in (o for o in command[3:] if o.startswith("-")):
        assert re.search(rf"(^|\s|,){re.escape(option)}[\s,]", serve_help), option
    port = command[command.index("-p") + 1]
    health = services()["mlflow"]["healthcheck"]["test"][-1]
    assert f"http://127.0.0.1:{port}/ping" in health


def test_postgres_is_loaded_by_the_script_the_tests_run() -> None:
    service = services()["postgres"]
    assert service["environment"]["POSTGRES_DB"] == "test"
    script = stacks.EXAMPLES / "postgres" / "home_rentals.sh"
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in service["volumes"])
    assert mounts["./examples/postgres/home_rentals.sh"].startswith("/docker-entrypoint-initdb.d/")
    default_csv = re.search(r"\$\{HOME_RENTALS_CSV:-([^}]+)\}", script.read_text())
    assert default_csv and mounts["./examples/data/home_rentals.csv"] == default_csv.group(1)


def _statements(path: Path) -> list[str]:
    """The SQL without comments, one string per statement."""
    text = "\n".join(line for line in path.read_text().splitlines() if not line.startswith("--"))
    return [" ".join(s.split()) for s in text.split(";") if s.strip()]


def test_the_compose_walkthrough_is_the_walkthrough_with_service_names() -> None:
    found = services()
    compose_sql = _statements(stacks.EXAMPLES / "compose" / "walkthrough.sql")
    local_sql = _statements(stacks.EXAMPLES / "walkthrough.sql")
    renamed = [
        s.replace('"host": "127.0.0.1"', '"host": "postgres"').replace(
            "127.0.0.1:8000", "ray-serve:8000"
        )
        for s in local_sql
    ]
    assert compose_sql[: len(renamed)] == renamed
    assert "http://mlflow:5000/invocations" in compose_sql[len(renamed)]
    assert {"postgres", "ray-serve", "mlflow"} <= set(found)
