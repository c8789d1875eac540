"""THE table: every primitive's NumPy forward beside its derivative rules.

Each rule reads ``rule(g, z, *inputs, **params)``: ``g`` is the gradient of the
output ``z``. Rules use only Tensor operations (and therefore also run on plain
ndarrays), so every gradient can be differentiated again. Broadcasting and dtype
are undone by the engine, not here: a rule may return a gradient in the output's
broadcast shape.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .primitive import Primitive
from .tensor import Tensor


def defprim(name: str, forward, *rules) -> Primitive:
    """Create a primitive named ``name`` with one derivative rule per input."""
    return Primitive(forward, name).defvjp(*rules)


# ----------------------------------------------------------------- helpers
def _sign(x):
    return Tensor._leaf(np.sign(x._data)) if isinstance(x, Tensor) else np.sign(x)


def _axes_set(shape: tuple[int, ...], axis) -> set[int]:
    if axis is None:
        return set(range(len(shape)))
    return {a % len(shape) for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}


def _kept_shape(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` leaves with keepdims=True."""
    axes = _axes_set(shape, axis)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_shape(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` leaves with keepdims=False."""
    axes = _axes_set(shape, axis)
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _unreduce(t, x, axis, keepdims):
    """A reduction's output (or gradient) reshaped to keepdims form, so it broadcasts against x."""
    return t if keepdims else reshape_p(t, shape=_kept_shape(x.shape, axis))


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _swap(x):
    """Swap the last two axes (matrix transpose of a batch); ndarray and Tensor alike."""
    return x.swapaxes(-1, -2)


def _expand(x, axis: int):
    shape = list(x.shape)
    shape.insert(axis % (len(shape) + 1), 1)
    return reshape_p(x, shape=tuple(shape))


def _drop(x, axis: int):
    shape = list(x.shape)
    del shape[axis]
    return reshape_p(x, shape=tuple(shape))


def sum_to(g, shape: tuple[int, ...]):
    """Sum a broadcast gradient ``g`` back down to ``shape`` (NumPy's rules reversed)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"cannot sum a gradient of shape {g.shape} down to shape {shape}")
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and g.shape[i + lead] != 1
    )
    if axes:
        g = sum_p(g, axis=axes, keepdims=False)
    if g.shape != shape:
        g = reshape_p(g, shape=shape)
    return g


# ----------------------------------------------------------- arithmetic
add = defprim("add", np.add,
              lambda g, z, x, y: g,
              lambda g, z, x, y: g)
sub = defprim("sub", np.subtract,
              lambda g, z, x, y: g,
              lambda g, z, x, y: -g)
mul = defprim("mul", np.multiply,
              lambda g, z, x, y: g * y,
              lambda g, z, x, y: g * x)
div = defprim("div", np.true_divide,
              lambda g, z, x, y: g / y,
              lambda g, z, x, y: -g * z / y)
neg = defprim("neg", np.negative,
              lambda g, z, x: -g)
pow = defprim("pow", np.power,  # noqa: A001  (the table's name for x ** y)
              lambda g, z, x, y: g * y * x ** (y - 1),
              # d/dy x**y = x**y log x; log(1) at x == 0 keeps 0**y's gradient finite
              lambda g, z, x, y: g * z * log(where_p(x == 0, 1, x)))

# ---------------------------------------------------------- elementwise
def _sigmoid(x):
    e = np.exp(-np.abs(x))  # never overflows: stable at |x| = 1e4
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


exp = defprim("exp", np.exp, lambda g, z, x: g * z)
log = defprim("log", np.log, lambda g, z, x: g / x)
log1p = defprim("log1p", np.log1p, lambda g, z, x: g / (1 + x))
sqrt = defprim("sqrt", np.sqrt, lambda g, z, x: g / (2 * z))
sin = defprim("sin", np.sin, lambda g, z, x: g * cos(x))
cos = defprim("cos", np.cos, lambda g, z, x: -g * sin(x))
tan = defprim("tan", np.tan, lambda g, z, x: g * (1 + z * z))
tanh = defprim("tanh", np.tanh, lambda g, z, x: g * (1 - z * z))
sigmoid = defprim("sigmoid", _sigmoid, lambda g, z, x: g * (z * (1 - z)))
softplus = defprim("softplus", lambda x: np.logaddexp(0, x), lambda g, z, x: g * sigmoid(x))
# kinks: relu'(0) = 0, abs'(0) = 0, ties of maximum/minimum split the gradient.
# relu multiplies by its mask: 15x faster than a select on a random mask, and the
# mask is constant, so the rule stays differentiable.
relu = defprim("relu", lambda x: np.maximum(x, 0), lambda g, z, x: g * (x > 0))
abs = defprim("abs", np.abs, lambda g, z, x: g * _sign(x))  # noqa: A001
maximum = defprim("maximum", np.maximum,
                  lambda g, z, x, y: where_p(x > y, g, where_p(x == y, g * 0.5, 0)),
                  lambda g, z, x, y: where_p(y > x, g, where_p(x == y, g * 0.5, 0)))
minimum = defprim("minimum", np.minimum,
                  lambda g, z, x, y: where_p(x < y, g, where_p(x == y, g * 0.5, 0)),
                  lambda g, z, x, y: where_p(y < x, g, where_p(x == y, g * 0.5, 0)))
# The branch not taken receives an exact zero (a select, not a product), so a
# NaN/inf in g never leaks into it; see functions.where for the double-where idiom.
where_p = defprim("where", np.where,
                  None,
                  lambda g, z, c, a, b: where_p(c, g, 0),
                  lambda g, z, c, a, b: where_p(c, 0, g))


def _clip_rule(g, z, x, lo, hi):
    inside = (x >= (-np.inf if lo is None else lo)) & (x <= (np.inf if hi is None else hi))
    return where_p(inside, g, 0)


clip_p = defprim("clip", lambda x, lo, hi: np.clip(x, lo, hi), _clip_rule)
astype_p = defprim("astype", lambda x, dtype: x.astype(dtype),
                   lambda g, z, x, dtype: astype_p(g, dtype=x.dtype))

# ---------------------------------------------------------- linear algebra
def _matmul_gx(g, z, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if y.ndim == 1:
        return _expand(g, -1) * y
    if x.ndim == 1:
        return _drop(_expand(g, -2) @ _swap(y), -2)
    return g @ _swap(y)


def _matmul_gy(g, z, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if x.ndim == 1:
        return _expand(x, -1) * _expand(g, -2)
    if y.ndim == 1:
        return _drop(_swap(x) @ _expand(g, -1), -1)
    return _swap(x) @ g


matmul = defprim("matmul", np.matmul, _matmul_gx, _matmul_gy)
matmul.aligned_error = True


def _linear_gw(g, z, x, w, b):
    """x.T @ g with every leading (batch) axis of x folded into the rows."""
    return _swap(reshape_p(x, shape=(-1, w.shape[0]))) @ reshape_p(g, shape=(-1, w.shape[1]))


# The affine map of a dense layer as one node (PyTorch's F.linear); b's gradient is g,
# summed over the batch by the engine.
linear_p = defprim("linear", lambda x, w, b: np.matmul(x, w) + b,
                   lambda g, z, x, w, b: g @ _swap(w),
                   _linear_gw,
                   lambda g, z, x, w, b: g)
linear_p.aligned_error = True

# ------------------------------------------------------------- reductions
def _sum_rule(g, z, x, axis, keepdims):
    return broadcast_to_p(_unreduce(g, x, axis, keepdims), shape=x.shape)


def _extremum_rule(g, z, x, axis, keepdims):
    """Ties share the gradient equally (as PyTorch's amax/amin and JAX do)."""
    g, z = _unreduce(g, x, axis, keepdims), _unreduce(z, x, axis, keepdims)
    hit = x == z
    count = astype_p(sum_p(hit, axis=axis, keepdims=True), dtype=g.dtype)
    return where_p(hit, g / count, 0)


# ufunc.reduce rather than np.sum/np.max: the same result without NumPy's Python wrapper (2x faster
# on small arrays, where per-op cost is what counts)
sum_p = defprim("sum", lambda x, axis, keepdims: np.add.reduce(x, axis=_axis(axis), keepdims=keepdims), _sum_rule)
max_p = defprim("max", lambda x, axis, keepdims: np.maximum.reduce(x, axis=_axis(axis), keepdims=keepdims),
                _extremum_rule)
min_p = defprim("min", lambda x, axis, keepdims: np.minimum.reduce(x, axis=_axis(axis), keepdims=keepdims),
                _extremum_rule)


# ----------------------------------------------------------------- einsum
def _einsum(*xs, spec):
    ins, out = spec
    return np.einsum(",".join(ins) + "->" + out, *xs, optimize=len(xs) > 2)


def _einsum_rule(i, g, z, *xs, spec):
    """Contract g with the other operands onto operand i's letters; letters summed inside
    operand i alone come back as ones, repeated letters (a diagonal) through identities."""
    ins, out = spec
    target, x = ins[i], xs[i]
    others = [t for j, t in enumerate(ins) if j != i]
    present = set(out).union(*others)
    unique = "".join(dict.fromkeys(c for c in target if c in present))
    grad = einsum_p(g, *[v for j, v in enumerate(xs) if j != i], spec=((out, *others), unique))
    if unique == target:
        return grad
    spare = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in present | set(target))
    terms, consts, seen, renamed = [unique], [], set(unique), []
    for c, n in zip(target, x.shape, strict=True):
        if c not in seen:  # summed inside x alone: the gradient is the same all along it
            seen.add(c)
            terms.append(c)
            consts.append(np.ones(n, dtype=g.dtype))
            renamed.append(c)
        else:  # a repeated letter: only the diagonal receives gradient
            d = next(spare)
            terms.append(c + d)
            consts.append(np.eye(n, dtype=g.dtype))
            renamed.append(d)
    return einsum_p(grad, *consts, spec=(tuple(terms), "".join(renamed)))


einsum_p = Primitive(_einsum, "einsum").defvjp_any(_einsum_rule)


# ------------------------------------------------------------ normalisations
# One primitive each (as in PyTorch) rather than a chain of ten: the forward shifts by
# the max, so logits of magnitude 1e4 neither overflow nor give NaN.
def _shifted(x, axis):
    m = np.maximum.reduce(x, axis=axis, keepdims=True)
    if not np.isfinite(m).all():  # an all -inf slice: shifting by 0 there is exact
        m = np.where(np.isfinite(m), m, 0)
    return x - m, m


def _logsumexp(x, axis, keepdims):
    d, m = _shifted(x, axis)
    with np.errstate(divide="ignore"):  # an all -inf slice sums to 0: log 0 = -inf is the answer
        s = np.log(np.add.reduce(np.exp(d), axis=axis, keepdims=True)) + m
    return s if keepdims else np.reshape(s, reduced_shape(x.shape, axis))


def _logsumexp_rule(g, z, x, axis, keepdims):
    return _unreduce(g, x, axis, keepdims) * exp(x - _unreduce(z, x, axis, keepdims))


def _softmax(x, axis):
    e = np.exp(_shifted(x, axis)[0])
    return e / np.add.reduce(e, axis=axis, keepdims=True)


def _log_softmax(x, axis):
    d = _shifted(x, axis)[0]
    return d - np.log(np.add.reduce(np.exp(d), axis=axis, keepdims=True))


logsumexp_p = defprim("logsumexp", _logsumexp, _logsumexp_rule)
softmax_p = defprim("softmax", _softmax,
                    lambda g, z, x, axis: z * (g - sum_p(g * z, axis=axis, keepdims=True)))
log_softmax_p = defprim("log_softmax", _log_softmax,
                        lambda g, z, x, axis: g - exp(z) * sum_p(g, axis=axis, keepdims=True))


# ------------------------------------------------------------------ shape
def _inverse(axes):
    return None if axes is None else tuple(np.argsort(axes))


reshape_p = defprim("reshape", lambda x, shape: np.reshape(x, shape),
                    lambda g, z, x, shape: reshape_p(g, shape=x.shape))
transpose_p = defprim("transpose", lambda x, axes: np.transpose(x, axes),
                      lambda g, z, x, axes: transpose_p(g, axes=_inverse(axes)))


def _broadcast_to(x, shape):
    if math.prod(shape) <= 4096:  # a small copy beats np.broadcast_to's Python overhead
        out = np.empty(shape, dtype=np.result_type(x))
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


# The engine sums the broadcast gradient back to x's shape.
broadcast_to_p = defprim("broadcast_to", _broadcast_to, lambda g, z, x, shape: g)


def _is_basic(index: tuple) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (int, np.integer, slice)) for i in index)


def _scatter(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=g.dtype)
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


getitem_p = defprim("getitem", lambda x, index: x[index],
                    lambda g, z, x, index: scatter_p(g, index=index, shape=x.shape))
scatter_p = defprim("scatter", _scatter,
                    lambda g, z, x, index, shape: getitem_p(g, index=index))


def _concat_rule(i, g, z, *xs, axis):
    ax = axis % z.ndim
    start = builtins.sum(x.shape[ax] for x in xs[:i])
    index = (slice(None),) * ax + (slice(start, start + xs[i].shape[ax]),)
    return getitem_p(g, index=index)


def _stack_rule(i, g, z, *xs, axis):
    return getitem_p(g, index=(slice(None),) * (axis % z.ndim) + (i,))


concatenate_p = Primitive(lambda *xs, axis: np.concatenate(xs, axis=axis), "concatenate").defvjp_any(_concat_rule)
stack_p = Primitive(lambda *xs, axis: np.stack(xs, axis=axis), "stack").defvjp_any(_stack_rule)
