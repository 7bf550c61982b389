"""Python models for the tests, importable by the test process and by the subprocesses they
start (`byom-sql serve-model tests.pymodels:VertaModel`)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa


def my_model(x: Any, y: Any) -> Any:
    """The Superduper seed's ObjectModel."""
    return x + y


BATCHES: list[pd.DataFrame] = []


def scale(df: pd.DataFrame) -> pd.Series:
    """One parameter: the batch. Records each (importable, so the stored copy is this one)."""
    BATCHES.append(df)
    return df["a"] * df["b"]


class AnotherModel:
    """The Superduper seed's Model subclass: a JSON-able argument and a large array. The
    prediction reads the array at a place that depends on the row, so it checks the array."""

    def __init__(self, my_argument: int = 1, my_array: np.ndarray | None = None):
        self.my_argument = my_argument
        self.my_array = my_array if my_array is not None else np.zeros((1, 1))

    def predict(self, x: int, y: int) -> float:
        rows, columns = self.my_array.shape
        return x + y + self.my_argument + float(self.my_array[x % rows, y % columns])


class BatchModel(AnotherModel):
    """The same with predict_batches, which must be preferred: predict fails here."""

    calls = 0

    def predict(self, x: int, y: int) -> float:
        raise AssertionError("predict_batches should have been used")

    def predict_batches(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        type(self).calls += 1
        rows, columns = self.my_array.shape
        return x + y + self.my_argument + self.my_array[x % rows, y % columns]


class VertaModel:
    """The Verta seed's class model: built with artifacts (name → file path), predict(data).
    A line y = slope * x + intercept, read from weights.npy; `train` fits it (ray_serve)."""

    built = 0

    def __init__(self, artifacts: dict[str, Any] | None):
        type(self).built += 1
        weights = np.load(artifacts["weights"]) if artifacts else np.array([1.0, 0.0])
        self.slope, self.intercept = (float(v) for v in weights)

    def predict(self, data: pd.DataFrame) -> dict[str, list[float]]:
        values = data["x"].to_numpy(dtype=float) * self.slope + self.intercept
        return {"prediction": values.tolist(), "confidence": [0.9] * len(values)}

    def train(self, df: pd.DataFrame, target: str) -> None:
        self.slope, self.intercept = np.polyfit(df["x"], df[target], 1)


class ArrowModel:
    def predict(self, batch: pa.Table) -> pa.Array:
        assert isinstance(batch, pa.Table)
        return pa.compute.multiply(batch.column("x"), 2)


class Failing:
    def predict(self, x: int) -> int:
        if x > 2:
            raise ValueError(f"x = {x} is out of range")
        return x


RELEASE = threading.Event()
STARTED = threading.Event()


def blocked(x: float) -> float:
    """Waits until the test releases it: a model call that outlives a cancelled query."""
    STARTED.set()
    RELEASE.wait(30)
    return x


class Locked:
    """Cannot be pickled: a lock is no model state."""

    def __init__(self) -> None:
        self.lock = threading.Lock()

    def predict(self, data: pd.DataFrame) -> list[int]:
        return [0] * len(data)


class BadInit:
    def __init__(self, artifacts: dict[str, Any] | None) -> None:
        raise RuntimeError("cannot load the weights")

    def predict(self, data: pd.DataFrame) -> list[int]:
        return [0] * len(data)


def noted(df: pd.DataFrame) -> pd.DataFrame:
    """y = 2a, and a note that is NULL for a < 30 and text after: an output whose type the
    first batches do not tell."""
    notes = [None if a < 30 else f"n{a}" for a in df["a"]]
    return pd.DataFrame({"y": df["a"] * 2, "note": notes})
