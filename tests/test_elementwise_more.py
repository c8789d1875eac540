"""NumPy's other elementwise functions (issue 10): each registry entry's gradient against
central finite differences in float64 on its own sampler's inputs, first and second
derivatives against SymPy, forwards against NumPy on Hypothesis-drawn shapes and dtypes,
erf against math.erf, NumPy dispatch (``np.arcsinh(t)``) and the ``%``/``//`` operators."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import sympy as sp
from helpers import assert_vjp_matches
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autodiff as ad
from autodiff.primitive import REGISTRY
from autodiff.sampling import RandomDraw

NEW = ["sinh", "cosh", "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "log2", "log10",
       "exp2", "expm1", "square", "reciprocal", "cbrt", "hypot", "logaddexp", "logaddexp2", "sinc", "erf", "erfc",
       "deg2rad", "rad2deg", "sign", "floor", "ceil", "trunc", "round", "floor_divide", "remainder", "fmod", "fmax",
       "fmin", "nan_to_num", "clip_bounds"]
ACTIVATIONS = ["gelu", "silu", "mish", "selu", "celu", "hardtanh", "hardsigmoid", "hardswish", "logsigmoid",
               "softsign", "glu", "softmin"]


def _case(name: str, k: int):
    rng = np.random.default_rng(zlib.crc32(f"{name}{k}".encode()))
    return REGISTRY[name].sample(RandomDraw(rng), np.float64)


def test_every_new_entry_is_registered_with_a_sampler_and_a_symbolic_form_or_reason():
    for name in NEW + ACTIVATIONS:
        entry = REGISTRY[name]
        assert entry.sample is not None, name
        if name in NEW:
            assert (entry.sympy or entry.sympy_array) is not None or entry.no_sympy, name
            assert "d/d" in type(entry).__doc__, name  # its doc states the derivative


@pytest.mark.parametrize("name", NEW + ACTIVATIONS)
def test_gradient_matches_finite_differences(name):
    for k in range(3):
        f, xs = _case(name, k).partial(REGISTRY[name])
        assert_vjp_matches(f, xs, rtol=1e-6, atol=1e-8)


def _sympy_entries():
    return [n for n in NEW if REGISTRY[n].sympy is not None]


@pytest.mark.parametrize("name", _sympy_entries())
def test_first_and_second_derivatives_match_sympy(name):
    """Every partial ∂f/∂xᵢ and ∂²f/∂xᵢ∂xⱼ at four sampled points, against SymPy's."""
    entry = REGISTRY[name]
    case = _case(name, 0)
    args = [np.broadcast_to(a, np.broadcast_shapes(*[np.shape(b) for b in case.args])).reshape(-1)[:4]
            for a in case.args]
    syms = sp.symbols(f"x0:{len(args)}", real=True)
    expr = entry.sympy(sp, *syms, **case.params)
    xs = [ad.Tensor(a.copy(), requires_grad=True) for a in args]
    firsts = ad.gradients(entry(*xs, **case.params).sum(), xs, create_graph=True)
    for i, gi in enumerate(firsts):
        seconds = ad.gradients(gi.sum(), xs) if gi.requires_grad else [None] * len(xs)
        d1 = sp.diff(expr, syms[i])
        for p in range(len(args[0])):
            point = {s: sp.Float(float(a[p]), 30) for s, a in zip(syms, args, strict=True)}
            assert float(gi.numpy()[p]) == pytest.approx(float(d1.evalf(30, subs=point)), rel=1e-9, abs=1e-12)
            for j, gij in enumerate(seconds):
                want = float(sp.diff(d1, syms[j]).evalf(30, subs=point))
                got = 0.0 if gij is None else float(gij.numpy()[p])
                assert got == pytest.approx(want, rel=1e-8, abs=1e-10), (name, i, j, p)


# ------------------------------------------------------------- forward vs NumPy
UNARY_DOMAINS = {
    "sinh": (-5, 5), "cosh": (-5, 5), "arcsin": (-1, 1), "arccos": (-1, 1), "arctan": (-50, 50),
    "arcsinh": (-50, 50), "arccosh": (1, 50), "arctanh": (-0.99, 0.99), "log2": (1e-3, 1e3), "log10": (1e-3, 1e3),
    "exp2": (-20, 20), "expm1": (-20, 20), "square": (-50, 50), "reciprocal": (0.1, 50), "cbrt": (-50, 50),
    "sinc": (-5, 5), "deg2rad": (-400, 400), "rad2deg": (-7, 7), "sign": (-3, 3), "floor": (-5, 5),
    "ceil": (-5, 5), "trunc": (-5, 5), "rint": (-5, 5), "fix": (-5, 5), "radians": (-400, 400),
    "degrees": (-7, 7), "nan_to_num": (-5, 5),
}
BINARY = ["arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "remainder", "fmod", "floor_divide", "mod"]


def _floats(dtype, lo, hi):
    return st.floats(float(np.float32(lo)), float(np.float32(hi)), width=32 if dtype == np.float32 else 64)


@settings(max_examples=40)
@given(st.data())
def test_unary_forward_equals_numpy(data):
    name = data.draw(st.sampled_from(sorted(UNARY_DOMAINS)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    x = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
                             elements=_floats(dtype, *UNARY_DOMAINS[name])))
    ours = getattr(ad, name)(ad.Tensor(x, requires_grad=True))
    theirs = getattr(np, name)(x)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
    np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=name)


