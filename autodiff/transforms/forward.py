"""Forward mode: jvp and jacfwd, by transposing the reverse pass.

A vector-Jacobian product ``u ↦ Jᵀu`` is linear in the cotangent ``u``, and every
rule in the primitive table is itself a differentiable Tensor operation. So we run
backward once with ``create_graph=True`` and a dummy cotangent ``u`` (zeros that
require grad), which records the graph of ``Jᵀu``; differentiating it with respect
to ``u``, seeded with the tangent ``v``, gives ``J v`` (``<Jᵀu, v>`` differentiated
in ``u``). No second rule set is needed, every primitive (and every user primitive
whose rules are Tensor operations) gets forward mode, and it composes with ``grad``
to any order. The cost: one recorded backward pass, then one pass over that graph
per tangent; ``jacfwd`` pays it once per input element, ``jacrev`` one backward pass
per output element, hence tall Jacobians favour ``jacfwd``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import gradients
from ..graph import topo_order
from ..pytree import tree_unflatten
from ..tensor import Tensor
from .core import Call, assemble, flat_like, jacobian_tree, result, seed_like, start, zeros_like
from .reverse import grad


def _transposable(call: Call) -> tuple[list[int], list[Tensor], list[Any]]:
    """The recorded graph of ``u ↦ Jᵀu``: live output indices, their dummy cotangents u, and Jᵀu per variable."""
    live = [k for k, o in enumerate(call.outputs) if o.requires_grad]
    us = [Tensor._leaf(np.zeros(call.outputs[k].shape, dtype=call.outputs[k].dtype)).requires_grad_(True)
          for k in live]
    if not live:
        return live, us, [None] * len(call.variables)
    roots = [call.outputs[k] for k in live]
    gs = gradients(roots, call.variables, us, create_graph=True, allow_unused=True)
    if not call.create_graph():
        _freeze_constant_part([g for g in gs if g is not None], us)
    return live, us, gs


def _freeze_constant_part(roots: list[Tensor], us: list[Tensor]) -> None:
    """Mark every node of the recorded ``Jᵀu`` graph that does not depend on u as a constant,
    so the passes in u never walk into the forward graph. Only when no enclosing graph
    needs those nodes (the graph is this transform's own)."""
    dependent = {id(u) for u in us}
    for node in topo_order(*roots):
        if any(id(p) in dependent for p in node.parents):
            dependent.add(id(node))
        elif id(node) not in dependent:
            node.requires_grad = False


def _push(live: list[int], us: list[Tensor], pairs: list[tuple[Tensor, Any]], n_out: int, cg: bool) -> list[Any]:
    """``J v`` per output (None where zero): differentiate ``Jᵀu`` in u, seeded with the tangents."""
    out: list[Any] = [None] * n_out
    pairs = [(g, t) for g, t in pairs if g is not None and g.requires_grad]
    if pairs:
        roots, seeds = zip(*pairs, strict=True)
        for k, r in zip(live, gradients(list(roots), us, list(seeds), create_graph=cg, allow_unused=True),
                        strict=True):
            out[k] = r
    return out


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> tuple[Any, ...]:
    """``(f(*primals), J·tangents)``: the Jacobian-vector product, forward mode.

    ``primals`` and ``tangents`` are tuples (or lists) with one entry per argument of
    ``f``; each tangent has its primal's structure and shapes. With ``has_aux=True``
    the result is ``(out, tangent_out, aux)``, as in JAX.

    >>> out, t = jvp(lambda x: x ** 3, (np.array([1.0, 2.0]),), (np.array([1.0, 0.5]),))
    >>> out, t                      # 3x² v
    (array([1., 8.]), array([3., 6.]))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(f"jvp: primals and tangents must be tuples or lists (one entry per argument of f), got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    call = Call("jvp", f, tuple(primals), {}, tuple(range(len(primals))), has_aux)
    flat: list[Any] = []
    for k, (t, tree) in enumerate(zip(tangents, call.in_trees, strict=True)):
        flat += flat_like("jvp", f"tangent {k}", t, tree)
    cg = call.create_graph(*flat)
    tans = [seed_like("jvp", f"the tangent of argument {call.argnums[j]}", t, v, cg)
            for t, v, j in zip(flat, call.variables, call.owner, strict=True)]
    live, us, gs = _transposable(call)
    call.check_used(gs)
    pushed = _push(live, us, list(zip(gs, tans, strict=True)), len(call.outputs), cg)
    call.close(*us)
    as_t = call.as_tensors(cg)
    out = tree_unflatten(call.out_tree, [o if as_t else o._data for o in call.outputs])
    tangent_out = tree_unflatten(call.out_tree, [result(r, o, as_t) for r, o in zip(pushed, call.outputs,
                                                                                      strict=True)])
    if has_aux:
        return out, tangent_out, call.finish_aux(as_t)
    return out, tangent_out


def jacfwd(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The Jacobian by forward mode: one pass per input element, so it suits tall
    Jacobians (few inputs, many outputs). Same layout as :func:`jacrev`.

    >>> import autodiff as ad
    >>> jacfwd(lambda x: ad.stack([x[0] * x[1], ad.sin(x[0])]))(np.array([0.0, 2.0]))
    array([[2., 0.],
           [1., 0.]])
    """

    def jacfwd_f(*args: Any, **kwargs: Any) -> Any:
        call, cg, as_t = start("jacfwd", f, args, kwargs, argnums, has_aux)
        live, us, gs = _transposable(call)
        call.check_used(gs)
        outputs = call.outputs
        blocks: list[list[Any]] = [[] for _ in outputs]
        for v, g in zip(call.variables, gs, strict=True):
            columns: list[list[Any]] = [[] for _ in outputs]
            for idx in np.ndindex(v.shape):
                e = np.zeros(v.shape, dtype=v.dtype)
                e[idx] = 1
                pushed = _push(live, us, [(g, Tensor._leaf(e))], len(outputs), cg)
                for col, r, o in zip(columns, pushed, outputs, strict=True):
                    col.append(zeros_like(o) if r is None else r)
            for block, col, o in zip(blocks, columns, outputs, strict=True):
                block.append(assemble(col, o, v, as_t, axis=o.ndim))
        call.close(*us)
        jac = jacobian_tree(call, argnums, blocks)
        return (jac, call.finish_aux(as_t)) if has_aux else jac

    return jacfwd_f


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The matrix of second derivatives of a single-element-valued ``f``: forward over
    reverse, ``jacfwd(grad(f))``. Shape ``x.shape + x.shape``.

    >>> hessian(lambda x: (x ** 3).sum())(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacfwd(grad(f, argnums), argnums)
