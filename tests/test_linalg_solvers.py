"""ad.linalg.lstsq, tensorinv and tensorsolve: NumPy's values and shapes (for lstsq the
solution, residuals, rank and singular values of tall, wide, square and rank-deficient
systems), and gradients against central finite differences in float64 (first order, and
second order through check_grads)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
from autodiff.testing import check_grads, numerical_grad


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 5), n=st.integers(1, 5), k=st.sampled_from([None, 1, 3]), seed=st.integers(0, 2**16))
def test_values_and_shapes_match_numpy(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    b = rng.standard_normal((m,) if k is None else (m, k))
    ours, theirs = ad.linalg.lstsq(a, b), np.linalg.lstsq(a, b)
    for u, v in zip(ours, theirs, strict=True):
        assert np.shape(u) == np.shape(v)
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-9, atol=1e-12)
    assert isinstance(ours[2], int)


def test_rank_deficient_gives_numpys_minimum_norm_solution_and_rank():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])  # rank 1
    b = np.array([1.0, 2.0, 2.0])
    x, res, rank, s = ad.linalg.lstsq(a, b)
    x_np, res_np, rank_np, s_np = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(x.numpy(), x_np, rtol=1e-12)
    assert rank == rank_np == 1 and res.shape == res_np.shape == (0,)
    np.testing.assert_allclose(s.numpy(), s_np, rtol=1e-12, atol=1e-15)
    # an rcond above the second singular value ratio treats a full-rank matrix as rank 1, like NumPy
    c = np.array([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]])
    for rcond in (None, 1e-2):
        assert ad.linalg.lstsq(c, b, rcond=rcond)[2] == np.linalg.lstsq(c, b, rcond=rcond)[2]
        np.testing.assert_allclose(ad.linalg.lstsq(c, b, rcond=rcond)[0].numpy(),
                                   np.linalg.lstsq(c, b, rcond=rcond)[0], rtol=1e-12)


@pytest.mark.parametrize("shape_a,shape_b", [((5, 3), (5,)), ((5, 3), (5, 2)), ((2, 4), (2, 3)), ((3, 3), (3,))])
def test_gradients_match_finite_differences(shape_a, shape_b):
    rng = np.random.default_rng(sum(shape_a) + len(shape_b))
    a = rng.standard_normal(shape_a) + 2 * np.eye(*shape_a)
    b = rng.standard_normal(shape_b)
    w = rng.standard_normal(shape_a[1:] + shape_b[1:])

    def loss(a_, b_):
        x, res, _, s = ad.linalg.lstsq(a_, b_)
        total = (x * w).sum() + (s * s * s).sum()
        return total + res.sum() if res.shape[0] else total

    ta, tb = ad.Tensor(a, requires_grad=True), ad.Tensor(b, requires_grad=True)
    loss(ta, tb).backward()
    fa, fb = numerical_grad(loss, a, b)
    np.testing.assert_allclose(ta.grad.numpy(), fa, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tb.grad.numpy(), fb, rtol=1e-6, atol=1e-8)
    check_grads(lambda a_, b_: ad.linalg.lstsq(a_, b_)[0], a, b, order=2)


def test_numpy_dispatch_and_float32():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 2)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    t = ad.Tensor(a, requires_grad=True)
    x, res, rank, s = np.linalg.lstsq(t, b)
    assert isinstance(x, ad.Tensor) and x.dtype == np.float32 and res.dtype == np.float32
    np.testing.assert_allclose(x.numpy(), np.linalg.lstsq(a, b)[0], rtol=1e-5)
    x.sum().backward()
    assert t.grad.dtype == np.float32


def test_bad_shapes_raise_naming_lstsq():
    with pytest.raises(np.linalg.LinAlgError, match="lstsq: a must be a matrix"):
        ad.linalg.lstsq(np.ones((2, 3, 3)), np.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match=r"lstsq: b must have shape \(4,\) or \(4, K\)"):
        ad.linalg.lstsq(np.ones((4, 3)), np.ones(3))
    with pytest.raises(np.linalg.LinAlgError, match="empty"):
        ad.linalg.lstsq(np.ones((3, 0)), np.ones(3))


@pytest.mark.parametrize("shape,ind", [((4, 6, 8, 3), 2), ((6, 2, 3), 1), ((2, 3, 3, 2), 2)])
def test_tensorinv_matches_numpy_and_finite_differences(shape, ind):
    rng = np.random.default_rng(len(shape) + ind)
    n = int(np.prod(shape[:ind]))
    a = (rng.standard_normal((n, n)) + 3 * np.eye(n)).reshape(shape)
    np.testing.assert_allclose(ad.linalg.tensorinv(a, ind=ind).numpy(), np.linalg.tensorinv(a, ind=ind), rtol=1e-10)
    if a.size <= 36:
        check_grads(lambda x: ad.linalg.tensorinv(x, ind=ind), a, order=2)


def test_tensorsolve_matches_numpy_and_finite_differences():
    rng = np.random.default_rng(3)
    a = (rng.standard_normal((6, 6)) + 3 * np.eye(6)).reshape(2, 3, 6)
    b = rng.standard_normal((2, 3))
    np.testing.assert_allclose(ad.linalg.tensorsolve(a, b).numpy(), np.linalg.tensorsolve(a, b), rtol=1e-10)
    moved = np.moveaxis(a, 2, 0)  # the solve axis first: axes=(0,) moves it back to the end
    np.testing.assert_allclose(np.linalg.tensorsolve(ad.Tensor(moved), b, axes=(0,)).numpy(),
                               np.linalg.tensorsolve(moved, b, axes=(0,)), rtol=1e-10)
    check_grads(ad.linalg.tensorsolve, a, b, order=2)


def test_tensor_forms_refuse_non_square_shapes():
    with pytest.raises(np.linalg.LinAlgError, match=r"tensorinv: a of shape \(2, 3, 4\) with ind=1 is not square"):
        ad.linalg.tensorinv(np.ones((2, 3, 4)), ind=1)
    with pytest.raises(ValueError, match="ind must be a positive integer"):
        ad.linalg.tensorinv(np.ones((2, 2)), ind=0)
    with pytest.raises(np.linalg.LinAlgError, match="tensorsolve: a of shape"):
        ad.linalg.tensorsolve(np.ones((2, 3, 5)), np.ones((2, 3)))
