"""Every primitive and composite: gradients equal central finite differences in float64,
over Hypothesis-drawn (mutually broadcastable) shapes, with a random upstream gradient;
the same in float32, where values and gradients must stay float32."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_vjp_matches
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad

DTYPES = [np.float64, np.float32]
# float32 carries ~7 digits; finite differences stay in float64, so the tolerance is float32's.
TOL = {np.float64: dict(rtol=1e-5, atol=1e-6), np.float32: dict(rtol=2e-3, atol=2e-3)}


def floats(lo, hi, dtype):
    if dtype == np.float32:  # bounds must be representable in float32
        return st.floats(float(np.float32(lo)), float(np.float32(hi)), allow_nan=False, width=32)
    return st.floats(lo, hi, allow_nan=False)


def arrays(shape, lo, hi, dtype):
    return hnp.arrays(dtype, shape, elements=floats(lo, hi, dtype))


def away_from(x: np.ndarray, kinks, margin: float = 0.02) -> np.ndarray:
    """Move values within ``margin`` of a kink out of the way (finite differences straddle kinks)."""
    x = np.array(x)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = k + 3 * margin
    return x


UNARY = {
    # name: (function, lowest, highest, kinks)
    "neg": (lambda x: -x, -3, 3, ()),
    "exp": (ad.exp, -3, 3, ()),
    "log": (ad.log, 0.1, 5, ()),
    "log1p": (ad.log1p, -0.9, 5, ()),
    "sqrt": (ad.sqrt, 0.1, 5, ()),
    "sin": (ad.sin, -4, 4, ()),
    "cos": (ad.cos, -4, 4, ()),
    "tan": (ad.tan, -1.2, 1.2, ()),
    "tanh": (ad.tanh, -4, 4, ()),
    "sigmoid": (ad.sigmoid, -6, 6, ()),
    "softplus": (ad.softplus, -6, 6, ()),
    "relu": (ad.relu, -3, 3, (0,)),
    "abs": (ad.abs, -3, 3, (0,)),
    "leaky_relu": (lambda x: ad.leaky_relu(x, 0.1), -3, 3, (0,)),
    "elu": (lambda x: ad.elu(x, 1.5), -3, 3, (0,)),
    "relu6": (ad.relu6, -2, 8, (0, 6)),
    "clip": (lambda x: ad.clip(x, -1.0, 1.0), -3, 3, (-1, 1)),
    "pow_const": (lambda x: x ** 3, -3, 3, ()),
    "rpow_const": (lambda x: 2.0 ** x, -3, 3, ()),
    "square_root_pow": (lambda x: x ** 0.5, 0.1, 5, ()),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_elementwise_unary(name, dtype, data):
    f, lo, hi, kinks = UNARY[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    x = away_from(data.draw(arrays(shape, lo, hi, dtype)), kinks).astype(dtype)
    assert f(ad.Tensor(x)).dtype == dtype
    assert_vjp_matches(f, [x], **TOL[dtype])


BINARY = {
    # name: (function, range of x, range of y)
    "add": (lambda x, y: x + y, (-3, 3), (-3, 3)),
    "sub": (lambda x, y: x - y, (-3, 3), (-3, 3)),
    "mul": (lambda x, y: x * y, (-3, 3), (-3, 3)),
    "div": (lambda x, y: x / y, (-3, 3), (0.5, 3)),
    "pow": (lambda x, y: x ** y, (0.2, 3), (-2, 2)),
    "maximum": (ad.maximum, (-3, 3), (-3, 3)),
    "minimum": (ad.minimum, (-3, 3), (-3, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_elementwise_binary_broadcasting(name, dtype, data):
    f, (xlo, xhi), (ylo, yhi) = BINARY[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4)).input_shapes
    x = data.draw(arrays(shapes[0], xlo, xhi, dtype))
    y = data.draw(arrays(shapes[1], ylo, yhi, dtype))
    if name in ("maximum", "minimum"):  # ties are kinks
        assume(np.all(np.abs(np.subtract(x, y, dtype=np.float64)) > 0.01))
    assert f(ad.Tensor(x), ad.Tensor(y)).dtype == dtype
    assert_vjp_matches(f, [x, y], **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_where_broadcasting(dtype, data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=4)).input_shapes
    cond = data.draw(hnp.arrays(bool, shapes[0]))
    a, b = (data.draw(arrays(s, -3, 3, dtype)) for s in shapes[1:])
    assert_vjp_matches(lambda a, b: ad.where(cond, a, b), [a, b], **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_matmul_all_ranks(dtype, data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(signature="(n?,k),(k,m?)->(n?,m?)", max_dims=2,
                                                         max_side=4)).input_shapes
    a, b = (data.draw(arrays(s, -3, 3, dtype)) for s in shapes)
    assert_vjp_matches(lambda a, b: a @ b, [a, b], **TOL[dtype])


def axes_for(data, ndim):
    if ndim == 0:
        return None
    return data.draw(st.none() | st.integers(-ndim, ndim - 1)
                     | st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple))


def distinct(x: np.ndarray) -> np.ndarray:
    """Break ties (a kink of max/min) with distinct offsets."""
    return x + 0.0137 * np.arange(x.size).reshape(x.shape) % 0.9


REDUCTIONS = {
    "sum": ad.sum,
    "mean": ad.mean,
    "max": ad.max,
    "min": ad.min,
    "var": ad.var,
    "logsumexp": ad.logsumexp,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), keepdims=st.booleans())
def test_reductions(name, dtype, data, keepdims):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    x = distinct(data.draw(arrays(shape, -3, 3, dtype))).astype(dtype)
    axis = axes_for(data, len(shape))
    f = lambda x: REDUCTIONS[name](x, axis=axis, keepdims=keepdims)
    expected = getattr(np, name, None)
    if expected is not None:
        np.testing.assert_allclose(f(ad.Tensor(x)).numpy(), expected(x, axis=axis, keepdims=keepdims), rtol=1e-6)
    assert_vjp_matches(f, [x], **TOL[dtype])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_softmax_family(name, dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = data.draw(arrays(shape, -5, 5, dtype))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    f = lambda x: getattr(ad, name)(x, axis=axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    closed = e / e.sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(f(ad.Tensor(x)).numpy(), closed if name == "softmax" else np.log(closed),
                               **TOL[dtype])
    assert_vjp_matches(f, [x], **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_shape_primitives(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, max_side=3))
    x = data.draw(arrays(shape, -3, 3, dtype))
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    assert_vjp_matches(lambda x: ad.transpose(x, perm), [x], **TOL[dtype])
    assert_vjp_matches(lambda x: x.T, [x], **TOL[dtype])
    assert_vjp_matches(lambda x: ad.reshape(x, (-1,)), [x], **TOL[dtype])
    assert_vjp_matches(lambda x: x.reshape(x.size, 1), [x], **TOL[dtype])
    assert_vjp_matches(lambda x: ad.expand_dims(x, 0).squeeze(0), [x], **TOL[dtype])
    target = data.draw(st.lists(st.integers(1, 3), max_size=2)).copy() + [
        data.draw(st.integers(1, 3)) if n == 1 else n for n in shape]
    assert_vjp_matches(lambda x: ad.broadcast_to(x, target), [x], **TOL[dtype])
    assert_vjp_matches(lambda x: x.astype(np.float64), [x], **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data())
def test_getitem_basic_integer_and_boolean(dtype, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = data.draw(arrays(shape, -3, 3, dtype))
    basic = data.draw(hnp.basic_indices(shape, allow_newaxis=True))
    assert_vjp_matches(lambda x: x[basic], [x], **TOL[dtype])
    # integer arrays, with repeated indices that must accumulate
    advanced = data.draw(hnp.integer_array_indices(shape, result_shape=hnp.array_shapes(max_dims=2, max_side=5)))
    assert_vjp_matches(lambda x: x[advanced], [x], **TOL[dtype])
    mask = data.draw(hnp.arrays(bool, shape))
    assert_vjp_matches(lambda x: x[mask], [x], **TOL[dtype])
    assert_vjp_matches(lambda x: x[ad.Tensor(mask)], [x], **TOL[dtype])


def test_repeated_indices_accumulate():
    x = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), n=st.integers(1, 3))
def test_concatenate_and_stack(dtype, data, n):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(n):
        s = list(shape)
        s[axis] = data.draw(st.integers(1, 3))
        parts.append(data.draw(arrays(tuple(s), -3, 3, dtype)))
    assert_vjp_matches(lambda *ts: ad.concatenate(ts, axis=axis), parts, **TOL[dtype])
    same = [data.draw(arrays(shape, -3, 3, dtype)) for _ in range(n)]
    stack_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    assert_vjp_matches(lambda *ts: ad.stack(ts, axis=stack_axis), same, **TOL[dtype])


@given(data=st.data())
def test_dot_and_tensordot_match_numpy(data):
    a = data.draw(arrays((2, 3, 4), -2, 2, np.float64))
    b = data.draw(arrays((4, 5), -2, 2, np.float64))
    np.testing.assert_allclose(ad.dot(a, b).numpy(), np.dot(a, b))
    assert_vjp_matches(ad.dot, [a, b])
    c = data.draw(arrays((3, 4, 2), -2, 2, np.float64))
    np.testing.assert_allclose(ad.tensordot(a, c, axes=([1, 2], [0, 1])).numpy(),
                               np.tensordot(a, c, axes=([1, 2], [0, 1])))
    assert_vjp_matches(lambda a, c: ad.tensordot(a, c, axes=([1, 2], [0, 1])), [a, c])


@pytest.mark.parametrize("dtype", DTYPES)
@given(data=st.data(), lead=st.lists(st.integers(1, 3), max_size=2))
def test_linear_any_batch_rank(dtype, data, lead):
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = data.draw(arrays(tuple(lead) + (n_in,), -3, 3, dtype))
    w = data.draw(arrays((n_in, n_out), -3, 3, dtype))
    b = data.draw(arrays((n_out,), -3, 3, dtype))
    np.testing.assert_allclose(ad.linear(x, w, b).numpy(), x @ w + b, **TOL[dtype])
    assert_vjp_matches(ad.linear, [x, w, b], **TOL[dtype])


EINSUMS = ["ij,jk->ik", "i,i->", "ij->ji", "ij->", "bij,bjk->bik", "ii->i", "ii->", "iij->j", "ij,j",
           "i,j->ij", "ijk->i", "ij,ij->ij", "ij,jk,kl->il", "...ij,...jk->...ik", "ji"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("subscripts", EINSUMS)
@given(data=st.data())
def test_einsum_matches_numpy_and_finite_differences(subscripts, dtype, data):
    sizes = {c: data.draw(st.integers(1, 3), label=c) for c in "ijklb"}
    terms = subscripts.split("->")[0].split(",")
    shapes = []
    for t in terms:
        lead = tuple(data.draw(st.lists(st.integers(1, 2), max_size=2))) if "..." in t else ()
        shapes.append(lead + tuple(sizes[c] for c in t.replace("...", "")))
    if "..." in subscripts:  # broadcast the batch axes of the second operand against the first
        shapes[1] = shapes[0][:len(shapes[0]) - 2] + shapes[1][len(shapes[1]) - 2:]
    xs = [data.draw(arrays(s, -2, 2, dtype)) for s in shapes]
    np.testing.assert_allclose(ad.einsum(subscripts, *xs).numpy(), np.einsum(subscripts, *xs), **TOL[dtype])
    assert_vjp_matches(lambda *ts: ad.einsum(subscripts, *ts), xs, **TOL[dtype])


def test_einsum_second_order_and_errors():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    H = ad.hessian(lambda x: ad.einsum("i,ij,j->", x, A, x) / 2)(np.array([0.3, -0.7]))
    np.testing.assert_allclose(H, A)  # the Hessian of xᵀAx/2 is A
    with pytest.raises(ValueError, match=r"einsum: operand 1 has shape \(3,\) but subscripts 'jk'"):
        ad.einsum("ij,jk->ik", np.ones((2, 3)), np.ones(3))
    with pytest.raises(ValueError, match="names 2 operands, got 1"):
        ad.einsum("ij,jk->ik", np.ones((2, 3)))
