"""The public API around the registry's entries: Tensor methods and indexing forms,
NumPy's dot/tensordot/einsum conventions, linear with any batch rank. Each registered
primitive and composite itself is proven in test_registry_proof.py (the one list)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_vjp_matches
from hypothesis import given, strategies as st
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
