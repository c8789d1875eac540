"""Functional transforms in the style of JAX and HIPS autograd: grad, value_and_grad,
jacobian, hessian. They compose: ``grad(grad(f))`` is the second derivative.

Plain inputs (numbers, lists, arrays) give plain ndarray results. Tensor inputs give
Tensor results that stay on the graph, which is how an outer transform
differentiates an inner one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .engine import gradients
from .functions import reshape, stack
from .tensor import Tensor


def _argnums(argnums: int | tuple[int, ...]) -> tuple[int, ...]:
    return (argnums,) if isinstance(argnums, int) else tuple(argnums)


def _prepare(name: str, args: tuple, argnums: tuple[int, ...]) -> tuple[list, bool]:
    """Make the differentiated arguments Tensors that require grad.

    Returns the new argument list and whether every differentiated input was plain.
    A Tensor that already requires grad is used as it is, so the result stays
    connected to an enclosing transform's graph.
    """
    args = list(args)
    plain = True
    for k in argnums:
        if k >= len(args):
            raise ValueError(f"{name}: argnums={k} but the function got {len(args)} positional arguments")
        a = args[k]
        if isinstance(a, Tensor):
            plain = False
            if not a.requires_grad:
                a = Tensor._leaf(a._data).requires_grad_(True)
        else:
            a = Tensor(a)
            if a.dtype.kind not in "fc":
                raise TypeError(
                    f"{name}: argument {k} has dtype {a.dtype}; only floating-point inputs can be differentiated"
                )
            a.requires_grad_(True)
        args[k] = a
    return args, plain


def _zeros(inputs: list[Tensor]) -> list[Tensor]:
    """The gradient of a function that does not depend on its inputs."""
    return [Tensor._leaf(np.zeros(t.shape, dtype=t.dtype)) for t in inputs]


def _value_and_grads(name: str, f: Callable, argnums: tuple[int, ...], args: tuple, kwargs: dict):
    wrapped, plain = _prepare(name, args, argnums)
    out = f(*wrapped, **kwargs)
    if not isinstance(out, Tensor):
        out = Tensor(out)
    if out.size != 1:
        raise ValueError(f"{name}: the function must return a single-element value, got shape {out.shape}")
    inputs = [wrapped[k] for k in argnums]
    if out.requires_grad:
        grads = gradients(out, inputs, create_graph=not plain)
    else:
        grads = _zeros(inputs)
    if plain:
        return out._data, [g._data for g in grads]
    return out, grads


def value_and_grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """A function returning ``(f(*args), gradient)``; a tuple of gradients when
    ``argnums`` is a tuple.

    >>> value, g = value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    >>> float(value), g
    (5.0, array([2., 4.]))
    """
    nums = _argnums(argnums)

    def value_and_grad_f(*args: Any, **kwargs: Any):
        value, grads = _value_and_grads("value_and_grad", f, nums, args, kwargs)
        return value, (grads[0] if isinstance(argnums, int) else tuple(grads))

    return value_and_grad_f


def grad(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The gradient of a single-element-valued ``f`` with respect to argument ``argnums``.

    >>> import autodiff as ad
    >>> float(ad.grad(ad.sin)(0.0))
    1.0
    >>> float(ad.grad(ad.grad(lambda x: x ** 3))(2.0))    # 6x
    12.0
    """
    nums = _argnums(argnums)

    def grad_f(*args: Any, **kwargs: Any):
        _, grads = _value_and_grads("grad", f, nums, args, kwargs)
        return grads[0] if isinstance(argnums, int) else tuple(grads)

    return grad_f


def jacobian(f: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Jacobian of ``f``: shape ``f(x).shape + x.shape``, one backward pass per output element.

    >>> jacobian(lambda x: x * x)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """
    nums = _argnums(argnums)

    def jacobian_f(*args: Any, **kwargs: Any):
        wrapped, plain = _prepare("jacobian", args, nums)
        out = f(*wrapped, **kwargs)
        if not isinstance(out, Tensor):
            out = Tensor(out)
        inputs = [wrapped[k] for k in nums]
        columns: list[list] = [[] for _ in inputs]
        for idx in np.ndindex(out.shape):
            if out.requires_grad:
                seed = np.zeros(out.shape, dtype=out.dtype)
                seed[idx] = 1
                rows = gradients(out, inputs, grad_outputs=[seed], create_graph=not plain)
            else:
                rows = _zeros(inputs)
            for column, row in zip(columns, rows, strict=True):
                column.append(row)
        results = []
        for t, column in zip(inputs, columns, strict=True):
            shape = out.shape + t.shape
            if not column:  # an empty output
                j = Tensor._leaf(np.zeros(shape, dtype=t.dtype))
            else:
                j = reshape(stack(column), shape)
            results.append(j._data if plain else j)
        return results[0] if isinstance(argnums, int) else tuple(results)

    return jacobian_f


def hessian(f: Callable, argnums: int = 0) -> Callable:
    """The matrix of second derivatives of a single-element-valued ``f``: ``jacobian(grad(f))``.

    >>> hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacobian(grad(f, argnums), argnums)
