"""Predictors and databases, persisted in the DuckDB database file (schema `byom`).

The file holds the whole state but secrets: headers and passwords go to the secret store
(secrets.py) and the catalog keeps masks or references. Every write is one transaction on the
catalog's own cursor, so a crash never leaves half a predictor, and every session of the engine
reads the same in-memory copy, refreshed after each write (only this process can write the file).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from byom_sql import cache, types
from byom_sql.cache import utcnow
from byom_sql.errors import DuplicateObject, InvalidOption, UndefinedObject
from byom_sql.secrets import SecretStore, environment

DEFAULT_PROJECT = "mindsdb"
CATALOG_SCHEMA = "byom"  # the engine's own tables in the database file
RESERVED_NAMES = ("models", "models_versions", "predictors", "databases", "model_calls")

_SCHEMA = (
    """
CREATE SCHEMA IF NOT EXISTS byom;
CREATE TABLE IF NOT EXISTS byom.predictors (
    project VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    targets VARCHAR[] NOT NULL,
    format VARCHAR NOT NULL,
    options VARCHAR NOT NULL,
    columns VARCHAR[],
    from_database VARCHAR,
    from_query VARCHAR,
    status VARCHAR NOT NULL,
    error VARCHAR,
    training_rows BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project, name, version)
);
ALTER TABLE byom.predictors ADD COLUMN IF NOT EXISTS outputs VARCHAR;
CREATE TABLE IF NOT EXISTS byom.databases (
    name VARCHAR PRIMARY KEY,
    engine VARCHAR NOT NULL,
    parameters VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE SCHEMA IF NOT EXISTS mindsdb;
CREATE OR REPLACE VIEW mindsdb.models_versions AS
SELECT name, project, status, format, array_to_string(targets, ', ') AS predict,
       coalesce(json_extract_string(options, '$."url.predict"'),
                'python:' || json_extract_string(options, '$.python.callable')) AS url_predict,
       version, active, error,
       training_rows, created_at, updated_at
FROM byom.predictors;
CREATE OR REPLACE VIEW mindsdb.models AS
SELECT name, project, status, format, predict, url_predict, version, error, created_at
FROM mindsdb.models_versions
QUALIFY version = max(version) OVER (PARTITION BY project, name);
CREATE OR REPLACE VIEW mindsdb.predictors AS SELECT * FROM mindsdb.models;
"""
    + cache.SCHEMA
)


@dataclass(frozen=True)
class Predictor:
    project: str
    name: str
    version: int
    targets: list[str]
    format: str
    options: dict[str, Any]  # canonical USING options, url.predict included
    columns: list[str] | None = None  # columns of the training data, when trained
    from_database: str | None = None
    from_query: str | None = None
    status: str = "complete"
    error: str | None = None
    training_rows: int | None = None
    active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.project}.{self.name}"

    @property
    def dtype_dict(self) -> dict[str, str]:
        return self.options.get("dtype_dict") or {}

    @property
    def error_column(self) -> str | None:
        """With on_error = 'null', the column that says why a row has no prediction."""
        return f"{self.targets[0]}_error" if self.options.get("on_error") == "null" else None

    def features(self) -> list[str] | None:
        """Columns the model is fed: dtype_dict keys, else the training columns, minus targets;
        None when unknown (then whatever the query supplies is sent)."""
        targets = {t.lower() for t in self.targets}
        source = list(self.dtype_dict) or self.columns
        return [c for c in source if c.lower() not in targets] if source else None


@dataclass(frozen=True)
class Database:
    name: str
    engine: str
    parameters: dict[str, Any]
    created_at: datetime | None = None


class Catalog:
    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        secrets: SecretStore,
        *,
        read_only: bool = False,
    ):
        self._cursor = cursor
        self.secrets = secrets
        self._lock = threading.RLock()
        self.read_only = read_only
        self.cache = cache.PredictionCache(cursor, self._lock, read_only)
        self._predictors: dict[tuple[str, str], list[Predictor]] = {}
        self._databases: dict[str, Database] = {}
        self._names: set[str] = set()  # lower-case predictor names, for has_predictor_named
        # what each predictor version's model was seen to return: output name → Arrow type
        self._outputs: dict[tuple[str, str, int], dict[str, pa.DataType]] = {}
        if not read_only:
            self._cursor.execute(_SCHEMA)
            self._cursor.execute(
                "UPDATE byom.predictors SET status = 'error', error = 'training was interrupted "
                "when the engine stopped; RETRAIN it', updated_at = ? WHERE status = 'training'",
                [utcnow()],
            )
        self._outputs_select = self._outputs_column()
        self._reload()
        if not read_only:
            self._move_secrets_out()

    # reads ---------------------------------------------------------------------------------

    def predictor(
        self, name: str, project: str | None = None, version: int | None = None
    ) -> Predictor | None:
        """The version queries use: the newest complete one unless a version is asked for."""
        versions = self._predictors.get(_key(project or DEFAULT_PROJECT, name))
        if not versions:
            return None
        if version is not None:
            return next((p for p in versions if p.version == version), None)
        return next((p for p in reversed(versions) if p.active), versions[-1])

    def latest(self, name: str, project: str | None = None) -> Predictor | None:
        versions = self._predictors.get(_key(project or DEFAULT_PROJECT, name))
        return versions[-1] if versions else None

    def require(self, name: str, project: str | None = None) -> Predictor:
        predictor = self.latest(name, project)
        if predictor is None:
            raise UndefinedObject(f"predictor {project or DEFAULT_PROJECT}.{name} does not exist")
        return predictor

    def has_predictor_named(self, name: str) -> bool:
        """Cheap check run for every table a statement names (a set, not a scan)."""
        return name.lower() in self._names

    def projects(self) -> set[str]:
        return {p for p, _ in self._predictors} | {DEFAULT_PROJECT}

    def predictors(self) -> list[Predictor]:
        return [versions[-1] for versions in self._predictors.values()]

    def headers(self, predictor: Predictor) -> dict[str, str]:
        """The HTTP headers of the predictor's model calls, secrets resolved."""
        what = f"predictor {predictor.name}"
        headers: dict[str, str] = {}
        variable = predictor.options.get("headers_env")
        if variable:
            text = environment(variable, f"headers_env of {what}")
            try:
                headers = {str(k): str(v) for k, v in json.loads(text).items()}
            except (ValueError, AttributeError):
                raise InvalidOption(
                    f"environment variable {variable} (headers_env of {what}) must hold a JSON "
                    'object of headers, e.g. {"Authorization": "Bearer …"}'
                ) from None
        given = predictor.options.get("headers") or {}
        return headers | self.secrets.resolve(_owner(predictor), given, f"the headers of {what}")

    def password(self, database: Database) -> str | None:
        """A database's password, from its parameters, a named secret or the environment."""
        parameters, what = database.parameters, f"database {database.name}"
        if "password_secret" in parameters:
            return self.secrets.value(parameters["password_secret"], f"password of {what}")
        if "password_env" in parameters:
            return environment(parameters["password_env"], f"password_env of {what}")
        if "password" not in parameters:
            return None
        given = {"password": parameters["password"]}
        return self.secrets.resolve(_owner(database), given, what)["password"]

    def outputs(self, predictor: Predictor) -> list[str]:
        """The predictor's output columns: its targets, then the extra outputs (confidence …)
        its model returned the last time it was called."""
        return [name for name, _, role in self.columns(predictor) if role != "feature"]

    def observe_outputs(self, predictor: Predictor, schema: pa.Schema) -> None:
        """What the model returned: its extra outputs, and the types of what dtype_dict
        leaves to the model (a categorical label). Kept in the file, so every front door
        describes the predictor the same way after a restart too."""
        features = {f.lower() for f in predictor.features() or []}
        key = (*_key(predictor.project, predictor.name), predictor.version)
        seen = {f.name: f.type for f in schema if f.name.lower() not in features}
        if self._outputs.get(key) == seen:
            return
        self._outputs[key] = seen
        if self.read_only:
            return
        with self._write() as cur:
            cur.execute(
                "UPDATE byom.predictors SET outputs = ? WHERE lower(project) = lower(?) "
                "AND lower(name) = lower(?) AND version = ?",
                [_types_text(seen), predictor.project, predictor.name, predictor.version],
            )

    def columns(self, predictor: Predictor) -> list[tuple[str, pa.DataType, str]]:
        """(name, Arrow type, role) of every column a predictor has: targets, extra outputs,
        features ("target", "output", "feature"). A type comes from dtype_dict, else from what
        the model was seen to return, else it is text: every front door describes the same."""
        key = (*_key(predictor.project, predictor.name), predictor.version)
        seen = self._outputs.get(key)
        targets = {t.lower() for t in predictor.targets}
        if seen is None:  # not called yet: Ray Serve's documented extra output
            extras = [f"{t}_confidence" for t in predictor.targets]
            extras = extras if predictor.format == "ray_serve" else []
            seen_types: dict[str, pa.DataType] = {e.lower(): pa.float64() for e in extras}
        else:
            extras = [n for n in seen if n.lower() not in targets]
            seen_types = {n.lower(): t for n, t in seen.items()}
        if predictor.error_column and predictor.error_column.lower() not in seen_types:
            extras.append(predictor.error_column)
        dtypes = {k.lower(): v for k, v in predictor.dtype_dict.items()}
        found = []
        for name, role in [
            *((t, "target") for t in predictor.targets),
            *((e, "output") for e in extras),
            *((f, "feature") for f in predictor.features() or []),
        ]:
            declared = types.ARROW_TYPES.get(
                types.normalize_dtype(dtypes.get(name.lower(), "")) or ""
            )
            kind = declared or seen_types.get(name.lower())
            found.append(
                (name, kind if kind is not None and types.is_scalar(kind) else pa.string(), role)
            )
        return found

    def database(self, name: str) -> Database | None:
        return self._databases.get(name.lower())

    def databases(self) -> list[Database]:
        return list(self._databases.values())

    # writes --------------------------------------------------------------------------------

    def add_predictor(self, predictor: Predictor, *, replace_existing: bool = False) -> Predictor:
        if predictor.name.lower() in RESERVED_NAMES:
            raise InvalidOption(
                f"{predictor.name!r} is reserved (it names a catalog table); pick another name"
            )
        with self._write() as cur:
            exists = self.latest(predictor.name, predictor.project) is not None
            if exists and not replace_existing:
                raise DuplicateObject(
                    f"predictor {predictor.qualified_name} already exists",
                    hint="use CREATE OR REPLACE, IF NOT EXISTS, or DROP it first",
                )
            if exists:
                self._forget_versions(predictor.name, predictor.project)
                cur.execute(
                    "DELETE FROM byom.predictors WHERE lower(project) = lower(?) "
                    "AND lower(name) = lower(?)",
                    [predictor.project, predictor.name],
                )
                cur.execute(cache.FORGET, [predictor.project, predictor.name])
            _insert(cur, self._secrets_kept(predictor))
        return self.latest(predictor.name, predictor.project) or predictor

    def add_version(self, predictor: Predictor) -> Predictor:
        """A new version (RETRAIN), not active until it is complete."""
        with self._write() as cur:
            current = self.require(predictor.name, predictor.project)
            new = replace(predictor, version=current.version + 1, active=False)
            new = self._secrets_kept(new, inherit=current)
            _insert(cur, new)
        return new

    def set_status(
        self,
        predictor: Predictor,
        status: str,
        *,
        error: str | None = None,
        columns: list[str] | None = None,
        training_rows: int | None = None,
        options: dict[str, Any] | None = None,
    ) -> Predictor:
        """Record the end of training (and what it changed in the options, such as a trained
        Python model); a complete version becomes the active one."""
        with self._write() as cur:
            key = [predictor.project, predictor.name]
            if status == "complete":
                cur.execute(
                    "UPDATE byom.predictors SET active = (version = ?) "
                    "WHERE lower(project) = lower(?) AND lower(name) = lower(?)",
                    [predictor.version, *key],
                )
                cur.execute(f"{cache.FORGET} AND version <> ?", [*key, predictor.version])
            cur.execute(
                "UPDATE byom.predictors SET status = ?, error = ?, "
                "columns = coalesce(?, columns), training_rows = coalesce(?, training_rows), "
                "options = coalesce(?, options), updated_at = ? WHERE lower(project) = lower(?) "
                "AND lower(name) = lower(?) AND version = ?",
                [
                    status,
                    error,
                    columns,
                    training_rows,
                    json.dumps(options) if options is not None else None,
                    utcnow(),
                    *key,
                    predictor.version,
                ],
            )
        updated = self.predictor(predictor.name, predictor.project, predictor.version)
        assert updated is not None
        return updated

    def drop_predictor(self, name: str, project: str | None = None) -> bool:
        with self._write() as cur:
            if self.latest(name, project) is None:
                return False
            self._forget_versions(name, project)
            cur.execute(
                "DELETE FROM byom.predictors WHERE lower(project) = lower(?) "
                "AND lower(name) = lower(?)",
                [project or DEFAULT_PROJECT, name],
            )
            cur.execute(cache.FORGET, [project or DEFAULT_PROJECT, name])
        return True

    def add_database(self, database: Database, *, replace_existing: bool = False) -> None:
        with self._write() as cur:
            if self.database(database.name) and not replace_existing:
                raise DuplicateObject(f"database {database.name} already exists")
            cur.execute("DELETE FROM byom.databases WHERE lower(name) = lower(?)", [database.name])
            parameters = self._database_secrets_kept(database)
            cur.execute(
                "INSERT INTO byom.databases VALUES (?, ?, ?, ?)",
                [database.name, database.engine, json.dumps(parameters), utcnow()],
            )

    def drop_database(self, name: str) -> bool:
        with self._write() as cur:
            database = self.database(name)
            if database is None:
                return False
            cur.execute("DELETE FROM byom.databases WHERE lower(name) = lower(?)", [name])
        self.secrets.forget(_owner(database))
        return True

    # secrets -------------------------------------------------------------------------------

    def _secrets_kept(self, predictor: Predictor, inherit: Predictor | None = None) -> Predictor:
        """The predictor as the file may keep it: inline headers go to the secret store."""
        headers = predictor.options.get("headers")
        if not headers:
            return predictor
        previous = _owner(inherit) if inherit is not None else None
        kept = self.secrets.keep(_owner(predictor), headers, previous)
        return replace(predictor, options={**predictor.options, "headers": kept})

    def _database_secrets_kept(self, database: Database) -> dict[str, Any]:
        parameters = dict(database.parameters)
        if "password" in parameters:
            kept = self.secrets.keep(_owner(database), {"password": parameters["password"]})
            parameters["password"] = kept["password"]
        else:
            self.secrets.forget(_owner(database))
        return parameters

    def _forget_versions(self, name: str, project: str | None) -> None:
        for version in self._predictors.get(_key(project or DEFAULT_PROJECT, name), []):
            self.secrets.forget(_owner(version))

    def _move_secrets_out(self) -> None:
        """Secrets a file written by an older byom_sql still holds move to the store; what
        the store holds for objects gone from the catalog is dropped."""
        for versions in list(self._predictors.values()):
            for p in versions:
                kept = self._secrets_kept(p)
                if kept.options != p.options:
                    self._rewrite(
                        "UPDATE byom.predictors SET options = ? WHERE project = ? AND name = ? "
                        "AND version = ?",
                        [json.dumps(kept.options), p.project, p.name, p.version],
                    )
        for database in list(self._databases.values()):
            parameters = self._database_secrets_kept(database)
            if parameters != database.parameters:
                self._rewrite(
                    "UPDATE byom.databases SET parameters = ? WHERE name = ?",
                    [json.dumps(parameters), database.name],
                )
        owners = {_owner(p) for versions in self._predictors.values() for p in versions}
        self.secrets.forget_all_but(owners | {_owner(d) for d in self._databases.values()})

    def _rewrite(self, sql: str, parameters: list[Any]) -> None:
        with self._write() as cur:
            cur.execute(sql, parameters)

    @contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            self._cursor.execute("BEGIN TRANSACTION")
            try:
                yield self._cursor
                self._cursor.execute("COMMIT")
            except BaseException:
                self._cursor.execute("ROLLBACK")
                raise
            finally:
                self._reload()

    def _reload(self) -> None:
        try:
            self._load()
        except duckdb.CatalogException:  # a read-only file byom_sql never wrote to
            self._predictors, self._databases, self._names = {}, {}, set()

    def _load(self) -> None:
        rows = self._cursor.execute(
            "SELECT project, name, version, targets, format, options, columns, from_database, "
            "from_query, status, error, training_rows, active, created_at, updated_at, "
            f"{self._outputs_select} FROM byom.predictors ORDER BY project, name, version"
        ).fetchall()
        predictors: dict[tuple[str, str], list[Predictor]] = {}
        outputs: dict[tuple[str, str, int], dict[str, pa.DataType]] = {}
        for row in rows:
            p = Predictor(
                project=row[0],
                name=row[1],
                version=row[2],
                targets=list(row[3]),
                format=row[4],
                options=json.loads(row[5]),
                columns=list(row[6]) if row[6] is not None else None,
                from_database=row[7],
                from_query=row[8],
                status=row[9],
                error=row[10],
                training_rows=row[11],
                active=row[12],
                created_at=row[13],
                updated_at=row[14],
            )
            predictors.setdefault(_key(p.project, p.name), []).append(p)
            if row[15] is not None:
                outputs[(*_key(p.project, p.name), p.version)] = _types_of(row[15])
        databases = {
            name.lower(): Database(name, engine, json.loads(params), created)
            for name, engine, params, created in self._cursor.execute(
                "SELECT name, engine, parameters, created_at FROM byom.databases ORDER BY name"
            ).fetchall()
        }
        self._names = {name for _, name in predictors}
        self._predictors, self._databases = predictors, databases
        self._outputs = outputs

    def _outputs_column(self) -> str:
        """`outputs`, or NULL in a read-only file written before byom_sql kept it."""
        found = self._cursor.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'byom' "
            "AND table_name = 'predictors' AND column_name = 'outputs'"
        ).fetchone()
        return "outputs" if found and found[0] else "NULL AS outputs"


