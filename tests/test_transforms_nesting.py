"""Nested transforms keep the outer graph, never confuse perturbations, and refuse outputs
that left the graph. Closed forms throughout; random nested programs from Hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad

xs = st.floats(-1.5, 1.5, allow_nan=False)


def test_issue_cases():
    f = lambda x, y: x * y
    assert float(ad.grad(ad.grad(f, argnums=1), argnums=0)(2.0, 3.0)) == 1.0
    assert float(ad.grad(lambda x: x * ad.grad(lambda y: x * y)(2.0))(1.0)) == 2.0


def test_no_perturbation_confusion():
    # d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1 (a confused implementation gives 2)
    assert float(ad.grad(lambda x: x * ad.grad(lambda y: x + y)(x))(1.0)) == 1.0
    # d/dx [x · d/dy (x · y)|_{y=x}] = d/dx x² = 2x
    assert float(ad.grad(lambda x: x * ad.grad(lambda y: x * y)(x))(3.0)) == 6.0
    # the same outer Tensor passed to an inner grad
    x = ad.Tensor(2.0, requires_grad=True)
    g = ad.grad(lambda y: x * y * y)(x)      # 2xy at y = x: 8, and depends on x as 2x·x → d/dx = 4x... via both
    assert isinstance(g, ad.Tensor) and g.item() == 8.0
    (dg,) = ad.gradients(g, [x])
    assert dg.item() == 4 * 2.0                 # d/dx 2x² = 4x


def test_closure_over_parameter_keeps_graph_for_gradient_penalty():
    w = ad.Tensor([1.0, -2.0], requires_grad=True)
    x = np.array([0.5, 1.5])
    g = ad.grad(lambda x: (w * x * x).sum())(x)   # 2 w x
    assert isinstance(g, ad.Tensor) and g.requires_grad
    penalty = (g * g).sum()                       # 4 Σ w² x²  →  d/dw = 8 w x²
    penalty.backward()
    np.testing.assert_allclose(w.grad.numpy(), 8 * w.numpy() * x * x)


def test_plain_results_at_the_outermost_level_and_under_no_grad():
    assert isinstance(ad.grad(ad.sin)(1.0), np.ndarray)
    w = ad.Tensor(2.0, requires_grad=True)
    with ad.no_grad():
        g = ad.grad(lambda x: w * x * x)(3.0)     # the transform still differentiates inside no_grad
    assert isinstance(g, np.ndarray) and float(g) == 12.0


# ------------------------------------------------------------------ random nested programs
# A program is a polynomial-exponential p(x, y) = a·x^i·y^j·e^{b x y}; nested transforms
# take partial derivatives in a random order, and the closed form comes from SymPy.

@st.composite
def programs(draw):
    a = draw(st.sampled_from([1.0, -2.0, 0.5]))
    i = draw(st.integers(0, 3))
    j = draw(st.integers(0, 3))
    b = draw(st.sampled_from([0.0, 0.3, -0.7]))
    order = draw(st.lists(st.sampled_from([0, 1]), min_size=1, max_size=3))
    style = draw(st.sampled_from(["argnums", "closure"]))
    return a, i, j, b, order, style


def _closed_form(a, i, j, b, order, x, y):
    import sympy

    X, Y = sympy.symbols("x y")
    expr = a * X ** i * Y ** j * sympy.exp(b * X * Y)
    for k in order:
        expr = sympy.diff(expr, (X, Y)[k])
    return float(expr.subs({X: x, Y: y}))


def _nested(f, order, style):
    """Differentiate f(x, y) in the variables listed by ``order`` (first listed = innermost)."""
    for k in order:
        if style == "argnums":
            f = ad.grad(f, argnums=k)
        else:  # differentiate in one variable with the other closed over
            f = (lambda g: lambda x, y: ad.grad(lambda t: g(t, y))(x))(f) if k == 0 else \
                (lambda g: lambda x, y: ad.grad(lambda t: g(x, t))(y))(f)
    return f


def _power(t, n):
    """t**n by repeated products (pow's corner at 0**0 is another test's subject)."""
    out = 1.0
    for _ in range(n):
        out = out * t
    return out


@given(programs(), xs, xs)
def test_random_nested_programs_match_sympy(program, x, y):
    a, i, j, b, order, style = program
    f = lambda s, t: a * _power(s, i) * _power(t, j) * ad.exp(b * s * t)
    got = _nested(f, order, style)(x, y)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(float(got), _closed_form(a, i, j, b, order, x, y), rtol=1e-9, atol=1e-9)


@given(xs, st.integers(1, 3))
def test_mixed_forward_and_reverse_nesting(x, depth):
    # d^n/dx^n of sin(x) via alternating jvp and grad: sin^{(n)} = sin(x + nπ/2)
    f = ad.sin
    for k in range(depth):
        f = ad.grad(f) if k % 2 == 0 else (lambda g: lambda t: ad.jvp(g, (t,), (1.0,))[1])(f)
    np.testing.assert_allclose(float(f(x)), np.sin(x + depth * np.pi / 2), atol=1e-12)


# ------------------------------------------------------------------ outputs that left the graph
@pytest.mark.parametrize("f,how", [
    (lambda x: math.exp(x), r"\.item\(\) / float\(\) / math\.\*"),
    (lambda x: float(x) * 2.0, r"\.item\(\) / float\(\) / math\.\*"),
    (lambda x: x.item(), r"\.item\(\)"),
    (lambda x: np.sin(np.asarray(x)), r"np\.asarray\(\)"),
    (lambda x: ad.tensor(x.data * 2), r"\.data"),
    (lambda x: ad.Tensor(math.sin(x)) + 1, r"\.item\(\)"),
])
def test_output_computed_outside_autodiff_raises(f, how):
    with pytest.raises(TypeError, match=r"grad: the output does not depend on argument 0: .*" + how):
        ad.grad(f)(1.0)


def test_escape_through_a_closed_over_parameter_does_not_hide_an_unused_argument():
    w = ad.Tensor(2.0, requires_grad=True)
    with pytest.raises(TypeError, match="does not depend on argument 1"):
        ad.grad(lambda x, y: w * x * float(y), argnums=(0, 1))(1.0, 2.0)


def test_genuine_constants_have_zero_gradient_as_in_jax():
    np.testing.assert_array_equal(ad.grad(lambda x: 3.0)(np.ones(2)), [0.0, 0.0])
    np.testing.assert_array_equal(ad.grad(lambda x: x.detach().sum())(np.ones(2)), [0.0, 0.0])
    np.testing.assert_array_equal(ad.grad(lambda x, y: (y * 2).sum(), argnums=0)(np.ones(2), np.ones(2)), [0, 0])
    logged = []
    g = ad.grad(lambda x: (logged.append(x.item()), x * x)[1])(3.0)  # .item() for logging is fine
    assert float(g) == 6.0 and logged == [3.0]


@pytest.mark.parametrize("f,what", [
    (lambda x: x > 0, "a bool"),
    (lambda x: 3, "an integer"),
    (lambda x: ad.tensor(np.array(1 + 2j)) * x, "a complex"),
])
def test_non_real_outputs_raise(f, what):
    # a complex value is refused already at the op that makes it from a differentiated input
    with pytest.raises(TypeError, match=f"grad: the function returned {what} value|complex results are not"):
        ad.grad(f)(1.0)


def test_gradients_allow_unused_like_torch():
    x, y = ad.Tensor(1.0, requires_grad=True), ad.Tensor(2.0, requires_grad=True)
    out = x * 3
    assert ad.gradients(out, [x, y])[1].item() == 0.0            # default: zeros, as in JAX
    assert ad.gradients(out, [x, y], allow_unused=True)[1] is None
    with pytest.raises(RuntimeError, match=r"gradients: input 1 \(shape \(\)\) was not used"):
        ad.gradients(out, [x, y], allow_unused=False)


def test_has_aux_and_pytrees():
    def loss(p, x):
        pred = p["w"] * x + p["b"]
        return (pred ** 2).sum(), {"pred": pred}

    p = {"w": np.array(2.0), "b": np.array(1.0)}
    x = np.array([1.0, 2.0])
    g, aux = ad.grad(loss, has_aux=True)(p, x)
    pred = 2 * x + 1
    assert set(g) == {"w", "b"} and isinstance(aux["pred"], np.ndarray)
    np.testing.assert_allclose(g["w"], (2 * pred * x).sum())
    np.testing.assert_allclose(g["b"], (2 * pred).sum())
    np.testing.assert_allclose(aux["pred"], pred)
    (value, aux2), g2 = ad.value_and_grad(loss, has_aux=True)(p, x)
    assert float(value) == (pred ** 2).sum() and g2["w"] == g["w"]
    with pytest.raises(TypeError, match="with has_aux=True the function must return a pair"):
        ad.grad(lambda x: x * 2, has_aux=True)(1.0)


def test_argnums_errors():
    with pytest.raises(ValueError, match="grad: argnums=2 but the function got 2 positional arguments"):
        ad.grad(lambda a, b: a * b, argnums=2)(1.0, 2.0)
    with pytest.raises(ValueError, match="name the same argument twice"):
        ad.grad(lambda a, b: a * b, argnums=(0, -2))(1.0, 2.0)
    with pytest.raises(TypeError, match="only real floating-point inputs"):
        ad.grad(lambda a: a * 2)(np.array([1, 2]))
    assert float(ad.grad(lambda a, b: a * b, argnums=-1)(3.0, 2.0)) == 3.0
