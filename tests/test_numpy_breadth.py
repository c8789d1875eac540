"""Reductions, shapes and indexing with NumPy's names: forward against NumPy on drawn
shapes and dtypes, gradients against central finite differences (float64), second order,
the conventions (zeros in prod/cumprod, ties, NaN), NumPy dispatch and Tensor methods."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff.primitive import REGISTRY
from autodiff.sampling import RandomDraw
from autodiff.testing import gradcheck, numerical_grad

MINE = ["prod", "cumsum", "cumprod", "logcumsumexp", "var", "std", "sort", "quantile", "median", "average",
        "nansum", "nanmean", "repeat", "tile", "roll", "flip", "rot90", "pad", "moveaxis", "diff", "take",
        "take_along_axis", "index_add", "scatter_add", "diag", "diagonal", "tril", "triu", "outer", "inner", "kron",
        "cross", "hstack", "vstack", "dstack", "column_stack"]


def _axis(draw, shape, none=True):
    options = list(range(-len(shape), len(shape))) + ([None] if none else [])
    return draw(st.sampled_from(options))


def _reduce_params(draw, shape):
    return {"axis": _axis(draw, shape), "keepdims": draw(st.booleans())}


def _one_axis(draw, shape):
    return {"axis": _axis(draw, shape, none=False)}


FORWARD = {
    "prod": (np.prod, _reduce_params),
    "cumsum": (np.cumsum, lambda d, s: {"axis": _axis(d, s)}),
    "cumprod": (np.cumprod, lambda d, s: {"axis": _axis(d, s)}),
    "std": (np.std, lambda d, s: {"axis": _axis(d, s), "ddof": d(st.sampled_from([0, 1])) if min(s) > 1 else 0}),
    "var": (np.var, lambda d, s: {"axis": _axis(d, s), "ddof": d(st.sampled_from([0, 1])) if min(s) > 1 else 0}),
    "sort": (np.sort, lambda d, s: {"axis": _axis(d, s)}),
    "median": (np.median, _reduce_params),
    "quantile": (np.quantile, lambda d, s: {"q": d(st.sampled_from([0.1, 0.5, 0.75, 1.0, (0.2, 0.9)])),
                                            **_reduce_params(d, s)}),
    "nansum": (np.nansum, _reduce_params),
    "nanmean": (np.nanmean, _reduce_params),
    "repeat": (np.repeat, lambda d, s: {"repeats": d(st.integers(0, 3)), "axis": _axis(d, s)}),
    "tile": (np.tile, lambda d, s: {"reps": d(st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple))}),
    "roll": (np.roll, lambda d, s: {"shift": d(st.integers(-5, 5)), "axis": _axis(d, s)}),
    "flip": (np.flip, lambda d, s: {"axis": _axis(d, s)}),
    "rot90": (np.rot90, lambda d, s: {"k": d(st.integers(-3, 4))} if len(s) >= 2 else None),
    "pad": (np.pad, lambda d, s: {"pad_width": d(st.integers(0, 3)),
                                  "mode": d(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))}),
    "moveaxis": (np.moveaxis, lambda d, s: {"source": _axis(d, s, False), "destination": _axis(d, s, False)}),
    "ravel": (np.ravel, lambda d, s: {}),
    "diff": (np.diff, lambda d, s: {"n": d(st.integers(0, 2)), **_one_axis(d, s)}),
    "take": (np.take, lambda d, s: {"indices": [0, -1, 0], "axis": _axis(d, s)}),
    "diagonal": (np.diagonal, lambda d, s: {"offset": d(st.integers(-2, 2))} if len(s) >= 2 else None),
    "tril": (np.tril, lambda d, s: {"k": d(st.integers(-2, 2))}),
    "triu": (np.triu, lambda d, s: {"k": d(st.integers(-2, 2))}),
    "diag": (np.diag, lambda d, s: {"k": d(st.integers(-2, 2))} if len(s) <= 2 else None),
    "atleast_3d": (np.atleast_3d, lambda d, s: {}),
    "fliplr": (np.fliplr, lambda d, s: {} if len(s) >= 2 else None),
    "flipud": (np.flipud, lambda d, s: {}),
    "outer": (lambda x: np.outer(x, x[::-1]), lambda d, s: {}),
    "kron": (lambda x: np.kron(x, x[:1] + 1), lambda d, s: {}),
    "inner": (lambda x: np.inner(x, x), lambda d, s: {}),
    "logcumsumexp": (lambda x, axis: np.logaddexp.accumulate(x.reshape(-1) if axis is None else x, axis=axis or 0),
                     lambda d, s: {"axis": _axis(d, s)}),
}
_PAIRS = {"outer": lambda x: ad.outer(x, x[::-1]), "kron": lambda x: ad.kron(x, x[:1] + 1),
          "inner": lambda x: ad.inner(x, x)}


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # NumPy warns for an all-NaN slice
@settings(max_examples=8)
@given(data=st.data())
@pytest.mark.parametrize("name", sorted(FORWARD))
def test_forward_matches_numpy_on_drawn_shapes_and_dtypes(name, data):
    np_fn, params = FORWARD[name]
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    x = data.draw(hnp.arrays(dtype, shape, elements=st.floats(-4, 4, width=32)))
    if name.startswith("nan") and x.size > 1:
        x.reshape(-1)[data.draw(st.integers(0, x.size - 1))] = np.nan
    kw = params(data.draw, shape)
    if kw is None:
        return
    if isinstance(kw.get("q"), tuple):  # autodiff keeps x's dtype; NumPy promotes to q's float64
        kw["q"] = np.array(kw["q"], dtype=dtype)
    fn = _PAIRS.get(name, getattr(ad, name))
    got = fn(ad.Tensor(x), **kw)
    want = np_fn(x, **kw)
    assert isinstance(got, ad.Tensor)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)
    assert got.shape == np.shape(want)
    assert got.dtype == np.asarray(want).dtype, (got.dtype, np.asarray(want).dtype)


@pytest.mark.parametrize("name", MINE)
def test_registered_gradient_matches_finite_differences(name):
    entry = REGISTRY[name]
    rng = np.random.default_rng(11)
    for _ in range(4):
        case = entry.sample(RandomDraw(rng), np.float64)
        wrt = case.positions()

        def f(*diff, case=case, wrt=wrt):
            args = list(case.args)
            for k, d in zip(wrt, diff, strict=True):
                args[k] = d
            return entry(*args, **case.params)

        assert gradcheck(f, *[case.args[k] for k in wrt], atol=1e-6, rtol=1e-5), (name, case)


@pytest.mark.parametrize("name", MINE)
def test_registered_entries_keep_float32(name):
    entry = REGISTRY[name]
    case = entry.sample(RandomDraw(np.random.default_rng(3)), np.float32)
    args = [ad.Tensor(a, requires_grad=True) if k in case.positions() else a for k, a in enumerate(case.args)]
    out = entry(*args, **case.params)
    assert out.dtype == np.float32
    out.sum().backward()
    for k in case.positions():
        assert args[k].grad.dtype == np.float32


# ---------------------------------------------------------------- zeros in prod
def _others(x):
    return np.array([np.prod(np.delete(x, i)) for i in range(x.size)])


@pytest.mark.parametrize("values", [[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 2.0], [0.0, 0.0, 0.0], [1.5, -2.0, 3.0]])
def test_prod_gradient_with_zeros_is_the_product_of_the_others(values):
    x = ad.Tensor(values, requires_grad=True)
    ad.prod(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), _others(np.array(values)))
    assert np.isfinite(x.grad.numpy()).all()


def test_prod_hessian_with_one_zero_in_closed_form():
    v = np.array([2.0, 0.0, 3.0, 5.0])
    H = ad.hessian(lambda x: ad.prod(x))(v)
    want = np.array([[0 if i == j else np.prod(np.delete(v, [i, j])) for j in range(4)] for i in range(4)])
    np.testing.assert_allclose(H, want)


def test_cumprod_gradient_with_zeros_matches_finite_differences_and_second_order():
    rng = np.random.default_rng(0)
    for zeros in ([1], [0, 3], [2, 2]):
        v = rng.uniform(-2, 2, size=(2, 5))
        v[:, zeros] = 0.0
        for axis in (0, 1):
            gradcheck(lambda x, axis=axis: ad.cumprod(x, axis=axis), v, atol=1e-8, rtol=1e-6)
            w = rng.uniform(0.5, 1.5, size=v.shape)
            g = lambda x, axis=axis, w=w: (ad.grad(lambda y: (ad.cumprod(y, axis=axis) * w).sum())(x) * w).sum()
            np.testing.assert_allclose(ad.grad(g)(v), numerical_grad(g, v), atol=1e-6)


def test_prod_over_several_axes_with_zeros():
    v = np.array([[[1.0, 2.0], [0.0, 3.0]], [[4.0, 0.0], [5.0, 0.5]]])
    for axis in [(0, 2), (1,), None, (0, 1, 2)]:
        gradcheck(lambda x, axis=axis: ad.prod(x, axis=axis), v, atol=1e-8)
    x = ad.Tensor(v, requires_grad=True)
    ad.prod(x, axis=(1, 2)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0], [[0.0, 0.0], [6.0, 0.0]])


# ------------------------------------------------------- logcumsumexp, cumsum
def test_logcumsumexp_stable_for_large_values_and_wide_ranges():
    v = np.array([1e4, -1e4, 1e4 + 1.0, 3.0, -np.inf])
    out = ad.logcumsumexp(ad.Tensor(v))
    np.testing.assert_allclose(out.numpy(), np.logaddexp.accumulate(v))
    wide = np.array([[-800.0, 0.0, 1.0, 900.0], [1.0, 2.0, 3.0, 4.0]])  # range too wide for one shift
    gradcheck(lambda x: ad.logcumsumexp(x, axis=1), wide, atol=1e-8)
    x = ad.Tensor(v, requires_grad=True)
    ad.logcumsumexp(x).sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and x.grad.numpy()[-1] == 0


def _weights(shape):
    return np.random.default_rng(5).uniform(0.5, 1.5, size=shape)


def test_second_order_of_cumulative_reductions():
    rng = np.random.default_rng(1)
    v = rng.uniform(-1, 1, size=(3, 4))
    w = rng.uniform(0.5, 1.5, size=(3, 4))
    for fn in (lambda x: ad.logcumsumexp(x, axis=1), lambda x: ad.cumsum(x, axis=0) ** 2,
               lambda x: ad.std(x, axis=1, ddof=1), lambda x: ad.quantile(x, 0.4, axis=0) ** 2,
               lambda x: ad.sort(x, axis=1) ** 3):
        g = lambda x, fn=fn: (ad.grad(lambda y: (fn(y) * _weights(fn(y).shape)).sum())(x) * w).sum()
        np.testing.assert_allclose(ad.grad(g)(v), numerical_grad(g, v), atol=1e-6)


def test_cumprod_on_a_long_axis_uses_division_and_stays_exact():
    rng = np.random.default_rng(2)
    v = rng.uniform(0.5, 1.5, size=(2, 40)) * rng.choice([-1, 1], size=(2, 40))
    gradcheck(lambda x: ad.cumprod(x, axis=1), v, atol=1e-7, rtol=1e-6)
    w = rng.uniform(0.5, 1.5, size=v.shape)
    g = lambda x: (ad.grad(lambda y: (ad.cumprod(y, axis=1) * w).sum())(x) * w).sum()
    np.testing.assert_allclose(ad.grad(g)(v), numerical_grad(g, v), rtol=1e-5, atol=1e-6)
    v[1, 7] = 0.0  # a zero on the long axis: the exact leave-one-out path
    gradcheck(lambda x: ad.cumprod(x, axis=1), v, atol=1e-7, rtol=1e-6)


# ------------------------------------------------------ sort, quantile, ties, NaN
def test_sort_gradient_scatters_through_the_permutation():
    x = ad.Tensor([3.0, 1.0, 2.0], requires_grad=True)
    (ad.sort(x) * ad.Tensor([10.0, 20.0, 30.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 10.0, 20.0])
    t = ad.Tensor([1.0, 1.0, 0.0], requires_grad=True)  # tie: each keeps its own stable position
    (ad.sort(t) * ad.Tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [2.0, 3.0, 1.0])


def test_median_and_quantile_gradients_and_nan():
    x = ad.Tensor([4.0, 1.0, 3.0, 2.0], requires_grad=True)
    ad.median(x).backward()  # (2 + 3) / 2
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0, 0.5, 0.5])
    x = ad.Tensor([[1.0, np.nan], [3.0, 4.0]], requires_grad=True)
    m = ad.median(x, axis=1)
    np.testing.assert_array_equal(m.numpy(), np.median(x.numpy(), axis=1))
    m.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(ad.percentile(ad.Tensor(np.arange(10.0)), [10, 95]).numpy(),
                               np.percentile(np.arange(10.0), [10, 95]))


def test_nansum_and_nanmean_gradient_zero_at_nan():
    v = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    x = ad.Tensor(v, requires_grad=True)
    ad.nansum(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    x = ad.Tensor(v, requires_grad=True)
    with pytest.warns(RuntimeWarning):
        want = np.nanmean(v, axis=1)
    m = ad.nanmean(x, axis=1)
    np.testing.assert_array_equal(m.numpy(), want)
    m[0].backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])


def test_average_is_differentiable_in_values_and_weights():
    rng = np.random.default_rng(4)
    a, w = rng.uniform(-1, 1, (3, 4)), rng.uniform(0.5, 2, 4)
    np.testing.assert_allclose(ad.average(ad.Tensor(a), axis=1, weights=w).numpy(), np.average(a, axis=1, weights=w))
    gradcheck(lambda a, w: ad.average(a, axis=1, weights=w), a, w)
    avg, total = ad.average(ad.Tensor(a), axis=0, weights=np.ones((3, 4)), returned=True)
    np.testing.assert_allclose(total.numpy(), np.full(4, 3.0))
    with pytest.raises(ZeroDivisionError, match="average"):
        ad.average(ad.Tensor(a), axis=1, weights=np.zeros(4))


def test_std_var_ddof_correction_and_constant_data():
    v = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    for kw, np_kw in [({"ddof": 1}, {"ddof": 1}), ({"correction": 1}, {"ddof": 1}), ({}, {})]:
        np.testing.assert_allclose(ad.std(ad.Tensor(v), axis=1, **kw).numpy(), np.std(v, axis=1, **np_kw))
        np.testing.assert_allclose(ad.var(ad.Tensor(v), axis=1, **kw).numpy(), np.var(v, axis=1, **np_kw))
    x = ad.Tensor(v, requires_grad=True)
    ad.std(x, axis=1).sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and (x.grad.numpy()[1] == 0).all()  # std 0: gradient 0
    np.testing.assert_allclose(ad.Tensor(v).std(dim=1, correction=1).numpy(), np.std(v, axis=1, ddof=1))
    with pytest.raises(ValueError, match="degrees of freedom"):
        ad.var(ad.Tensor([1.0]), ddof=1)
    with pytest.raises(TypeError, match="both ddof= and correction="):
        ad.std(ad.Tensor(v), ddof=1, correction=1)


def test_non_differentiable_results_are_integer_or_boolean_tensors():
    x = ad.Tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 5.0]], requires_grad=True)
    for got, want in [(ad.argmax(x, axis=1), [0, 1]), (ad.argmin(x, dim=1, keepdim=True), [[1], [0]]),
                      (ad.argsort(x, axis=1), [[1, 2, 0], [0, 1, 2]]), (ad.count_nonzero(x, axis=1), [3, 2]),
                      (ad.all(x, axis=1), [True, False]), (ad.any(x), True), (x.argmax(), 4)]:
        assert isinstance(got, ad.Tensor) and not got.requires_grad
        np.testing.assert_array_equal(got.numpy(), want)
    assert ad.argsort(x, descending=True).numpy()[1].tolist() == [1, 2, 0]