def _owner(thing: Predictor | Database) -> str:
    """Whose inline secrets these are, in the secret store."""
    if isinstance(thing, Predictor):
        return f"predictor {thing.project}.{thing.name}.{thing.version}".lower()
    return f"database {thing.name}".lower()


def _key(project: str, name: str) -> tuple[str, str]:
    return project.lower(), name.lower()


def _types_text(seen: dict[str, pa.DataType]) -> str:
    return json.dumps({name: str(kind) for name, kind in seen.items()})


def _types_of(text: str) -> dict[str, pa.DataType]:
    found = {}
    for name, kind in json.loads(text).items():
        try:
            found[name] = pa.type_for_alias(kind)
        except ValueError:  # a nested type: described as text anyway
            found[name] = pa.string()
    return found


def _insert(cur: duckdb.DuckDBPyConnection, p: Predictor) -> None:
    cur.execute(
        "INSERT INTO byom.predictors (project, name, version, active, targets, format, options, "
        "columns, from_database, from_query, status, error, training_rows, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            p.project,
            p.name,
            p.version,
            p.active,
            p.targets,
            p.format,
            json.dumps(p.options),
            p.columns,
            p.from_database,
            p.from_query,
            p.status,
            p.error,
            p.training_rows,
            utcnow(),
            utcnow(),
        ],
    )
