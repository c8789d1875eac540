"""Hypothesis strategies for property-testing gradients.

>>> from hypothesis import given
>>> from autodiff.testing import gradcheck
>>> from autodiff.testing.strategies import expressions
>>> @given(expressions())
... def test_program(program):
...     gradcheck(program, *program.inputs)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

try:
    from hypothesis import assume, strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # an optional extra: say which
    raise ImportError("autodiff.testing.strategies needs Hypothesis, part of the 'dev' extra: "
                      "pip install 'chainrule[dev]' (or pip install hypothesis)") from e

from .. import primitives as P
from ..mode import no_grad
from ..primitive import REGISTRY, Primitive
from ..tensor import Tensor


def _elements(dtype: Any, min_value: float, max_value: float) -> st.SearchStrategy[float]:
    width: Literal[32, 64] = 32 if np.dtype(dtype) == np.float32 else 64
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False, width=width)


@st.composite
def tensors(draw: st.DrawFn, shape: tuple[int, ...] | None = None, dtype: Any = np.float64, min_value: float = -3.0,
            max_value: float = 3.0, requires_grad: bool = False, max_dims: int = 3, max_side: int = 4) -> Tensor:
    """A Tensor of ``dtype`` with values in [min_value, max_value] and a drawn (or given) shape."""
    if shape is None:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side))
    data = draw(hnp.arrays(dtype, shape, elements=_elements(dtype, min_value, max_value)))
    return Tensor(data, requires_grad=requires_grad)


@st.composite
def broadcastable_tensors(draw: st.DrawFn, n: int = 2, dtype: Any = np.float64, min_value: float = -3.0,
                          max_value: float = 3.0, requires_grad: bool = False, max_dims: int = 3,
                          max_side: int = 4) -> tuple[Tensor, ...]:
    """``n`` Tensors whose shapes broadcast together (NumPy's rules), e.g. (3, 1) and (4,)."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, min_side=1,
                                                    max_side=max_side))
    return tuple(
        draw(tensors(shape=s, dtype=dtype, min_value=min_value, max_value=max_value, requires_grad=requires_grad))
        for s in shapes.input_shapes
    )


# The menus of random programs, read from the registry: every smooth elementwise entry
# with a SymPy form, tested on a box without kinks (its operands are first mapped smoothly
# into that box, lo + (hi - lo)·σ(x), so any input is inside the domain), and every
# reduction without ties. A primitive registered with such a sampler joins the menus.
def _squash(x: Any, lo: float, hi: float) -> Any:
    return P.sigmoid(x) * (hi - lo) + lo


def _in_domain(entry: Any, bounds: Sequence[tuple[float, float]]) -> Callable[..., Any]:
    return lambda *xs: entry(*[_squash(x, lo, hi) for x, (lo, hi) in zip(xs, bounds, strict=True)])


def _elementwise_menu(arity: int) -> dict[str, Callable[..., Any]]:
    menu = {}
    for name, entry in sorted(REGISTRY.items()):
        bounds = getattr(entry.sample, "bounds", None)
        if (isinstance(entry, Primitive) and entry.sympy is not None and entry.smooth and bounds is not None
                and len(bounds) == arity and not entry.sample.kinks):  # type: ignore[union-attr]
            menu[name] = _in_domain(entry, bounds)
    return menu


def _reduction_menu() -> dict[str, Callable[..., Any]]:
    return {name: (lambda e: lambda x, axis: e(x, axis=axis, keepdims=False))(entry)
            for name, entry in sorted(REGISTRY.items())
            if getattr(entry.sample, "reduction", False) and not entry.sample.ties and entry.smooth}  # type: ignore


UNARY: dict[str, Callable[..., Any]] = _elementwise_menu(1)
BINARY: dict[str, Callable[..., Any]] = _elementwise_menu(2)
REDUCE: dict[str, Callable[..., Any]] = _reduction_menu()


@dataclass
class Program:
    """A random differentiable program: a DAG of steps over its inputs.

    Nodes 0..n-1 are the inputs; step k appends node n+k computed from earlier nodes
    (a node may feed several steps: shared nodes). Calling the program on Tensors
    evaluates it; ``inputs`` holds the drawn input arrays.
    """

    inputs: list[np.ndarray]
    steps: list[tuple[str, tuple[int, ...], dict[str, Any]]] = field(default_factory=list)

    def __call__(self, *xs: Tensor) -> Tensor:
        nodes = list(xs)
        for name, operands, params in self.steps:
            nodes.append(_step(name)(*[nodes[i] for i in operands], **params))
        return nodes[-1]

    def __repr__(self) -> str:
        n = len(self.inputs)
        lines = [f"v{i}: input {tuple(a.shape)}" for i, a in enumerate(self.inputs)]
        for k, (name, operands, params) in enumerate(self.steps):
            args = ", ".join(f"v{i}" for i in operands)
            extra = "".join(f", {key}={value}" for key, value in params.items())
            lines.append(f"v{n + k} = {name}({args}{extra})")
        return "Program(\n  " + "\n  ".join(lines) + "\n)"


@st.composite
def expressions(draw: st.DrawFn, n_inputs: int | tuple[int, int] = (1, 3), max_steps: int = 8,
                ops: Sequence[str] | None = None, dtype: Any = np.float64, max_dims: int = 2,
                max_side: int = 3) -> Program:
    """A random differentiable :class:`Program` over the registry's smooth menus
    (``UNARY``, ``BINARY``, ``REDUCE``; each operand mapped into its entry's domain).

    Inputs have mutually broadcastable shapes; binary steps broadcast, reductions
    change shapes, and later steps may reuse any earlier node. Programs whose
    values leave [-1e4, 1e4] are rejected.
    """
    lo, hi = (n_inputs, n_inputs) if isinstance(n_inputs, int) else n_inputs
    n = draw(st.integers(lo, hi))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=max_dims, min_side=1,
                                                    max_side=max_side)).input_shapes
    inputs = [draw(hnp.arrays(dtype, s, elements=_elements(dtype, -2.0, 2.0))) for s in shapes]
    menu = list(ops) if ops is not None else [*UNARY, *BINARY, *REDUCE]
    program = Program(inputs)
    values = [np.asarray(a) for a in inputs]
    for _ in range(draw(st.integers(1, max_steps))):
        name = draw(st.sampled_from(menu))
        # the newest node half of the time, else any earlier node (shared nodes)
        last = len(values) - 1
        first = last if draw(st.booleans()) else draw(st.integers(0, last))
        if name in BINARY:
            partners = [j for j, v in enumerate(values)
                        if _broadcasts(values[first].shape, v.shape)]
            operands: tuple[int, ...] = (first, draw(st.sampled_from(partners)))
            params: dict[str, Any] = {}
        elif name in REDUCE:
            ndim = values[first].ndim
            axis = draw(st.none() | st.integers(0, ndim - 1)) if ndim else None
            operands, params = (first,), {"axis": axis}
        else:
            operands, params = (first,), {}
        program.steps.append((name, operands, params))
        with no_grad():
            value = _step(name)(*[Tensor(values[i]) for i in operands], **params)._data
        assume(np.all(np.isfinite(value)) and np.all(np.abs(value) < 1e4))
        values.append(value)
    return program


def _step(name: str) -> Callable[..., Any]:
    return UNARY.get(name) or BINARY.get(name) or REDUCE[name]


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


__all__ = ["BINARY", "Program", "REDUCE", "UNARY", "broadcastable_tensors", "expressions", "tensors"]
