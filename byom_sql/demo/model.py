"""A real, small classifier in numpy: multinomial logistic regression on standardised features,
fitted by full-batch gradient descent. Deterministic: the same rows give the same model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

STEPS = 300
LEARNING_RATE = 0.5
L2 = 1e-4


@dataclass(frozen=True)
class LogisticRegression:
    labels: list[Any]  # the target's distinct values, in the order of the weight columns
    mean: np.ndarray  # per feature, for standardising
    scale: np.ndarray
    weights: np.ndarray  # (features + 1) × labels; the last row is the intercept

    @classmethod
    def fit(cls, x: np.ndarray, y: list[Any]) -> LogisticRegression:
        """`x`: rows × features (floats); `y`: one label per row."""
        labels = sorted(set(y), key=lambda v: (str(type(v)), v))
        index = {label: i for i, label in enumerate(labels)}
        onehot = np.zeros((len(y), len(labels)))
        onehot[np.arange(len(y)), [index[v] for v in y]] = 1.0
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        design = _design((x - mean) / scale)
        weights = np.zeros((design.shape[1], len(labels)))
        for _ in range(STEPS):
            gradient = design.T @ (_softmax(design @ weights) - onehot) / len(y)
            weights -= LEARNING_RATE * (gradient + L2 * weights)
        return cls(labels, mean, scale, weights)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return _softmax(_design((x - self.mean) / self.scale) @ self.weights)

    def predict(self, x: np.ndarray) -> tuple[list[Any], list[float]]:
        """The most probable label of each row, and its probability (the confidence)."""
        probabilities = self.probabilities(x)
        best = probabilities.argmax(axis=1)
        labels = [self.labels[i] for i in best]
        return labels, probabilities[np.arange(len(best)), best].round(4).tolist()


def _design(x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((x.shape[0], 1))])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))
