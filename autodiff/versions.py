"""Version counters (as PyTorch's): how many in-place writes a tensor's memory has seen.

A counter is a two-item list [version, name of the last in-place op], shared by the
tensors that share memory (``detach()``, views); ``None`` means version 0, not shared.
A node records its own and its inputs' versions when it is created; backward
compares them (engine.py) and refuses values changed since.
"""

from __future__ import annotations

from typing import Any


def version_of(t: Any) -> int:
    """How many in-place writes ``t``'s memory has seen through the API."""
    return 0 if t._vc is None else t._vc[0]


def bump_version(t: Any, op: str) -> None:
    """Record an in-place write to ``t`` (and every tensor sharing its memory)."""
    if t._vc is None:
        t._vc = [1, op]
    else:
        t._vc[0] += 1
        t._vc[1] = op


def share_version(source: Any, view: Any) -> None:
    """Make ``view`` (which shares ``source``'s memory) use ``source``'s counter."""
    if source._vc is None:
        source._vc = [0, None]
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


def record_versions(node: Any, inputs: tuple[Any, ...]) -> None:
    """Remember the versions of a new node and its inputs (None: all zero, the common case)."""
    if node._vc is None:
        for t in inputs:
            if t._vc is not None:
                break
        else:
            return
    node._vers = tuple([0 if t._vc is None else t._vc[0] for t in (node, *inputs)])
