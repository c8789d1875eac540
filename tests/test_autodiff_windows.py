"""unfold/fold (the primitives convolution and pooling are built from): values against
PyTorch's F.unfold/F.fold when installed, transposes of each other, gradients of first
and second order against central finite differences, SymPy forms, float32 preserved."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from autodiff.primitive import REGISTRY
from autodiff.sampling import RandomDraw
from autodiff.testing import numerical_grad
from autodiff.windows import fold_p, out_size, unfold_p
from tests.helpers import assert_vjp_matches

# (kernel, stride, padding pairs, dilation) over (H, W) = (7, 6)
CONFIGS = [
    ((3, 2), (2, 1), ((1, 1), (0, 0)), (1, 2)),
    ((2, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),
    ((3, 3), (2, 3), ((2, 2), (1, 1)), (2, 1)),
    ((1, 4), (3, 1), ((0, 0), (2, 2)), (1, 1)),
]


def _params(kernel, stride, padding, dilation):
    return {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": padding}


@pytest.mark.parametrize("kernel, stride, padding, dilation", CONFIGS)
def test_unfold_and_fold_equal_pytorch(kernel, stride, padding, dilation):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6))
    ours = ad.unfold(x, kernel, stride, padding, dilation).numpy()
    sym = (padding[0][0], padding[1][0])
    theirs = TF.unfold(torch.tensor(x), kernel, dilation=dilation, padding=sym, stride=stride).numpy()
    np.testing.assert_array_equal(ours.reshape(theirs.shape), theirs)
    g = rng.normal(size=ours.shape)
    folded = ad.fold(g, (7, 6), kernel, stride, padding, dilation).numpy()
    expected = TF.fold(torch.tensor(g.reshape(theirs.shape)), (7, 6), kernel, dilation=dilation, padding=sym,
                       stride=stride).numpy()
    np.testing.assert_allclose(folded, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kernel, stride, padding, dilation", CONFIGS)
def test_fold_is_the_transpose_of_unfold(kernel, stride, padding, dilation):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 7, 6))
    u = ad.unfold(x, kernel, stride, padding, dilation).numpy()
    g = rng.normal(size=u.shape)
    f = ad.fold(g, (7, 6), kernel, stride, padding, dilation).numpy()
    assert np.isclose(np.sum(u * g), np.sum(x * f), rtol=1e-12)


def test_unfold_by_hand_with_fill_padding_and_one_axis():
    x = np.arange(1.0, 6.0)
    u = ad.unfold(x, (2,), stride=(2,), padding=((1, 0),), fill=-9.0).numpy()
    np.testing.assert_array_equal(u, [[-9.0, 2.0, 4.0], [1.0, 3.0, 5.0]])  # (k, out)


@pytest.mark.parametrize("kernel, stride, padding, dilation", CONFIGS[:3])
def test_unfold_and_fold_gradients_match_finite_differences(kernel, stride, padding, dilation):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1, 2, 7, 6))
    assert_vjp_matches(lambda t: ad.unfold(t, kernel, stride, padding, dilation, fill=0.5), [x])
    out = tuple(out_size(n, k, s, d, lo, hi) for n, k, s, d, (lo, hi) in zip((7, 6), kernel, stride, dilation,
                                                                             padding, strict=True))
    g = rng.normal(size=(1, 2) + kernel + out)
    assert_vjp_matches(lambda t: ad.fold(t, (7, 6), kernel, stride, padding, dilation), [g])


def _second_order(f, x, seed=3):
    """The gradient of sum(f(x) * G) as a function of x, differentiated again: against FD of that gradient."""
    G = np.random.default_rng(seed).normal(size=f(ad.Tensor(x)).shape)

    def grad_of(t):
        with ad.enable_grad():  # finite differences call this under no_grad
            t = t if t.requires_grad else ad.Tensor(t.numpy(), requires_grad=True)
            (g,) = ad.gradients((f(t) * G).sum(), [t], create_graph=True)
        return g

    assert_vjp_matches(grad_of, [x], rtol=1e-4, atol=1e-5)


def test_second_order_through_unfold_and_fold():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(1, 1, 5, 4))
    _second_order(lambda t: ad.sin(ad.unfold(t, (2, 3), (1, 2), ((1, 0), (1, 1)), (2, 1))) * 2.0, x)
    w = rng.normal(size=(1, 1, 2, 3, 4, 2))
    _second_order(lambda t: ad.tanh(ad.fold(t, (5, 4), (2, 3), (1, 2), ((1, 0), (1, 1)), (2, 1))), w)


def test_registry_samples_are_valid_and_float32_is_kept():
    draw = RandomDraw(np.random.default_rng(5))
    for prim in (unfold_p, fold_p):
        assert REGISTRY[prim.name] is prim and prim.sample is not None and prim.sympy_array is not None
        for _ in range(20):
            case = prim.sample(draw, np.float32)
            out = prim(ad.Tensor(case.args[0], requires_grad=True), **case.params)
            assert out.dtype == np.float32
            out.sum().backward()


def test_sympy_forms_equal_the_forward():
    sp = pytest.importorskip("sympy")
    draw = RandomDraw(np.random.default_rng(6))
    for prim in (unfold_p, fold_p):
        for _ in range(2):
            case = prim.sample(draw, np.float64)
            x = case.args[0]
            symbols = np.array(sp.symbols(f"a0:{x.size}"), dtype=object).reshape(x.shape)
            form = prim.sympy_array(sp, symbols, **case.params)
            subs = dict(zip(symbols.ravel(), x.ravel(), strict=True))
            value = np.array([float(sp.sympify(e).xreplace(subs)) for e in form.ravel()]).reshape(form.shape)
            np.testing.assert_allclose(value, prim.forward(x, **case.params), rtol=1e-12, atol=1e-12)


def test_forward_mode_equals_reverse_mode_for_unfold():
    rng = np.random.default_rng(7)
    x, v = rng.normal(size=(2, 6, 5)), rng.normal(size=(2, 6, 5))
    f = lambda t: ad.unfold(t, (3, 2), (2, 1), 1, (1, 2))  # noqa: E731
    _, tangent = ad.jvp(f, (x,), (v,))
    np.testing.assert_allclose(tangent, f(v).numpy(), rtol=1e-12)  # linear: J v = f(v)


def test_bad_windows_raise_naming_the_shapes():
    with pytest.raises(ValueError, match=r"unfold: kernel \(5, 5\).*larger.*\(1, 1, 4, 4\)"):
        ad.unfold(np.zeros((1, 1, 4, 4)), 5)
    with pytest.raises(ValueError, match="stride"):
        ad.unfold(np.zeros((1, 1, 4, 4)), 2, stride=0)
    with pytest.raises(ValueError, match=r"fold: expected windows of shape"):
        ad.fold(np.zeros((1, 1, 2, 2, 2, 2)), (4, 4), 2)


def test_numerical_reference_is_independent():
    # the FD helper itself sees unfold as a plain function of x (no autodiff inside the reference)
    x = np.random.default_rng(8).normal(size=(1, 1, 3, 3))
    n = numerical_grad(lambda t: (ad.unfold(t, 2) ** 2).sum(), x)
    counts = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_allclose(n[0, 0], 2 * x[0, 0] * counts, rtol=1e-6)
