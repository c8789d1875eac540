"""Pytrees: nested dicts, lists and tuples whose leaves are arrays, Tensors or numbers.

The transforms accept pytrees as arguments and give gradients with the same
structure, as JAX and HIPS autograd do. Containers keep their type (a namedtuple
stays that namedtuple, a dict keeps its key order); ``None`` is an empty subtree.

>>> leaves, tree = tree_flatten({"w": [1.0, 2.0], "b": (3.0,)})
>>> leaves
[1.0, 2.0, 3.0]
>>> tree_unflatten(tree, [10, 20, 30])
{'w': [10, 20], 'b': (30,)}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["TreeDef", "tree_flatten", "tree_map", "tree_unflatten"]


class TreeDef:
    """The shape of a pytree without its leaves: a container kind and its children."""

    __slots__ = ("kind", "meta", "children")

    def __init__(self, kind: Any, meta: Any = None, children: tuple[TreeDef, ...] = ()) -> None:
        self.kind = kind  # None for a leaf, type(None) for None, else the container's type
        self.meta = meta  # a dict's keys
        self.children = children

    @property
    def num_leaves(self) -> int:
        """How many leaves a pytree of this structure holds."""
        if self.kind is None:
            return 1
        return sum(c.num_leaves for c in self.children)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TreeDef) and self.kind is other.kind and self.meta == other.meta
                and self.children == other.children)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        if self.kind is type(None):
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if issubclass(self.kind, dict):
            inner = ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.meta, self.children, strict=True))
        return f"{self.kind.__name__}({inner})"


LEAF = TreeDef(None)


def _is_namedtuple(t: type) -> bool:
    return issubclass(t, tuple) and hasattr(t, "_fields")


def tree_flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """The leaves of ``tree`` (depth first, dict entries in key order) and its structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if tree is None:
        return TreeDef(type(None))
    kind = type(tree)
    if isinstance(tree, dict):
        keys = tuple(tree)
        return TreeDef(kind, keys, tuple(_flatten(tree[k], leaves) for k in keys))
    if isinstance(tree, (list, tuple)):
        return TreeDef(kind, None, tuple(_flatten(c, leaves) for c in tree))
    leaves.append(tree)
    return LEAF


def tree_unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild a pytree of structure ``treedef`` from a flat list of leaves."""
    it = iter(leaves)
    tree = _build(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError(f"tree_unflatten: too many leaves for the structure {treedef!r}")
    return tree


_END = object()


def _build(treedef: TreeDef, it: Iterator[Any]) -> Any:
    kind = treedef.kind
    if kind is None:
        leaf = next(it, _END)
        if leaf is _END:
            raise ValueError("tree_unflatten: too few leaves for the structure")
        return leaf
    if kind is type(None):
        return None
    children = [_build(c, it) for c in treedef.children]
    if issubclass(kind, dict):
        return kind(zip(treedef.meta, children, strict=True))
    if _is_namedtuple(kind):
        return kind(*children)
    return kind(children)


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """Apply ``f`` to every leaf (and the matching leaves of ``rest``, which must share the structure).

    >>> tree_map(lambda a, b: a + b, {"x": 1, "y": [2]}, {"x": 10, "y": [20]})
    {'x': 11, 'y': [22]}
    """
    leaves, treedef = tree_flatten(tree)
    others = []
    for k, r in enumerate(rest):
        r_leaves, r_def = tree_flatten(r)
        if r_def != treedef:
            raise ValueError(f"tree_map: argument {k + 1} has structure {r_def!r}, expected {treedef!r}")
        others.append(r_leaves)
    return tree_unflatten(treedef, [f(*xs) for xs in zip(leaves, *others, strict=True)])
