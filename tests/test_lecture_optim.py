"""The lecture's optimizers (notes 003) against their update formulas written out here
(the lecture's Scheduler classes, transcribed as plain NumPy loops), and the
learning-rate schedules from a start to an end value."""

from __future__ import annotations

import math

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim
from nn.optim import lecture, lr_scheduler

rng = np.random.default_rng(3)
W0 = rng.normal(size=(3, 2))
B0 = rng.normal(size=2)
GRADS = [(rng.normal(size=(3, 2)), rng.normal(size=2)) for _ in range(5)]
DELTA = 1e-8


def run(opt_cls, resets=(), **kw):
    """Apply the scripted gradients through the optimizer; reset() after the steps in ``resets``."""
    w, b = ad.Tensor(W0.copy(), requires_grad=True), ad.Tensor(B0.copy(), requires_grad=True)
    opt = opt_cls([w, b], **kw)
    for k, (gw, gb) in enumerate(GRADS):
        w.grad, b.grad = ad.Tensor(gw), ad.Tensor(gb)
        opt.step()
        if k in resets:
            opt.reset()
    return w.numpy(), b.numpy()


def reference(update, resets=()):
    """The same loop with the lecture's formula: ``update(g, state, param_index) -> change``."""
    params = [W0.copy(), B0.copy()]
    states = [{}, {}]
    for k, grads in enumerate(GRADS):
        for i, g in enumerate(grads):
            params[i] = params[i] - update(g, states[i], k)
        if k in resets:
            for s in states:
                s["reset"] = True
    return params


def test_constant_and_momentum():
    w, b = run(lecture.Constant, lr=0.1)
    np.testing.assert_allclose(w, W0 - 0.1 * sum(g for g, _ in GRADS))

    def momentum(g, s, k):
        s["v"] = 0.9 * s.get("v", 0.0) + 0.1 * g
        return s["v"]
    rw, rb = reference(momentum)
    w, b = run(lecture.Momentum, resets=(1, 3), lr=0.1, momentum=0.9)  # reset keeps the velocity
    np.testing.assert_allclose(w, rw)
    np.testing.assert_allclose(b, rb)


def test_adagrad_one_accumulator_per_row_delta_outside_the_root():
    def adagrad(g, s, k, momentum=0.0):
        if s.pop("reset", False):
            s.pop("G", None)
        G = s.get("G", np.zeros((g.shape[0], g.shape[0])) if g.ndim == 2 else 0.0)
        G = G + (g @ g.T if g.ndim == 2 else g @ g)  # the lecture's G_t += g @ g.T
        s["G"] = G
        diag = np.diag(G).reshape(-1, 1) if g.ndim == 2 else G
        step = 0.5 * g / (DELTA + np.sqrt(diag))
        s["v"] = momentum * s.get("v", 0.0) + step
        return s["v"]
    for resets in ((), (2,)):
        rw, rb = reference(adagrad, resets)
        w, b = run(lecture.Adagrad, resets=resets, lr=0.5)
        np.testing.assert_allclose(w, rw, rtol=1e-12)
        np.testing.assert_allclose(b, rb, rtol=1e-12)
    rw, rb = reference(lambda g, s, k: adagrad(g, s, k, momentum=0.7), (2,))
    w, b = run(lecture.AdagradMomentum, resets=(2,), lr=0.5, momentum=0.7)
    np.testing.assert_allclose(w, rw, rtol=1e-12)
    np.testing.assert_allclose(b, rb, rtol=1e-12)
    # one accumulator per row differs from PyTorch's per-entry Adagrad
    torch_like = run(optim.Adagrad, lr=0.5)[0]
    assert not np.allclose(w, torch_like)


def test_rmsprop_delta_inside_the_root_and_reset():
    def rms(g, s, k):
        if s.pop("reset", False):
            s["s"] = 0.0
        s["s"] = 0.9 * s.get("s", 0.0) + 0.1 * g * g
        return 0.01 * g / np.sqrt(s["s"] + DELTA)
    rw, rb = reference(rms, (1,))
    w, b = run(lecture.RMSProp, resets=(1,), lr=0.01)
    np.testing.assert_allclose(w, rw, rtol=1e-12)
    np.testing.assert_allclose(b, rb, rtol=1e-12)


