"""What every transform shares: run ``f`` on fresh differentiable variables, and decide
whether the results must stay on an enclosing graph.

**Nesting.** Each transform gives every differentiated argument (every leaf of a
pytree argument) a variable of its own: a new leaf for plain data, or an identity
node on top of a Tensor that is already on a recording graph. Differentiating with
respect to that variable counts only the paths through it, never another use of
the same outer value in ``f`` (no perturbation confusion, as JAX's and autograd's
tracing guarantees), while the identity node keeps the outer graph connected.
``f`` runs with recording on (even inside ``no_grad``, like ``torch.func.grad``).

**Keeping the outer graph.** When recording is enabled and the output's graph
reaches any tensor that requires grad besides this transform's own fresh variables
(a Tensor argument on a graph, or a closed-over Tensor such as an outer
transform's variable or a model parameter), or when any differentiated argument
is a Tensor, the backward pass runs with ``create_graph=True`` and the results are
Tensors on that graph: an enclosing
transform or a ``backward()`` differentiates through them.

**Result types.** Plain ndarrays only at the outermost level: when every
differentiated argument was plain data (numbers, lists, arrays) and nothing
outside the transform's variables requires grad. Otherwise Tensors.

**Leaving the graph.** While ``f`` runs, converting a differentiated value to plain
data (``float()``, ``.item()``, ``math.*``, ``np.asarray``, ``.numpy()``, ``.data``) is
noted. If the output then does not depend on an argument that such a value came
from, the transform raises instead of returning a silent zero gradient. A
genuinely constant function (a Tensor or a float that never touched the argument)
has a zero gradient, as in JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import functions as F, primitives as P
from ..mode import state
from ..primitives_array import reshape_p
from ..pytree import TreeDef, tree_flatten, tree_map, tree_unflatten
from ..tensor import Tensor


def normalize_argnums(name: str, argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions, checked against the call."""
    nums = (argnums,) if isinstance(argnums, (int, np.integer)) else tuple(argnums)
    out = []
    for k in nums:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"{name}: argnums must be ints, got {k!r}")
        if not -nargs <= k < nargs:
            raise ValueError(f"{name}: argnums={k} but the function got {nargs} positional arguments")
        out.append(int(k) % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: argnums {nums} name the same argument twice")
    return tuple(out)


def _variable(name: str, position: int, leaf: Any) -> Tensor:
    """A fresh differentiable variable standing for one leaf of an argument."""
    if isinstance(leaf, Tensor):
        if leaf._data.dtype.kind != "f":
            raise TypeError(
                f"{name}: argument {position} has dtype {leaf.dtype}; only real floating-point inputs "
                f"can be differentiated"
            )
        if leaf.requires_grad and state.grad_enabled:
            # identity: a variable of our own, still on leaf's graph
            own: Tensor = reshape_p(leaf, shape=leaf.shape)
            return own
        return Tensor._leaf(leaf._data).requires_grad_(True)
    if isinstance(leaf, (bool, np.bool_)):
        raise TypeError(f"{name}: argument {position} is a bool; only real floating-point inputs can be differentiated")
    t = Tensor(leaf)
    if t.dtype.kind != "f":
        raise TypeError(
            f"{name}: argument {position} has dtype {t.dtype}; only real floating-point inputs can be differentiated"
        )
    return t.requires_grad_(True)


def _output_leaf(name: str, leaf: Any) -> Tensor:
    """One leaf of f's output as a Tensor; integer, bool and complex outputs are refused."""
    if isinstance(leaf, Tensor):
        dtype = leaf.dtype
    else:
        try:
            dtype = np.asarray(leaf).dtype
        except (TypeError, ValueError):
            dtype = np.dtype(object)
    if dtype.kind != "f":
        what = {"b": "a bool", "c": "a complex", "i": "an integer", "u": "an integer"}.get(dtype.kind, "a non-numeric")
        raise TypeError(
            f"{name}: the function returned {what} value ({type(leaf).__name__} of dtype {dtype}); only real "
            f"floating-point outputs can be differentiated"
        )
    return leaf if isinstance(leaf, Tensor) else Tensor(leaf)


class Call:
    """One run of ``f`` with fresh variables for the arguments at ``argnums``."""

    def __init__(self, name: str, f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 argnums: tuple[int, ...], has_aux: bool = False) -> None:
        self.name = name
        self.argnums = argnums
        self.grad_enabled = state.grad_enabled  # the caller's mode: whether results may stay on a graph
        call_args = list(args)
        self.in_trees: list[TreeDef] = []
        self.variables: list[Tensor] = []
        self.owner: list[int] = []  # argnums position of each variable
        self.plain = True
        for j, k in enumerate(argnums):
            leaves, tree = tree_flatten(call_args[k])
            self.plain &= not any(isinstance(leaf, Tensor) for leaf in leaves)
            vs = [_variable(name, k, leaf) for leaf in leaves]
            self.in_trees.append(tree)
            self.variables += vs
            self.owner += [j] * len(vs)
            call_args[k] = tree_unflatten(tree, vs)
        outer_escapes = state.escapes
        self.escapes: list[Any] = []
        state.escapes = self.escapes
        saved = state.grad_enabled
        state.grad_enabled = True
        try:
            out = f(*call_args, **kwargs)
        finally:
            state.grad_enabled = saved
            state.escapes = outer_escapes
        if outer_escapes is not None:
            outer_escapes += self.escapes
        self.aux = None
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"{name}: with has_aux=True the function must return a pair (output, aux), "
                                f"got {type(out).__name__}")
            out, self.aux = out
        leaves, self.out_tree = tree_flatten(out)
        self.outputs = [_output_leaf(name, leaf) for leaf in leaves]
        self.outer = _reaches_beyond(self.outputs, self.variables)

    def create_graph(self, *extra: Any) -> bool:
        """Whether backward must record: the caller records and something outside our variables needs it."""
        if not self.grad_enabled:
            return False
        # Tensor arguments always get a recorded backward (results on a graph, and ad.jit traces it)
        return self.outer or not self.plain or any(isinstance(t, Tensor) and t.requires_grad for t in extra)

    def as_tensors(self, create_graph: bool) -> bool:
        """Results are Tensors unless everything was plain at the outermost level."""
        return create_graph or not self.plain

    def check_used(self, grads: Sequence[Tensor | None]) -> None:
        """Raise when a variable the outputs do not use was converted to plain data inside f."""
        for v, g, j in zip(self.variables, grads, self.owner, strict=True):
            if g is not None:
                continue
            for t, how in self.escapes:
                if _depends_on(t, v):
                    raise TypeError(
                        f"{self.name}: the output does not depend on argument {self.argnums[j]}: it was computed "
                        f"outside autodiff after {how} turned a differentiated value into plain data; use autodiff "
                        f"operations (ad.exp, Tensor methods) so the gradient can flow"
                    )

    def close(self, *extra: Tensor) -> None:
        """Retire our fresh leaves (and ``extra`` ones) once the results are made: nothing
        will ask for their gradients, so enclosing transforms and backward passes skip them."""
        for v in (*self.variables, *extra):
            if not v.parents:
                v.requires_grad = False

    def per_argument(self, flat: list[Any]) -> list[Any]:
        """Regroup one value per variable into one pytree per differentiated argument."""
        out, start = [], 0
        for tree in self.in_trees:
            n = tree.num_leaves
            out.append(tree_unflatten(tree, flat[start:start + n]))
            start += n
        return out

    def finish_aux(self, as_tensors: bool) -> Any:
        """The auxiliary value, with Tensor leaves as ndarrays at the outermost level."""
        if as_tensors:
            return self.aux
        return tree_map(lambda a: a._data if isinstance(a, Tensor) else a, self.aux)


