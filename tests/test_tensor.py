"""The Tensor surface of API.md: construction, dtypes, attributes, operators, methods."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad


def test_python_input_gets_default_dtype_and_float_arrays_keep_theirs():
    assert ad.Tensor([1, 2]).dtype == np.float64
    assert ad.Tensor(True).dtype == np.float64
    assert ad.Tensor(np.ones(2, np.float32)).dtype == np.float32
    assert ad.tensor([1.0], dtype=np.float32).dtype == np.float32
    ad.set_default_dtype(np.float32)
    try:
        assert ad.Tensor([1.5]).dtype == np.float32
        assert ad.get_default_dtype() == np.float32
    finally:
        ad.set_default_dtype(np.float64)


def test_scalars_take_the_tensor_dtype():
    x = ad.Tensor(np.ones(3, np.float32))
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, x / 3, x ** 2, 2 ** x, -x, abs(x)):
        assert y.dtype == np.float32


def test_numpy_array_on_the_left_defers_to_tensor():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, ad.Tensor) and y.requires_grad
    y = np.ones((2, 2)) @ x
    assert isinstance(y, ad.Tensor)


def test_attributes():
    t = ad.Tensor(np.arange(6.0).reshape(2, 3), name="w")
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert np.asarray(t).shape == (2, 3) and np.shares_memory(t.numpy(), t.data)
    assert ad.Tensor([4.0]).item() == 4.0
    assert "requires_grad=True" in repr(ad.Tensor([1.0], requires_grad=True))
    assert "op=mul" in repr(ad.Tensor([1.0], requires_grad=True) * 2)
    assert [float(r.sum().item()) for r in t] == [3.0, 12.0]


def test_detach_and_requires_grad_():
    x = ad.Tensor([1.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = ad.Tensor([1.0]).requires_grad_()
    assert y.requires_grad


def test_comparisons_are_boolean_and_carry_no_gradient():
    x = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for c in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2):
        assert c.dtype == bool and not c.requires_grad
    np.testing.assert_array_equal((x > 1) & (x < 3), [False, True, False])


def test_methods_match_numpy():
    a = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = ad.Tensor(a)
    checks = {
        "sum": (t.sum(axis=(0, 2)), a.sum(axis=(0, 2))),
        "mean": (t.mean(axis=1, keepdims=True), a.mean(axis=1, keepdims=True)),
        "max": (t.max(axis=-1), a.max(axis=-1)),
        "min": (t.min(), a.min()),
        "var": (t.var(axis=0), a.var(axis=0)),
        "reshape": (t.reshape(4, 6), a.reshape(4, 6)),
        "transpose": (t.transpose(2, 0, 1), a.transpose(2, 0, 1)),
        "T": (t.T, a.T),
        "flatten": (t.flatten(), a.flatten()),
        "squeeze": (t[:1].squeeze(), a[:1].squeeze()),
        "expand_dims": (t.expand_dims(1), np.expand_dims(a, 1)),
        "exp": (t.exp(), np.exp(a)),
        "tanh": (t.tanh(), np.tanh(a)),
        "relu": (t.relu(), np.maximum(a, 0)),
        "clip": (t.clip(-0.5, 0.5), np.clip(a, -0.5, 0.5)),
        "abs_sqrt_log": (t.abs().sqrt().log(), np.log(np.sqrt(np.abs(a)))),
        "sigmoid": (t.sigmoid(), 1 / (1 + np.exp(-a))),
        "index": (t[1, ::2, [0, 0, 3]], a[1, ::2, [0, 0, 3]]),
        "bool_index": (t[a > 0], a[a > 0]),
        "newaxis": (t[None, ..., 1], a[None, ..., 1]),
    }
    for name, (got, want) in checks.items():
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, err_msg=name)


def test_functions_accept_arrays_and_scalars():
    assert isinstance(ad.exp(0.0), ad.Tensor) and ad.exp(0.0).item() == 1.0
    np.testing.assert_allclose(ad.maximum(np.array([1.0, 5.0]), 3.0).numpy(), [3.0, 5.0])
    np.testing.assert_allclose(ad.leaky_relu(np.array([-1.0, 2.0]), alpha=0.1).numpy(), [-0.1, 2.0])
    np.testing.assert_allclose(ad.elu(np.array([-1.0, 2.0])).numpy(), [np.exp(-1) - 1, 2.0])
    np.testing.assert_allclose(ad.relu6(np.array([-1.0, 3.0, 9.0])).numpy(), [0.0, 3.0, 6.0])
    np.testing.assert_allclose(ad.power(2.0, 3.0).numpy(), 8.0)


def test_bool_of_multi_element_tensor_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ad.Tensor([1.0, 2.0]))
