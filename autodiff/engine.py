"""The backward pass: the chain rule from outputs back to leaves, without recursion.

Kahn's algorithm over consumer counts: a node is processed once, after every node
that consumed it, and its upstream gradient is dropped the moment it has been
used. Broadcasting and dtype are undone here, in one place, for every rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from .mode import state
from .primitive import check_backward
from .primitives import astype_p, broadcast_to_p, sum_to
from .tensor import Tensor
from .versions import EPOCH, written_since

_DATA = attrgetter("_data")
_NDARRAY = np.ndarray


def _owned(g: Any) -> np.ndarray:
    """An array that no other gradient or user buffer shares (copy views and pass-throughs)."""
    if type(g) is not np.ndarray or g.base is not None or not g.flags.writeable:
        return np.array(g)
    return g


def _seed(root: Tensor, grad: Any, create_graph: bool) -> Any:
    if grad is None:
        if root._data.size != 1:
            raise ValueError(
                f"backward: grad can be omitted only for a single-element output, but the output has shape "
                f"{root.shape}; pass grad= with that shape (e.g. ones for a sum)"
            )
        # (np.array for the common 0-d loss: a C call, where np.ones is a Python function)
        dtype = root._data.dtype
        g = np.array(1, dtype=dtype) if not root._data.ndim else np.ones(root.shape, dtype=dtype)
    else:
        g = np.array(grad._data if isinstance(grad, Tensor) else grad, dtype=root.dtype)
        if g.shape != root.shape:
            raise ValueError(f"backward: grad has shape {g.shape} but the output has shape {root.shape}")
    if create_graph:  # a Tensor grad keeps its own graph
        return grad if isinstance(grad, Tensor) and grad.dtype == root.dtype else Tensor._leaf(g)
    return g


def _fit(r: Any, parent: Tensor, node: Tensor, i: int, raw: bool) -> Any:
    """Bring a rule's result to its input's shape (undo broadcasting) and dtype."""
    if raw:
        if not hasattr(r, "shape"):
            r = np.asarray(r)
    elif not isinstance(r, Tensor):
        r = Tensor._leaf(np.asarray(r))
    shape = parent._data.shape
    if r.shape != shape:
        tail = r.shape[r.ndim - len(shape):] if r.ndim >= len(shape) else None
        if tail is not None and all(a == b or b == 1 for a, b in zip(tail, shape, strict=True)):
            r = sum_to(r, shape)  # the common case: undo the forward's broadcasting
        else:
            try:
                joint = np.broadcast_shapes(r.shape, shape)
            except ValueError:
                raise ValueError(
                    f"{node.prim.name}: the derivative for input {i} has shape {r.shape}, "
                    f"which does not broadcast to the input's shape {shape}"
                ) from None
            r = sum_to(broadcast_to_p(r, shape=joint), shape)
    dtype = parent._data.dtype
    if r.dtype != dtype:
        r = astype_p(r, dtype=dtype)
    return r


def _count_consumers(roots: Sequence[Tensor]) -> dict[Tensor, int]:
    pending: dict[Tensor, int] = {}
    stack = []
    for r in roots:
        if r not in pending:
            pending[r] = 0
            stack.append(r)
    while stack:
        for p in stack.pop().parents:
            if p.requires_grad:
                c = pending.get(p)
                if c is None:
                    pending[p] = 1
                    if p.parents:  # (a leaf has nothing to walk)
                        stack.append(p)
                else:
                    pending[p] = c + 1
    return pending


def _propagate(roots: list[Tensor], seeds: list[Any], create_graph: bool, targets: dict[Tensor, Any] | None) -> None:
    """Run the chain rule. Without targets, gradients accumulate into leaves'
    ``.grad`` (and interior nodes that asked with ``retain_grad``); with targets,
    they are stored in that dict instead and no ``.grad`` changes."""
    pending = _count_consumers(roots)
    grads: dict[Tensor, Any] = {}
    for r, g in zip(roots, seeds, strict=True):
        grads[r] = g if r not in grads else grads[r] + g
    ready = []
    for r in dict.fromkeys(roots):  # (a loop, not a comprehension: no frame of its own)
        if pending[r] == 0:
            ready.append(r)
    raw = not create_graph
    anomaly = state.anomaly
    saved_mode = state.raw, state.grad_enabled
    state.raw, state.grad_enabled = raw, create_graph
    try:
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            parents = node.parents
            if g is None:  # a node nothing reached only releases its parents
                for p in parents:
                    if p.requires_grad:
                        c = pending[p] - 1
                        pending[p] = c
                        if c == 0:
                            ready.append(p)
                continue
            if node._hooks:
                g = _run_hooks(node, g, raw)
            if targets is not None:
                if node in targets:
                    targets[node] = g
            elif not parents or node._retain:
                _accumulate(node, g, raw)
            if parents:
                _chain(node, g, raw, anomaly, grads, pending, ready, targets is None)
    finally:
        state.raw, state.grad_enabled = saved_mode


def _chain(node: Tensor, g: Any, raw: bool, anomaly: bool, grads: dict[Tensor, Any], pending: dict[Tensor, int],
           ready: list[Tensor], to_leaves: bool) -> None:
    """Add the gradient ``g`` of ``node`` times its rules to its parents' entries in ``grads``,
    and queue each parent whose last consumer this was. A leaf's complete gradient
    (``to_leaves``: backward, not gradients()) goes straight to its ``.grad`` unless it has hooks."""
    parents = node.parents
    if node._vers != EPOCH[0]:  # something was written since the node was recorded
        _check_versions(node)
    prim, saved = node.prim, node.saved
    # the table's rule directly; Primitive.vjp for variadic rules and missing ones (a user's
    # rules take Tensors: Primitive.vjp wraps them, see Primitive._vjp_on_tensors)
    rules = prim.rules if prim.raw_rules or not raw else ()
    n_rules = len(rules)
    out, inputs = (node._data, list(map(_DATA, parents))) if raw else (node, parents)
    for i, p in enumerate(parents):
        if not p.requires_grad:
            continue
        rule = rules[i] if i < n_rules else None
        if rule is None:
            r = prim.vjp(i, g, out, inputs, saved or {})
        else:
            r = rule(g, out, *inputs, **saved) if saved else rule(g, out, *inputs)
        data = p._data
        if not (raw and type(r) is _NDARRAY and r.shape == data.shape
                and (r.dtype is data.dtype or r.dtype == data.dtype)):
            r = _fit(r, p, node, i, raw)
        if raw and r is g:
            r = r.view()  # a pass-through must not alias g at two leaves
        if anomaly:
            check_backward(node, i, r)
        q = grads.get(p)
        if q is not None:
            r = q + r
        c = pending[p] - 1
        pending[p] = c
        if c:
            grads[p] = r
        elif to_leaves and not p.parents and not p._hooks:
            if q is not None:
                del grads[p]
            if raw and p.grad is None and type(r) is _NDARRAY and r.base is None and r.flags.writeable:
                p.grad = Tensor._leaf(r)  # (_accumulate's common case, inline: a fresh array, no .grad yet)
            else:
                _accumulate(p, r, raw)  # (what popping the leaf from ready would do, without the round trip)
        else:
            grads[p] = r
            ready.append(p)


def _check_versions(node: Tensor) -> None:
    """Refuse to run a rule on values changed in place since the node recorded them."""
    found = written_since(node)
    if found is not None:
        k, t = found
        what = "its output" if k == 0 else f"its input {k - 1}"
        label = f" ({t.name!r})" if t.name else ""
        raise RuntimeError(
            f"backward: a tensor needed for the gradient of {node.prim.name} has been modified by an in-place "
            f"operation ({t._vc[1]}) after the node recorded it: {what}{label}, shape {t.shape}, is now at version "
            f"{t._vc[0]}. Do the in-place change after backward, or compute out of place (t = t + v)."
        )


def _run_hooks(node: Tensor, g: Any, raw: bool) -> Any:
    """Apply the node's gradient hooks in order; a returned value replaces the gradient."""
    for hook in list(node._hooks or ()):
        arg = Tensor._leaf(g) if raw else g
        saved_raw, state.raw = state.raw, False  # the user's hook works on Tensors, as outside backward
        try:
            new = hook(arg)
        finally:
            state.raw = saved_raw
        if new is not None:
            new_data = new._data if isinstance(new, Tensor) else np.asarray(new)
            if new_data.shape != np.shape(g):
                raise ValueError(f"register_hook: the hook returned shape {new_data.shape}, gradient shape is "
                                 f"{np.shape(g)}")
            g = new_data if raw else (new if isinstance(new, Tensor) else Tensor._leaf(new_data))
    return g


