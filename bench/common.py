"""What the benchmarks share: the venv's commands on PATH, and results written as JSON for
bench/plots.py (bench/results/<name>.json)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def venv_on_path() -> None:
    """The interpreter's own bin folder first on PATH, so `mlflow` and the like are found
    when the benchmark runs as .venv/bin/python without the venv activated."""
    folder = str(Path(sys.executable).parent)
    if folder not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([folder, os.environ.get("PATH", "")])


def write_results(name: str, data: dict[str, Any], path: str | None = None) -> Path:
    target = Path(path) if path else RESULTS / f"{name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    stamped = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), **data}
    target.write_text(json.dumps(stamped, indent=1))
    print(f"results: {target}")
    return target
