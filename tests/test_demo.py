"""`byom-sql demo`, its data generator, its model and its model server."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from byom_sql.cli import demo as command
from byom_sql.demo import home_rentals
from byom_sql.demo.model import LogisticRegression
from byom_sql.demo.server import ModelServer

ROOT = Path(__file__).resolve().parents[1]


def test_the_csv_in_examples_is_the_generators_output() -> None:
    written = (ROOT / "examples" / "data" / "home_rentals.csv").read_text(encoding="utf-8")
    assert written == home_rentals.csv_text(home_rentals.generate())


def test_generated_rows_have_mindsdbs_columns_and_are_reproducible() -> None:
    table = home_rentals.generate()
    assert (
        tuple(table.column_names)
        == home_rentals.COLUMNS
        == (
            "number_of_rooms",
            "number_of_bathrooms",
            "sqft",
            "location",
            "days_on_market",
            "initial_price",
            "neighborhood",
            "rental_price",
        )
    )
    assert table.num_rows == home_rentals.ROWS
    assert table.equals(home_rentals.generate())
    assert not table.equals(home_rentals.generate(seed=home_rentals.SEED + 1))
    assert set(table["number_of_rooms"].to_pylist()) == {0, 1, 2, 3}
    assert set(table["location"].to_pylist()) == {"great", "good", "poor"}
    assert all(v > 0 for v in table["rental_price"].to_pylist())
    assert all(column.null_count == 0 for column in table.columns)


def test_the_model_learns_rooms_from_prices() -> None:
    table = home_rentals.generate()
    x = np.column_stack(
        [table["initial_price"].to_numpy(), table["rental_price"].to_numpy()]
    ).astype(float)
    y = table["number_of_rooms"].to_pylist()
    labels, confidence = LogisticRegression.fit(x, y).predict(x)
    accuracy = np.mean(np.array(labels) == np.array(y))
    baseline = max(Counter(y).values()) / len(y)
    assert accuracy > baseline + 0.2
    assert all(1 / 4 <= c <= 1 for c in confidence)
    assert set(labels) <= {0, 1, 2, 3}


def test_model_server_speaks_the_ray_serve_contract() -> None:
    rows = [
        {"a": float(i), "b": float(i % 3), "label": "big" if i > 5 else "small"} for i in range(12)
    ]
    columns = {k: {str(i): row[k] for i, row in enumerate(rows)} for k in ("a", "b")}
    with ModelServer() as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        assert client.get("/health").json() == {"status": "ok", "trained": False}
        early = client.post("/predict", json={"df": json.dumps(rows)})
        assert early.status_code == 400 and "not trained" in early.json()["error"]
        trained = client.post("/train", json={"df": json.dumps(rows), "target": "label"})
        assert trained.json() == {"status": "ok"}
        # records, or columns as pandas' to_dict() writes them (MindsDB sent both)
        for frame in (json.dumps(rows), json.dumps(columns)):
            reply = client.post("/predict", json={"df": frame}).json()
            assert reply["prediction"] == [r["label"] for r in rows]
            assert len(reply["confidence"]) == len(rows)
        assert client.get("/health").json()["trained"] is True


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/train", {"df": "[]", "target": "label"}, 400, "no column 'label'"),
        ("/train", {"df": '[{"a": "x", "label": 1}]', "target": "label"}, 400, "numeric"),
        ("/train", {"df": '[{"a": 1}]'}, 400, "'target'"),
        ("/predict", {"df": "not json"}, 400, "not valid JSON"),
        ("/predict", {"rows": []}, 400, "'df'"),
        ("/predict", {"df": '[{"b": 1}]'}, 400, "lack feature column(s) a"),
        ("/nowhere", {}, 404, "no such route"),
    ],
)
def test_model_server_explains_bad_requests(
    path: str, body: dict[str, object], status: int, message: str
) -> None:
    with ModelServer() as server, httpx.Client(base_url=server.url, trust_env=False) as client:
        client.post(
            "/train", json={"df": '[{"a": 1, "label": 0}, {"a": 2, "label": 1}]', "target": "label"}
        )
        reply = client.post(path, json=body)
        assert reply.status_code == status
        assert message in reply.json()["error"]
        assert client.get("/health").status_code == 200  # still serving


def test_demo_runs_the_walkthrough_and_stops_its_server() -> None:
    out = io.StringIO()
    assert command.run(out) == 0
    text = out.getvalue()
    url = re.search(r"running at (http://127\.0\.0\.1:\d+/my_model)", text)
    assert url, text
    position = 0
    for _, sql in command.walkthrough(url.group(1)):  # every statement, in order, printed
        found = text.find(sql + ";\n", position)
        assert found >= 0, sql
        position = found
    assert "CREATE PREDICTOR\n" in text
    where = _result_after(text, "FROM byom WHERE initial_price = 3000 AND rental_price = 3000;")
    assert re.search(r"^ +2 \| +0\.\d+ \| +3000 \| +3000$", where, re.M), where
    join = _result_after(text, "WHERE t.rental_price > 5300;")
    assert join.rstrip().endswith("(7 rows)"), join
    grouped = _result_after(text, "GROUP BY actual ORDER BY actual;")
    assert grouped.rstrip().endswith("(4 rows)"), grouped
    with pytest.raises(httpx.ConnectError):  # the model server is gone
        httpx.get(url.group(1) + "/health", trust_env=False)


def test_byom_sql_demo_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "byom_sql", "demo"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "CREATE PREDICTOR byom" in done.stdout and "(7 rows)" in done.stdout


def test_the_demo_needs_nothing_but_the_installed_package(tmp_path: Path) -> None:
    """Built as a wheel and run from it alone (dependencies aside): no file of the checkout,
    such as examples/, is needed."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = tmp_path.glob("byom_sql-*.whl")
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    run = (
        "import sys; sys.path.insert(0, sys.argv[1]); import byom_sql; "
        "assert byom_sql.__file__.startswith(sys.argv[1]), byom_sql.__file__; "
        "from byom_sql.cli.main import main; sys.exit(main(['demo']))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", run, str(unpacked)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(7 rows)" in done.stdout


def _result_after(text: str, statement_end: str) -> str:
    """The printed result of the statement ending with `statement_end`."""
    start = text.index(statement_end) + len(statement_end)
    end = text.find("\n\n", start)
    return text[start:end]