def _accumulate(t: Tensor, g: Any, raw: bool) -> None:
    """Add ``g`` to ``t.grad`` (an ndarray ``g`` is owned first: no gradient shares memory)."""
    old = t.grad
    if raw:
        if type(g) is not np.ndarray or g.base is not None or not g.flags.writeable:
            g = np.array(g)  # (_owned, inline: this runs for every leaf of every step)
        t.grad = Tensor._leaf(g) if old is None else Tensor._leaf(old._data + g)
    else:
        t.grad = g if old is None else old + g


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _roots_and_seeds(where: str, outputs: Any, grad_outputs: Any, create_graph: bool) -> tuple[list[Tensor], list[Any]]:
    outputs = _as_list(outputs)
    for k, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"{where}: output {k} is a {type(out).__name__}, not a Tensor")
        if not out.requires_grad:
            raise RuntimeError(
                f"{where}: output {k} does not require grad (no input of its graph has requires_grad=True, "
                f"or it was computed under no_grad)"
            )
    grads = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    seeds = []
    for o, g in zip(outputs, grads, strict=True):  # (a loop, not a comprehension: no frame of its own)
        seeds.append(_seed(o, g, create_graph))
    return outputs, seeds


def backward(outputs: Tensor | Sequence[Tensor], grad_outputs: Any = None, create_graph: bool = False) -> None:
    """Accumulate the gradients of ``outputs`` into every leaf's ``.grad``.

    >>> x = Tensor([3.0], requires_grad=True)
    >>> backward(x * x)
    >>> x.grad.numpy()
    array([6.])
    """
    outputs, seeds = _roots_and_seeds("backward", outputs, grad_outputs, create_graph)
    _propagate(outputs, seeds, create_graph, None)


