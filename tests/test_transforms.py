"""grad, value_and_grad, jacobian, hessian and their composition, against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad

xs = st.floats(-2.0, 2.0, allow_nan=False)


@given(xs)
def test_grad_of_grad_matches_closed_form(x):
    f = lambda t: ad.exp(t * t)  # f' = 2x e^{x²}, f'' = (2 + 4x²) e^{x²}, f''' = (12x + 8x³) e^{x²}
    e = np.exp(x * x)
    np.testing.assert_allclose(ad.grad(f)(x), 2 * x * e, rtol=1e-12)
    np.testing.assert_allclose(ad.grad(ad.grad(f))(x), (2 + 4 * x * x) * e, rtol=1e-12)
    np.testing.assert_allclose(ad.grad(ad.grad(ad.grad(f)))(x), (12 * x + 8 * x ** 3) * e, rtol=1e-11, atol=1e-12)


@given(xs)
def test_higher_derivatives_of_trig_and_sigmoid(x):
    d = lambda f, n: f if n == 0 else ad.grad(d(f, n - 1))
    np.testing.assert_allclose(d(ad.sin, 4)(x), np.sin(x), atol=1e-12)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(d(ad.sigmoid, 2)(x), s * (1 - s) * (1 - 2 * s), atol=1e-12)
    np.testing.assert_allclose(d(ad.tanh, 2)(x), -2 * np.tanh(x) * (1 - np.tanh(x) ** 2), atol=1e-12)


def test_grad_returns_ndarray_for_plain_inputs_and_argnums_tuple():
    f = lambda a, b: (a * b ** 2).sum()
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    g = ad.grad(f)(a, b)
    assert isinstance(g, np.ndarray)
    np.testing.assert_array_equal(g, b ** 2)
    ga, gb = ad.grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_array_equal(gb, 2 * a * b)
    value, (va, vb) = ad.value_and_grad(f, argnums=(0, 1))(a, b)
    assert float(value) == 1 * 9 + 2 * 16
    np.testing.assert_array_equal(va, ga)


def test_grad_of_constant_function_is_zero():
    np.testing.assert_array_equal(ad.grad(lambda x: 3.0)(np.ones(2)), [0.0, 0.0])
    np.testing.assert_array_equal(ad.grad(ad.grad(lambda x: x * 2))(1.0), 0.0)


def test_grad_rejects_non_scalar_output():
    with pytest.raises(ValueError, match=r"grad: the function must return a single-element value, got shape \(2,\)"):
        ad.grad(lambda x: x * 2)(np.ones(2))


def test_jacobian_closed_form():
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    x = np.array([0.3, -0.2, 0.9])
    J = ad.jacobian(lambda x: ad.tanh(A @ x))(x)
    expected = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(J, expected, rtol=1e-12)
    assert J.shape == (2, 3)


def test_jacobian_of_matrix_input_has_output_then_input_shape():
    W = np.arange(6.0).reshape(2, 3)
    J = ad.jacobian(lambda W: W.sum(axis=1))(W)
    assert J.shape == (2, 2, 3)
    np.testing.assert_array_equal(J[0], [[1, 1, 1], [0, 0, 0]])


def test_hessian_closed_form():
    # f(x) = x0² x1 + sin(x1) x2³ ; Hessian by hand
    f = lambda x: x[0] ** 2 * x[1] + ad.sin(x[1]) * x[2] ** 3
    x = np.array([0.7, -1.1, 0.4])
    x0, x1, x2 = x
    H = np.array([
        [2 * x1, 2 * x0, 0],
        [2 * x0, -np.sin(x1) * x2 ** 3, 3 * np.cos(x1) * x2 ** 2],
        [0, 3 * np.cos(x1) * x2 ** 2, 6 * np.sin(x1) * x2],
    ])
    np.testing.assert_allclose(ad.hessian(f)(x), H, rtol=1e-12, atol=1e-14)


def test_hessian_of_quadratic_form_and_log_softmax():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    np.testing.assert_allclose(ad.hessian(lambda x: x @ (A @ x) / 2)(np.array([1.0, -1.0])), A)
    z = np.array([0.2, -1.0, 0.5])
    p = np.exp(z) / np.exp(z).sum()
    # Hessian of logsumexp is diag(p) - p pᵀ
    np.testing.assert_allclose(ad.hessian(lambda z: ad.logsumexp(z))(z), np.diag(p) - np.outer(p, p), atol=1e-14)


def test_create_graph_backward_gives_differentiable_grad():
    x = ad.Tensor(1.5, requires_grad=True)
    y = x ** 4
    (g,) = ad.gradients(y, [x], create_graph=True)
    assert g.requires_grad
    (g2,) = ad.gradients(g, [x])
    assert g2.item() == pytest.approx(12 * 1.5 ** 2)
    x.grad = None
    y2 = x ** 3
    y2.backward(create_graph=True)
    gx = x.grad
    x.grad = None
    gx.backward()
    assert x.grad.item() == pytest.approx(6 * 1.5)


def test_custom_primitive_first_and_second_order():
    @ad.primitive
    def cube(x):
        return x ** 3

    cube.defvjp(lambda g, out, x: g * 3 * x ** 2)
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(ad.grad(lambda x: cube(x).sum())(x), 3 * x ** 2)
    np.testing.assert_allclose(ad.hessian(lambda x: cube(x).sum())(x), np.diag(6 * x))
    assert cube(ad.Tensor(x, requires_grad=True)).op == "cube"
