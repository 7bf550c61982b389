"""The USING options a predictor accepts: one table, one validator per option.

`check_option` validates one key/value as written (the parser calls it so errors point at the
key); `validate_predictor` checks the combination once all options are known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from byom_sql.errors import InvalidOption
from byom_sql.redact import MASK
from byom_sql.secrets import is_reference
from byom_sql.sqlbuild import quote_string
from byom_sql.types import TENSOR_TYPES, known_dtypes, normalize_dtype

FORMATS = {
    "mlflow": "mlflow",
    "ray_serve": "ray_serve",
    "ray_server": "ray_serve",
    "oip": "oip",  # the Open Inference Protocol, also known as KServe v2
    "kserve": "oip",
    "v2": "oip",
    "mlserver": "oip",
    "triton": "oip",
    "bentoml": "bentoml",
    "json": "json",
    "python": "python",
}
REQUEST_FORMATS = {
    "mlflow": ("dataframe_split", "dataframe_records", "inputs", "instances"),
    "ray_serve": ("records", "columns"),
}
REQUEST_LAYOUTS = ("records", "split", "columns", "instances", "inputs")
HTTP_FORMATS = ("mlflow", "ray_serve", "oip", "bentoml", "json")
FORMAT_OPTIONS = {
    "request_format": ("mlflow", "ray_serve"),
    "mlflow_version": ("mlflow",),
    "input_layout": ("oip",),
    "binary": ("oip",),
    "tensors": ("oip",),
    "request_layout": ("json", "bentoml"),
    "body_key": ("json", "bentoml"),
    "response_key": ("json", "bentoml"),
}
"""Options that only some formats read."""
HTTP_OPTIONS = (
    "url.predict",
    "url.train",
    "headers",
    "headers_env",
    "timeout",
    "train_timeout",
    "retries",
    "max_reply_bytes",
    "check",
    *FORMAT_OPTIONS,
)
OIP_ROUTE = re.compile(r"(?P<model>.*/v2/models/[^/]+(?:/versions/[^/]+)?)/infer")
"""An Open Inference Protocol infer URL; `model` is where its metadata is."""
ON_ERROR = ("fail", "null")
PYTHON_OPTIONS = ("module", "artifacts")
SECRET_OPTIONS = ("headers",)


@dataclass(frozen=True)
class Option:
    check: Callable[[str, Any], Any]
    doc: str


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidOption(f"{key} must be a non-empty string, not {_show(value)}")
    return value


def _format(key: str, value: Any) -> str:
    name = _string(key, value).lower()
    if name not in FORMATS:
        raise InvalidOption(
            f"unknown format {value!r}; valid formats: {', '.join(sorted(set(FORMATS)))}"
        )
    return FORMATS[name]


def _url(key: str, value: Any) -> str:
    url = _string(key, value)
    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise InvalidOption(f"{key} is not a valid URL ({exc}): {url!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidOption(f"{key} must be an http(s) URL, not {url!r}")
    return url


def _dtype_dict(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise InvalidOption(f"{key} must be a JSON object of column: type, not {_show(value)}")
    out: dict[str, str] = {}
    for column, dtype in value.items():
        name = normalize_dtype(dtype) if isinstance(dtype, str) else None
        if name is None:
            raise InvalidOption(
                f"{key}: unknown type {dtype!r} for column {column!r}; "
                f"known types: {', '.join(known_dtypes())}"
            )
        out[column] = name
    return out


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidOption(f"{key} must be a positive integer, not {_show(value)}")
    return value


def _non_negative_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidOption(f"{key} must be an integer >= 0, not {_show(value)}")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidOption(f"{key} must be a positive number of seconds, not {_show(value)}")
    return float(value)


def _boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "on", "1", "yes"):
        return True
    if text in ("false", "off", "0", "no"):
        return False
    raise InvalidOption(f"{key} must be true or false, not {_show(value)}")


def _on_error(key: str, value: Any) -> str:
    name = _string(key, value).lower()
    if name not in ON_ERROR:
        raise InvalidOption(
            f"{key} must be 'fail' (a failed model call fails the query) or 'null' (the rows "
            f"that fail get NULL and a <target>_error column says why), not {_show(value)}"
        )
    return name


def _module(key: str, value: Any) -> str:
    reference = _string(key, value)
    if not re.fullmatch(r"[A-Za-z_][\w.]*[:.][A-Za-z_][\w.]*", reference):
        raise InvalidOption(
            f"{key} must name an importable class or function as 'package.module:Name', "
            f"not {reference!r}"
        )
    return reference


def _headers(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (isinstance(v, str) or is_reference(v)) for k, v in value.items()
    ):
        raise InvalidOption(  # secret: no echo
            f"{key} must be a JSON object of header: value, where a value is a string, "
            '{"secret": "<name>"} or {"env": "<VARIABLE>"}'
        )
    return value


def _variable(key: str, value: Any) -> str:
    name = _string(key, value)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise InvalidOption(f"{key} must name an environment variable, not {_show(value)}")
    return name


def _request_format(key: str, value: Any) -> str:
    name = _string(key, value).lower()
    valid = sorted({v for values in REQUEST_FORMATS.values() for v in values})
    if name not in valid:
        raise InvalidOption(f"unknown {key} {value!r}; valid: {', '.join(valid)}")
    return name


def _choice(*valid: str) -> Callable[[str, Any], str]:
    def check(key: str, value: Any) -> str:
        name = _string(key, value).lower()
        if name not in valid:
            raise InvalidOption(f"unknown {key} {value!r}; valid: {', '.join(valid)}")
        return name

    return check


def _key_path(key: str, value: Any) -> str:
    """A dotted path into a JSON body ('predictions', 'output.scores'); '' for the body itself."""
    if not isinstance(value, str) or not re.fullmatch(r"([^.\s]+(\.[^.\s]+)*)?", value):
        raise InvalidOption(
            f"{key} must be a key or a dotted path of keys ('predictions', 'output.scores'), "
            f"or '' for none, not {_show(value)}"
        )
    return value


def _tensors(key: str, value: Any) -> dict[str, list[dict[str, Any]]]:
    """The model metadata of the Open Inference Protocol: inputs and outputs, each a list of
    {"name", "datatype", "shape"}."""

    def valid(tensor: Any) -> bool:
        return (
            isinstance(tensor, dict)
            and isinstance(tensor.get("name"), str)
            and str(tensor.get("datatype", "")).upper() in TENSOR_TYPES
            and isinstance(tensor.get("shape", []), list)
            and all(isinstance(d, int) for d in tensor.get("shape", []))
        )

    if (
        not isinstance(value, dict)
        or not set(value) <= {"inputs", "outputs"}
        or not all(isinstance(v, list) and all(map(valid, v)) for v in value.values())
    ):
        raise InvalidOption(
            f"{key} must be a JSON object with 'inputs' and 'outputs', lists of "
            '{"name": …, "datatype": "FP64", "shape": [-1]}, as GET /v2/models/<name> gives, '
            f"not {_show(value)}"
        )
    return {
        side: [
            {"name": t["name"], "datatype": t["datatype"].upper(), "shape": t.get("shape", [-1])}
            for t in tensors
        ]
        for side, tensors in value.items()
    }


def _mlflow_version(key: str, value: Any) -> str:
    text = str(value).lower()
    if text not in ("auto", "1", "2", "3"):
        raise InvalidOption(f"{key} must be 1, 2, 3 or 'auto', not {_show(value)}")
    return text


OPTIONS: dict[str, Option] = {
    "format": Option(
        _format,
        "wire format of the endpoint: mlflow, ray_serve (ray_server), oip (kserve, v2, "
        "mlserver, triton), bentoml, json; or python",
    ),
    "url.predict": Option(_url, "URL answering predictions"),
    "url.train": Option(_url, "URL that trains the model (ray_serve)"),
    "dtype_dict": Option(_dtype_dict, "JSON object column -> type of every column the model uses"),
    "batch_size": Option(_positive_int, "rows per request (default 10000)"),
    "max_concurrency": Option(_positive_int, "requests in flight per query (default 2)"),
    "timeout": Option(_seconds, "seconds to wait for one predict request (default 60)"),
    "train_timeout": Option(_seconds, "seconds to wait for the train request (default 3600)"),
    "retries": Option(_non_negative_int, "retries on connect errors, 429, 502-504 (default 3)"),
    "max_reply_bytes": Option(_positive_int, "the largest reply a call may give (default 256 MB)"),
    "headers": Option(
        _headers,
        'HTTP headers sent with every request (kept secret); a value may be {"secret": name} '
        'or {"env": VARIABLE}',
    ),
    "headers_env": Option(
        _variable, "an environment variable holding a JSON object of more HTTP headers"
    ),
    "request_format": Option(
        _request_format,
        "body layout: mlflow dataframe_split|dataframe_records|inputs|instances; "
        "ray_serve records|columns",
    ),
    "mlflow_version": Option(
        _mlflow_version, "MLflow server generation: 1, 2, 3 or auto (GET /version)"
    ),
    "input_layout": Option(
        _choice("columns", "tensor"),
        "oip: one tensor per feature (columns) or one 2-D tensor of all features (tensor); "
        "default from the model's metadata",
    ),
    "binary": Option(
        _boolean,
        "oip: numeric tensors as raw bytes after the JSON header (default: when the server "
        "supports the binary tensor extension)",
    ),
    "tensors": Option(
        _tensors, "oip: the model's input and output tensors; read from GET /v2/models/<name>"
    ),
    "request_layout": Option(
        _choice(*REQUEST_LAYOUTS),
        "json, bentoml: rows as records, split, columns, instances (lists) or inputs "
        "(columns under 'inputs')",
    ),
    "body_key": Option(
        _key_path, "json, bentoml: the key the rows go under ('' for the bare layout)"
    ),
    "response_key": Option(_key_path, "json, bentoml: dotted path of the predictions in the reply"),
    "cache": Option(
        _boolean, "keep predictions in the database file and reuse them (default false)"
    ),
    "cache_ttl": Option(_seconds, "seconds a cached prediction may be used (default: forever)"),
    "cache_max_rows": Option(
        _positive_int, "cached predictions kept, the oldest evicted first (default 100000)"
    ),
    "on_error": Option(
        _on_error, "'fail' (default) or 'null': rows the model rejects get NULL and an error"
    ),
    "check": Option(
        _boolean, "CREATE PREDICTOR without FROM checks that the endpoint answers (default true)"
    ),
    "module": Option(_module, "python: the class or function to run, 'package.module:Name'"),
    "artifacts": Option(_string, "python: a file or folder whose paths the class is built with"),
}
ALIASES = {"data_dtype": "dtype_dict"}


def canonical_key(key: str) -> str:
    key = key.lower()
    return ALIASES.get(key, key)


def check_key(key: str) -> str:
    """The canonical name of an option key as written, or InvalidOption listing valid keys."""
    name = canonical_key(key)
    if name not in OPTIONS:
        raise InvalidOption(
            f"unknown USING option {key!r}; valid options: {', '.join(sorted(OPTIONS))}",
            key=key,
        )
    return name


def check_option(key: str, value: Any) -> tuple[str, Any]:
    """Validate one option as written; returns the canonical key and the normalised value."""
    name = check_key(key)
    return name, OPTIONS[name].check(key, value)


def check_options(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        name, checked = check_option(key, value)
        if name in out:
            raise given_twice(key)
        out[name] = checked
    return out


def given_twice(key: str) -> InvalidOption:
    name = canonical_key(key)
    names = sorted({name, *(alias for alias, to in ALIASES.items() if to == name)})
    same = f" ({' and '.join(names)} are the same option)" if len(names) > 1 else ""
    return InvalidOption(f"option {key!r} is given twice{same}: keep one", key=name)


def validate_predictor(options: dict[str, Any], targets: list[str]) -> None:
    """Checks that need all options at once: required keys, format-specific rules."""
    fmt = options.get("format")
    if fmt is None:
        raise InvalidOption(
            "USING format is required",
            hint="add format = 'mlflow', format = 'ray_serve' or format = 'python'",
        )
    misplaced = [k for k in options if k in (HTTP_OPTIONS if fmt == "python" else PYTHON_OPTIONS)]
    misplaced += [k for k, formats in FORMAT_OPTIONS.items() if k in options and fmt not in formats]
    if misplaced:
        raise InvalidOption(
            f"option {misplaced[0]} does not apply to format {fmt!r}", key=misplaced[0]
        )
    if fmt == "python" and "module" not in options and "python" not in options:
        raise InvalidOption(
            "USING module is required for format 'python'",
            hint="module = 'package.module:MyModel' (an importable class or function)",
            key="format",
        )
    if fmt in HTTP_FORMATS and "url.predict" not in options:
        raise InvalidOption(f"USING url.predict is required for format {fmt!r}", key="format")
    if fmt == "mlflow" and "url.train" in options:
        raise InvalidOption(
            "format 'mlflow' has no train endpoint: remove url.train",
            hint="train and log the model with MLflow, then serve it with `mlflow models serve`",
            key="url.train",
        )
    if fmt == "oip" and not OIP_ROUTE.fullmatch(urlparse(options["url.predict"]).path):
        raise InvalidOption(
            f"url.predict of format 'oip' must be an infer route, not {options['url.predict']!r}",
            hint="http://host:port/v2/models/<name>/infer (or …/versions/<v>/infer)",
            key="url.predict",
        )
    if fmt in ("oip", "bentoml") and "url.train" in options:
        raise InvalidOption(
            f"format {fmt!r} has no train endpoint: remove url.train",
            hint="train the model outside, then serve it",
            key="url.train",
        )
    request_format = options.get("request_format")
    if request_format and request_format not in REQUEST_FORMATS.get(fmt, ()):
        raise InvalidOption(
            f"request_format {request_format!r} does not apply to format {fmt!r}; valid: "
            f"{', '.join(REQUEST_FORMATS.get(fmt, ()))}",
            key="request_format",
        )
    dtypes = options.get("dtype_dict")
    if dtypes and fmt != "python":  # a Python model's outputs may keep the types it returns
        missing = [t for t in targets if t not in dtypes]
        if missing:
            raise InvalidOption(
                f"PREDICT column {missing[0]!r} is not in dtype_dict "
                f"(columns there: {', '.join(dtypes)})",
                key="dtype_dict",
            )


def public_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options safe to show: secret values masked, references to secrets shown."""
    return {
        k: {h: v if is_reference(v) else MASK for h, v in value.items()}
        if k in SECRET_OPTIONS
        else value
        for k, value in options.items()
    }


def _show(value: Any) -> str:
    """A value as the user wrote it in SQL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return quote_string(value)
    return json.dumps(value)
