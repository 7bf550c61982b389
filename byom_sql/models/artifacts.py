"""The artifact store: Python models and their files, content-addressed, in a folder next to
the database file (`state.duckdb` → `state.duckdb.artifacts/`), or a temporary folder for an
in-memory database.

    blobs/<sha256>.pkl     a model, pickled with cloudpickle (code from __main__ or a notebook
                           is kept by value; importable code by reference)
    blobs/<sha256>.npy     each large numpy array of a model, as a .npy file
    blobs/<sha256>.arrow   each large Arrow table of a model, as an Arrow IPC file
    trees/<sha256>/…       a copied artifacts directory (USING artifacts = '<path>')

Names are hashes of the content, so writing is idempotent and safe from several processes
(write to a temporary name, then rename). A model's pickle refers to its arrays by hash, so
the pickle's own hash names the whole model. Loading a pickle runs code: callers decide
whether that is allowed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pyarrow as pa

from byom_sql.errors import Error, InvalidOption

LARGE = 64 * 1024  # bytes: arrays and tables at least this big are stored as files of their own
HASH_CHARS = 64


class ArtifactStore:
    def __init__(self, database: str):
        self._temporary = database == ":memory:" or not database
        self._root = None if self._temporary else Path(f"{Path(database).resolve()}.artifacts")
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        """Created on first use, so databases without Python models get no folder."""
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="byom-artifacts-"))
            return self._root

    def close(self) -> None:
        if self._temporary and self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)

    # models ---------------------------------------------------------------------------------

    def save(self, value: Any) -> str:
        """Pickle `value` (large numpy arrays and Arrow tables as files of their own); its hash."""
        buffer = io.BytesIO()
        _Pickler(buffer, self).dump(value)
        return self._put(buffer.getbuffer(), ".pkl")

    def load(self, key: str) -> Any:
        """Unpickle a saved value, once its content is checked against its name."""
        path = self._blob(key, ".pkl")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != key:
            raise Error(f"artifact {path} is corrupt: its content does not match its name")
        return _Unpickler(io.BytesIO(data), self).load()

    # directories ------------------------------------------------------------------------------

    def save_tree(self, source: str) -> str:
        """Copy a file or directory in; its hash (of names and contents)."""
        path = Path(source).expanduser()
        if not path.exists():
            raise InvalidOption(f"artifacts path {source!r} does not exist", key="artifacts")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        base = path if path.is_dir() else path.parent
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.relative_to(base).as_posix().encode() + b"\0")
            digest.update(_file_hash(file).encode())
        key = digest.hexdigest()
        target = self.root / "trees" / key
        if not target.exists():
            staging = Path(tempfile.mkdtemp(dir=self._ensure("trees")))
            for file in files:
                copy = staging / file.relative_to(base)
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(file, copy)
            try:
                staging.rename(target)
            except OSError:  # another process stored the same tree first
                shutil.rmtree(staging, ignore_errors=True)
        return key

    def tree(self, key: str) -> Path:
        path = self.root / "trees" / _checked(key)
        if not path.is_dir():
            raise Error(f"artifacts {key[:12]} are missing from {self.root}")
        return path

    # blobs ------------------------------------------------------------------------------------

    def _put(self, data: bytes | memoryview, suffix: str) -> str:
        key = hashlib.sha256(data).hexdigest()
        path = self._ensure("blobs") / f"{key}{suffix}"
        if not path.exists():
            fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        return key

    def _blob(self, key: str, suffix: str) -> Path:
        path = self.root / "blobs" / f"{_checked(key)}{suffix}"
        if not path.is_file():
            raise Error(
                f"artifact {path.name} is missing from {self.root}",
                hint="the artifacts folder must stay next to the database file",
            )
        return path

    def _ensure(self, folder: str) -> Path:
        path = self.root / folder
        path.mkdir(parents=True, exist_ok=True)
        return path


class _Pickler(cloudpickle.Pickler):  # type: ignore[misc]  # cloudpickle is untyped
    def __init__(self, handle: io.BytesIO, store: ArtifactStore):
        super().__init__(handle, protocol=5)
        self.store = store

    def persistent_id(self, obj: Any) -> tuple[str, str] | None:
        kind = type(obj)
        if kind is np.ndarray and obj.nbytes >= LARGE and not obj.dtype.hasobject:
            buffer = io.BytesIO()
            np.save(buffer, obj, allow_pickle=False)
            return ("npy", self.store._put(buffer.getbuffer(), ".npy"))
        if kind is pa.Table and obj.nbytes >= LARGE:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_file(sink, obj.schema) as writer:
                writer.write_table(obj)
            return ("arrow", self.store._put(memoryview(sink.getvalue()), ".arrow"))
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, handle: io.BytesIO, store: ArtifactStore):
        super().__init__(handle)
        self.store = store

    def persistent_load(self, pid: Any) -> Any:
        kind, key = pid
        if kind == "npy":
            return np.load(self.store._blob(key, ".npy"), allow_pickle=False)
        if kind == "arrow":
            with pa.OSFile(str(self.store._blob(key, ".arrow"))) as source:
                return pa.ipc.open_file(source).read_all()
        raise pickle.UnpicklingError(f"unknown stored artifact kind {kind!r}")


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checked(key: str) -> str:
    """A key from the catalog names a file: it must be a hash, nothing else."""
    if len(key) != HASH_CHARS or any(c not in "0123456789abcdef" for c in key):
        raise Error(f"invalid artifact key {key!r}")
    return key
