"""Reverse-mode transforms: grad, value_and_grad, vjp, jacrev (alias jacobian), hvp.

Plain inputs give ndarray results; Tensor inputs, or a function whose graph reaches
an enclosing transform's variables (or any tensor requiring grad), give Tensors on
that graph, so transforms nest to any order (see ``core``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import gradients
from ..pytree import tree_unflatten
from ..tensor import Tensor
from .core import Call, assemble, flat_like, jacobian_tree, result, seed_like, start, zeros_like

Argnums = int | Sequence[int]


def _scalar_output(call: Call) -> Tensor:
    if len(call.outputs) != 1 or call.outputs[0].size != 1:
        if len(call.outputs) != 1:
            got = f"a {call.out_tree!r} of {len(call.outputs)} values"
        else:
            got = f"shape {call.outputs[0].shape}"
        raise ValueError(f"{call.name}: the function must return a single-element value, got {got}")
    return call.outputs[0]


def _value_and_grads(name: str, f: Callable[..., Any], argnums: Argnums, has_aux: bool, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> tuple[Any, Any]:
    call, cg, as_tensors = start(name, f, args, kwargs, argnums, has_aux)
    out = _scalar_output(call)
    n = len(call.variables)
    grads = gradients(out, call.variables, create_graph=cg, allow_unused=True) if out.requires_grad else [None] * n
    call.check_used(grads)
    call.close()
    per_arg = call.per_argument([result(g, v, as_tensors) for g, v in zip(grads, call.variables, strict=True)])
    g = per_arg[0] if isinstance(argnums, (int, np.integer)) else tuple(per_arg)
    value: Any = out if as_tensors else out._data
    if has_aux:
        value = (value, call.finish_aux(as_tensors))
    return value, g


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """A function returning ``(f(*args), gradient)``; a tuple of gradients when
    ``argnums`` is a tuple. With ``has_aux=True``, ``f`` returns ``(value, aux)`` and
    the result is ``((value, aux), gradient)``, as in JAX.

    >>> value, g = value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    >>> float(value), g
    (5.0, array([2., 4.]))
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        return _value_and_grads("value_and_grad", f, argnums, has_aux, args, kwargs)

    return value_and_grad_f