@settings(max_examples=40)
@given(st.data())
def test_binary_forward_equals_numpy_on_broadcast_shapes(data):
    name = data.draw(st.sampled_from(BINARY))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)).input_shapes
    x = data.draw(hnp.arrays(dtype, shapes[0], elements=_floats(dtype, -20, 20)))
    y = data.draw(hnp.arrays(dtype, shapes[1], elements=_floats(dtype, 0.25, 20)))
    y = y * np.where(np.arange(y.size).reshape(y.shape) % 2, 1, -1).astype(dtype)
    ours = getattr(ad, name)(ad.Tensor(x, requires_grad=True), ad.Tensor(y))
    theirs = getattr(np, name)(x, y)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
    np.testing.assert_array_equal(ours.numpy(), theirs, err_msg=name)


@settings(max_examples=30)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=2, max_side=5), elements=st.floats(-1e300, 1e300)))
def test_erf_and_erfc_equal_math_to_about_an_ulp(x):
    for fn, ref in ((ad.erf, math.erf), (ad.erfc, math.erfc)):
        want = np.vectorize(ref, otypes=[float])(x)
        np.testing.assert_allclose(fn(ad.Tensor(x)).numpy(), want, rtol=1e-15, atol=0)


def test_erf_on_a_wide_grid_and_its_special_values():
    x = np.concatenate([np.linspace(-30, 30, 60001), np.geomspace(1e-300, 30, 3000), -np.geomspace(1e-300, 30, 3000),
                        [0.0, 0.84375, 1.25, 1 / 0.35, 6.0, 28.0, 5e-324]])
    for fn, ref in ((ad.erf, math.erf), (ad.erfc, math.erfc)):
        want = np.array([ref(v) for v in x])
        got = fn(ad.Tensor(x)).numpy()
        normal = np.abs(want) > 2.3e-308  # subnormal results carry fewer bits: an absolute bound there
        assert np.max(np.abs(got - want)[normal] / np.abs(want[normal])) < 6e-16, fn
        assert np.all(np.abs(got - want)[~normal] <= 1e-15 * np.abs(want[~normal]) + 1e-322), fn
    special = np.array([np.inf, -np.inf, np.nan, -0.0])
    np.testing.assert_array_equal(ad.erf(ad.Tensor(special)).numpy(), [1.0, -1.0, np.nan, -0.0])
    np.testing.assert_array_equal(ad.erfc(ad.Tensor(special)).numpy(), [0.0, 2.0, np.nan, 1.0])
    assert ad.erf(ad.Tensor(np.float32([0.5]))).dtype == np.float32
    assert ad.erf(ad.Tensor(np.array([1, 2]))).dtype == np.float64  # integers as NumPy's float ufuncs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_and_gradients_keep_the_dtype(dtype):
    for name in NEW + ACTIVATIONS:
        case = REGISTRY[name].sample(RandomDraw(np.random.default_rng(1)), dtype)
        f, xs = case.partial(REGISTRY[name])
        ts = [ad.Tensor(x, requires_grad=True) for x in xs]
        out = f(*ts)
        assert out.dtype == dtype, name
        for t, g in zip(ts, ad.gradients(out.sum(), ts), strict=True):
            assert g.dtype == dtype and g.shape == t.shape, name


