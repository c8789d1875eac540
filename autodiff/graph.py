"""Look at a computation graph: its order, a summary, a jaxpr-like listing, DOT and pictures.

>>> import autodiff as ad
>>> x = ad.Tensor([1.0, 2.0], requires_grad=True, name="x")
>>> y = (x * x).sum()
>>> [t.op for t in ad.topo_order(y)]
[None, 'mul', 'sum']
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .display import repr_pre, repr_pretty
from .tensor import Tensor

_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "bool": "bool", "int64": "i64", "int32": "i32"}


def topo_order(*outputs: Tensor) -> list[Tensor]:
    """Every node reachable from ``outputs``, parents before children (no recursion)."""
    order: list[Tensor] = []
    seen: set[int] = set()
    for root in outputs:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(root.parents))]
        while stack:
            node, parents = stack[-1]
            for p in parents:
                if id(p) not in seen:
                    seen.add(id(p))
                    stack.append((p, iter(p.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def type_string(t: Tensor) -> str:
    """``f64[4,3]``: the dtype's short name and the shape."""
    return f"{_SHORT.get(t.dtype.name, t.dtype.name)}[{','.join(str(n) for n in t.shape)}]"


@dataclass
class GraphSummary:
    """Counts and sizes of a graph; ``str()`` gives a short report."""

    nodes: int
    ops: dict[str, int]
    leaves: int
    parameters: int
    constants: int
    bytes_data: int
    bytes_grad: int

    _repr_pretty_ = repr_pretty  # a notebook shows the report, not the fields
    _repr_html_ = repr_pre

    @property
    def bytes(self) -> int:
        """Bytes held by data and gradients together."""
        return self.bytes_data + self.bytes_grad

    def __str__(self) -> str:
        ops = ", ".join(f"{name} {n}" for name, n in sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0])))
        return (f"{self.nodes} nodes: {sum(self.ops.values())} ops ({ops}); {self.leaves} leaves "
                f"({self.parameters} requiring grad, {self.constants} constants); "
                f"{_human(self.bytes)} held ({_human(self.bytes_data)} data, {_human(self.bytes_grad)} grad)")


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def summary(t: Tensor) -> GraphSummary:
    """Node count, op counts, leaves, parameters and bytes held by the graph of ``t``.

    >>> import autodiff as ad
    >>> print(ad.summary((ad.Tensor([1.0], requires_grad=True) * 2).sum()))   # doctest: +ELLIPSIS
    4 nodes: 2 ops (mul 1, sum 1); 2 leaves (1 requiring grad, 1 constants); ...
    """
    nodes = topo_order(t)
    ops = Counter(n.op for n in nodes if n.op is not None)
    leaves = [n for n in nodes if n.is_leaf]
    data = sum(n._data.nbytes for n in nodes)
    grads = sum(n.grad._data.nbytes for n in nodes if n.grad is not None)
    params = sum(1 for n in leaves if n.requires_grad)
    return GraphSummary(len(nodes), dict(ops), len(leaves), params, len(leaves) - params, data, grads)


# ------------------------------------------------------------------- trace
def _value_text(a: np.ndarray, limit: int = 6) -> str:
    if a.size <= limit:
        return np.array2string(a, separator=", ", precision=4, suppress_small=True).replace("\n", "")
    if a.dtype.kind in "fiu":
        return f"<mean {a.mean():.4g}, min {a.min():.4g}, max {a.max():.4g}>"
    return f"<{a.size} values>"


def _params_text(saved: dict[str, Any] | None) -> str:
    if not saved:
        return ""
    parts = []
    for key, value in saved.items():
        if isinstance(value, tuple) and any(isinstance(v, np.ndarray) for v in value):
            value = "[" + ", ".join(f"array{tuple(v.shape)}" if isinstance(v, np.ndarray) else repr(v)
                                    for v in value) + "]"
        elif isinstance(value, np.dtype):
            value = value.name
        parts.append(f"{key}={value}")
    return "[" + ", ".join(parts) + "]"


@dataclass
class Trace:
    """The primitive operations a function performs, one equation per line.

    ``str(trace)`` reads like ``jax.make_jaxpr``; ``len(trace.equations)`` counts ops.
    """

    inputs: list[str]
    constants: list[str]
    equations: list[str]
    outputs: list[str]
    nodes: list[Tensor] = field(repr=False, default_factory=list)

    _repr_pretty_ = repr_pretty  # a notebook shows the listing, not the fields
    _repr_html_ = repr_pre

    @property
    def n_ops(self) -> int:
        """The number of primitive operations (equations)."""
        return len(self.equations)

    def __str__(self) -> str:
        lines = ["inputs:  " + " ".join(self.inputs)]
        lines += ["  " + c for c in self.constants]
        lines += ["  " + e for e in self.equations]
        lines.append("outputs: " + " ".join(self.outputs))
        return "\n".join(lines)


def listing(*outputs: Tensor, inputs: list[Tensor] | None = None) -> Trace:
    """The :class:`Trace` of an existing graph (``inputs`` are the leaves to show as inputs)."""
    nodes = topo_order(*outputs)
    inputs = list(inputs) if inputs is not None else [n for n in nodes if n.is_leaf and n.requires_grad]
    names: dict[int, str] = {}
    input_ids = {id(t) for t in inputs}
    for k, t in enumerate(inputs):
        names[id(t)] = f"%{k}"
    input_text = [f"%{k}:{type_string(t)}" + (f" ({t.name})" if t.name else "") for k, t in enumerate(inputs)]
    constants, equations = [], []
    for node in nodes:  # constants first, so the listing reads top to bottom
        if node.is_leaf and id(node) not in input_ids:
            var = names[id(node)] = f"%{len(names)}"
            label = f" ({node.name})" if node.name else ""
            constants.append(f"{var}:{type_string(node)} = const {_value_text(node._data)}{label}")
    for node in nodes:
        if not node.is_leaf:
            var = names[id(node)] = f"%{len(names)}"
            args = " ".join(names[id(p)] for p in node.parents)
            equations.append(f"{var}:{type_string(node)} = {node.op}{_params_text(node.saved)} {args}")
    outs = [names[id(o)] for o in outputs]
    return Trace(input_text, constants, equations, outs, nodes)


def argument_names(f: Callable[..., Any], n: int) -> list[str]:
    """Names for f's first n positional arguments: its parameter names, else arg0, arg1, ..."""
    try:
        params = [p for p in inspect.signature(f).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[k].name if k < len(params) else f"arg{k}" for k in range(n)]


def trace(f: Callable[..., Any], *example_args: Any) -> Trace:
    """Run ``f`` on the example arguments and list the primitive ops it performs.

    Arguments become Tensors that require grad (named after f's parameters), so
    every op is recorded:

    >>> import autodiff as ad
    >>> print(ad.trace(lambda x: ad.exp(x * x), 2.0))
    inputs:  %0:f64[] (x)
      %1:f64[] = mul %0 %0
      %2:f64[] = exp %1
    outputs: %2
    """
    tensors = []
    for a, name in zip(example_args, argument_names(f, len(example_args)), strict=True):
        if isinstance(a, Tensor):
            t = a if a.requires_grad else Tensor(a._data, requires_grad=a.dtype.kind == "f", name=a.name or name)
        else:
            t = Tensor(a, name=name)
            if t.dtype.kind == "f":
                t.requires_grad_(True)
        tensors.append(t)
    out = f(*tensors)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    outs = [o if isinstance(o, Tensor) else Tensor(o) for o in outs]
    return listing(*outs, inputs=tensors)
