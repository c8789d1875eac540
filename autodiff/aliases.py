"""Type aliases for annotations: what the library's functions accept as array input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, Union

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor

#: Anything a differentiable function accepts: a Tensor, an ndarray, a NumPy or Python
#: scalar, or a (nested) sequence of them (converted as ``np.asarray`` does).
TensorLike: TypeAlias = Union["Tensor", np.ndarray, np.generic, float, int, bool, Sequence[Any]]

#: An ``axis`` argument: one axis, several, or None for all of them.
Axis: TypeAlias = int | Sequence[int] | None

__all__ = ["Axis", "TensorLike"]
