"""Evaluation metrics on arrays (or Tensors): accuracy, confusion matrix, MSE, R²."""

from __future__ import annotations

from typing import Any

import numpy as np


def _array(x: Any) -> np.ndarray:
    return np.asarray(x.data if hasattr(x, "requires_grad") else x)


def predicted_labels(y_pred: Any) -> np.ndarray:
    """Class labels from predictions: argmax of scores of shape (N, C), else the labels themselves."""
    y_pred = _array(y_pred)
    return y_pred.argmax(axis=1) if y_pred.ndim == 2 and y_pred.shape[1] > 1 else y_pred.reshape(len(y_pred))


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct predictions; ``y_pred`` may be labels or class scores (N, C).

    >>> accuracy([0, 1, 1], np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5]]))
    0.6666666666666666
    """
    t = _array(y_true)
    t = t.argmax(axis=1) if t.ndim == 2 and t.shape[1] > 1 else t.reshape(len(t))
    p = predicted_labels(y_pred)
    if len(t) != len(p):
        raise ValueError(f"accuracy: {len(t)} true labels but {len(p)} predictions")
    return float(np.mean(t == p)) if len(t) else 0.0


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts C[i, j] of samples of class i predicted as class j."""
    t = _array(y_true).astype(np.int64).reshape(-1)
    p = predicted_labels(y_pred).astype(np.int64)
    k = num_classes if num_classes is not None else int(max(t.max(initial=-1), p.max(initial=-1)) + 1)
    out = np.zeros((k, k), dtype=np.int64)
    np.add.at(out, (t, p), 1)
    return out


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """mean((y_true - y_pred)²)."""
    t, p = _array(y_true), _array(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"mean_squared_error: shapes {t.shape} and {p.shape} differ")
    return float(np.mean((t - p) ** 2))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot (averaged over output columns)."""
    t, p = _array(y_true), _array(y_pred)
    if t.shape != p.shape:
        raise ValueError(f"r2_score: shapes {t.shape} and {p.shape} differ")
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.mean(1 - ss_res / ss_tot))