def start(name: str, f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], argnums: int | Sequence[int],
          has_aux: bool) -> tuple[Call, bool, bool]:
    """Run ``f`` for a transform of ``argnums``: the call, whether backward records, whether results are Tensors."""
    call = Call(name, f, args, kwargs, normalize_argnums(name, argnums, len(args)), has_aux)
    cg = call.create_graph()
    return call, cg, call.as_tensors(cg)


def _reaches_beyond(outputs: list[Tensor], variables: list[Tensor]) -> bool:
    """Whether the outputs' graph reaches a tensor requiring grad other than our fresh leaves."""
    own = {id(v) for v in variables if not v.parents}
    stack = [o for o in outputs if o.requires_grad]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if not t.parents:
            if id(t) not in own:
                return True
        else:
            stack.extend(p for p in t.parents if p.requires_grad)
    return False


def _depends_on(t: Tensor, v: Tensor) -> bool:
    stack, seen = [t], set()
    while stack:
        n = stack.pop()
        if n is v:
            return True
        if id(n) not in seen:
            seen.add(id(n))
            stack.extend(p for p in n.parents if p.requires_grad)
    return False


def zeros_like(t: Tensor) -> Tensor:
    """A constant zero Tensor of ``t``'s shape and dtype."""
    return Tensor._leaf(np.zeros(t.shape, dtype=t.dtype))


