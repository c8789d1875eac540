"""Where PyTorch is installed: our losses, optimizers and BatchNorm give its numbers."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from nn import optim

torch = pytest.importorskip("torch")
rng = np.random.default_rng(3)


def ours_and_torch(our_fn, torch_fn, *arrays, targets=()):
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = our_fn(*xs, *targets), torch_fn(*ts, *[torch.as_tensor(t) for t in targets])
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_losses(reduction):
    TF = torch.nn.functional
    p, t = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    ours_and_torch(lambda a, b: F.mse_loss(a, b, reduction), lambda a, b: TF.mse_loss(a, b, reduction=reduction),
                   p, targets=(t,))
    ours_and_torch(lambda a, b: F.huber_loss(a, b, reduction, delta=0.7),
                   lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=0.7), p, targets=(t,))
    ours_and_torch(lambda a, b: F.l1_loss(a, b, reduction), lambda a, b: TF.l1_loss(a, b, reduction=reduction),
                   p, targets=(t,))
    probs, bits = rng.uniform(0.05, 0.95, size=8), (rng.random(8) > 0.5).astype(float)
    ours_and_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction),
                   lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction), probs, targets=(bits,))
    logits = rng.normal(size=8) * 3
    ours_and_torch(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction, pos_weight=2.0),
                   lambda a, b: TF.binary_cross_entropy_with_logits(a, b, reduction=reduction,
                                                                   pos_weight=torch.tensor(2.0, dtype=torch.float64)),
                   logits, targets=(bits,))
    z, labels = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    w = np.array([1.0, 0.5, 2.0, 1.5])
    ours_and_torch(lambda a, b: F.cross_entropy(a, b, reduction, weight=w, label_smoothing=0.1),
                   lambda a, b: TF.cross_entropy(a, b, reduction=reduction, weight=torch.tensor(w),
                                                 label_smoothing=0.1), z, targets=(labels,))


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.2)),
    ("Adagrad", dict(lr=0.3, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.95), amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
])
def test_optimizer_trajectories(name, kwargs):
    X, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    W0 = rng.normal(size=(4, 2))
    ours = nn.Parameter(W0.copy())
    theirs = torch.tensor(W0.copy(), requires_grad=True)
    o_opt, t_opt = getattr(optim, name)([ours], **kwargs), getattr(torch.optim, name)([theirs], **kwargs)
    for _ in range(8):
        o_opt.zero_grad()
        t_opt.zero_grad()
        F.mse_loss(ad.tanh(ad.Tensor(X) @ ours), y).backward()
        torch.nn.functional.mse_loss(torch.tanh(torch.tensor(X) @ theirs), torch.tensor(y)).backward()
        o_opt.step()
        t_opt.step()
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_batchnorm_matches_pytorch():
    x = rng.normal(1.0, 2.0, size=(8, 3))
    ours, theirs = nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3).double()
    for _ in range(3):
        np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(x).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
