"""Loss functions with PyTorch's names, arguments, values and gradients, composed from
autodiff functions (no derivative code). Re-exported by ``nn.functional``.

Every loss takes ``reduction`` in {"mean", "sum", "none"}; a NaN input gives a NaN loss
(never a finite number), so training loops can notice it. A target that is a Tensor
requiring grad receives its gradient, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor, TensorLike, primitives as P
from autodiff.compile.decide import decide, derive, static_values

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str, name: str) -> Tensor:
    if reduction in ("mean", "sum"):
        reduced: Tensor = loss.mean() if reduction == "mean" else loss.sum()
        return reduced
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _tensor(x: Any, name: str, role: str = "input") -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: {role} must be numbers, got dtype {arr.dtype}")
    return Tensor(arr if arr.dtype.kind == "f" else arr.astype(ad.get_default_dtype()))


def _as_target(target: TensorLike, like: Tensor) -> Tensor | np.ndarray:
    """A Tensor target stays (it may require grad); anything else becomes an array of like's dtype."""
    if isinstance(target, Tensor):
        return target
    arr = np.asarray(target)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"target must be numbers, got dtype {arr.dtype}")
    return arr.astype(like.dtype, copy=False)


def _same_shape(input: TensorLike, target: TensorLike, name: str) -> tuple[Tensor, Tensor | np.ndarray]:
    if np.shape(input) != np.shape(target):
        raise ValueError(f"{name}: input shape {np.shape(input)} and target shape {np.shape(target)} differ "
                         f"(no silent broadcasting)")
    input = _tensor(input, name)
    return input, _as_target(target, input)


def _check_positive(name: str, arg: str, value: Any, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and np.isfinite(value) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name}: {arg} must be a {'non-negative' if allow_zero else 'positive'} number, "
                         f"got {value!r}")


def mse_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)²).

    >>> mse_loss(Tensor([1.0, 3.0]), np.array([0.0, 1.0])).item()
    2.5
    """
    input, target = _same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input - target|)."""
    input, target = _same_shape(input, target, "l1_loss")
    return _reduce(ad.abs(input - target), reduction, "l1_loss")


def huber_loss(input: TensorLike, target: TensorLike, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d² where |d| < delta, else delta (|d| - delta / 2), with d = input - target."""
    _check_positive("huber_loss", "delta", delta)
    input, target = _same_shape(input, target, "huber_loss")
    d = input - target
    a = ad.abs(d)
    return _reduce(ad.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)), reduction, "huber_loss")


def smooth_l1_loss(input: TensorLike, target: TensorLike, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d² / beta where |d| < beta, else |d| - beta / 2 (the L1 loss when beta = 0).

    >>> smooth_l1_loss(Tensor([0.5, 3.0]), np.zeros(2), reduction="none").numpy()
    array([0.125, 2.5  ])
    """
    _check_positive("smooth_l1_loss", "beta", beta, allow_zero=True)
    input, target = _same_shape(input, target, "smooth_l1_loss")
    d = input - target
    a = ad.abs(d)
    if beta == 0:
        return _reduce(a, reduction, "smooth_l1_loss")
    return _reduce(ad.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta), reduction, "smooth_l1_loss")


def _clamped_log(p: Any) -> Tensor:
    """max(log p, -100) as PyTorch's BCE, -100 at p = 0 with a zero (not NaN) gradient;
    NaN stays NaN. The inner ``where`` keeps log away from 0, the outer one selects."""
    zero = p == 0
    return ad.where(zero, -100.0, ad.maximum(ad.log(ad.where(zero, 1.0, p)), -100.0))


def _probabilities(p: np.ndarray) -> bool:
    """Whether no value is below 0 or above 1 (NaN compares False: it propagates to the loss)."""
    return not p.size or not (p.min() < 0 or p.max() > 1)


