"""The conventions of the new elementwise functions where calculus is silent (jumps,
NaN, ties, the origin), numerical soundness at extreme inputs, and values and gradients
against PyTorch in float64 where it is installed."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import autodiff as ad


def grads(f, *arrays):
    xs = [ad.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = f(*xs)
    return out, [g.numpy() for g in ad.gradients(out.sum(), xs)]


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "trunc", "round", "rint", "fix"])
def test_rounding_has_an_exact_zero_gradient_also_at_the_jumps(name):
    x = np.array([-2.0, -0.5, 0.0, 0.5, 1.0, 2.5, 0.3])
    out, (g,) = grads(getattr(ad, name), x)
    np.testing.assert_array_equal(out.numpy(), getattr(np, name)(x))
    np.testing.assert_array_equal(g, np.zeros_like(x))
    t = ad.Tensor(x, requires_grad=True)
    (g,) = ad.gradients(getattr(ad, name)(t), [t], grad_outputs=[np.full(x.shape, np.nan)])
    np.testing.assert_array_equal(g.numpy(), np.zeros_like(x))  # a constant zero: NaN upstream does not leak


def test_round_halves_to_even_with_decimals_and_rejects_a_float_decimals():
    np.testing.assert_array_equal(ad.round(ad.Tensor([0.5, 1.5, 2.5, -0.5])).numpy(), [0.0, 2.0, 2.0, -0.0])
    np.testing.assert_array_equal(ad.round(ad.Tensor([1.25, 3.14159]), 2).numpy(), np.round([1.25, 3.14159], 2))
    with pytest.raises(TypeError, match="round: decimals must be an integer, got float 1.5"):
        ad.round(ad.Tensor([1.0]), 1.5)


def test_remainder_and_fmod_signs_and_divisor_gradient():
    x, y = np.array([5.5, -5.5, 5.5, -5.5]), np.array([2.0, 2.0, -2.0, -2.0])
    out, (gx, gy) = grads(ad.remainder, x, y)
    np.testing.assert_array_equal(out.numpy(), np.remainder(x, y))
    np.testing.assert_array_equal(gx, 1.0)
    np.testing.assert_array_equal(gy, -np.floor(x / y))
    out, (gx, gy) = grads(ad.fmod, x, y)
    np.testing.assert_array_equal(out.numpy(), np.fmod(x, y))
    np.testing.assert_array_equal(gy, -np.trunc(x / y))
    assert ad.mod is ad.remainder


def test_fmax_fmin_ignore_nan_like_numpy_and_split_ties():
    x = np.array([1.0, np.nan, 2.0, np.nan, 3.0])
    y = np.array([0.0, 1.0, np.nan, np.nan, 3.0])
    for fn, ref in ((ad.fmax, np.fmax), (ad.fmin, np.fmin)):
        out, (gx, gy) = grads(fn, x, y)
        np.testing.assert_array_equal(out.numpy(), ref(x, y))
        other = 1.0 if fn is ad.fmin else 0.0  # which side wins the first pair
        np.testing.assert_array_equal(gx, [1.0 - other, 0.0, 1.0, 1.0, 0.5])
        np.testing.assert_array_equal(gy, [other, 1.0, 0.0, 0.0, 0.5])


def test_nan_to_num_values_and_gradient():
    x = np.array([np.nan, np.inf, -np.inf, 1.5])
    out, (g,) = grads(lambda t: ad.nan_to_num(t, nan=-1.0, posinf=9.0), x)
    np.testing.assert_array_equal(out.numpy(), np.nan_to_num(x, nan=-1.0, posinf=9.0))
    np.testing.assert_array_equal(g, [0.0, 0.0, 0.0, 1.0])
    assert ad.nan_to_num(ad.Tensor(x)).numpy()[1] == np.finfo(np.float64).max


def test_clip_with_tensor_bounds_sends_each_gradient_to_the_result():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 0.5])
    lo = np.array([-1.0, -1.0, -1.0, -1.0, -1.0, 2.0])  # the last: lo > hi, NumPy's result is hi
    hi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    out, (gx, glo, ghi) = grads(ad.clip, x, lo, hi)
    np.testing.assert_array_equal(out.numpy(), np.clip(x, lo, hi))
    np.testing.assert_array_equal(gx, [0, 1, 1, 1, 0, 0])   # ties at a bound go to x (torch.clamp)
    np.testing.assert_array_equal(glo, [1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(ghi, [0, 0, 0, 0, 1, 1])
    t, b = ad.Tensor(x, requires_grad=True), ad.Tensor(0.5, requires_grad=True)
    for clipped in (t.clip(None, b), t.clamp(max=b), np.clip(t, None, b), ad.clip(t, a_max=b)):
        (g,) = ad.gradients(clipped.sum(), [b])
        assert g.item() == 2.0  # summed over the two entries above 0.5 (the tie at 0.5 goes to x)
    with pytest.raises(TypeError, match="clip: got both hi= and max="):
        ad.clip(t, 0.0, 1.0, max=2.0)
    with pytest.raises(ValueError, match="clip: give at least one bound"):
        ad.clip(t)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_hypot_and_arctan2_at_the_origin():
    _, (gx, gy) = grads(ad.hypot, [0.0, 3.0], [0.0, 4.0])
    np.testing.assert_array_equal(gx, [0.0, 0.6])
    np.testing.assert_array_equal(gy, [0.0, 0.8])
    _, (gy, gx) = grads(ad.arctan2, [0.0], [0.0])
    assert np.isnan(gy).all() and np.isnan(gx).all()  # no derivative at the origin: NaN, as PyTorch
    out, _ = grads(ad.hypot, [1e300], [1e300])
    assert np.isfinite(out.numpy()).all()


def test_sinc_derivative_is_accurate_near_zero():
    mpmath.mp.dps = 40
    exact = lambda v: float(mpmath.diff(lambda t: mpmath.sin(mpmath.pi * t) / (mpmath.pi * t), mpmath.mpf(v)))
    x = np.array([1e-12, 1e-6, 1e-3, 0.0795, 0.0796, 0.3, -0.7, 2.5])  # 0.25/π ≈ 0.0796: the branch switch
    _, (g,) = grads(ad.sinc, x)
    np.testing.assert_allclose(g, [exact(v) for v in x], rtol=2e-14)
    _, (g0,) = grads(ad.sinc, [0.0])
    assert g0[0] == 0.0
    x0 = ad.Tensor([0.0], requires_grad=True)
    (d1,) = ad.gradients(ad.sinc(x0).sum(), [x0], create_graph=True)
    (d2,) = ad.gradients(d1.sum(), [x0])
    assert d2.item() == pytest.approx(-np.pi ** 2 / 3, rel=1e-14)  # sinc''(0), finite


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_extreme_inputs_stay_finite_and_accurate():
    _, (g,) = grads(ad.expm1, [-40.0])
    assert g[0] == pytest.approx(np.exp(-40.0), rel=1e-15)  # exp(x), not z + 1 = 0
    out, (gx, gy) = grads(ad.logaddexp, [1e4, -1e4], [1e4 - 1.0, 3.0])
    assert np.isfinite(out.numpy()).all() and np.isfinite(gx).all() and np.isfinite(gy).all()
    np.testing.assert_allclose(gx + gy, 1.0)
    _, (g,) = grads(ad.arcsinh, [1e200])
    assert g[0] == pytest.approx(1e-200, rel=1e-15)  # no overflow of x²
    _, (g,) = grads(ad.arccosh, [1 + 1e-10])
    assert g[0] == pytest.approx(1 / np.sqrt(2e-10), rel=1e-6)
    _, (g,) = grads(ad.cbrt, [0.0])
    assert g[0] == np.inf  # the tangent is vertical


# ----------------------------------------------------------------- PyTorch
TORCH_UNARY = {  # ours: (torch name, domain)
    "sinh": ("sinh", (-3, 3)), "cosh": ("cosh", (-3, 3)), "arcsin": ("asin", (-0.9, 0.9)),
    "arccos": ("acos", (-0.9, 0.9)), "arctan": ("atan", (-4, 4)), "arcsinh": ("asinh", (-4, 4)),
    "arccosh": ("acosh", (1.1, 5)), "arctanh": ("atanh", (-0.9, 0.9)), "log2": ("log2", (0.1, 5)),
    "log10": ("log10", (0.1, 5)), "exp2": ("exp2", (-3, 3)), "expm1": ("expm1", (-3, 3)),
    "square": ("square", (-3, 3)), "reciprocal": ("reciprocal", (0.3, 3)), "sinc": ("sinc", (-3, 3)),
    "erf": ("erf", (-3, 3)), "erfc": ("erfc", (-3, 3)), "deg2rad": ("deg2rad", (-200, 200)),
    "rad2deg": ("rad2deg", (-4, 4)), "sign": ("sign", (-3, 3)), "floor": ("floor", (-3, 3)),
    "ceil": ("ceil", (-3, 3)), "trunc": ("trunc", (-3, 3)), "round": ("round", (-3, 3)),
    "nan_to_num": ("nan_to_num", (-3, 3)),
}
TORCH_BINARY = {"arctan2": "atan2", "hypot": "hypot", "logaddexp": "logaddexp", "logaddexp2": "logaddexp2",
                "fmax": "fmax", "fmin": "fmin", "remainder": "remainder", "fmod": "fmod"}


def _torch_both(torch, ours, theirs, *arrays):
    out, gs = grads(ours, *arrays)
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    t_out = theirs(*ts)
    t_gs = torch.autograd.grad(t_out.sum(), ts)
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-14, atol=1e-300)
    for g, tg in zip(gs, t_gs, strict=True):
        np.testing.assert_allclose(g, tg.numpy(), rtol=1e-13, atol=1e-15)


def test_unary_functions_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    for name, (tname, (lo, hi)) in TORCH_UNARY.items():
        x = rng.uniform(lo, hi, size=(3, 4))
        _torch_both(torch, getattr(ad, name), getattr(torch, tname), x)
    kinks = np.array([-2.0, -1.5, -0.5, 0.0, 0.5, 2.5])  # values and zero gradients at the jumps too
    for name in ("sign", "floor", "ceil", "trunc", "round"):
        _torch_both(torch, getattr(ad, name), getattr(torch, name), kinks)


def test_binary_functions_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    x = rng.uniform(-3, 3, size=(4, 3))
    y = rng.uniform(0.5, 2, size=(3,)) * np.array([1, -1, 1])
    y = np.where(np.abs(x / y - np.round(x / y)) < 0.05, y * 1.1, y)  # away from the jumps of remainder/fmod
    for name, tname in TORCH_BINARY.items():
        _torch_both(torch, getattr(ad, name), getattr(torch, tname), x, np.broadcast_to(y, x.shape).copy())
    nan = np.array([1.0, np.nan, np.nan, 2.0]), np.array([np.nan, 1.0, np.nan, 0.5])
    for name in ("fmax", "fmin"):  # NaN handling and which side gets the gradient, as PyTorch
        out, gs = grads(getattr(ad, name), *nan)
        ts = [torch.tensor(a, requires_grad=True) for a in nan]
        t_out = getattr(torch, name)(*ts)
        np.testing.assert_array_equal(out.numpy(), t_out.detach().numpy())
        for g, tg in zip(gs, torch.autograd.grad(t_out.sum(), ts), strict=True):
            np.testing.assert_array_equal(g, tg.numpy())
    x, lo, hi = rng.uniform(-3, 3, size=8), rng.uniform(-2, -0.2, size=8), rng.uniform(0.2, 2, size=8)
    lo[-1], hi[-1] = 1.0, 0.5  # lo > hi: both give hi and its gradient
    _torch_both(torch, ad.clip, lambda a, b, c: torch.clamp(a, b, c), x, lo, hi)


def test_the_readme_example_runs_and_prints_its_numbers(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "math_functions.py"
    spec = importlib.util.spec_from_file_location("example_math_functions", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main()
    out = capsys.readouterr().out
    assert "d/dlo 1.0" in out and "largest relative error" in out
    assert "gelu(-10) = -7.61985302416" in out



def test_jit_of_a_pow_gradient_with_zero_exponents_equals_eager():
    """pow's rules take a cheaper branch when no operand is 0; a jit trace records the general
    one, which rounds alike, so a later call with y = 0 runs the same program (the random
    programs found pow(x, 0) failing once the registry grew and the draws moved)."""
    g = ad.grad(lambda x, y: (x ** y).sum(), argnums=(0, 1))
    f = ad.jit(g)
    x = np.array([0.5, 2.0])
    for y in (np.array([1.5, 2.0]), np.array([0.0, 2.0]), np.array([3.0, 0.0])):
        for got, want in zip(f(x, y), g(x, y), strict=True):
            np.testing.assert_array_equal(got, want)