def grad(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a single-element-valued ``f`` with respect to argument ``argnums``.

    Arguments may be pytrees (dicts, lists, tuples of arrays); the gradient has the
    same structure. With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the
    result is ``(gradient, aux)``. A function whose output does not depend on the
    argument has a zero gradient, unless the argument left the graph inside ``f``
    (``float(x)``, ``x.item()``, ``math.exp(x)``, ``np.asarray(x)``): that raises.

    >>> import autodiff as ad
    >>> float(ad.grad(ad.sin)(0.0))
    1.0
    >>> float(ad.grad(ad.grad(lambda x: x ** 3))(2.0))    # 6x
    12.0
    >>> ad.grad(lambda p: (p["w"] * p["b"]).sum())({"w": np.ones(2), "b": np.array([2.0, 3.0])})
    {'w': array([2., 3.]), 'b': array([1., 1.])}
    """

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        value, g = _value_and_grads("grad", f, argnums, has_aux, args, kwargs)
        return (g, value[1]) if has_aux else g

    return grad_f


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` returns a tuple with one gradient
    per primal, ``cotangentᵀ J``, each with its primal's structure. ``vjp_fn`` may be
    called many times. With ``has_aux=True`` the result is ``(out, vjp_fn, aux)``.

    >>> out, vjp_fn = vjp(lambda x, y: x * y, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    >>> vjp_fn(np.array([1.0, 10.0]))
    (array([ 3., 40.]), array([ 1., 20.]))
    """
    call = Call("vjp", f, primals, {}, tuple(range(len(primals))), has_aux)
    as_tensors = call.as_tensors(call.create_graph())
    out = tree_unflatten(call.out_tree, [o if as_tensors else o._data for o in call.outputs])

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cts = flat_like("vjp", "the cotangent", cotangent, call.out_tree)
        cg = call.create_graph(*cts)
        seeds = [seed_like("vjp", f"cotangent {k}", c, o, cg)
                 for k, (c, o) in enumerate(zip(cts, call.outputs, strict=True))]
        live = [(o, s) for o, s in zip(call.outputs, seeds, strict=True) if o.requires_grad]
        if live:
            roots, grad_outputs = zip(*live, strict=True)
            grads = gradients(list(roots), call.variables, list(grad_outputs), create_graph=cg, allow_unused=True)
        else:
            grads = [None] * len(call.variables)
        call.check_used(grads)
        as_t = call.as_tensors(cg)
        return tuple(call.per_argument([result(g, v, as_t) for g, v in zip(grads, call.variables, strict=True)]))

    if has_aux:
        return out, vjp_fn, call.finish_aux(as_tensors)
    return out, vjp_fn


def jacrev(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by reverse mode: one backward pass per output element, so it suits
    wide Jacobians (many inputs, few outputs). Shape ``out.shape + x.shape``; for
    pytrees, the output's structure holding the argument's structure (as JAX).

    >>> jacrev(lambda x: x * x)(np.array([1.0, 2.0]))
    array([[2., 0.],
           [0., 4.]])
    """

    def jacrev_f(*args: Any, **kwargs: Any) -> Any:
        call, cg, as_t = start("jacrev", f, args, kwargs, argnums, has_aux)
        variables = call.variables
        used: list[Any] = [None] * len(variables)
        blocks = []
        for o in call.outputs:
            rows: list[list[Any]] = [[] for _ in variables]
            for idx in np.ndindex(o.shape) if o.requires_grad else ():
                seed = np.zeros(o.shape, dtype=o.dtype)
                seed[idx] = 1
                for i, g in enumerate(gradients(o, variables, [seed], create_graph=cg, allow_unused=True)):
                    used[i] = used[i] if g is None else True
                    rows[i].append(zeros_like(variables[i]) if g is None else g)
            if not o.requires_grad:
                rows = [[zeros_like(v)] * o.size for v in variables]
            blocks.append([assemble(r, o, v, as_t, axis=0) for r, v in zip(rows, variables, strict=True)])
        call.check_used(used)
        call.close()
        jac = jacobian_tree(call, argnums, blocks)
        return (jac, call.finish_aux(as_t)) if has_aux else jac

    return jacrev_f


jacobian = jacrev


def hvp(f: Callable[..., Any], x: Any, v: Any) -> Any:
    """The Hessian of a single-element-valued ``f`` at ``x`` times ``v``, without forming the Hessian.

    Computed as the gradient of ``<∇f(x), v>`` (two reverse passes: with our forward
    mode derived from reverse mode, this is the cheapest order). ``x`` may be a
    pytree; ``v`` has its structure, and so has the result.

    >>> hvp(lambda x: (x ** 3).sum(), np.array([1.0, 2.0]), np.array([1.0, 1.0]))   # diag(6x)·v
    array([ 6., 12.])
    """
    call = Call("hvp", f, (x,), {}, (0,))
    out = _scalar_output(call)
    vs = flat_like("hvp", "v", v, call.in_trees[0])
    cg = call.create_graph(*vs)
    variables = call.variables
    seeds = [seed_like("hvp", "v", t, var, cg) for t, var in zip(vs, variables, strict=True)]
    first = gradients(out, variables, create_graph=True, allow_unused=True) if out.requires_grad else []
    call.check_used(first or [None] * len(variables))
    terms = [(g * s).sum() for g, s in zip(first, seeds, strict=True) if g is not None and g.requires_grad]
    hv: list[Tensor | None] = [None] * len(variables)
    if terms:
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        hv = gradients(total, variables, create_graph=cg, allow_unused=True)
    call.close()
    as_t = call.as_tensors(cg)
    return call.per_argument([result(g, var, as_t) for g, var in zip(hv, variables, strict=True)])[0]
