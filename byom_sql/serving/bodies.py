"""The request bodies byom_sql's remote formats send, read back into columns by the model
servers: the ray_serve `{"df": "<JSON of the rows>"}` in either layout MindsDB sent, and every
body `mlflow models serve` accepts."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from byom_sql.serving.http import BadRequest

Columns = dict[str, list[Any]]

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")


def columns_of(value: Any, names: list[str] | None = None) -> Columns:
    """Columns of rows in any layout pandas reads: records `[{col: v}]`, columns
    `{col: [v]}`, pandas' `{col: {index: v}}`, lists of values with `names`, or a JSON string of
    one of those (the ray_serve contract nests the frame as a string)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadRequest(f'"df" is not valid JSON: {exc}') from None
    if value is None:
        raise BadRequest('the body needs "df": the rows to predict')
    if isinstance(value, dict):
        return {
            str(name): list(cells.values()) if isinstance(cells, dict) else _listed(cells, name)
            for name, cells in value.items()
        }
    if not isinstance(value, list):
        raise BadRequest("the rows must be a list of rows or an object of columns")
    if all(isinstance(row, dict) for row in value):
        keys = list(dict.fromkeys(str(k) for row in value for k in row))
        return {k: [row.get(k) for row in value] for k in keys}
    if names is not None and all(isinstance(row, list) and len(row) == len(names) for row in value):
        return {str(n): [row[i] for row in value] for i, n in enumerate(names)}
    raise BadRequest("the rows must be objects, or lists as long as the column names")


def _listed(cells: Any, name: str) -> list[Any]:
    if not isinstance(cells, list):
        raise BadRequest(f"column {name!r} must be a list of values")
    return cells


def mlflow_columns(content_type: str, body: bytes) -> Columns:
    """Every body `mlflow models serve` accepts, MLflow 1's bare ones and CSV included."""
    if content_type.split(";")[0].strip().lower() == "text/csv":
        try:
            rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise BadRequest(f"cannot read the CSV body: {exc}") from None
        return {k: [_number(row[k]) for row in rows] for k in (rows[0] if rows else {})}
    try:
        document = json.loads(body or b"null")
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if isinstance(document, dict):
        key = next((k for k in MLFLOW_KEYS if k in document), None)
        document = document[key] if key else document
    if isinstance(document, dict) and "data" in document:  # split: {"columns", "data"}
        return columns_of(document["data"], document.get("columns"))
    return columns_of(document)


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def rows_of(columns: Columns) -> list[dict[str, Any]]:
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
