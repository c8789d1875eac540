"""Primitive: one differentiable operation, its NumPy forward and its derivative rules.

Calling a primitive on Tensors runs the forward on their ndarrays and, when a
gradient may be needed, records a node (the output Tensor) that points at its
parents. Rules are written in Tensor operations: during a plain backward pass the
engine hands them ndarrays (every primitive then just evaluates NumPy), with
``create_graph=True`` it hands them Tensors, so gradients are differentiable again.
"""

from __future__ import annotations

import inspect
import math
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar

import numpy as np

from .mode import state
from .tensor import Tensor, as_tensor
from .versions import EPOCH, share_views

Rule = Callable[..., Any]
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_DATA = attrgetter("_data")


# Python numbers seen as operands, by (value, dtype): they recur in every step
_CONSTANTS: dict[tuple[Any, np.dtype], Tensor] = {}


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
        # a graph may save it: copy, so a later write to the caller's array cannot go unseen
        return Tensor._leaf(value.copy() if state.grad_enabled else value)
    return as_tensor(value)


def _kept(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a recorded node keeps for its backward, with their arrays copied
    (labels, an index, a mask): a later write to the caller's array must not change the
    gradient, as for array operands (``_const``). A trace keeps the caller's arrays: it
    follows them by identity (see ``compile.trace``)."""
    kept = None
    for k, v in params.items():
        if isinstance(v, np.ndarray):
            copy: Any = v.copy()
        elif type(v) is tuple and any(isinstance(i, np.ndarray) for i in v):
            copy = tuple(i.copy() if isinstance(i, np.ndarray) else i for i in v)
        else:
            continue
        if kept is None:
            kept = dict(params)
        kept[k] = copy
    return params if kept is None else kept


def _wrap(args: tuple[Any, ...]) -> tuple[Tensor, ...]:
    like = None
    for a in args:
        if isinstance(a, Tensor) and (like is None or (a._data.dtype.kind == "f" and like.kind != "f")):
            like = a._data.dtype
    return tuple([a if isinstance(a, Tensor) else _const(a, like) for a in args])


class Primitive:
    """A differentiable operation: ``forward`` on ndarrays plus one VJP rule per input.

    A rule has the signature ``rule(g, out, *inputs, **params)`` and returns the
    gradient for its input, written in Tensor operations, so it is differentiable
    again and serves every order. A user's rule always receives Tensors (NumPy
    functions applied to them dispatch to autodiff's own); the built-in table's rules
    also accept plain ndarrays, which is how a first-order backward stays cheap.

    Besides the rules, a primitive carries what its proof and its documentation need
    (see :func:`defprim`): ``sympy``/``sympy_array`` (its SymPy form) or ``no_sympy``
    (why it has none), ``sample`` (how to draw test inputs inside its domain),
    ``smooth`` (whether second derivatives are checked) and ``conventions``.

    >>> cube = Primitive(lambda x: x ** 3, "cube")
    >>> cube.defvjp(lambda g, out, x: g * 3 * x ** 2)  # doctest: +ELLIPSIS
    <primitive cube>
    """

    __slots__ = ("name", "forward", "rules", "rule_any", "aligned_error", "raw_rules", "sympy", "sympy_array",
                 "no_sympy", "sample", "smooth", "conventions")

    def __init__(self, forward: Callable[..., Any], name: str | None = None) -> None:
        self.forward = forward
        self.name: str = name or str(getattr(forward, "__name__", "primitive"))
        self.rules: tuple[Rule | None, ...] = ()
        self.rule_any: Callable[..., Any] | None = None
        self.aligned_error = False
        self.raw_rules = False  # True only for the built-in table (rules that also run on ndarrays)
        self.sympy: Callable[..., Any] | None = None
        self.sympy_array: Callable[..., Any] | None = None
        self.no_sympy: str | None = None
        self.sample: Callable[..., Any] | None = None
        self.smooth = True
        self.conventions = ""

    def defvjp(self, *rules: Rule | None) -> Primitive:
        """Set the derivative rules, one per positional input (``None``: not differentiable)."""
        self.rules, self.rule_any = rules, None
        return self

    def defvjp_any(self, rule: Callable[..., Any]) -> Primitive:
        """One rule for every input of a variadic primitive: ``rule(i, g, out, *inputs, **params)``."""
        self.rules, self.rule_any = (), rule
        return self

    def defsympy(self, form: Callable[..., Any] | None = None, *, array: Callable[..., Any] | None = None) -> Primitive:
        """Say what the primitive is in SymPy, for ``to_sympy`` and its proof.

        ``form(sp, *scalars, **params)`` builds the SymPy expression of one element of an
        elementwise primitive (``sp`` is the sympy module); ``array(sp, *arrays, **params)``
        maps object arrays of SymPy expressions to an object array, for any other shape.

        >>> import numpy as np
        >>> cube = Primitive(lambda x: x ** 3, "cube").defsympy(lambda sp, x: x ** 3)
        """
        self.sympy, self.sympy_array = form, array
        return self

    def vjp(self, i: int, g: Any, out: Any, inputs: Sequence[Any], params: dict[str, Any]) -> Any:
        """The gradient flowing to input ``i`` given the output's gradient ``g``."""
        if state.raw and not self.raw_rules:
            return self._vjp_on_tensors(i, g, out, inputs, params)
        if self.rule_any is not None:
            return self.rule_any(i, g, out, *inputs, **params)
        rule = self.rules[i] if i < len(self.rules) else None
        if rule is None:
            raise NotImplementedError(
                f"{self.name}: no derivative rule for input {i}, but a gradient must flow through it "
                f"(define one with {self.name}.defvjp(...))"
            )
        return rule(g, out, *inputs, **params)

    def _vjp_on_tensors(self, i: int, g: Any, out: Any, inputs: Sequence[Any], params: dict[str, Any]) -> Any:
        """A user's rule during a plain backward: Tensors in (recording nothing), an ndarray out,
        so the same rule text behaves alike at first order and under ``create_graph``."""
        state.raw = False
        try:
            r = self.vjp(i, Tensor._leaf(np.asarray(g)), Tensor._leaf(out), [Tensor._leaf(x) for x in inputs], params)
        finally:
            state.raw = True
        return r._data if isinstance(r, Tensor) else np.asarray(r)

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Tensor:
        if state.raw:  # inside a plain backward pass: ndarrays in, ndarrays out (typed as the Tensor case)
            raw: Tensor = self.forward(*args, **params)
            return raw
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
            out = self.forward(*map(_DATA, inputs), **params)
        except (ValueError, IndexError, TypeError) as e:
            raise self._explain(inputs, params, e) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        node = Tensor._leaf(out)
        if out.base is not None:
            share_views(node, inputs)  # a view of an input's memory shares its version counter
        else:
            for t in inputs:
                if t._data is out:  # (an input's own array, returned as is)
                    share_views(node, inputs)
                    break
        if state.grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    kind = out.dtype.kind
                    if kind != "f":
                        if kind != "c":
                            break  # (an integer or boolean result: not differentiable, recorded as a constant)
                        raise TypeError(f"{self.name}: complex results are not differentiable in autodiff "
                                        f"(an input requires grad); compute with real and imaginary parts")
                    node.requires_grad = True
                    node.prim = self
                    node.parents = inputs
                    node.saved = _kept(params) if params else params
                    node._vers = EPOCH[0]  # (backward refuses inputs written after this epoch)
                    break
        if state.anomaly:
            _check_forward(self, node, inputs)
        return node

    def _explain(self, inputs: Sequence[Tensor], params: dict[str, Any], error: Exception) -> Exception:
        shapes = " and ".join(str(t.shape) for t in inputs)
        dtypes = ", ".join(str(t.dtype) for t in inputs)
        if self.aligned_error:
            text = f"{self.name}: shapes {shapes} are not aligned"
        else:
            text = f"{self.name}: invalid operands with shapes {shapes} (dtypes {dtypes})"
        if params:
            text += " and " + ", ".join(f"{k}={v!r}" for k, v in params.items())
        return type(error)(f"{text}: {error}")


def primitive(forward: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Turn a NumPy function into a differentiable primitive; add rules with ``.defvjp``.

    The rules receive Tensors and may use anything that works on Tensors (autodiff's
    functions, Tensor methods, NumPy functions that dispatch to autodiff); they then
    give the same answer at every order. The name may not be a built-in primitive's.

    >>> @primitive
    ... def cube(x):
    ...     return x ** 3
    >>> cube.defvjp(lambda g, out, x: g * 3 * x ** 2)  # doctest: +ELLIPSIS
    <primitive cube>
    """
    if forward is None:
        return lambda f: primitive(f, name=name)
    prim = Primitive(forward, name)
    if prim.name in REGISTRY:
        raise ValueError(
            f"primitive: the name {prim.name!r} belongs to the built-in primitive autodiff.{prim.name}; "
            f"choose another (e.g. primitive(f, name='my_{prim.name}'))"
        )
    return prim


# ------------------------------------------------------------------ the registry
@dataclass(frozen=True)
class Composite:
    """A registered function built from primitives (no derivative code of its own);
    the registry lists it so that the same proof checks it end to end."""

    fn: Callable[..., Any]
    name: str
    sample: Callable[..., Any] | None
    smooth: bool
    conventions: str

    def __call__(self, *args: Any, **params: Any) -> Any:
        return self.fn(*args, **params)

    def __repr__(self) -> str:
        return f"<composite {self.name}>"


REGISTRY: dict[str, Primitive | Composite] = {}
"""Every built-in primitive and composite, by name: the one list every check, the SymPy
bridge, the strategies, the CLI and the docs enumerate."""


def register(entry: Primitive | Composite) -> None:
    """Add a built-in entry to the registry; a name may be registered once."""
    if entry.name in REGISTRY:
        raise ValueError(f"register: a primitive or composite named {entry.name!r} is already registered")
    REGISTRY[entry.name] = entry


def defprim(name: str, forward: Callable[..., Any], *rules: Rule | None, any_rule: Callable[..., Any] | None = None,
            sympy: Callable[..., Any] | None = None, sympy_array: Callable[..., Any] | None = None,
            no_sympy: str | None = None, sample: Callable[..., Any] | None = None, smooth: bool = True,
            conventions: str = "", doc: str = "", aligned_error: bool = False) -> Primitive:
    """Define and register a built-in primitive: its NumPy forward, one derivative rule
    per input (or ``any_rule(i, g, out, *inputs, **params)`` for a variadic one), its
    SymPy form (``sympy``/``sympy_array``) or the reason it has none (``no_sympy``), the
    ``sample`` that draws test cases inside its domain (``autodiff.sampling``), whether it
    is ``smooth`` there (second order is checked), its ``conventions`` at kinks, and
    ``doc``: what it computes and its derivative, shown by ``help()``."""
    prim = Primitive(forward, name)
    if any_rule is not None:
        prim.defvjp_any(any_rule)
    else:
        prim.defvjp(*rules)
    prim.defsympy(sympy, array=sympy_array)
    prim.raw_rules, prim.aligned_error = True, aligned_error
    prim.no_sympy, prim.sample, prim.smooth, prim.conventions = no_sympy, sample, smooth, conventions
    _document(prim, doc)
    register(prim)
    return prim


_Fn = TypeVar("_Fn", bound=Callable[..., Any])


def composite(sample: Callable[..., Any] | None = None, smooth: bool = True, conventions: str = "",
              name: str | None = None) -> Callable[[_Fn], _Fn]:
    """Register a function of functions.py as a composite (returned unchanged, so it
    costs nothing per call) with the ``sample``, smoothness and conventions its proof uses."""

    def wrap(fn: _Fn) -> _Fn:
        register(Composite(fn, name or fn.__name__, sample, smooth, conventions))
        return fn

    return wrap


def _document(prim: Primitive, doc: str) -> None:
    """Give the primitive its own class, so ``help(prim)`` shows its formula and
    ``inspect.signature(prim)`` its real parameters."""
    text = doc.strip() or f"The primitive {prim.name}."
    if prim.conventions:
        text += "\n\nConventions: " + prim.conventions
    cls = type(prim.name, (Primitive,), {"__slots__": (), "__doc__": text, "__module__": "autodiff",
                                         "__signature__": _signature(prim)})
    prim.__class__ = cls


def _signature(prim: Primitive) -> inspect.Signature | None:
    """The parameters after ``(g, out)`` of the first rule (they name the inputs and params)."""
    rule, skip = (prim.rule_any, 3) if prim.rule_any is not None else (next((r for r in prim.rules if r), None), 2)
    try:
        params = list(inspect.signature(rule).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return inspect.Signature(params[skip:])


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


def _check_forward(prim: Primitive, node: Tensor, inputs: Sequence[Tensor]) -> None:
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
