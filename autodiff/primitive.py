"""Primitive: one differentiable operation, its NumPy forward and its derivative rules.

Calling a primitive on Tensors runs the forward on their ndarrays and, when a
gradient may be needed, records a node (the output Tensor) that points at its
parents. Rules are written in Tensor operations: during a plain backward pass the
engine hands them ndarrays (every primitive then just evaluates NumPy), with
``create_graph=True`` it hands them Tensors, so gradients are differentiable again.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

from .mode import state
from .tensor import Tensor

Rule = Callable[..., Any]
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


_CONSTANTS: dict = {}  # Python numbers seen as operands, by (value, dtype): they recur in every step


def _const(value: Any, like: np.dtype | None) -> Tensor:
    """Wrap a non-Tensor operand; Python numbers take the dtype of the Tensor beside them."""
    if isinstance(value, (bool, int, float)) and not isinstance(value, np.generic):
        if like is not None and (like.kind == "f" or (like.kind in "iu" and not isinstance(value, float))):
            dtype = like
        else:
            dtype = state.default_dtype
        # -0.0 == 0.0 and nan != nan: such keys would be wrong or useless, so they are not cached
        cacheable = value == value and (value != 0 or math.copysign(1.0, value) > 0)
        t = _CONSTANTS.get((value, dtype)) if cacheable else None
        if t is None:
            t = Tensor._leaf(np.asarray(value, dtype=dtype))
            t._data.flags.writeable = False
            if cacheable and len(_CONSTANTS) < 4096:
                _CONSTANTS[(value, dtype)] = t
        return t
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return Tensor._leaf(value)
    return Tensor(value)


def _wrap(args: tuple) -> tuple[Tensor, ...]:
    like = None
    for a in args:
        if isinstance(a, Tensor) and (like is None or (a._data.dtype.kind == "f" and like.kind != "f")):
            like = a._data.dtype
    return tuple([a if isinstance(a, Tensor) else _const(a, like) for a in args])


class Primitive:
    """A differentiable operation: ``forward`` on ndarrays plus one VJP rule per input.

    A rule has the signature ``rule(g, out, *inputs, **params)`` and returns the
    gradient for its input, written in Tensor operations (so it also runs on ndarrays).

    >>> cube = Primitive(lambda x: x ** 3, "cube")
    >>> cube.defvjp(lambda g, out, x: g * 3 * x ** 2)  # doctest: +ELLIPSIS
    <primitive cube>
    """

    __slots__ = ("name", "forward", "rules", "rule_any", "aligned_error")

    def __init__(self, forward: Callable[..., Any], name: str | None = None) -> None:
        self.forward = forward
        self.name = name or getattr(forward, "__name__", "primitive")
        self.rules: tuple[Rule | None, ...] = ()
        self.rule_any: Callable[..., Any] | None = None
        self.aligned_error = False

    def defvjp(self, *rules: Rule | None) -> Primitive:
        """Set the derivative rules, one per positional input (``None``: not differentiable)."""
        self.rules, self.rule_any = rules, None
        return self

    def defvjp_any(self, rule: Callable[..., Any]) -> Primitive:
        """One rule for every input of a variadic primitive: ``rule(i, g, out, *inputs, **params)``."""
        self.rules, self.rule_any = (), rule
        return self

    def vjp(self, i: int, g: Any, out: Any, inputs: list, params: dict) -> Any:
        """The gradient flowing to input ``i`` given the output's gradient ``g``."""
        if self.rule_any is not None:
            return self.rule_any(i, g, out, *inputs, **params)
        rule = self.rules[i] if i < len(self.rules) else None
        if rule is None:
            raise NotImplementedError(
                f"{self.name}: no derivative rule for input {i}, but a gradient must flow through it "
                f"(define one with {self.name}.defvjp(...))"
            )
        return rule(g, out, *inputs, **params)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
        if state.raw:  # inside a plain backward pass: ndarrays in, ndarrays out
            return self.forward(*args, **params)
        for a in args:
            if not isinstance(a, Tensor):
                try:
                    inputs = _wrap(args)
                except TypeError as e:
                    kinds = ", ".join(type(a).__name__ for a in args)
                    raise TypeError(f"{self.name}: cannot use operands of types ({kinds}): {e}") from None
                break
        else:
            inputs = args
        try:
            out = self.forward(*[t._data for t in inputs], **params)
        except (ValueError, IndexError, TypeError) as e:
            raise self._explain(inputs, params, e) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        node = Tensor._leaf(out)
        if state.grad_enabled and out.dtype.kind in "fc":
            for t in inputs:
                if t.requires_grad:
                    node.requires_grad = True
                    node.prim = self
                    node.parents = inputs
                    node.saved = params
                    break
        if state.anomaly:
            _check_forward(self, node, inputs)
        return node

    def _explain(self, inputs: list[Tensor], params: dict, error: Exception) -> Exception:
        shapes = " and ".join(str(t.shape) for t in inputs)
        dtypes = ", ".join(str(t.dtype) for t in inputs)
        if self.aligned_error:
            text = f"{self.name}: shapes {shapes} are not aligned"
        else:
            text = f"{self.name}: invalid operands with shapes {shapes} (dtypes {dtypes})"
        if params:
            text += " and " + ", ".join(f"{k}={v!r}" for k, v in params.items())
        return type(error)(f"{text}: {error}")


def primitive(forward: Callable[..., Any]) -> Primitive:
    """Turn a NumPy function into a differentiable primitive; add rules with ``.defvjp``.

    >>> @primitive
    ... def cube(x):
    ...     return x ** 3
    >>> cube.defvjp(lambda g, out, x: g * 3 * x ** 2)  # doctest: +ELLIPSIS
    <primitive cube>
    """
    return Primitive(forward)


# ------------------------------------------------------------------ anomalies
def creation_site() -> str:
    """The first stack frame outside autodiff, as ``file:line in function``."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno} in {frame.name}"
    return "<unknown>"


def _bad_values(arr: np.ndarray) -> str | None:
    if arr.dtype.kind not in "fc" or np.isfinite(arr).all():
        return None
    return "nan" if np.isnan(arr).any() else "inf"


def _check_forward(prim: Primitive, node: Tensor, inputs: list[Tensor]) -> None:
    node._site = creation_site()
    bad = _bad_values(node._data)
    if bad is not None:
        shapes = ", ".join(str(t.shape) for t in inputs)
        raise FloatingPointError(
            f"{prim.name} produced {bad} in its forward pass (input shapes {shapes}), at {node._site}"
        )


def check_backward(node: Tensor, i: int, grad: Any) -> None:
    """Raise if the gradient a rule produced for input ``i`` of ``node`` holds NaN/inf."""
    arr = grad._data if isinstance(grad, Tensor) else np.asarray(grad)
    bad = _bad_values(arr)
    if bad is not None:
        shapes = ", ".join(str(p.shape) for p in node.parents)
        site = node._site or "an unknown line (created outside detect_anomaly)"
        raise FloatingPointError(
            f"{node.prim.name} produced {bad} in its backward pass for input {i} "
            f"(input shapes {shapes}); the node was created at {site}"
        )
