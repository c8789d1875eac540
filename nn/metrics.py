"""Evaluation metrics on arrays (or Tensors): accuracy, confusion matrix, MSE, R².

Classification metrics read labels from any of the usual layouts: labels of shape (N,)
or (N, 1), one-hot or class scores of shape (N, C) (their argmax), and binary
probabilities of shape (N,) or (N, 1) (thresholded at 0.5, or at ``threshold``: 0.0 for
logits). Lengths that differ, or values that fit none of these, are an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _array(x: Any, name: str, role: str) -> np.ndarray:
    arr = np.asarray(x.data if hasattr(x, "requires_grad") else x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {role} must be numbers, got dtype {arr.dtype}")
    return arr


def _is_integral(a: np.ndarray) -> bool:
    return a.dtype.kind in "biu" or bool(np.all(a == np.floor(a)))


def _labels(y: Any, name: str, role: str, threshold: float | None = None) -> np.ndarray:
    """Integer labels of shape (N,) from labels, one-hot/scores (argmax) or binary probabilities."""
    a = _array(y, name, role)
    if a.ndim == 2 and a.shape[1] > 1:
        labels: np.ndarray = a.argmax(axis=1)
        return labels
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1:
        raise ValueError(f"{name}: {role} must have shape (N,), (N, 1) or (N, C), got {a.shape}")
    if a.dtype.kind == "f" and np.isnan(a).any():
        raise ValueError(f"{name}: {role} holds NaN")
    if threshold is not None:
        return (a > threshold).astype(np.int64)
    if _is_integral(a):
        return a.astype(np.int64)
    if np.all((a >= 0) & (a <= 1)):
        return (a > 0.5).astype(np.int64)
    raise ValueError(f"{name}: {role} holds continuous values outside [0, 1] (logits?); pass threshold=0.0 for "
                     f"logits, or class scores of shape (N, C)")


def _same_length(name: str, t: np.ndarray, p: np.ndarray) -> None:
    if len(t) != len(p):
        raise ValueError(f"{name}: {len(t)} true labels but {len(p)} predictions")
    if not len(t):
        raise ValueError(f"{name}: no samples")


def predicted_labels(y_pred: Any, threshold: float | None = None) -> np.ndarray:
    """Class labels from predictions: argmax of scores of shape (N, C), labels as they are,
    binary probabilities thresholded at 0.5 (or at ``threshold``).

    >>> predicted_labels(np.array([[0.2], [0.9]])).tolist()
    [0, 1]
    """
    return _labels(y_pred, "predicted_labels", "y_pred", threshold)


def accuracy(y_true: Any, y_pred: Any, threshold: float | None = None) -> float:
    """Fraction of correct predictions; each side may be labels, one-hot/class scores
    (N, C) or binary probabilities ((N,) or (N, 1); ``threshold=0.0`` for logits).

    >>> accuracy([0, 1, 1], np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.5]]))
    0.6666666666666666
    >>> accuracy(np.array([[1], [0]]), np.array([[0.8], [0.3]]))
    1.0
    """
    t = _labels(y_true, "accuracy", "y_true")
    p = _labels(y_pred, "accuracy", "y_pred", threshold)
    _same_length("accuracy", t, p)
    return float(np.mean(t == p))


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None,
                     threshold: float | None = None) -> np.ndarray:
    """Counts C[i, j] of samples of class i predicted as class j.

    >>> confusion_matrix([0, 1, 1], [0, 0, 1]).tolist()
    [[1, 0], [1, 1]]
    """
    t = _labels(y_true, "confusion_matrix", "y_true")
    p = _labels(y_pred, "confusion_matrix", "y_pred", threshold)
    _same_length("confusion_matrix", t, p)
    if min(t.min(), p.min()) < 0:
        raise ValueError(f"confusion_matrix: labels must be >= 0, got {int(min(t.min(), p.min()))}")
    top = int(max(t.max(), p.max())) + 1
    if num_classes is None:
        num_classes = top
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < top:
        raise ValueError(f"confusion_matrix: num_classes must be an integer >= {top} (the largest label + 1), "
                         f"got {num_classes!r}")
    out = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(out, (t, p), 1)
    return out


def _regression_pair(name: str, y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    """(N, k) float arrays; (N,) and (N, 1) are the same single output, as in scikit-learn."""
    t, p = _array(y_true, name, "y_true"), _array(y_pred, name, "y_pred")
    if not t.size or not p.size:
        raise ValueError(f"{name}: no samples")
    t = t.reshape(len(t), -1) if t.ndim == 1 else t
    p = p.reshape(len(p), -1) if p.ndim == 1 else p
    if t.ndim != 2 or t.shape != p.shape:
        raise ValueError(f"{name}: y_true shape {np.shape(y_true)} and y_pred shape {np.shape(y_pred)} differ")
    if not len(t):
        raise ValueError(f"{name}: no samples")
    return t.astype(np.float64), p.astype(np.float64)


def mean_squared_error(y_true: Any, y_pred: Any) -> float:
    """mean((y_true - y_pred)²).

    >>> mean_squared_error([1.0, 2.0], np.array([[1.0], [4.0]]))
    2.0
    """
    t, p = _regression_pair("mean_squared_error", y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def r2_score(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination 1 − SS_res / SS_tot, averaged over output columns; a
    constant column scores 1.0 if predicted exactly, else 0.0 (scikit-learn's rule)."""
    t, p = _regression_pair("r2_score", y_true, y_pred)
    if len(t) < 2:
        raise ValueError(f"r2_score: needs at least 2 samples, got {len(t)}")
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    constant = ss_tot == 0
    scores = np.where(constant, np.where(ss_res == 0, 1.0, 0.0), 1 - ss_res / np.where(constant, 1.0, ss_tot))
    return float(np.mean(scores))