def gradients(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor], grad_outputs: Any = None,
              create_graph: bool = False, allow_unused: bool | None = None) -> list[Tensor | None]:
    """The gradients of ``outputs`` with respect to ``inputs``, as Tensors, without
    touching any ``.grad`` (like ``torch.autograd.grad``). With ``create_graph=True``
    the results are differentiable.

    An input the outputs do not depend on gets zeros by default (as in JAX, and
    torch's ``materialize_grads=True``); ``allow_unused=True`` gives ``None`` for it
    and ``allow_unused=False`` raises, as ``torch.autograd.grad`` does.

    >>> x = Tensor(2.0, requires_grad=True)
    >>> gradients(x ** 3, [x])[0]
    Tensor(12.)
    """
    outputs, seeds = _roots_and_seeds("gradients", outputs, grad_outputs, create_graph)
    inputs = _as_list(inputs)
    targets: dict[Tensor, Any] = {t: None for t in inputs}
    _propagate(outputs, seeds, create_graph, targets)
    result: list[Tensor | None] = []
    for k, t in enumerate(inputs):
        g = targets[t]
        if g is None:
            if allow_unused is False:
                raise RuntimeError(
                    f"gradients: input {k} (shape {t.shape}) was not used to compute the outputs; "
                    f"pass allow_unused=True to get None for it, or leave allow_unused unset for zeros"
                )
            result.append(None if allow_unused else Tensor._leaf(np.zeros(t.shape, dtype=t.dtype)))
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(Tensor._leaf(_owned(g)))
    return result
