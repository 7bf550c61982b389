"""Draw the benchmarks' JSON (bench/results/*.json) as the PNG plots docs/benchmarks.md shows.

    python bench/plots.py [--results bench/results] [--out docs/benchmarks]

throughput.json → throughput_sweep.png (rows/s by batch size, one line per concurrency, byom_sql
against the endpoint's capacity), rss.png (peak RSS by rows scored) and model_servers.png
(byom_sql against each server's capacity, JSON and binary tensors); wire_latency.json →
latency.png (the distribution of each path's single-row latency); load.json → load.png.
Needs matplotlib (pip install 'byom-sql[bench]').
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

HERE = Path(__file__).parent


def throughput_sweep(data: dict[str, Any], out: Path) -> Path | None:
    points = data.get("sweep") or []
    if not points:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for concurrency in sorted({p["max_concurrency"] for p in points}):
        mine = sorted(
            (p for p in points if p["max_concurrency"] == concurrency),
            key=lambda p: p["batch_size"],
        )
        batches = [p["batch_size"] for p in mine]
        ours = [p["byom_sql"] for p in mine]
        line = axis.plot(batches, ours, marker="o", label=f"byom_sql, {concurrency} in flight")
        axis.plot(
            batches,
            [p["capacity"] for p in mine],
            linestyle="--",
            color=line[0].get_color(),
            label=f"endpoint capacity, {concurrency} in flight",
        )
    title = f"JOIN scoring, {data['rows']:,} rows, fast model server, {data['cpus']} CPUs"
    _label(axis, "batch_size (rows per request)", "rows/s", title)
    return _save(figure, out / "throughput_sweep.png")


def rss(data: dict[str, Any], out: Path) -> Path | None:
    runs = sorted(data.get("rss") or [], key=lambda r: r["rows"])
    if not runs:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    rows = [r["rows"] for r in runs]
    axis.plot(rows, [r["rss_peak_mb"] for r in runs], marker="o", label="peak RSS")
    before = [r["rss_before_mb"] for r in runs]
    axis.plot(rows, before, marker=".", linestyle=":", label="with the table loaded")
    axis.axhline(1024, color="grey", linestyle="--", linewidth=1, label="1 GB target")
    rows_label = "rows scored (CREATE TABLE … AS SELECT … JOIN)"
    limit = runs[-1].get("memory_limit")
    title = "Memory while scoring into a table" + (f" (memory_limit {limit})" if limit else "")
    _label(axis, rows_label, "MB", title)
    return _save(figure, out / "rss.png")


def model_servers(data: dict[str, Any], out: Path) -> Path | None:
    found = {"fast": data.get("fast"), "MLflow": data.get("mlflow"), **(data.get("oip") or {})}
    runs = {name.replace("_", "\n"): rates for name, rates in found.items() if rates}
    if not data.get("oip"):
        return None
    figure, axis = plt.subplots(figsize=(8, 4))
    places = list(range(len(runs)))
    ours = [r["byom_sql"] / 1000 for r in runs.values()]
    theirs = [r["capacity"] / 1000 for r in runs.values()]
    axis.bar([p - 0.2 for p in places], ours, width=0.4, label="byom_sql JOIN")
    axis.bar([p + 0.2 for p in places], theirs, width=0.4, label="endpoint capacity")
    for place, (mine, capacity) in enumerate(zip(ours, theirs, strict=True)):
        axis.annotate(f"{mine / capacity:.2f}", (place - 0.2, mine), ha="center", va="bottom")
    axis.set_xticks(places, list(runs), fontsize=8)
    axis.set_ylabel("thousand rows/s")
    axis.set_title(f"JOIN scoring, {data['rows']:,} rows, batches of 10 000, 2 in flight")
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=7)
    return _save(figure, out / "model_servers.png")


def latency(data: dict[str, Any], out: Path) -> Path | None:
    samples: dict[str, list[float]] = data.get("samples_ms") or {}
    if not samples:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for name, values in samples.items():
        ordered = sorted(values)
        fraction = [(i + 1) / len(ordered) for i in range(len(ordered))]
        axis.plot(ordered, fraction, label=name)
    title = f"Single-row latency, {data['iterations']} interleaved calls per path"
    _label(axis, "one single-row WHERE prediction (ms)", "fraction at most this slow", title)
    return _save(figure, out / "latency.png")


def load(data: dict[str, Any], out: Path) -> Path | None:
    if "mixes" not in data:
        return None
    mixes = data["mixes"]
    figure, (rate, latency, memory) = plt.subplots(1, 3, figsize=(10, 3.5))
    names = list(mixes)
    rate.bar(names, [m["queries_per_second"] for m in mixes.values()])
    rate.set_ylabel("queries/s")
    rate.set_title(f"{data['clients']} clients")
    _grouped(latency, names, {p: [m[f"{p}_ms"] for m in mixes.values()] for p in ("p50", "p99")})
    latency.set_ylabel("ms")
    latency.set_title("latency")
    when = {w: [m[f"rss_{w}_mb"] for m in mixes.values()] for w in ("idle", "loaded", "after")}
    _grouped(memory, names, when)
    memory.set_ylabel("server RSS, MB")
    memory.set_title("memory: idle, loaded, 10 s after")
    return _save(figure, out / "load.png")


def _grouped(axis: Any, groups: list[str], bars: dict[str, list[float]]) -> None:
    """Bars side by side within each group, one colour per key of `bars`."""
    width = 0.8 / len(bars)
    for index, (name, values) in enumerate(bars.items()):
        places = [g + (index - (len(bars) - 1) / 2) * width for g in range(len(groups))]
        axis.bar(places, values, width, label=name)
    axis.set_xticks(range(len(groups)), groups)
    axis.legend(fontsize=7)


def _label(axis: Any, x: str, y: str, title: str) -> None:
    """A logarithmic x axis, labels, grid and legend: what every line plot here has."""
    axis.set_xscale("log")
    axis.set_xlabel(x)
    axis.set_ylabel(y)
    axis.set_title(title)
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7)


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", default=str(HERE / "results"))
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "benchmarks"))
    args = parser.parse_args()
    results, out = Path(args.results), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    drawn = []
    for name, draws in [
        ("throughput", (throughput_sweep, rss, model_servers)),
        ("wire_latency", (latency,)),
        ("load", (load,)),
    ]:
        path = results / f"{name}.json"
        if not path.exists():
            print(f"no {path}: run bench/{name}.py first")
            continue
        data = json.loads(path.read_text())
        drawn += [p for draw in draws if (p := draw(data, out)) is not None]
    for path in drawn:
        print(f"drew {path}")


if __name__ == "__main__":
    main()
