"""NumPy's own functions on Tensors return differentiable Tensors, or raise naming the function."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad


def test_numpy_functions_dispatch_to_autodiff_and_differentiate():
    x = ad.Tensor([0.5, 1.0, 2.0], requires_grad=True)
    for out, grad in [
        (np.sin(x).sum(), np.cos([0.5, 1.0, 2.0])),
        (np.sum(x * x, axis=0), [1.0, 2.0, 4.0]),
        (np.mean(x), [1 / 3] * 3),
        (np.concatenate([x, 2 * x]).sum(), [3.0, 3.0, 3.0]),
        (np.where(np.array([True, False, True]), x, 0.0).sum(), [1.0, 0.0, 1.0]),
        (np.multiply(np.array([1.0, 2.0, 3.0]), x).sum(), [1.0, 2.0, 3.0]),
        ((np.float64(2.0) * x).sum(), [2.0] * 3),
        (np.max(x), [0.0, 0.0, 1.0]),
        (np.add.reduce(x), [1.0] * 3),
    ]:
        assert isinstance(out, ad.Tensor) and out.requires_grad
        x.grad = None
        out.backward()
        np.testing.assert_allclose(x.grad.data, grad)


def test_value_functions_run_on_the_values():
    x = ad.Tensor([[1.0, 3.0], [2.0, 0.0]])
    assert np.shape(x) == (2, 2) and np.ndim(x) == 2 and np.size(x) == 4
    assert np.argmax(x) == 1 and np.allclose(x, x.data)
    assert (np.isfinite(x)).data.all() and (np.greater(x, 1.0)).dtype == bool
    np.testing.assert_array_equal(np.asarray(x), [[1.0, 3.0], [2.0, 0.0]])


def test_unsupported_functions_raise_naming_the_function():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="numpy.fft.fft is not supported on autodiff Tensors"):
        np.fft.fft(x)
    with pytest.raises(TypeError, match=r"numpy.add\(..., out=...\)"):
        np.add(x, 1.0, out=np.zeros(2))
    with pytest.raises(TypeError, match="numpy.mean is not supported.*does not take these arguments"):
        np.mean(x, dtype=np.float32)
    if not hasattr(ad, "sort"):
        with pytest.raises(TypeError, match="numpy.sort"):
            np.sort(x)
    if not hasattr(ad, "linalg"):
        with pytest.raises(TypeError, match="numpy.linalg.norm"):
            np.linalg.norm(x)
