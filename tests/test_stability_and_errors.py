"""Numerical stability at extreme logits, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad

BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5.0, 1e4, 1e4]])


def _value_and_grad(f, x):
    t = ad.Tensor(x, requires_grad=True)
    out = f(t)
    G = np.linspace(-1, 1, out.size).reshape(out.shape)
    (g,) = ad.gradients(out, [t], grad_outputs=[G])
    return out.numpy(), g.numpy(), G


def test_softmax_at_1e4_is_finite_and_exact():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p, g, G = _value_and_grad(lambda x: ad.softmax(x, axis=1), BIG)
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 0.5, 0.5]])
    np.testing.assert_allclose(p, expected, atol=1e-300)
    # VJP of softmax: p * (G - sum(G p))
    np.testing.assert_allclose(g, p * (G - (G * p).sum(axis=1, keepdims=True)), atol=1e-12)


def test_log_softmax_and_logsumexp_at_1e4():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        lp, g, G = _value_and_grad(lambda x: ad.log_softmax(x, axis=1), BIG)
        lse, g2, G2 = _value_and_grad(lambda x: ad.logsumexp(x, axis=1), BIG)
    np.testing.assert_allclose(lse, [1e4, 1e4, 1e4 + np.log(2)])
    np.testing.assert_allclose(lp[0], [0.0, -2e4, -1e4])
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(g2))
    p = np.array([[1, 0, 0], [0, 0, 1], [0, 0.5, 0.5]])
    np.testing.assert_allclose(g2, G2[:, None] * p, atol=1e-12)
    np.testing.assert_allclose(g, G - G.sum(axis=1, keepdims=True) * p, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_softplus_at_1e4(dtype):
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, gs, _ = _value_and_grad(ad.sigmoid, x)
        sp, gsp, _ = _value_and_grad(ad.softplus, x)
    assert s.dtype == dtype and sp.dtype == dtype
    np.testing.assert_allclose(s[[0, 2, 4]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(sp[[0, 2, 4]], [0.0, np.log(2), 1e4], rtol=1e-6)
    assert np.all(np.isfinite(gs)) and np.all(np.isfinite(gsp))
    np.testing.assert_allclose(s[1], np.exp(-50.0) / (1 + np.exp(-50.0)), rtol=1e-5)


def test_logsumexp_of_all_minus_inf_row_is_minus_inf_not_nan():
    out = ad.logsumexp(ad.Tensor([[-np.inf, -np.inf], [0.0, 0.0]]), axis=1).numpy()
    assert out[0] == -np.inf and out[1] == pytest.approx(np.log(2))


# ------------------------------------------------------------------ errors
def test_matmul_shape_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"):
        ad.Tensor(np.ones((2, 3))) @ ad.Tensor(np.ones((4, 5)))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: invalid operands with shapes \(2, 3\) and \(4,\)"):
        ad.Tensor(np.ones((2, 3))) + ad.Tensor(np.ones(4))


def test_backward_on_non_scalar_without_grad():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: grad can be omitted only for a single-element output.*\(2,\)"):
        (x * 2).backward()


def test_backward_with_wrong_grad_shape():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"backward: grad has shape \(3,\) but the output has shape \(2,\)"):
        (x * 2).backward(np.ones(3))


@pytest.mark.parametrize("data", [["a", "b"], np.array([object(), object()]), [[1.0, 2.0], [3.0]]])
def test_tensor_of_strings_or_objects(data):
    with pytest.raises(TypeError, match="Tensor: "):
        ad.Tensor(data)


def test_requires_grad_on_integer_tensor():
    with pytest.raises(TypeError, match="requires_grad: only floating-point tensors.*int64"):
        ad.Tensor(np.array([1, 2]), requires_grad=True)


def test_missing_rule_raises_when_gradient_must_flow():
    @ad.primitive
    def scale(x, y):
        return x * y

    scale.defvjp(lambda g, z, x, y: g * y)  # no rule for y
    x = ad.Tensor([1.0], requires_grad=True)
    y = ad.Tensor([2.0], requires_grad=True)
    scale(x, ad.Tensor([2.0])).sum().backward()  # y needs no gradient: fine
    assert x.grad.item() == 2.0
    with pytest.raises(NotImplementedError, match="scale: no derivative rule for input 1"):
        scale(x, y).sum().backward()


def test_rule_with_wrong_shape_is_reported():
    @ad.primitive
    def broken(x):
        return x * 1

    broken.defvjp(lambda g, z, x: np.ones(7))
    with pytest.raises(ValueError, match=r"broken: the derivative for input 0 has shape \(7,\)"):
        broken(ad.Tensor([1.0, 2.0], requires_grad=True)).sum().backward()


def test_detect_anomaly_names_the_op_forward():
    x = ad.Tensor([-1.0, 1.0], requires_grad=True)
    with ad.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match=r"log produced nan in its forward pass.*\(2,\).*test_stab"):
            ad.log(x)


def test_detect_anomaly_names_the_op_backward():
    x = ad.Tensor([0.0, 1.0], requires_grad=True)
    with ad.detect_anomaly(), np.errstate(divide="ignore"):
        y = ad.sqrt(x).sum()  # finite forward, infinite derivative at 0
        with pytest.raises(FloatingPointError, match=r"sqrt produced inf in its backward pass for input 0"):
            y.backward()


def test_backward_on_output_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ad.Tensor([1.0]) * 2).sum().backward()


def test_data_assignment_checks_shape():
    t = ad.Tensor([1.0, 2.0])
    t.data = np.array([3.0, 4.0])
    assert t.numpy().tolist() == [3.0, 4.0]
    with pytest.raises(ValueError, match=r"new array has shape \(3,\)"):
        t.data = np.zeros(3)


def test_non_numeric_operand_names_the_op():
    with pytest.raises(TypeError, match=r"add: cannot use operands of types \(Tensor, str\)"):
        ad.Tensor([1.0]) + "a"
