"""Losses with PyTorch's names against their formulas written out in NumPy, gradients by
central finite differences (gradcheck), NaN propagation, and the target's gradient."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck

rng = np.random.default_rng(7)


def log_softmax(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


# ------------------------------------------------------------ cross-entropy
def test_probability_targets_get_their_gradient():
    z, p = rng.normal(size=(4, 3)), rng.dirichlet(np.ones(3), size=4)
    t = ad.Tensor(p, requires_grad=True)
    loss = F.cross_entropy(ad.Tensor(z), t)
    loss.backward()
    np.testing.assert_allclose(t.grad.numpy(), -log_softmax(z, 1) / 4, rtol=1e-12)  # d/dt −mean Σ t logp
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2, weight=np.array([1.0, 2.0, 0.5])), z, p)


def test_bool_and_integer_valued_float_labels_are_labels():
    z = rng.normal(size=(4, 2))
    expected = F.cross_entropy(ad.Tensor(z), np.array([1, 0, 0, 1])).item()
    assert F.cross_entropy(ad.Tensor(z), np.array([True, False, False, True])).item() == expected
    assert F.cross_entropy(ad.Tensor(z), np.array([1.0, 0.0, 0.0, 1.0])).item() == expected
    with pytest.raises(TypeError, match="cross_entropy: class labels must be integers, got non-integer values"):
        F.cross_entropy(ad.Tensor(z), np.array([0.5, 0.0, 0.0, 1.0]))


def test_class_weight_of_the_wrong_length_is_an_error():
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one entry per class, shape \(3,\), got "
                                         r"shape \(2,\)"):
        F.cross_entropy(ad.Tensor(np.zeros((2, 3))), np.array([0, 1]), weight=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"CrossEntropyLoss: weight must be 1-dimensional"):
        nn.CrossEntropyLoss(weight=[[1.0]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignore_index_weight_and_smoothing_formula(reduction):
    z, y = rng.normal(size=(6, 4)), np.array([0, 3, -1, 2, 3, -1])
    w, eps = np.array([1.0, 0.5, 2.0, 1.5]), 0.1
    logp = log_softmax(z, 1)
    keep = y != -1
    ys = np.where(keep, y, 0)
    nll = -logp[np.arange(6), ys] * w[ys] * keep
    smooth = -(logp * w).sum(axis=1) * keep
    denom = (w[ys] * keep).sum()
    if reduction == "mean":
        expected = (1 - eps) * nll.sum() / denom + eps / 4 * smooth.sum() / denom
    elif reduction == "sum":
        expected = (1 - eps) * nll.sum() + eps / 4 * smooth.sum()
    else:
        expected = (1 - eps) * nll + eps / 4 * smooth
    got = F.cross_entropy(ad.Tensor(z), y, reduction, weight=w, label_smoothing=eps, ignore_index=-1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, y, reduction, weight=w, label_smoothing=eps, ignore_index=-1)
                     .sum(), z)


def test_spatial_logits_and_unbatched_input():
    z, y = rng.normal(size=(2, 3, 4, 5)), rng.integers(0, 3, size=(2, 4, 5))
    logp = log_softmax(z, 1)
    picked = np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(F.cross_entropy(ad.Tensor(z), y, "none").numpy(), -picked, rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(ad.Tensor(z), y).item(), -picked.mean(), rtol=1e-12)
    assert gradcheck(lambda a: F.cross_entropy(a, y), z)
    p = rng.dirichlet(np.ones(3), size=(2, 4, 5)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(F.cross_entropy(ad.Tensor(z), p).item(), -(p * logp).sum(axis=1).mean(), rtol=1e-12)
    v = rng.normal(size=3)
    np.testing.assert_allclose(F.cross_entropy(ad.Tensor(v), np.array(2)).item(), -log_softmax(v, 0)[2], rtol=1e-12)
    with pytest.raises(ValueError, match=r"expected class labels of shape \(2, 4, 5\)"):
        F.cross_entropy(ad.Tensor(z), y[:, :, 0])


def test_nll_loss_matches_its_formula():
    lp, y, w = log_softmax(rng.normal(size=(5, 3)), 1), np.array([0, 2, 1, 2, 1]), np.array([0.2, 1.0, 3.0])
    expected = -(lp[np.arange(5), y] * w[y]).sum() / w[y].sum()
    np.testing.assert_allclose(F.nll_loss(ad.Tensor(lp), y, weight=w).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(nn.NLLLoss(reduction="sum")(ad.Tensor(lp), y).item(), -lp[np.arange(5), y].sum(),
                               rtol=1e-12)
    assert gradcheck(lambda a: F.nll_loss(a, y, weight=w, ignore_index=1), lp)


# --------------------------------------------------------------- the rest
def test_smooth_l1_kl_div_and_cosine_similarity_formulas():
    x, t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    d = np.abs(x - t)
    np.testing.assert_allclose(F.smooth_l1_loss(ad.Tensor(x), t, beta=0.5).item(),
                               np.where(d < 0.5, 0.5 * d ** 2 / 0.5, d - 0.25).mean(), rtol=1e-12)
    assert nn.SmoothL1Loss(beta=0.0)(ad.Tensor(x), t).item() == pytest.approx(d.mean(), rel=1e-12)

    lp = log_softmax(x, 1)
    q = rng.dirichlet(np.ones(3), size=4)
    q[0, 1] = 0.0  # 0 log 0 = 0
    terms = np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0) - q * lp
    np.testing.assert_allclose(F.kl_div(ad.Tensor(lp), q, reduction="batchmean").item(), terms.sum() / 4, rtol=1e-12)
    np.testing.assert_allclose(nn.KLDivLoss(log_target=True)(ad.Tensor(lp), np.log(q + 0.1)).item(),
                               ((q + 0.1) * (np.log(q + 0.1) - lp)).mean(), rtol=1e-12)
    q[0, 1] = 0.05
    assert gradcheck(lambda a, b: F.kl_div(a, b, reduction="sum"), lp, q)

    a, b = rng.normal(size=(4, 3)), rng.normal(size=(1, 3))
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(F.cosine_similarity(ad.Tensor(a), ad.Tensor(b)).numpy(), cos, rtol=1e-12)
    assert gradcheck(lambda u, v: F.cosine_similarity(u, v).sum(), a, b)
    assert F.cosine_similarity(ad.Tensor(np.zeros((1, 3))), np.ones((1, 3))).item() == 0.0


def test_margin_hinge_and_cosine_embedding_formulas():
    x1, x2, y = rng.normal(size=6), rng.normal(size=6), np.array([1, -1, 1, 1, -1, -1])
    np.testing.assert_allclose(F.margin_ranking_loss(ad.Tensor(x1), ad.Tensor(x2), y, margin=0.3).item(),
                               np.maximum(0, -y * (x1 - x2) + 0.3).mean(), rtol=1e-12)
    assert gradcheck(lambda a, b: F.margin_ranking_loss(a, b, y, margin=0.3), x1, x2)
    np.testing.assert_allclose(nn.HingeEmbeddingLoss(margin=0.5, reduction="sum")(ad.Tensor(x1), y).item(),
                               np.where(y == 1, x1, np.maximum(0, 0.5 - x1)).sum(), rtol=1e-12)
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    np.testing.assert_allclose(nn.CosineEmbeddingLoss(margin=0.1)(ad.Tensor(a), ad.Tensor(b), y).item(),
                               np.where(y == 1, 1 - cos, np.maximum(0, cos - 0.1)).mean(), rtol=1e-12)
    assert gradcheck(lambda u, v: F.cosine_embedding_loss(u, v, y, margin=0.1), a, b)


# -------------------------------------------------------------------- NaN
NAN_CASES = [
    ("mse_loss", lambda x: F.mse_loss(x, np.zeros(3))),
    ("l1_loss", lambda x: F.l1_loss(x, np.zeros(3))),
    ("huber_loss", lambda x: F.huber_loss(x, np.zeros(3))),
    ("smooth_l1_loss", lambda x: F.smooth_l1_loss(x, np.zeros(3))),
    ("binary_cross_entropy", lambda x: F.binary_cross_entropy(ad.sigmoid(x), np.ones(3))),
    ("binary_cross_entropy_with_logits", lambda x: F.binary_cross_entropy_with_logits(x, np.ones(3))),
    ("cross_entropy", lambda x: F.cross_entropy(x.reshape(1, 3), np.array([0]))),
    ("cross_entropy probabilities", lambda x: F.cross_entropy(x.reshape(1, 3), np.array([[0.2, 0.3, 0.5]]))),
    ("nll_loss", lambda x: F.nll_loss(x.reshape(1, 3), np.array([1]))),  # only the picked entry counts
    ("kl_div", lambda x: F.kl_div(x, np.full(3, 1 / 3))),
    ("cosine_embedding_loss", lambda x: F.cosine_embedding_loss(x, np.ones(3), np.array(1))),
    ("margin_ranking_loss", lambda x: F.margin_ranking_loss(x, np.zeros(3), np.ones(3))),
    ("hinge_embedding_loss", lambda x: F.hinge_embedding_loss(x, -np.ones(3))),
]


@pytest.mark.parametrize("name, loss", NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_nan_input_gives_nan_loss(name, loss):
    with np.errstate(invalid="ignore"):
        value = loss(ad.Tensor([0.2, np.nan, -0.4], requires_grad=True)).item()
    assert np.isnan(value), f"{name} turned a NaN input into {value}"


def test_bce_nan_prediction_propagates_and_fit_stops():
    p = ad.Tensor([0.5, np.nan], requires_grad=True)
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0]))
    assert np.isnan(loss.item())
    assert F.binary_cross_entropy(ad.Tensor([0.0, 1.0]), np.array([1.0, 0.0])).item() == 100.0  # PyTorch's clamp

    class Broken(nn.Module):
        def forward(self, x):
            return ad.Tensor(np.full((len(x), 1), np.nan))

    with pytest.raises(FloatingPointError, match="fit: the loss became nan at epoch 1, batch 1"):
        nn.fit(Broken(), nn.BCELoss(), nn.optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1), np.zeros((4, 1)),
               np.zeros((4, 1)), progress=False)
