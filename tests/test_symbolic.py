"""The SymPy bridge: to_sympy, from_sympy, check_against_sympy, and random programs vs SymPy."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

import autodiff as ad
from autodiff.symbolic import register_sympy, sympy_gradient, to_object_array
from autodiff.testing.strategies import expressions

x_, y_ = sp.symbols("x y", real=True)


def test_to_sympy_names_and_structure():
    x = ad.Tensor(1.5, requires_grad=True, name="x")
    assert sp.simplify(ad.to_sympy(ad.sqrt(x ** 2 + ad.exp(x ** 2))) - sp.sqrt(x_ ** 2 + sp.exp(x_ ** 2))) == 0
    v = ad.Tensor([1.0, 2.0], requires_grad=True, name="v")
    e = ad.to_sympy((v * v).sum())
    v0, v1 = sp.symbols("v_0 v_1", real=True)
    assert sp.expand(e - (v0 ** 2 + v1 ** 2)) == 0
    W = ad.Tensor(np.ones((2, 2)), requires_grad=True, name="W")
    arr = ad.to_sympy(W @ v)
    assert isinstance(arr, sp.Array) and arr.shape == (2,)
    assert str(arr[1]) == "W_1_0*v_0 + W_1_1*v_1"


def test_to_sympy_shares_nodes_of_deep_graphs():
    x = ad.Tensor(0.5, requires_grad=True, name="x")
    y = x
    for _ in range(60):  # without sharing, y = y + y would be 2**60 terms
        y = ad.tanh(y) + ad.tanh(y) * 0.5
    expr = ad.to_sympy(y)
    assert expr.count_ops() < 10_000
    assert float(expr.subs(x_, 0.5)) == pytest.approx(y.item(), rel=1e-12)


def test_kink_conventions_match_the_engine():
    x = ad.Tensor(0.0, requires_grad=True, name="x")
    expr = ad.to_sympy(ad.relu(x))
    derivative = sp.diff(expr, x_).replace(sp.DiracDelta, lambda *a: 0)
    assert derivative.subs(x_, 0) == 0  # relu'(0) = 0, as the engine
    a = ad.Tensor(1.0, requires_grad=True, name="a")
    b = ad.Tensor(1.0, requires_grad=True, name="b")
    report = ad.check_against_sympy(lambda a, b: ad.maximum(a, b), 1.0, 1.0)  # tie: 1/2 each
    assert report.max_abs == [0.0, 0.0]
    assert ad.check_against_sympy(lambda x: ad.abs(x) + ad.relu(x), 0.0).max_abs == [0.0]
    del a, b


def test_from_sympy_heads_and_exact_numbers():
    f = ad.from_sympy(x_ ** 2 * sp.sin(y_) + sp.Rational(1, 3) + sp.Abs(x_ - y_) + sp.Max(x_, y_, 0)
                      + sp.sqrt(x_ ** 2 + 1) + sp.tanh(y_) + sp.log(x_ ** 2) - sp.exp(-y_) + 1 / x_, [x_, y_])
    x, y = 1.7, -0.4
    expected = (x ** 2 * np.sin(y) + 1 / 3 + abs(x - y) + max(x, y, 0) + np.sqrt(x * x + 1) + np.tanh(y)
                + np.log(x * x) - np.exp(-y) + 1 / x)
    assert f(ad.Tensor(x), ad.Tensor(y)).item() == pytest.approx(expected, rel=1e-14)
    # exact numbers: an integer power of a negative base, a rational to full precision, a square root
    assert ad.from_sympy(x_ ** 3, [x_])(ad.Tensor(-2.0)).item() == -8.0
    assert ad.from_sympy(x_ * sp.Rational(1, 3), [x_])(ad.Tensor(3.0)).item() == 3.0 * (1 / 3)
    assert ad.trace(ad.from_sympy(x_ ** sp.Rational(1, 2), [x_]), 2.0).equations == ["%1:f64[] = sqrt %0"]


def test_from_sympy_piecewise_and_heaviside():
    f = ad.from_sympy(sp.Piecewise((x_ ** 2, x_ > 1), (-x_, x_ < -1), (sp.Integer(0), True))
                      + sp.Heaviside(x_, 0), [x_])
    xs = np.array([-2.0, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(f(ad.Tensor(xs)).numpy(), [2.0, 0.0, 1.0, 10.0])
    g = ad.grad(lambda t: f(t).sum())(xs)
    np.testing.assert_allclose(g, [-1.0, 0.0, 0.0, 6.0])


def test_from_sympy_unsupported_and_missing_symbols():
    with pytest.raises(ValueError, match="unsupported SymPy function 'gamma'"):
        ad.from_sympy(sp.gamma(x_), [x_])
    with pytest.raises(ValueError, match=r"uses \['y'\]"):
        ad.from_sympy(x_ * y_, [x_])


def test_check_against_sympy_report_and_failure():
    report = ad.check_against_sympy(lambda W, v: ad.logsumexp(ad.tanh(W @ v)), np.full((2, 3), 0.3),
                                    np.array([1.0, -1.0, 0.5]))
    assert report.names == ["W", "v"] and max(report.max_abs) < 1e-12
    assert "d/dW" in str(report)

    wrong = ad.primitive(np.tanh, name="wrong_tanh")
    wrong.defvjp(lambda g, z, x: g * (1 - z))  # wrong: should be 1 - z²
    register_sympy(wrong, lambda x: np.vectorize(sp.tanh, otypes=[object])(x))
    with pytest.raises(TypeError, match="the Primitive itself"):
        register_sympy("tanh", lambda x: x)
    with pytest.raises(AssertionError, match=r"d/dx at element \(\): autodiff gives"):
        ad.check_against_sympy(lambda x: wrong(x), 0.7)


def smooth_programs():
    return expressions(max_steps=5, max_dims=2, max_side=2)


@settings(max_examples=15, deadline=None)
@given(smooth_programs())
def test_random_programs_agree_with_sympy(program):
    ad.check_against_sympy(lambda *xs: program(*xs).sum(), *program_points(program), rtol=1e-7, atol=1e-9)


def program_points(program):
    return [np.asarray(a, dtype=np.float64) for a in program.inputs]


@settings(max_examples=10, deadline=None)
@given(expressions(n_inputs=1, max_steps=4, max_dims=1, max_side=2))
def test_hessians_of_small_programs_agree_with_sympy(program):
    x0 = np.asarray(program.inputs[0], dtype=np.float64)
    f = lambda x: program(x).sum()
    H = ad.hessian(f)(x0)
    t = ad.Tensor(x0, requires_grad=True, name="x")
    (expr,), leaves = to_object_array(f(t))
    symbols = list(np.asarray(leaves[t]).reshape(-1))
    values = dict(zip(symbols, x0.reshape(-1), strict=True))
    H_sympy = sp.lambdify(symbols, sp.hessian(expr.item() if hasattr(expr, "item") else expr, symbols))(
        *values.values())
    np.testing.assert_allclose(H.reshape(x0.size, x0.size), np.asarray(H_sympy, dtype=float), rtol=1e-7, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(smooth_programs(), st.integers(0, 2**32 - 1))
def test_round_trip_from_sympy_of_to_sympy(program, seed):
    tensors = [ad.Tensor(a, requires_grad=True, name=f"a{k}") for k, a in enumerate(program.inputs)]
    out = program(*tensors).sum()
    (expr,), leaves = to_object_array(out, inputs=tensors)
    symbols = [s for t in tensors for s in np.asarray(leaves[t]).reshape(-1)]
    rebuilt = ad.from_sympy(expr.item(), symbols)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        point = [rng.uniform(-1.5, 1.5, np.shape(a)) for a in program.inputs]
        flat = [ad.Tensor(v) for p in point for v in np.asarray(p).reshape(-1)]
        with ad.no_grad():
            np.testing.assert_allclose(rebuilt(*flat).item(), program(*map(ad.Tensor, point)).sum().item(),
                                       rtol=1e-10, atol=1e-12)


def test_sympy_gradient_replaces_dirac_delta():
    g = sympy_gradient(x_ * sp.Heaviside(x_, 0), np.asarray(x_, dtype=object), {x_: 0.0})
    assert float(g) == 0.0


def test_einsum_and_linear_agree_with_sympy():
    W, v, b = np.full((2, 3), 0.3), np.array([1.0, -1.0, 0.5]), np.array([0.1, -0.2])
    assert max(ad.check_against_sympy(lambda W, v: ad.tanh(ad.einsum("ij,j->i", W, v)).sum(), W, v).max_abs) < 1e-12
    assert max(ad.check_against_sympy(lambda v, W, b: ad.sin(ad.linear(v, W.T, b)).sum(), v, W, b).max_abs) < 1e-12


def test_bridge_walks_2000_deep_graphs_without_recursion():
    x = ad.Tensor(0.5, requires_grad=True, name="x")
    y = x
    for k in range(2000):
        y = ad.sin(y) * 0.5 + x if k % 3 == 0 else ad.tanh(y) if k % 3 == 1 else y * 1.01
    expr = ad.to_sympy(y)
    f = ad.from_sympy(expr, ["x"])
    assert f(ad.Tensor(0.5)).item() == y.item()  # the same primitives in the same order: bit for bit
    assert "SymPy expression of" in f.__doc__  # too deep for SymPy's (recursive) printer
