"""1-d pooling (max_pool1d, avg_pool1d, adaptive_avg_pool1d and their modules): values
against a NumPy sliding-window reference written here and gradients against central finite
differences (always), values and gradients against PyTorch in float64 (when installed)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from tests.helpers import assert_vjp_matches


def windows(x, k, s, p, fill):
    """(N, C, L_out, k) windows of x padded by p with fill, stride s (no ceil mode)."""
    padded = np.pad(x, ((0, 0), (0, 0), (p, p)), constant_values=fill)
    return np.lib.stride_tricks.sliding_window_view(padded, k, axis=2)[:, :, ::s]


@pytest.mark.parametrize("k, s, p", [(2, None, 0), (3, 1, 1), (3, 2, 1), (4, 3, 2), (1, 1, 0)])
def test_values_match_a_sliding_window_reference(k, s, p):
    x = np.random.default_rng(k + p).normal(size=(2, 3, 11))
    stride = k if s is None else s
    np.testing.assert_allclose(F.max_pool1d(x, k, s, p).numpy(), windows(x, k, stride, p, -np.inf).max(axis=-1))
    np.testing.assert_allclose(F.avg_pool1d(x, k, s, p).numpy(), windows(x, k, stride, p, 0.0).mean(axis=-1))
    counts = windows(np.ones_like(x), k, stride, p, 0.0).sum(axis=-1)
    np.testing.assert_allclose(F.avg_pool1d(x, k, s, p, count_include_pad=False).numpy(),
                               windows(x, k, stride, p, 0.0).sum(axis=-1) / counts)


def test_adaptive_bins_are_pytorchs():
    x = np.arange(7.0).reshape(1, 1, 7)
    # bins [floor(i n / m), ceil((i + 1) n / m)) for n = 7, m = 3: [0, 3), [2, 5), [4, 7)
    np.testing.assert_allclose(F.adaptive_avg_pool1d(x, 3).numpy(), [[[1.0, 3.0, 5.0]]])
    assert F.adaptive_avg_pool1d(np.ones((3, 5)), (1,)).shape == (3, 1)  # unbatched, a 1-tuple size


def test_gradients_match_finite_differences():
    x = np.random.default_rng(3).permutation(36).reshape(2, 2, 9) / 10.0  # distinct: no ties in a window
    assert_vjp_matches(lambda t: F.max_pool1d(t, 3, 2, 1, ceil_mode=True), [x])
    assert_vjp_matches(lambda t: F.avg_pool1d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    assert_vjp_matches(lambda t: F.adaptive_avg_pool1d(t, 4), [x])


@pytest.mark.parametrize("k, s, p, d, ceil", [(3, None, 1, 1, False), (3, 2, 1, 2, True), (2, 2, 0, 1, True),
                                              (2, 1, 1, 1, False)])
def test_match_pytorch(k, s, p, d, ceil):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = np.random.default_rng(6).normal(size=(2, 3, 10))
    cases = [(lambda t: F.max_pool1d(t, k, s, p, d, ceil), lambda t: tf.max_pool1d(t, k, s, p, d, ceil)),
             (lambda t: F.avg_pool1d(t, k, s, p, ceil, False), lambda t: tf.avg_pool1d(t, k, s, p, ceil, False)),
             (lambda t: F.adaptive_avg_pool1d(t, k + 1), lambda t: tf.adaptive_avg_pool1d(t, k + 1))]
    G = np.random.default_rng(0).normal(size=cases[0][0](x).shape)
    for ours, theirs in cases:
        a, t = ad.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(a), theirs(t)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        G = np.random.default_rng(0).normal(size=y.shape)
        (y * G).sum().backward()
        (ty * torch.tensor(G)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_modules_and_their_errors():
    x = np.random.default_rng(1).normal(size=(2, 4, 12))
    model = nn.Sequential(nn.Conv1d(4, 6, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2), nn.AvgPool1d(3, stride=1),
                          nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(6, 2))
    assert model(x).shape == (2, 2)
    np.testing.assert_allclose(nn.MaxPool1d(3, 2, 1)(x).numpy(), F.max_pool1d(x, 3, 2, 1).numpy())
    with pytest.raises(ValueError, match=r"MaxPool1d.*expected input of shape \(N, C, L\) or \(C, L\), got"):
        nn.MaxPool1d(2)(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="padding .* must be at most half the kernel size"):
        F.avg_pool1d(x, 2, 1, 2)
    with pytest.raises(ValueError, match="adaptive_avg_pool1d: output_size must be a positive int"):
        F.adaptive_avg_pool1d(x, 0)
