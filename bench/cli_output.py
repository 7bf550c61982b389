"""Peak memory of `byom-sql -c` writing a large result to a pipe, per output format, against
the same command printing one row: the output streams, so the two should be close.

    python bench/cli_output.py [--rows 1000000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
QUERY = "SELECT range AS id, 'row ' || range AS label, range * 0.5 AS half FROM range({rows})"


def peak_mb(rows: int, fmt: str) -> float:
    """Peak RSS (MB) of one `byom-sql -c` run, its output thrown away."""
    command = [sys.executable, "-m", "byom_sql", "-c", QUERY.format(rows=rows), "--format", fmt]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"byom-sql failed with status {status}")
    return usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--json", default=str(HERE / "results" / "cli_output.json"))
    args = parser.parse_args()
    figures = {}
    for fmt in ("table", "csv", "json", "jsonl", "markdown"):
        one, many = peak_mb(1, fmt), peak_mb(args.rows, fmt)
        figures[fmt] = {"one_row_mb": round(one), "many_rows_mb": round(many)}
        print(f"{fmt:9} 1 row {one:6.0f} MB   {args.rows:,} rows {many:6.0f} MB   "
              f"ratio {many / one:.2f}")  # fmt: skip
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"rows": args.rows, **figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