def seed_like(name: str, what: str, value: Any, like: Tensor, keep_graph: bool) -> Any:
    """A tangent or cotangent for ``like``: its shape, its dtype; a Tensor on a graph kept when recording."""
    data = value._data if isinstance(value, Tensor) else np.asarray(value)
    if data.shape != like.shape:
        raise ValueError(f"{name}: {what} has shape {data.shape} but the value it goes with has shape {like.shape}")
    if data.dtype.kind not in "fiu":
        raise TypeError(f"{name}: {what} has dtype {data.dtype}; expected a real floating-point array")
    if keep_graph and isinstance(value, Tensor) and value.requires_grad:
        return value if value.dtype == like.dtype else P.astype_p(value, dtype=like.dtype)
    return Tensor._leaf(np.asarray(data, dtype=like.dtype))


def flat_like(name: str, what: str, tree: Any, expected: TreeDef) -> list[Any]:
    """The leaves of ``tree``, which must have the structure ``expected``."""
    leaves, got = tree_flatten(tree)
    if got != expected:
        raise ValueError(f"{name}: {what} has structure {got!r}, expected {expected!r} (* is one array or number)")
    return leaves


def result(t: Tensor | None, like: Tensor, as_tensors: bool) -> Any:
    """A gradient (zeros when None) as a Tensor or, at the outermost level, an ndarray."""
    if t is None:
        t = zeros_like(like)
    return t if as_tensors else t._data


def assemble(pieces: list[Any], out: Tensor, v: Tensor, as_tensors: bool, axis: int) -> Any:
    """One Jacobian block of shape ``out.shape + v.shape`` from its rows (axis 0) or columns (axis out.ndim)."""
    shape = out.shape + v.shape
    if not pieces:  # an empty output or input
        return result(None, Tensor._leaf(np.zeros(shape, dtype=v.dtype)), as_tensors)
    if as_tensors:
        return F.reshape(F.stack(pieces, axis=axis), shape)
    return np.stack([p._data for p in pieces], axis=axis).reshape(shape)


def jacobian_tree(call: Call, argnums: int | Sequence[int], blocks: list[list[Any]]) -> Any:
    """Blocks indexed [output leaf][variable] as JAX lays them out: the output's structure,
    each leaf holding the argument's structure (a tuple of them when argnums is a tuple)."""
    per_output = []
    for row in blocks:
        per_arg = call.per_argument(row)
        per_output.append(per_arg[0] if isinstance(argnums, (int, np.integer)) else tuple(per_arg))
    return tree_unflatten(call.out_tree, per_output)
