"""Argument handling shared by every public function: NumPy's axis rules (no wrap-around,
no repeated axes), PyTorch's keyword aliases, and index normalisation for ``getitem``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from .tensor import Tensor

# ------------------------------------------------------ arguments, axes, aliases
_MISSING: Any = object()


def alias(op: str, value: Any, torch_value: Any, name: str, torch_name: str, default: Any) -> Any:
    """One of NumPy's keyword and PyTorch's alias for it (``axis``/``dim``); both given is an error."""
    if torch_value is None or torch_value is _MISSING:
        return value
    if value is not default and value is not _MISSING:
        raise TypeError(f"{op}: got both {name}= and {torch_name}= (the same argument); pass one")
    return torch_value


def axis_keepdims(op: str, axis: Any, keepdims: Any, aliases: dict[str, Any]) -> tuple[Any, bool]:
    """``axis``/``keepdims`` after PyTorch's ``dim``/``keepdim`` aliases."""
    unknown = set(aliases) - {"dim", "keepdim"}
    if unknown:
        raise TypeError(f"{op}: unexpected keyword argument {sorted(unknown)[0]!r}")
    axis = alias(op, axis, aliases.get("dim"), "axis", "dim", None)
    keepdims = alias(op, keepdims, aliases.get("keepdim"), "keepdims", "keepdim", False)
    return axis, bool(keepdims)


def normalize_axis(axis: Any, ndim: int, op: str) -> int:
    """``axis`` as a non-negative int, or NumPy's AxisError naming ``op`` (no wrap-around)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: axis must be an integer, got {type(axis).__name__} {axis!r}")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: axis {axis} is out of bounds for a tensor with {ndim} axes")
    return int(axis) % ndim


def check_axis(op: str, ndim: int, axis: Any) -> Any:
    """A reduction's ``axis`` validated as NumPy does: None, an int or a tuple of distinct ints
    in range, returned with negative entries made positive (the same kind: int stays int)."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis(a, ndim, op) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"{op}: repeated axis in {tuple(axis)}")
        return axes
    return normalize_axis(axis, ndim, op)


# ------------------------------------------------ the table's primitives with params
def _index_values(i: Tensor) -> np.ndarray:
    """An index Tensor's array; a boolean mask's values shape the result (its nonzero
    positions), so a compiled program guards them."""
    if i.dtype != bool:
        return i._data
    from .compile.decide import static_values

    return static_values(i)


def normalize_index(index: Any, shape: tuple[int, ...]) -> tuple[Any, ...]:
    """Tensors to arrays, lists to integer arrays, boolean masks (checked against the axes
    they cover, as NumPy does) to their nonzero indices."""
    if not isinstance(index, tuple):
        index = (index,)
    items = [_index_values(i) if isinstance(i, Tensor) else np.asarray(i) if isinstance(i, list) else i
             for i in index]
    width = [i.ndim if isinstance(i, np.ndarray) and i.dtype == bool else
             0 if i is None or i is Ellipsis else 1 for i in items]
    out: list[Any] = []
    pos = 0
    for k, (i, w) in enumerate(zip(items, width, strict=True)):
        if i is Ellipsis:
            pos = len(shape) - builtins.sum(width[k + 1:])
        elif isinstance(i, np.ndarray) and i.dtype == bool and i.ndim > 0:
            covered = shape[pos:pos + i.ndim]
            if i.shape != covered:
                raise IndexError(f"getitem: boolean index of shape {i.shape} does not match the indexed axes "
                                 f"{covered} of a tensor with shape {shape}")
            out.extend(np.nonzero(i))
            pos += w
            continue
        elif isinstance(i, np.ndarray) and i.dtype.kind not in "iub":
            raise IndexError(f"getitem: index arrays must be integer or boolean, got dtype {i.dtype}")
        out.append(i)
        pos += w
    return tuple(out)