def test_adam_epoch_count_bias_correction_and_moment_reset():
    epoch = {"e": 1}

    def adam(g, s, k):
        if s.pop("reset", False):
            s["m"] = s["s"] = 0.0
        s["m"] = 0.9 * s.get("m", 0.0) + 0.1 * g
        s["s"] = 0.999 * s.get("s", 0.0) + 0.001 * g * g
        e = epoch["e"]
        return 0.01 * (s["m"] / (1 - 0.9 ** e)) / np.sqrt(s["s"] / (1 - 0.999 ** e) + DELTA)

    params = [W0.copy(), B0.copy()]
    states = [{}, {}]
    for k, grads in enumerate(GRADS):  # epochs of two steps: reset after steps 1 and 3
        for i, g in enumerate(grads):
            params[i] = params[i] - adam(g, states[i], k)
        if k in (1, 3):
            epoch["e"] += 1
            for s in states:
                s["reset"] = True
    w, b = run(lecture.Adam, resets=(1, 3), lr=0.01)
    np.testing.assert_allclose(w, params[0], rtol=1e-12)
    np.testing.assert_allclose(b, params[1], rtol=1e-12)
    # the first step of epoch 1: m̂ = 0.1g / 0.1 = g and ŝ = 0.001g² / 0.001 = g², so η g / √(g² + δ)
    w = ad.Tensor(W0.copy(), requires_grad=True)
    w.grad = ad.Tensor(GRADS[0][0])
    lecture.Adam([w], lr=0.01).step()
    g = GRADS[0][0]
    np.testing.assert_allclose(w.numpy(), W0 - 0.01 * g / np.sqrt(g * g + DELTA), rtol=1e-12)


def test_reset_each_epoch_callback_drives_the_lecture_loop():
    X = rng.normal(size=(8, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]])
    model = nn.Linear(3, 1, seed=0)
    opt = lecture.Adam(model.parameters(), lr=0.05)
    nn.fit(model, nn.MSELoss(), opt, X, y, epochs=3, batch_size=4, callbacks=[lecture.ResetEachEpoch(opt)],
           progress=False)
    assert opt.epochs == 4 and all("moment" not in s for s in opt.state.values())
    with pytest.raises(TypeError, match="ResetEachEpoch: expected one of the lecture's optimizers, got SGD"):
        lecture.ResetEachEpoch(optim.SGD(model.parameters(), lr=0.1))


@pytest.mark.parametrize("make, closed_form", [
    (lambda o: lr_scheduler.LinearDecayLR(o, start=0.1, end=0.001, epochs=4),
     lambda t: 0.1 + (0.001 - 0.1) * min(t, 4) / 4),
    (lambda o: lr_scheduler.ExponentialDecayLR(o, start=0.1, end=0.001, epochs=4),
     lambda t: 0.1 * (0.001 / 0.1) ** (min(t, 4) / 4)),
])
def test_decay_from_start_to_end(make, closed_form):
    p = ad.Tensor(np.zeros(2), requires_grad=True)
    opt = optim.SGD([p], lr=123.0)  # the schedule sets lr from its start, not from the optimizer's
    sched = make(opt)
    seen = [opt.lr]
    for _ in range(6):
        sched.step()
        seen.append(opt.lr)
    np.testing.assert_allclose(seen, [closed_form(t) for t in range(7)], rtol=1e-12)
    assert math.isclose(seen[4], 0.001) and seen[-1] == seen[4]


def test_decay_schedules_reject_bad_ranges():
    p = ad.Tensor(np.zeros(2), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="ExponentialDecayLR: end must be > 0, got 0.0"):
        lr_scheduler.ExponentialDecayLR(opt, start=0.1, end=0.0, epochs=3)
    with pytest.raises(ValueError, match="LinearDecayLR: epochs must be > 0, got 0"):
        lr_scheduler.LinearDecayLR(opt, start=0.1, end=0.01, epochs=0)