def binary_cross_entropy(input: TensorLike, target: TensorLike, reduction: str = "mean",
                         weight: TensorLike | None = None) -> Tensor:
    """-w (t log p + (1 - t) log(1 - p)) for probabilities p; each log is clamped at -100
    as in PyTorch, so p = 0 or 1 gives a finite loss (with a zero gradient there, where
    PyTorch's hand-written backward uses 1/max(p(1 - p), 1e-12)). A NaN p gives NaN."""
    input, target = _same_shape(input, target, "binary_cross_entropy")
    if not decide(_probabilities, input):  # (a guard of a compiled program, re-checked at every call)
        p = input._data
        lo, hi = p.min(), p.max()
        raise ValueError(f"binary_cross_entropy: input must be probabilities in [0, 1], got values in "
                         f"[{lo:.4g}, {hi:.4g}] (use binary_cross_entropy_with_logits for logits)")
    # (an array target times a Tensor is a Tensor: NumPy defers to Tensor.__array_ufunc__, which its stubs cannot see)
    loss: Tensor = -(target * _clamped_log(input) + (1 - target) * _clamped_log(1 - input))  # type: ignore[assignment]
    if weight is not None:
        loss = loss * _weight("binary_cross_entropy", weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy")


def _weight(name: str, weight: TensorLike, input: Tensor, arg: str = "weight") -> Tensor | np.ndarray:
    w = weight if isinstance(weight, Tensor) else np.asarray(weight, dtype=input.dtype)
    try:
        np.broadcast_shapes(np.shape(w), input.shape)
    except ValueError:
        raise ValueError(f"{name}: {arg} of shape {np.shape(w)} does not broadcast with input shape "
                         f"{input.shape}") from None
    return w


def binary_cross_entropy_with_logits(input: TensorLike, target: TensorLike, reduction: str = "mean",
                                     pos_weight: TensorLike | None = None, weight: TensorLike | None = None) -> Tensor:
    """Binary cross-entropy of sigmoid(input), computed stably from logits
    (finite at logits of ±1e4): w ((1 - t) x + (1 + (p - 1) t) softplus(-x)), with
    ``pos_weight`` p broadcast along the last (class) axis and ``weight`` w."""
    input, target = _same_shape(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = ad.softplus(input) - input * target
    else:
        pw = _weight("binary_cross_entropy_with_logits", pos_weight, input, "pos_weight")
        # (an array target times a Tensor is a Tensor: NumPy defers to Tensor.__array_ufunc__)
        loss = (1 - target) * input + (1 + (pw - 1) * target) * ad.softplus(-input)  # type: ignore[assignment]
    if weight is not None:
        loss = loss * _weight("binary_cross_entropy_with_logits", weight, input)
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


# ----------------------------------------------------------- class losses
def _classes_last(x: Any) -> tuple[Any, tuple[int, ...]]:
    """(C,), (N, C) or (N, C, d1, ...) scores as an (M, C) matrix, and the shape of one
    loss per sample: (), (N,) or (N, d1, ...)."""
    if x.ndim == 1:
        return x.reshape(1, -1), ()
    if x.ndim == 2:
        return x, (x.shape[0],)
    moved = ad.transpose(x, (0, *range(2, x.ndim), 1)) if isinstance(x, Tensor) else np.moveaxis(x, 1, -1)
    return moved.reshape(-1, x.shape[1]), (x.shape[0], *x.shape[2:])


def _plain_labels(t: np.ndarray, c: int, ignore_index: int) -> bool:
    """Whether every label is a class in [0, c) and none equals ``ignore_index``."""
    lo, hi = t.min(), t.max()
    return bool(0 <= lo and hi < c and not lo <= ignore_index <= hi)


def _classes_or_ignored(t: np.ndarray, c: int, ignore_index: int) -> bool:
    """Whether every label is a class in [0, c) or equals ``ignore_index``."""
    kept = t[t != ignore_index]
    return not kept.size or bool(0 <= kept.min() and kept.max() < c)


def _labels(name: str, target: Any, shape: tuple[int, ...], c: int, ignore_index: int,
            input_shape: tuple[int, ...]) -> tuple[Any, Any]:
    """Integer labels as a flat array, and the mask of the ones not ignored (None: all kept);
    Tensors when the labels are one (while ``ad.jit`` traces, say).

    Which case the labels are in is a decision on values: while ``ad.jit`` traces, the
    plain case and the valid labels among ignored ones are guards re-checked at every
    call, the mask of the rows kept is an op (so a compiled step takes each batch's own
    ignored rows), and labels converted from bool or float are guarded to stay the traced
    ones, so a compiled step never replays one batch's labels on another's."""
    # the array itself, not the read-only view .data hands out: compiled steps track it by identity
    traced = target if isinstance(target, Tensor) else None
    t = target._data if traced is not None else np.asarray(target)
    if t.shape != shape:
        raise ValueError(f"{name}: expected class labels of shape {shape} (or class probabilities of shape "
                         f"{input_shape}), got target of shape {t.shape}")
    if t.dtype.kind == "b":
        t = t.astype(np.int64)
    elif t.dtype.kind == "f":
        if not np.all(t == np.floor(t)):
            raise TypeError(f"{name}: class labels must be integers, got non-integer values of dtype {t.dtype}")
        t = t.astype(np.int64)
    elif t.dtype.kind not in "iu":
        raise TypeError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    if t.ndim != 1:
        t = t.reshape(-1)  # (the labels array itself otherwise: compiled steps track it by identity)
    if not t.size:
        return t, None
    if traced is not None and t.dtype != traced._data.dtype:
        static_values(traced)  # labels converted from bool or float: the program holds them
    if decide(_plain_labels, traced if traced is not None else t, c=c, ignore_index=ignore_index):
        return t, None
    # the rows kept, and their labels, are ops of a compiled program (each call's own rows)
    src: Any = t if traced is None or t.dtype != traced._data.dtype else (
        traced if traced.ndim == 1 else traced.reshape(-1))
    if not decide(_classes_or_ignored, src, c=c, ignore_index=ignore_index):
        bad = t[(t != ignore_index) & ((t < 0) | (t >= c))]
        raise ValueError(f"{name}: labels must be in [0, {c - 1}] for {c} classes (or ignore_index="
                         f"{ignore_index}), got {bad[:5].tolist()}")
    keep = derive(np.not_equal, src, ignore_index)
    return derive(np.multiply, src, keep), keep  # (each ignored label times False: 0, a class)


def _class_weight(name: str, weight: Any, c: int, dtype: np.dtype) -> np.ndarray | None:
    if weight is None:
        return None
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight, dtype=dtype)
    if w.shape != (c,):
        raise ValueError(f"{name}: weight must have one entry per class, shape ({c},), got shape {w.shape}")
    return w


def _picked_loss(name: str, logp: Tensor, target: Any, weight: Any, ignore_index: int, reduction: str,
                 label_smoothing: float = 0.0) -> Tensor:
    """Weighted negative log-likelihood of labelled classes (PyTorch's nll_loss, and
    cross_entropy's label-smoothing term): "mean" divides by the total weight kept."""
    flat, shape = _classes_last(logp)
    m, c = flat.shape
    t, keep = _labels(name, target, shape, c, ignore_index, logp.shape)
    w = _class_weight(name, weight, c, logp.dtype)
    picked = flat[np.arange(m), t]
    if w is None and keep is None and not label_smoothing and reduction == "mean":
        negative_mean: Tensor = picked.sum() * (-1.0 / m)  # one node for -mean: the hot path of every classifier
        return negative_mean
    # w[t] a gather of the table (an op of a compiled program, recomputed from each call's labels)
    wt: Any = None if w is None else Tensor._leaf(w)[t]
    if keep is not None:
        wt = keep.astype(logp.dtype) if wt is None else wt * keep
    nll = -picked if wt is None else -picked * wt
    denom = float(m) if wt is None else wt.sum()
    if label_smoothing:
        smooth = -(flat.sum(axis=1) if w is None else (flat * w).sum(axis=1))
        if keep is not None:
            smooth = smooth * keep
        nll = (1 - label_smoothing) * nll + (label_smoothing / c) * smooth
    if reduction == "mean":
        mean: Tensor = nll.sum() / denom
        return mean
    return _reduce(nll, reduction, name).reshape(shape) if reduction == "none" else _reduce(nll, reduction, name)


def nll_loss(input: TensorLike, target: TensorLike, weight: TensorLike | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` ((C,), (N, C) or (N, C, d1, ...))
    at the integer labels ``target``: -w[t] input[t]; "mean" divides by Σ w[t] over the
    labels not equal to ``ignore_index`` (PyTorch's rule).

    >>> round(nll_loss(Tensor([[-0.5, -1.0]]), np.array([1])).item(), 6)
    1.0
    """
    return _picked_loss("nll_loss", _tensor(input, "nll_loss"), target, weight, ignore_index, reduction)


def _fused(input: Tensor, target: Any, ignore_index: int) -> Tensor | None:
    """The hot path of every classifier, as one node (backward (softmax − onehot)·g/N):
    logits (N, C), N > 0, integer labels (N,) all in [0, C) and none equal to
    ``ignore_index``. None for anything else, which the general path handles (and
    explains, when it is an error)."""
    t = target._data if isinstance(target, Tensor) else target
    n, c = input._data.shape
    if type(t) is not np.ndarray or t.shape != (n,) or t.dtype.kind not in "iu" or not n or 0 <= ignore_index < c:
        return None
    try:  # the primitive checks the labels are in [0, C) (so none is ignore_index, which is outside)
        return P.softmax_cross_entropy_p(input, labels=t)
    except ValueError:  # labels out of range or ignored (say -100): the general path handles or explains them
        return None


def cross_entropy(input: TensorLike, target: TensorLike, reduction: str = "mean", weight: TensorLike | None = None,
                  label_smoothing: float = 0.0, ignore_index: int = -100) -> Tensor:
    """Softmax cross-entropy from logits of shape (C,), (N, C) or (N, C, d1, ...).

    ``target`` is integer class labels of shape (), (N,) or (N, d1, ...) (bools and
    integer-valued floats are read as labels), or class probabilities (one-hot) of the
    logits' shape, which receive their gradient when they are a Tensor. ``weight`` (C,)
    rescales classes; with labels and ``reduction="mean"`` the sum is divided by the total
    weight of the labels not equal to ``ignore_index``, as in PyTorch. ``label_smoothing``
    ε mixes the target with the uniform distribution: (1 − ε)·target + ε/C.

    >>> round(cross_entropy(Tensor([[2.0, 0.0, 0.0]]), np.array([0])).item(), 6)   # log(1 + 2 e⁻²)
    0.239545
    """
    input = _tensor(input, "cross_entropy")
    shape = input._data.shape
    if len(shape) == 2 and weight is None and not label_smoothing and reduction == "mean":
        loss = _fused(input, target, ignore_index)
        if loss is not None:
            return loss
    if not shape:
        raise ValueError("cross_entropy: expected logits of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if np.shape(target) != shape:
        logp = ad.log_softmax(input, axis=0 if input.ndim == 1 else 1)
        return _picked_loss("cross_entropy", logp, target, weight, ignore_index, reduction, label_smoothing)
    logp = ad.log_softmax(input, axis=0 if input.ndim == 1 else 1)
    flat, shape = _classes_last(logp)
    c = flat.shape[1]
    t, _ = _classes_last(_as_target(target, input))
    if label_smoothing:
        t = t * (1 - label_smoothing) + label_smoothing / c
    w = _class_weight("cross_entropy", weight, c, input.dtype)
    loss = -(flat * t if w is None else flat * (t * w)).sum(axis=1)
    return _reduce(loss, reduction, "cross_entropy").reshape(shape) if reduction == "none" else \
        _reduce(loss, reduction, "cross_entropy")


# -------------------------------------------------------- other losses
def _xlogy(t: Any) -> Any:
    """t log t with 0 log 0 = 0 (NaN for negative t, as log)."""
    zero = t == 0
    return ad.where(zero, 0.0, t * ad.log(ad.where(zero, 1.0, t)))


def kl_div(input: TensorLike, target: TensorLike, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with ``input`` log-probabilities (PyTorch's argument order):
    t (log t − input) pointwise (0 where t = 0), or exp(t)(t − input) with ``log_target``.
    ``reduction="batchmean"`` divides the sum by the batch size (the true KL divergence);
    "mean" averages over every element, as PyTorch does.

    >>> round(kl_div(Tensor(np.log([0.5, 0.5])), np.array([0.25, 0.75]), reduction="sum").item(), 6)
    0.130812
    """
    if reduction not in (*REDUCTIONS, "batchmean"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got {reduction!r}")
    input, target = _same_shape(input, target, "kl_div")
    loss = ad.exp(target) * (target - input) if log_target else _xlogy(target) - target * input
    if reduction == "batchmean":
        batchmean: Tensor = loss.sum() / (input.shape[0] if input.ndim else 1)
        return batchmean
    return _reduce(loss, reduction, "kl_div")
