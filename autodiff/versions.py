"""Version counters (as PyTorch's): how many in-place writes a tensor's memory has seen.

A counter is a three-item list [version, name of the last in-place op, epoch of the last
write], shared by the tensors that share memory (``detach()``, views); ``None`` means
version 0, never written, not shared. Every write also advances one global epoch
(``EPOCH``). A node remembers the epoch it was created at: a value it saved has been
changed since exactly when that value's counter was written at a later epoch, and while
nothing at all has been written since (a training step's forward and backward) backward
checks nothing else (engine.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EPOCH = [0]
"""The number of in-place writes through the API so far, in the whole process."""


def version_of(t: Any) -> int:
    """How many in-place writes ``t``'s memory has seen through the API."""
    return 0 if t._vc is None else t._vc[0]


def bump_version(t: Any, op: str) -> None:
    """Record an in-place write to ``t`` (and every tensor sharing its memory)."""
    bump_versions((t,), op)


def bump_versions(ts: Sequence[Any], op: str) -> None:
    """``bump_version`` for every tensor of ``ts``, written at once (an optimizer's update of its
    parameters): each counter advances, all stamped with one new epoch."""
    EPOCH[0] = epoch = EPOCH[0] + 1
    for t in ts:
        vc = t._vc
        if vc is None:
            t._vc = [1, op, epoch]
        else:
            vc[0] += 1
            vc[1] = op
            vc[2] = epoch


def share_version(source: Any, view: Any) -> None:
    """Make ``view`` (which shares ``source``'s memory) use ``source``'s counter."""
    if source._vc is None:
        source._vc = [0, None, 0]
    view._vc = source._vc


def share_views(node: Any, inputs: tuple[Any, ...]) -> None:
    """An output that is a view of an input's memory (or the input's own array) shares its counter."""
    out = node._data
    base = out.base
    for t in inputs:
        d = t._data
        if out is d or (base is not None and (d is base or d.base is base)):
            share_version(t, node)
            return


def written_since(node: Any) -> tuple[int, Any] | None:
    """(k, tensor) for the first of the node's output (k = 0) and inputs (k = 1, 2, ...) whose
    memory was written after the node recorded it; None when none was. A node's record is its
    creation epoch, or (its output's epoch, its inputs' epoch) for a node adopted by an
    in-place operation (inplace.py), whose output was written after its inputs were read."""
    record = node._vers
    own, used = record if type(record) is tuple else (record, record)
    vc = node._vc
    if vc is not None and vc[2] > own:
        return 0, node
    for k, t in enumerate(node.parents, start=1):
        vc = t._vc
        if vc is not None and vc[2] > used:
            return k, t
    return None