# ----------------------------------------------------------------- NumPy dispatch
def test_numpy_functions_on_tensors_are_differentiable():
    x = ad.Tensor([0.3, -0.6, 0.8], requires_grad=True)
    y = ad.Tensor([1.5, 0.7, -2.0], requires_grad=True)
    unary = ["sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arctanh", "expm1", "square", "reciprocal",
             "cbrt", "sinc", "deg2rad", "rad2deg", "radians", "degrees", "sign", "floor", "ceil", "trunc", "rint",
             "fix", "round", "around", "nan_to_num"]
    for name in unary:
        out = getattr(np, name)(x)
        assert isinstance(out, ad.Tensor) and out.requires_grad, name
        np.testing.assert_array_equal(out.numpy(), getattr(np, name)(x.numpy()), err_msg=name)
        (g,) = ad.gradients(out.sum(), [x])
        (want,) = ad.gradients(getattr(ad, name)(x).sum(), [x])
        np.testing.assert_array_equal(g.numpy(), want.numpy(), err_msg=name)
    for name in ["arctan2", "hypot", "logaddexp", "logaddexp2", "fmax", "fmin", "mod", "remainder", "fmod"]:
        out = getattr(np, name)(x, y)
        assert isinstance(out, ad.Tensor) and out.requires_grad, name
        np.testing.assert_array_equal(out.numpy(), getattr(np, name)(x.numpy(), y.numpy()), err_msg=name)
    z = ad.Tensor([1.7, 2.0])
    np.testing.assert_array_equal(np.log2(z).numpy(), np.log2(z.numpy()))
    np.testing.assert_array_equal(np.arccosh(z).numpy(), np.arccosh(z.numpy()))
    np.testing.assert_array_equal(np.exp2(z).numpy(), np.exp2(z.numpy()))
    np.testing.assert_array_equal(np.log10(z).numpy(), np.log10(z.numpy()))
    np.testing.assert_array_equal(np.round(ad.Tensor([1.234, -5.678]), 1).numpy(), [1.2, -5.7])
    lo = ad.Tensor(-0.5, requires_grad=True)
    out = np.clip(x, a_min=lo, a_max=0.5)
    (g,) = ad.gradients(out.sum(), [lo])
    assert g.item() == 1.0  # x[1] = -0.6 is clipped to lo


def test_percent_and_floor_division_operators():
    x = ad.Tensor([5.5, -5.5, 7.0], requires_grad=True)
    y = ad.Tensor([2.0, 2.0, -3.0], requires_grad=True)
    r = x % y
    np.testing.assert_array_equal(r.numpy(), np.array([5.5, -5.5, 7.0]) % np.array([2.0, 2.0, -3.0]))
    r.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(y.grad.numpy(), -np.floor_divide([5.5, -5.5, 7.0], [2.0, 2.0, -3.0]))
    np.testing.assert_array_equal((7.0 % ad.Tensor([3.0, -3.0])).numpy(), [1.0, -2.0])
    np.testing.assert_array_equal((x // 2).numpy(), [2.0, -3.0, 3.0])
    np.testing.assert_array_equal((10.0 // ad.Tensor([3.0, -3.0])).numpy(), [3.0, -4.0])
    assert (x // y).op == "floor_divide"
    np.testing.assert_array_equal(ad.fmod(x, y).numpy(), np.fmod([5.5, -5.5, 7.0], [2.0, 2.0, -3.0]))


@pytest.mark.filterwarnings("ignore:invalid value encountered in log2:RuntimeWarning")
def test_tensor_methods_with_numpy_and_pytorch_names():
    x = ad.Tensor([0.3, -0.6, 0.8], requires_grad=True)
    y = ad.Tensor([1.5, 0.7, -2.0])
    for method, fn in [("sinh", ad.sinh), ("cosh", ad.cosh), ("asin", ad.arcsin), ("arccos", ad.arccos),
                       ("atan", ad.arctan), ("asinh", ad.arcsinh), ("atanh", ad.arctanh), ("log2", ad.log2),
                       ("exp2", ad.exp2), ("expm1", ad.expm1), ("square", ad.square), ("reciprocal", ad.reciprocal),
                       ("sinc", ad.sinc), ("erf", ad.erf), ("erfc", ad.erfc), ("deg2rad", ad.deg2rad),
                       ("sign", ad.sign), ("floor", ad.floor), ("ceil", ad.ceil), ("trunc", ad.trunc),
                       ("round", ad.round), ("nan_to_num", ad.nan_to_num)]:
        np.testing.assert_array_equal(getattr(x, method)().numpy(), fn(x).numpy(), err_msg=method)
    for method, fn in [("atan2", ad.arctan2), ("hypot", ad.hypot), ("logaddexp", ad.logaddexp),
                       ("remainder", ad.remainder), ("fmod", ad.fmod), ("fmax", ad.fmax), ("fmin", ad.fmin)]:
        np.testing.assert_array_equal(getattr(x, method)(y).numpy(), fn(x, y).numpy(), err_msg=method)
    np.testing.assert_array_equal(round(ad.Tensor([1.26, -0.55]), 1).numpy(), [1.3, -0.6])
    np.testing.assert_array_equal(ad.Tensor([1.26]).round(1).numpy(), [1.3])
