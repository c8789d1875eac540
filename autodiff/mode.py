"""Switches: gradient recording, anomaly detection (per thread, as in PyTorch) and the
default float dtype (process-wide).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

_DEFAULT_DTYPE = [np.dtype(np.float64)]


class _State(threading.local):
    """Per-thread switches: a backward pass in one thread never changes another's mode."""

    def __init__(self) -> None:
        self.grad_enabled = True
        # True while backward runs its rules on plain ndarrays (create_graph=False):
        # every primitive then simply evaluates its NumPy forward.
        self.raw = False
        self.anomaly = False
        # inside a transform: the Tensors that left the graph (float(), .item(), np.asarray,
        # .data), so a gradient that comes out zero because of them raises instead
        self.escapes: list[Any] | None = None

    @property
    def default_dtype(self) -> np.dtype:
        return _DEFAULT_DTYPE[0]


state = _State()


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Record no graph inside the block (like ``torch.no_grad``).

    >>> import autodiff as ad
    >>> x = ad.Tensor([1.0], requires_grad=True)
    >>> with ad.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """
    previous = state.grad_enabled
    state.grad_enabled = False
    try:
        yield
    finally:
        state.grad_enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Record the graph inside the block, even within ``no_grad``."""
    previous = state.grad_enabled
    state.grad_enabled = True
    try:
        yield
    finally:
        state.grad_enabled = previous


def is_grad_enabled() -> bool:
    """Whether operations are currently recorded for differentiation."""
    return state.grad_enabled


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise ``FloatingPointError`` as soon as an op's forward or backward gives NaN/inf.

    The error names the op, its input shapes and the line of user code that created
    the node:

    >>> with ad.detect_anomaly():            # doctest: +SKIP
    ...     ad.log(ad.Tensor([-1.0]))
    FloatingPointError: log produced nan in its forward pass ...
    """
    previous = state.anomaly
    state.anomaly = True
    try:
        yield
    finally:
        state.anomaly = previous


def set_default_dtype(dtype: np.dtype | type) -> None:
    """Set the float dtype given to Python numbers and lists (float64 or float32)."""
    dtype = np.dtype(dtype)
    if dtype not in (np.float16, np.float32, np.float64):
        raise TypeError(f"set_default_dtype: expected a float dtype, got {dtype}")
    _DEFAULT_DTYPE[0] = dtype


def get_default_dtype() -> np.dtype:
    """The float dtype given to Python numbers and lists (float64 unless changed)."""
    return _DEFAULT_DTYPE[0]
