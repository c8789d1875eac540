"""Integer-array indexing in a numba kernel: the gather ``x[i0, i1, ...]`` (one integer
array per axis, all of one length: the ``logp[arange(N), labels]`` of a classifier's
loss) and its transpose, the scatter-add of the gradient (``np.add.at`` order, so
repeated indices accumulate as eager's do); basic indexing (integers and slices) as a
copy of the slice, and its scatter into zeros.

Every index read from an integer array is checked as NumPy checks it: a negative one
counts from the end, one outside ``[-n, n)`` raises ``IndexError`` naming the op (the
kernel never reads or writes outside an array).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .numba_ops import Unsupported
from .program import Op, Program, Ref


def _basic_text(index: tuple[Any, ...], shape: tuple[int, ...]) -> str | None:
    """``index`` as source text when it holds only integers and slices, else None."""
    parts = []
    for item in index:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            parts.append(str(int(item)))
        elif isinstance(item, slice):
            bounds = [item.start, item.stop, item.step]
            if not all(b is None or (isinstance(b, (int, np.integer)) and not isinstance(b, bool)) for b in bounds):
                return None
            text = ["" if b is None else str(int(b)) for b in bounds]
            parts.append(":".join(text if item.step is not None else text[:2]))
        else:
            return None
    return ", ".join(parts) if len(index) <= len(shape) else None


def _arrays(program: Program, index: tuple[Any, ...], rank: int) -> int:
    """The common length of the integer index arrays (one per axis), or Unsupported."""
    lengths = set()
    for item in index:
        shape = program.values[item.index].shape if isinstance(item, Ref) else np.shape(item)
        dtype = program.values[item.index].dtype if isinstance(item, Ref) else np.asarray(item).dtype
        if not isinstance(item, (Ref, np.ndarray)) or dtype.kind not in "iu" or len(shape) != 1:
            raise Unsupported(f"an index item of type {type(item).__name__} (only basic indexing, or one 1-D "
                              f"integer array per axis, lowers)")
        lengths.add(shape[0])
    if len(index) != rank or len(lengths) != 1:
        raise Unsupported(f"{len(index)} index arrays of lengths {sorted(lengths)} into {rank} axes")
    return lengths.pop()


def _item(item: Any, n: int, op: str, operand: Callable[[Any], str]) -> str:
    """The i-th index along an axis of length n: a constant array is checked (and its
    negative entries resolved) here, one read from the program's values in the kernel."""
    if isinstance(item, Ref):
        return f"check_index({operand(item)}[i], {n}, '{op}')"
    arr = np.asarray(item).astype(np.int64)
    if arr.size and (arr.min() < -n or arr.max() >= n):
        raise Unsupported(f"a constant index out of range for an axis of length {n}")
    return f"{operand(np.where(arr < 0, arr + n, arr))}[i]"


def lower_indexing(op: Op, program: Program, name: str, dest: str | None, x: str,
                   operand: Callable[[Any], str]) -> list[str]:
    """getitem (a gather, or a basic slice copied) and scatter (its transpose: zeros with
    the operand added at the index) into ``name`` (or the array ``dest``)."""
    index = op.params["index"]
    index = index if isinstance(index, tuple) else (index,)
    out = program.values[op.out]
    into = dest or name
    full = program.values[op.args[0]].shape if op.name == "getitem" else tuple(op.params["shape"])
    alloc = [f"{name} = {dest}"] if dest is not None else []
    basic = _basic_text(index, full)
    if basic is not None:
        if op.name == "getitem":
            if dest is None:
                return [f"{name} = {x}[{basic}].copy()"]
            return [f"{dest}[...] = {x}[{basic}]", f"{name} = {dest}"]
        if dest is None:
            alloc = [f"{name} = np.zeros({out.shape!r}, np.{out.dtype.name})"]
        else:
            alloc.append(f"{name}[...] = 0")
        return [*alloc, f"{into}[{basic}] = {x}"]
    n = _arrays(program, index, len(full))
    where = ", ".join(_item(item, d, op.name, operand) for item, d in zip(index, full, strict=True))
    if op.name == "getitem":
        if dest is None:
            alloc = [f"{name} = np.empty({out.shape!r}, np.{out.dtype.name})"]
        return [*alloc, f"for i in range({n}):", f"    {into}[i] = {x}[{where}]"]
    if dest is None:
        alloc = [f"{name} = np.zeros({out.shape!r}, np.{out.dtype.name})"]
    else:
        alloc.append(f"{name}[...] = 0")
    return [*alloc, f"for i in range({n}):", f"    {into}[{where}] += {x}[i]"]
