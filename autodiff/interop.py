"""NumPy's own functions on Tensors (NEP 13 ``__array_ufunc__``, NEP 18 ``__array_function__``).

``np.sin(t)``, ``np.sum(t, axis=0)``, ``np.concatenate([t, u])``, ``np.where(c, t, u)``
dispatch to autodiff's function of the same name (looked up in the package when
called, so functions added later are found without a list to keep), through a short
table where NumPy's name differs (``multiply`` is ``mul``). Functions whose results
carry no gradient by nature (shapes, comparisons, ``argmax``, ``allclose``) run on the
values. Anything else raises a ``TypeError`` naming the function: never a silent
detach. ``np.asarray(t)`` still gives the values (a read-only view).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

_F: Any = None  # bound by tensor.py once Tensor and the function tables exist
_P: Any = None
_Tensor: Any = None


def bind(tensor_cls: type, functions: Any, primitives: Any) -> None:
    """Give this module the Tensor class and the function tables (imported after Tensor)."""
    global _Tensor, _F, _P
    _Tensor, _F, _P = tensor_cls, functions, primitives


# NumPy's name -> autodiff's name, where they differ
_NAMES = {"subtract": "sub", "multiply": "mul", "divide": "div", "true_divide": "div", "negative": "neg",
          "absolute": "abs", "amax": "max", "amin": "min", "ravel": "flatten", "concat": "concatenate",
          "permute_dims": "transpose", "pow": "power", "row_stack": "vstack"}
# NumPy's functions whose autodiff version lives in a submodule (autodiff.trace is the graph listing)
_ELSEWHERE = {"trace": ("linalg", "numpy_trace")}
_REDUCE = {"add": "sum", "maximum": "max", "minimum": "min"}
# results that carry no gradient by nature: computed on the values
_VALUE_FUNCTIONS = frozenset({
    "shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "may_share_memory", "shares_memory",
    "allclose", "isclose", "array_equal", "array_equiv", "argmax", "argmin", "argsort", "nonzero", "flatnonzero",
    "argwhere", "count_nonzero", "any", "all", "searchsorted", "isfinite", "isnan", "isinf", "isneginf",
    "isposinf", "signbit", "sometrue", "alltrue", "array_repr", "array_str", "array2string", "iscomplex",
    "isreal", "copyto_check", "min_scalar_type", "common_type",
})


def _values(x: Any) -> Any:
    if isinstance(x, _Tensor):
        return x._data
    if isinstance(x, (list, tuple)):
        return type(x)(_values(e) for e in x)
    return x


def _autodiff_function(name: str, module: str = "numpy") -> Any:
    """autodiff's function for NumPy's ``module.name``, or None."""
    target: Any = importlib.import_module("autodiff")
    if module != "numpy":
        sub = module.removeprefix("numpy.")
        if not module.startswith("numpy.") or "." in sub:
            return None
        target = getattr(target, sub, None)
        if target is None:
            return None
    if module == "numpy" and name in _ELSEWHERE:
        target, name = getattr(target, _ELSEWHERE[name][0]), _ELSEWHERE[name][1]
    fn = getattr(target, _NAMES.get(name, name), None)
    return fn if callable(fn) and not isinstance(fn, type) else None


def _boolean_ufunc(ufunc: np.ufunc) -> bool:
    outputs = {t.split("->")[1] for t in ufunc.types if "O" not in t}
    return outputs == {"?"}


def _unsupported(what: str, why: str) -> TypeError:
    return TypeError(f"{what} is not supported on autodiff Tensors: {why}; use np.asarray(t) to compute on the "
                     f"values without gradients")


def _call(what: str, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return fn(*args, **kwargs)
    except TypeError as e:
        if "unexpected keyword argument" in str(e) or "positional argument" in str(e):
            raise _unsupported(what, f"autodiff's version does not take these arguments ({e})") from None
        raise


class ArrayInterop:
    """NumPy dispatch for Tensor (a mixin)."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = ufunc.__name__
        what = f"numpy.{name}" if method == "__call__" else f"numpy.{name}.{method}"
        if kwargs.get("out") is not None:
            raise _unsupported(f"{what}(..., out=...)", "write in place with the operators (t += u) or "
                               "t[...] = value instead")
        if method == "__call__":
            if _boolean_ufunc(ufunc):
                return _Tensor._leaf(np.asarray(ufunc(*_values(inputs), **kwargs)))
            if kwargs:
                raise _unsupported(f"{what} with {sorted(kwargs)}", "only the operands can be passed")
            fn = _autodiff_function(name)
            if fn is None:
                raise _unsupported(what, f"autodiff has no differentiable {name}")
            return fn(*inputs)
        if method == "reduce" and name in _REDUCE and len(inputs) == 1:
            extra = set(kwargs) - {"axis", "keepdims"}
            if extra:
                raise _unsupported(f"{what} with {sorted(extra)}", "only axis and keepdims can be passed")
            reduce = getattr(_F, _REDUCE[name])
            return reduce(inputs[0], axis=kwargs.get("axis", 0), keepdims=kwargs.get("keepdims", False))
        raise _unsupported(what, f"the ufunc method {method!r} has no differentiable version")

    def __array_function__(self, func: Any, types: tuple[type, ...], args: tuple[Any, ...],
                           kwargs: dict[str, Any]) -> Any:
        name = func.__name__
        module = getattr(func, "__module__", "numpy") or "numpy"
        what = f"{module}.{name}"
        if module == "numpy" and name in _VALUE_FUNCTIONS:
            return func(*_values(args), **_values(kwargs))
        fn = _autodiff_function(name, module)
        if fn is None:
            raise _unsupported(what, f"autodiff has no differentiable {name}")
        return _call(what, fn, args, kwargs)
