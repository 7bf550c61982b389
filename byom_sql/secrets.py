"""Secrets, kept where DuckDB SQL cannot read them.

Predictor headers (bearer tokens) and database passwords never go into the DuckDB file: the
catalog keeps a mask or a reference, and the values live in a file beside the database
(`state.duckdb` → `state.duckdb.secrets`, mode 0600) that only the engine opens, or in memory for
an in-memory database. Network clients cannot read files (the server locks DuckDB down), so no
spelling of a query reaches them.

Three ways to give a secret:

    headers = {"Authorization": "Bearer abc"}            inline: stored here, masked in the catalog
    headers = {"Authorization": {"secret": "token"}}     a named secret (CREATE SECRET token …)
    headers = {"Authorization": {"env": "MODEL_TOKEN"}}  an environment variable of the engine
    PARAMETERS = {"password": "…" | "password_secret": "pg" | "password_env": "PGPASSWORD"}
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from byom_sql.errors import DuplicateObject, InvalidOption, UndefinedObject
from byom_sql.redact import MASK, remember


@dataclass(frozen=True)
class NamedSecret:
    name: str
    created_at: str


class SecretStore:
    def __init__(self, database: str, *, read_only: bool = False):
        memory = database in ("", ":memory:")
        self.path = None if memory else Path(f"{Path(database).resolve()}.secrets")
        self.read_only = read_only
        self._lock = threading.Lock()
        self._named: dict[str, dict[str, str]] = {}  # lower name → {name, value, created_at}
        self._inline: dict[str, dict[str, str]] = {}  # owner → {key: value}
        if self.path is not None and self.path.exists():
            self._read(self.path)

    # named secrets ---------------------------------------------------------------------------

    def create(self, name: str, value: str, *, replace: bool = False) -> None:
        if not value:
            raise InvalidOption(f"secret {name} needs a non-empty value")
        with self._lock:
            if name.lower() in self._named and not replace:
                raise DuplicateObject(
                    f"secret {name} already exists",
                    hint="use CREATE OR REPLACE SECRET, or DROP SECRET first",
                )
            created = datetime.now(UTC).isoformat(timespec="seconds")
            self._named[name.lower()] = {"name": name, "value": value, "created_at": created}
            self._save()
        remember(value)

    def drop(self, name: str) -> bool:
        with self._lock:
            if self._named.pop(name.lower(), None) is None:
                return False
            self._save()
        return True

    def exists(self, name: str) -> bool:
        return name.lower() in self._named

    def named(self) -> list[NamedSecret]:
        return [NamedSecret(s["name"], s["created_at"]) for s in self._named.values()]

    def value(self, name: str, what: str) -> str:
        """The value of named secret `name`; `what` says who needs it, for the error."""
        found = self._named.get(name.lower())
        if found is None:
            raise UndefinedObject(
                f"secret {name} ({what}) does not exist",
                hint=f"CREATE SECRET {name} WITH VALUE = '…'; SHOW SECRETS lists them",
            )
        return found["value"]

    # inline secrets of catalog objects ---------------------------------------------------------

    def keep(
        self, owner: str, values: Mapping[str, Any], inherit: str | None = None
    ) -> dict[str, Any]:
        """Store the plain-text values of `values` (a headers object or a database's parameters
        with their secret keys only) for `owner`; what the catalog may keep instead: masks and
        references. A value given as the mask keeps the one stored for `inherit` (RETRAIN
        keeps the previous version's token), or else the owner's own."""
        kept: dict[str, Any] = {}
        stored: dict[str, str] = {}
        previous = self._inline.get(inherit or owner, {})
        for key, value in values.items():
            if isinstance(value, str) and value != MASK:
                stored[key], kept[key] = value, MASK
                remember(value)
            elif value == MASK and key in previous:
                stored[key], kept[key] = previous[key], MASK
            else:
                kept[key] = value
        with self._lock:
            if stored:
                self._inline[owner] = stored
            elif owner in self._inline:
                del self._inline[owner]
            else:
                return kept
            self._save()
        return kept

    def forget(self, owner: str) -> None:
        with self._lock:
            if self._inline.pop(owner, None) is not None:
                self._save()

    def forget_all_but(self, owners: set[str]) -> None:
        """Drop what belongs to objects no longer in the catalog (a crash between writes)."""
        with self._lock:
            stale = [o for o in self._inline if o not in owners]
            for owner in stale:
                del self._inline[owner]
            if stale:
                self._save()

    def resolve(self, owner: str, values: Mapping[str, Any], what: str) -> dict[str, str]:
        """Plain-text values of a masked or referencing object (headers, passwords)."""
        stored = self._inline.get(owner, {})
        out: dict[str, str] = {}
        for key, value in values.items():
            label = f"{key} of {what}"
            if value == MASK:
                if key not in stored:
                    raise UndefinedObject(
                        f"the stored value of {label} is missing from {self.path or 'memory'}",
                        hint="give it again (CREATE OR REPLACE …), or keep it in a named secret",
                    )
                out[key] = stored[key]
            elif isinstance(value, dict) and "secret" in value:
                out[key] = self.value(str(value["secret"]), label)
            elif isinstance(value, dict) and "env" in value:
                out[key] = environment(str(value["env"]), label)
            else:
                out[key] = str(value)
        return out

    # the file --------------------------------------------------------------------------------

    def _read(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InvalidOption(f"cannot read the secrets file {path}: {exc}") from None
        self._named = {k.lower(): v for k, v in data.get("named", {}).items()}
        self._inline = data.get("inline", {})
        for secret in self._named.values():
            remember(secret["value"])
        for values in self._inline.values():
            for value in values.values():
                remember(value)

    def _save(self) -> None:
        """Write the file whole, readable by this user only, replacing it atomically."""
        if self.path is None:
            return
        if self.read_only:
            raise InvalidOption("this engine opened its database read-only: secrets cannot change")
        data = {"named": {s["name"]: s for s in self._named.values()}, "inline": self._inline}
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".secrets-")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w") as out:
                json.dump(data, out)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def environment(variable: str, what: str) -> str:
    value = os.environ.get(variable)
    if value is None:
        raise InvalidOption(f"environment variable {variable} ({what}) is not set")
    remember(value)
    return value


def is_reference(value: Any) -> bool:
    """`{"secret": name}` or `{"env": VAR}`: a value given by name, not in plain text."""
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in ("secret", "env")
        and isinstance(next(iter(value.values())), str)
    )
