"""How each kind of database is attached to DuckDB: its parameters, its extension, the SQL.

    engine            DuckDB runs                                   extension (pip extra)
    postgres          ATTACH '' (TYPE postgres, SECRET …)           postgres_scanner [postgres]
    mysql, mariadb    ATTACH '' (TYPE mysql, SECRET …)              mysql_scanner    [mysql]
    sqlite            ATTACH 'file' (TYPE sqlite)                   sqlite_scanner   [sqlite]
    duckdb            ATTACH 'file'                                 built in
    files             ATTACH ':memory:', a view per data file       built in

Connection settings go into a temporary DuckDB secret rather than the ATTACH string, so that
duckdb_databases() and DuckDB's error messages never show the password. Extensions are loaded
from the files of their pip packages: nothing is downloaded at run time.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from byom_sql.errors import (
    DatabaseConnectionError,
    FeatureNotSupported,
    InvalidOption,
    QueryError,
)
from byom_sql.redact import MASK, is_secret_key
from byom_sql.sqlbuild import quote, quote_string

CONNECT_TIMEOUT = 10  # seconds to reach a database server before giving up on it
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INTEGERS = ("port", "connect_timeout")
_BOOLEANS = ("read_only", "ssl")
_SERVER = {
    "host": "host",
    "port": "port",
    "database": "database",
    "dbname": "database",
    "user": "user",
    "username": "user",
    "password": "password",
    "password_env": "password_env",
    "password_secret": "password_secret",
    "read_only": "read_only",
}
PASSWORDS = ("password", "password_env", "password_secret")
_FILE = {"path": "path", "db_file": "path", "database": "path", "read_only": "read_only"}
DATA_FILES = {".parquet": "read_parquet", ".csv": "read_csv", ".tsv": "read_csv"}
DATA_FILES |= {".json": "read_json", ".jsonl": "read_json", ".ndjson": "read_json"}
COMPRESSIONS = ("", ".gz", ".zst")


@dataclass(frozen=True)
class Kind:
    """One engine: the parameter spellings it accepts (MindsDB's included) and what it needs."""

    name: str
    parameters: Mapping[str, str]  # spelling -> canonical name
    required: tuple[str, ...] = ()
    extension: str | None = None  # DuckDB extension, shipped as duckdb-extension-<name>
    extra: str | None = None  # the byom-sql extra that installs it
    remote: bool = False  # a server reached over the network
    dialect: str = "duckdb"  # sqlglot dialect of raw queries run through DuckDB


KINDS = {
    "postgres": Kind(
        "postgres",
        {**_SERVER, "schema": "schema", "sslmode": "sslmode", "connect_timeout": "connect_timeout"},
        extension="postgres_scanner",
        extra="postgres",
        remote=True,
    ),
    "mysql": Kind(
        "mysql",
        {
            **_SERVER,
            "ssl": "ssl",
            "ssl_mode": "ssl_mode",
            "ssl_ca": "ssl_ca",
            "ssl_cert": "ssl_cert",
            "ssl_key": "ssl_key",
            "socket": "socket",
        },
        extension="mysql_scanner",
        extra="mysql",
        remote=True,
    ),
    "sqlite": Kind(
        "sqlite",
        _FILE,
        required=("path",),
        extension="sqlite_scanner",
        extra="sqlite",
        dialect="sqlite",
    ),
    "duckdb": Kind("duckdb", _FILE, required=("path",)),
    "files": Kind("files", {"path": "path", "read_only": "read_only"}, required=("path",)),
}
ALIASES = {"postgresql": "postgres", "mariadb": "mysql", "sqlite3": "sqlite", "file": "files"}
ENGINES = sorted({*KINDS, *ALIASES})


def kind_of(engine: str) -> Kind:
    kind = KINDS.get(ALIASES.get(engine.lower(), engine.lower()))
    if kind is None:
        raise InvalidOption(
            f"unknown database engine {engine!r}; engines: {', '.join(ENGINES)}", key="engine"
        )
    return kind


# parameters -------------------------------------------------------------------------------


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise InvalidOption(
            f"invalid database name {name!r}: use letters, digits and _ (not first a digit)"
        )


def normalize(kind: Kind, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical names and checked types; file paths made absolute, so that the database
    attaches again from any working directory."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        canonical = kind.parameters.get(key.lower())
        if canonical is None:
            raise InvalidOption(
                f"unknown parameter {key!r} for engine {kind.name}; "
                f"valid parameters: {', '.join(sorted(kind.parameters))}",
                key=key,
            )
        if canonical in out:
            raise InvalidOption(f"parameter {canonical} is given twice", key=key)
        out[canonical] = _typed(key, canonical, value)
    missing = [key for key in kind.required if key not in out]
    if missing:
        raise InvalidOption(
            f"engine {kind.name} needs parameter {missing[0]!r}",
            hint=f'PARAMETERS = {{"{missing[0]}": …}}',
        )
    given = [key for key in PASSWORDS if key in out]
    if len(given) > 1:
        raise InvalidOption(f"give one of {', '.join(PASSWORDS)}, not both", key=given[1])
    if kind.name == "files" and out.get("read_only") is False:
        raise InvalidOption("a files database is read-only", key="read_only")
    if "path" in out:
        out["path"] = os.path.abspath(os.path.expanduser(out["path"]))
    return out


def _typed(key: str, canonical: str, value: Any) -> Any:
    if canonical in _INTEGERS:
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidOption(f"parameter {key} must be a positive integer, not {value!r}")
        return value
    if canonical in _BOOLEANS:
        if not isinstance(value, bool):
            raise InvalidOption(f"parameter {key} must be true or false, not {value!r}")
        return value
    if not isinstance(value, str) or not value:
        raise InvalidOption(f"parameter {key} must be a non-empty string, not {value!r}")
    return value


def is_read_only(parameters: Mapping[str, Any]) -> bool:
    return bool(parameters.get("read_only", True))


def masked(parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: MASK if is_secret_key(k) else v for k, v in parameters.items()}


# extensions --------------------------------------------------------------------------------


def extension_file(kind: Kind) -> Path:
    """The extension's file in its pip package, for this DuckDB version."""
    assert kind.extension is not None
    package = f"duckdb_extension_{kind.extension}"
    install = f"pip install 'byom-sql[{kind.extra}]'"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FeatureNotSupported(
            f"engine {kind.name} needs DuckDB's {kind.extension} extension, which is not "
            f"installed: {install}",
            hint=install,
        )
    version = f"v{duckdb.__version__}"
    path = Path(spec.submodule_search_locations[0]) / "extensions" / version
    path = path / f"{kind.extension}.duckdb_extension"
    if not path.is_file():
        raise FeatureNotSupported(
            f"the installed {package.replace('_', '-')} has no build for DuckDB {version}: "
            f"{install} installs the matching one",
            hint=install,
        )
    return path


# attaching ---------------------------------------------------------------------------------


def secret_name(name: str) -> str:
    return f"byom_db_{name.lower()}"


def attach_sql(
    name: str, kind: Kind, parameters: Mapping[str, Any], password: str | None
) -> list[str]:
    """The statements that attach database `name`, secret first (`password` resolved)."""
    mode = "READ_ONLY" if is_read_only(parameters) else "READ_WRITE"
    alias = quote(name)
    if kind.remote:
        secret = quote(secret_name(name))
        settings = _secret_settings(kind, parameters, password)
        options = ", ".join(f"{key.upper()} {_value(v)}" for key, v in settings.items())
        extra = f", SCHEMA {quote_string(parameters['schema'])}" if "schema" in parameters else ""
        return [
            f"CREATE OR REPLACE TEMPORARY SECRET {secret} (TYPE {kind.name}, {options})",
            f"ATTACH '' AS {alias} (TYPE {kind.name}, SECRET {secret}, {mode}{extra})",
        ]
    if kind.name == "files":
        views = [
            f"CREATE VIEW {alias}.main.{quote(table)} AS SELECT * FROM {reader}({quote_string(f)})"
            for table, (reader, f) in data_files(parameters["path"]).items()
        ]
        return [f"ATTACH ':memory:' AS {alias} (READ_WRITE)", *views]  # also in read-only engines
    path = parameters["path"]
    if is_read_only(parameters) and not os.path.isfile(path):
        raise InvalidOption(f"{kind.name} database file {path} does not exist")
    return [f"ATTACH {quote_string(path)} AS {alias} (TYPE {kind.name}, {mode})"]


def detach_sql(name: str, kind: Kind) -> list[str]:
    statements = [f"DETACH DATABASE IF EXISTS {quote(name)}"]
    if kind.remote:
        statements.append(f"DROP TEMPORARY SECRET IF EXISTS {quote(secret_name(name))}")
    return statements


def _secret_settings(
    kind: Kind, parameters: Mapping[str, Any], password: str | None
) -> dict[str, Any]:
    settings = {
        k: v for k, v in parameters.items() if k not in ("read_only", *PASSWORDS, "schema", "ssl")
    }
    if password is not None:
        settings["password"] = password
    if kind.name == "postgres":
        settings.setdefault("connect_timeout", CONNECT_TIMEOUT)
        if "schema" in parameters:  # raw queries find the schema's tables unqualified
            settings["options"] = f"-c search_path={parameters['schema']}"
    elif parameters.get("ssl") and "ssl_mode" not in settings:
        settings["ssl_mode"] = "required"
    return settings


def probe(kind: Kind, parameters: Mapping[str, Any]) -> None:
    """Fail fast when a server's port cannot be reached: a driver may wait minutes."""
    host = parameters.get("host")
    if not kind.remote or not host or host.startswith("/") or "socket" in parameters:
        return
    port = parameters.get("port", 5432 if kind.name == "postgres" else 3306)
    timeout = parameters.get("connect_timeout", CONNECT_TIMEOUT)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise DatabaseConnectionError(f"cannot reach {host}:{port}: {reason}") from None


def data_files(path: str) -> dict[str, tuple[str, str]]:
    """table name -> (DuckDB reader, file) for the data files of a directory or glob."""
    if os.path.isdir(path):
        found = sorted(os.path.join(path, f) for f in os.listdir(path))
    else:
        found = sorted(glob.glob(path, recursive=True))
    tables: dict[str, tuple[str, str]] = {}
    for file in found:
        table, reader = _table_of(os.path.basename(file))
        if reader is None or not os.path.isfile(file):
            continue
        clash = next((f for t, (_, f) in tables.items() if t.lower() == table.lower()), None)
        if clash:
            raise InvalidOption(
                f"files {clash} and {file} would both be table {table}; "
                "give a glob path that picks one of them"
            )
        tables[table] = (reader, file)
    if not tables:
        raise InvalidOption(
            f"no Parquet, CSV or JSON file at {path} "
            f"(looked for {', '.join(sorted(DATA_FILES))}, optionally .gz or .zst)"
        )
    return tables


def _table_of(filename: str) -> tuple[str, str | None]:
    lower = filename.lower()
    for suffix, reader in DATA_FILES.items():
        for compression in COMPRESSIONS:
            if lower.endswith(suffix + compression):
                return filename[: -len(suffix + compression)], reader
    return filename, None


def local_path(kind: Kind, parameters: Mapping[str, Any]) -> str | None:
    """The file or directory a database of a file engine reads (None for servers)."""
    if kind.remote:
        return None
    path = str(parameters["path"])
    if kind.name == "files" and not os.path.isdir(path):
        return os.path.dirname(path.split("*")[0].split("?")[0].split("[")[0])
    return path


def is_inside(path: str, directories: list[str]) -> bool:
    real = os.path.realpath(path)
    return any(
        real == os.path.realpath(d) or real.startswith(os.path.realpath(d).rstrip("/") + "/")
        for d in directories
    )


# raw queries -------------------------------------------------------------------------------


def raw_source(name: str, kind: Kind, text: str, alias: exp.TableAlias | None) -> exp.Expr:
    """A DuckDB table source for a raw query of database `name`: the server runs it (remote
    engines) or DuckDB runs it against the attached database (sqlite, duckdb, files)."""
    if kind.remote:
        function = exp.Anonymous(
            this=f"{kind.name}_query",
            expressions=[exp.Literal.string(name), exp.Literal.string(text)],
        )
        return exp.Table(this=function, alias=alias)
    try:
        query = sqlglot.parse_one(text, read=kind.dialect)
    except ParseError as error:
        detail = error.errors[0]["description"] if error.errors else str(error)
        raise QueryError(
            f"the query for database {name} ({kind.name}) does not parse: {detail}",
            sqlstate="42601",
        ) from None
    ctes = {cte.alias_or_name.lower() for cte in query.find_all(exp.CTE)}
    for table in query.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier) or table.catalog:
            continue
        if not table.db and table.name.lower() in ctes:
            continue
        table.set("catalog", exp.to_identifier(name))
        table.set("db", table.args.get("db") or exp.to_identifier("main"))
    return exp.Subquery(this=query, alias=alias)


def _value(value: Any) -> str:
    return str(value) if isinstance(value, int) else quote_string(str(value))
