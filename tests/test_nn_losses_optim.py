"""Losses against closed forms, optimizers against textbook update rules written out here,
schedulers against their closed forms, gradient clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff.testing import gradcheck
from nn import optim
from nn.optim import lr_scheduler

rng = np.random.default_rng(0)
PRED = rng.normal(size=(5, 3))
TARGET = rng.normal(size=(5, 3))


def test_regression_losses_closed_forms():
    d = PRED - TARGET
    assert F.mse_loss(ad.Tensor(PRED), TARGET).item() == pytest.approx(np.mean(d ** 2))
    assert F.l1_loss(ad.Tensor(PRED), TARGET, reduction="sum").item() == pytest.approx(np.abs(d).sum())
    huber = np.where(np.abs(d) < 0.5, 0.5 * d ** 2, 0.5 * (np.abs(d) - 0.25))
    np.testing.assert_allclose(F.huber_loss(ad.Tensor(PRED), TARGET, "none", delta=0.5).numpy(), huber)
    for loss in (F.mse_loss, F.l1_loss, lambda a, b: F.huber_loss(a, b, delta=0.5)):
        assert gradcheck(lambda p, loss=loss: loss(p, TARGET), PRED)


def test_regression_losses_refuse_silent_broadcasting():
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(5, 3\) and target shape \(5,\) differ"):
        F.mse_loss(ad.Tensor(PRED), TARGET[:, 0])


def test_binary_cross_entropy_closed_form_and_clamp():
    p = np.array([0.1, 0.5, 0.9, 0.999])
    t = np.array([0.0, 1.0, 1.0, 0.0])
    expected = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
    assert F.binary_cross_entropy(ad.Tensor(p), t).item() == pytest.approx(expected)
    assert gradcheck(lambda p: F.binary_cross_entropy(p, t), p)
    # p exactly 0 or 1: PyTorch clamps each log at -100; the gradient stays finite
    edge = ad.Tensor([0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(edge, np.array([1.0, 0.0]), reduction="sum")
    assert loss.item() == pytest.approx(200.0)
    loss.backward()
    assert np.all(np.isfinite(edge.grad.numpy()))
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        F.binary_cross_entropy(ad.Tensor([1.5]), np.array([1.0]))


def test_bce_with_logits_closed_form_and_extremes():
    x = np.array([-3.0, -0.2, 0.0, 1.5, 4.0])
    t = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    s = 1 / (1 + np.exp(-x))
    expected = -(t * np.log(s) + (1 - t) * np.log(1 - s))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(ad.Tensor(x), t, "none").numpy(), expected)
    assert gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, t), x)
    pw = 3.0
    weighted = -(pw * t * np.log(s) + (1 - t) * np.log(1 - s))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(ad.Tensor(x), t, "none", pos_weight=pw).numpy(),
                               weighted)
    big = ad.Tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(big, np.array([1.0, 0.0, 0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 1e4, 1e4])
    loss.sum().backward()
    np.testing.assert_allclose(big.grad.numpy(), [0.0, 0.0, 1.0, -1.0])  # sigmoid(x) - t


def test_cross_entropy_labels_probabilities_and_weights():
    logits = rng.normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert F.cross_entropy(ad.Tensor(logits), labels).item() == pytest.approx(-logp[np.arange(4), labels].mean())
    onehot = np.eye(3)[labels]
    assert F.cross_entropy(ad.Tensor(logits), onehot).item() == pytest.approx(-logp[np.arange(4), labels].mean())
    soft = np.full((4, 3), 1 / 3)
    assert F.cross_entropy(ad.Tensor(logits), soft, "sum").item() == pytest.approx(-(logp / 3).sum())
    w = np.array([1.0, 2.0, 0.5])
    expected = -(logp[np.arange(4), labels] * w[labels]).sum() / w[labels].sum()
    assert nn.CrossEntropyLoss(weight=w)(ad.Tensor(logits), labels).item() == pytest.approx(expected)
    assert gradcheck(lambda z: F.cross_entropy(z, labels), logits)
    assert gradcheck(lambda z: F.cross_entropy(z, soft), logits)
    smooth = onehot * 0.9 + 0.1 / 3
    assert F.cross_entropy(ad.Tensor(logits), labels, label_smoothing=0.1).item() == pytest.approx(
        -(logp * smooth).sum(axis=1).mean())


def test_cross_entropy_at_1e4_is_finite_and_correct():
    z = ad.Tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(z, np.array([1, 2]), reduction="sum")
    assert loss.item() == pytest.approx(2e4 + np.log(2))
    loss.backward()
    np.testing.assert_allclose(z.grad.numpy(), [[1.0, -1.0, 0.0], [0.0, 0.5, -0.5]])


def test_cross_entropy_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\] for 3 classes \(or ignore_index=-100\), "
                                         r"got \[3, -1\]"):
        F.cross_entropy(ad.Tensor(np.zeros((3, 3))), np.array([0, 3, -1]))


def test_penalties():
    params = [ad.Tensor([1.0, -2.0]), ad.Tensor([[3.0]])]
    assert F.l2_penalty(params).item() == 14.0 and F.l1_penalty(params).item() == 6.0


# ------------------------------------------------------------ optimizers
C = np.array([0.5, 2.0, 1.0])
D = np.array([1.0, -1.0, 0.5])
P0 = np.array([1.0, -0.5, 2.0])


def grad_of(p):
    """Gradient of the test objective sum(C p² / 2 + D p)."""
    return C * p + D


def run(make_opt, steps=6):
    p = nn.Parameter(P0.copy())
    opt = make_opt([p])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (C * p * p / 2 + D * p).sum().backward()
        opt.step()
        path.append(p.numpy().copy())
    return np.array(path)


def textbook(update, steps=6):
    p, state, path = P0.copy(), {}, []
    for t in range(1, steps + 1):
        p = update(p, grad_of(p), state, t)
        path.append(p.copy())
    return np.array(path)


@pytest.mark.parametrize("momentum, dampening, nesterov, wd", [(0, 0, False, 0), (0.9, 0, False, 0),
                                                              (0.9, 0.1, False, 0.01), (0.8, 0, True, 0.1)])
def test_sgd(momentum, dampening, nesterov, wd):
    lr = 0.1

    def update(p, g, s, t):
        g = g + wd * p
        if momentum:
            s["b"] = g if t == 1 else momentum * s["b"] + (1 - dampening) * g
            g = g + momentum * s["b"] if nesterov else s["b"]
        return p - lr * g

    got = run(lambda ps: optim.SGD(ps, lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                   weight_decay=wd))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


@pytest.mark.parametrize("lr_decay, wd, init", [(0, 0, 0), (0.1, 0.05, 0.2)])
def test_adagrad(lr_decay, wd, init):
    lr, eps = 0.5, 1e-10

    def update(p, g, s, t):
        g = g + wd * p
        s["sum"] = s.get("sum", np.full(3, init)) + g * g
        return p - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s["sum"]) + eps)

    got = run(lambda ps: optim.Adagrad(ps, lr=lr, lr_decay=lr_decay, weight_decay=wd, initial_accumulator_value=init))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


@pytest.mark.parametrize("momentum, centered, wd", [(0, False, 0), (0.9, False, 0), (0.5, True, 0.1), (0, True, 0)])
def test_rmsprop(momentum, centered, wd):
    lr, alpha, eps = 0.01, 0.9, 1e-8

    def update(p, g, s, t):
        g = g + wd * p
        s["v"] = alpha * s.get("v", 0) + (1 - alpha) * g * g
        denom = s["v"]
        if centered:
            s["m"] = alpha * s.get("m", 0) + (1 - alpha) * g
            denom = s["v"] - s["m"] ** 2
        denom = np.sqrt(denom) + eps
        if momentum:
            s["b"] = momentum * s.get("b", 0) + g / denom
            return p - lr * s["b"]
        return p - lr * g / denom

    got = run(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, momentum=momentum, centered=centered,
                                       weight_decay=wd))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


@pytest.mark.parametrize("amsgrad, wd, decoupled", [(False, 0, False), (True, 0.1, False), (False, 0.1, True),
                                                    (True, 0.05, True)])
def test_adam_and_adamw(amsgrad, wd, decoupled):
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-8

    def update(p, g, s, t):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            s["vmax"] = np.maximum(s.get("vmax", 0), v)
            v = s["vmax"]
        m_hat = s["m"] / (1 - b1 ** t)
        return p - lr * m_hat / (np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps)

    cls = optim.AdamW if decoupled else optim.Adam
    got = run(lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


def test_optimizer_defaults_match_pytorch():
    p = [nn.Parameter(np.zeros(1))]
    assert optim.Adam(p).defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0,
                                      "amsgrad": False}
    assert optim.Adam(p).lr == 1e-3 and optim.AdamW(p).defaults["weight_decay"] == 1e-2
    assert optim.RMSprop(p).lr == 1e-2 and optim.RMSprop(p).defaults["alpha"] == 0.99
    assert optim.Adagrad(p).lr == 1e-2 and optim.Adagrad(p).defaults["eps"] == 1e-10


def test_optimizer_state_dict_round_trip():
    a = run(lambda ps: optim.Adam(ps, lr=0.1), steps=3)
    p = nn.Parameter(P0.copy())
    opt = optim.Adam([p], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (C * p * p / 2 + D * p).sum().backward()
        opt.step()
    saved, p_saved = opt.state_dict(), p.numpy().copy()
    q = nn.Parameter(p_saved.copy())
    opt2 = optim.Adam([q], lr=0.5)
    opt2.load_state_dict(saved)
    for o, t in ((opt, p), (opt2, q)):
        o.zero_grad()
        (C * t * t / 2 + D * t).sum().backward()
        o.step()
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    np.testing.assert_array_equal(a[-1], p_saved)


def test_clip_grad_norm_and_value():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad, b.grad = ad.Tensor([3.0, 0.0]), ad.Tensor([4.0])
    total = optim.clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad.numpy(), b.grad.numpy()]), np.array([3, 0, 4]) / (5 + 1e-6))
    assert optim.clip_grad_norm_([a, b], max_norm=10.0) == pytest.approx(1.0, rel=1e-5)  # no change under the max
    a.grad = ad.Tensor([-2.0, 0.3])
    optim.clip_grad_value_([a], 0.5)
    np.testing.assert_array_equal(a.grad.numpy(), [-0.5, 0.3])


# ------------------------------------------------------------ schedulers
def lrs(make, steps=12, lr=0.1):
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=lr)
    sched = make(opt)
    out = [opt.lr]
    for _ in range(steps):
        sched.step()
        out.append(sched.get_last_lr()[0])
    return np.array(out)


@pytest.mark.parametrize("make, closed", [
    (lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), lambda t: 0.1 * 0.5 ** (t // 3)),
    (lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), lambda t: 0.1 * 0.9 ** t),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4),
     lambda t: 0.1 * (0.25 + 0.75 * min(t, 4) / 4)),
    (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
     lambda t: 0.01 + 0.09 * (1 + math.cos(math.pi * t / 10)) / 2),
    (lambda o: lr_scheduler.InverseTimeLR(o, decay=0.5), lambda t: 0.1 / (1 + 0.5 * t)),
])
def test_schedulers_follow_closed_forms(make, closed):
    np.testing.assert_allclose(lrs(make), [closed(t) for t in range(13)], rtol=1e-12)
