"""Adadelta, Adamax, NAdam, RAdam and LBFGS against their update rules written out here;
parameter groups, duplicates, zero_grad(set_to_none), state_dict layout; the newer
schedulers against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nn
from nn import optim
from nn.optim import lr_scheduler as S

C = np.array([0.5, 2.0, 1.0])
D = np.array([1.0, -1.0, 0.5])
P0 = np.array([1.0, -0.5, 2.0])


def run(make_opt, steps=8):
    p = nn.Parameter(P0.copy())
    opt = make_opt([p])
    path = []
    for _ in range(steps):
        opt.zero_grad()
        (C * p * p / 2 + D * p).sum().backward()
        opt.step()
        path.append(p.numpy().copy())
    return np.array(path)


def textbook(update, steps=8):
    p, state, path = P0.copy(), {}, []
    for t in range(1, steps + 1):
        p = update(p, C * p + D, state, t)
        path.append(p.copy())
    return np.array(path)


def test_adadelta():
    lr, rho, eps, wd = 0.5, 0.8, 1e-6, 0.1

    def update(p, g, s, t):
        g = g + wd * p
        s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
        delta = np.sqrt(s.get("u", 0) + eps) / np.sqrt(s["v"] + eps) * g
        s["u"] = rho * s.get("u", 0) + (1 - rho) * delta * delta
        return p - lr * delta

    got = run(lambda ps: optim.Adadelta(ps, lr=lr, rho=rho, eps=eps, weight_decay=wd))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


def test_adamax():
    lr, b1, b2, eps = 0.1, 0.8, 0.9, 1e-8

    def update(p, g, s, t):
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g) + eps)
        return p - lr / (1 - b1 ** t) * s["m"] / s["u"]

    got = run(lambda ps: optim.Adamax(ps, lr=lr, betas=(b1, b2), eps=eps))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


@pytest.mark.parametrize("decoupled", [False, True])
def test_nadam(decoupled):
    lr, b1, b2, eps, psi, wd = 0.05, 0.9, 0.99, 1e-8, 4e-3, 0.1

    def update(p, g, s, t):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        s["prod"] = s.get("prod", 1.0) * mu
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        denom = np.sqrt(s["v"] / (1 - b2 ** t)) + eps
        return p - lr * (1 - mu) / (1 - s["prod"]) * g / denom - lr * mu_next / (1 - s["prod"] * mu_next) * s[
            "m"] / denom

    got = run(lambda ps: optim.NAdam(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd,
                                     decoupled_weight_decay=decoupled))
    np.testing.assert_allclose(got, textbook(update), rtol=1e-12)


def test_radam_both_branches():
    lr, b1, b2, eps = 0.05, 0.9, 0.9, 1e-8  # β₂ = 0.9: ρ∞ = 19, ρₜ > 5 from t = 6 on

    def update(p, g, s, t):
        s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
        m_hat = s["m"] / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
        if rho_t <= 5:
            return p - lr * m_hat
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return p - lr * m_hat * r * math.sqrt(1 - b2 ** t) / (np.sqrt(s["v"]) + eps)

    got = run(lambda ps: optim.RAdam(ps, lr=lr, betas=(b1, b2), eps=eps), steps=10)
    np.testing.assert_allclose(got, textbook(update, steps=10), rtol=1e-12)


def test_lbfgs_minimises_a_quadratic_in_few_iterations():
    # f(p) = Σ C p²/2 + D p has its minimum at -D/C; L-BFGS on a 3-d quadratic gets there
    p = nn.Parameter(P0.copy())
    opt = optim.LBFGS([p], lr=1.0, max_iter=20, history_size=5)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (C * p * p / 2 + D * p).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    first = opt.step(closure)
    assert first.item() == pytest.approx(calls[0])
    f_min = float(np.sum(-D * D / (2 * C)))
    assert 0 <= calls[-1] - f_min < 1e-9  # it stops once the loss changes by < tolerance_change = 1e-9
    np.testing.assert_allclose(p.numpy(), -D / C, atol=1e-4)
    assert len(calls) <= 25  # max_eval = 20 * 5 // 4
    with pytest.raises(TypeError, match="LBFGS.step: needs a closure"):
        opt.step()


def test_lbfgs_first_iteration_is_scaled_gradient_step():
    # with max_iter=1: p ← p − min(1, 1/‖g‖₁)·lr·g
    p = nn.Parameter(P0.copy())
    opt = optim.LBFGS([p], lr=0.5, max_iter=1)

    def closure():
        opt.zero_grad()
        loss = (C * p * p / 2 + D * p).sum()
        loss.backward()
        return loss

    opt.step(closure)
    g = C * P0 + D
    np.testing.assert_allclose(p.numpy(), P0 - min(1.0, 1.0 / np.abs(g).sum()) * 0.5 * g, rtol=1e-12)


# ------------------------------------------------------------------ groups
def test_param_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5, "weight_decay": 0.1}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(a.numpy(), 1 - 0.1 * 1.0)
    np.testing.assert_allclose(b.numpy(), 1 - 0.5 * (1.0 + 0.1 * 1.0))
    with pytest.raises(ValueError, match="different learning rates"):
        _ = opt.lr
    opt.lr = 0.2
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2]


def test_schedulers_act_per_group():
    a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
    opt = optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}])
    sched = S.ExponentialLR(opt, gamma=0.5)
    sched.step()
    assert sched.get_last_lr() == [0.5, 0.05]
    S.LambdaLR(opt, [lambda t: 1.0, lambda t: 2.0])
    assert [g["lr"] for g in opt.param_groups] == [1.0, 0.2]  # from initial_lr, as PyTorch


def test_duplicate_parameters_are_updated_once():
    p = nn.Parameter(np.ones(2))
    with pytest.warns(UserWarning, match="same parameter more than once"):
        opt = optim.SGD([p, p], lr=0.1)
    p.sum().backward()
    opt.step()
    np.testing.assert_allclose(p.numpy(), 0.9)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    shared = nn.Linear(2, 2, seed=0)
    model = nn.Sequential(shared, shared)
    assert len(model.parameters()) == 2


def test_zero_grad_set_to_none_false_keeps_zero_arrays():
    p = nn.Parameter(np.ones(2))
    opt = optim.Adam([p])
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_state_dict_layout_and_round_trip():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(3))
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + (b * b).sum()).backward()
    opt.step()
    state = opt.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [[0], [1]]
    assert state["param_groups"][1]["lr"] == 0.5 and state["state"][1]["step"] == 1
    assert isinstance(state["state"][0]["exp_avg"], np.ndarray)
    a2, b2 = nn.Parameter(a.numpy().copy()), nn.Parameter(b.numpy().copy())
    opt2 = optim.Adam([{"params": [a2]}, {"params": [b2]}])
    opt2.load_state_dict(state)
    for o, (x, y) in ((opt, (a, b)), (opt2, (a2, b2))):
        o.zero_grad()
        (x.sum() + (y * y).sum()).backward()
        o.step()
    np.testing.assert_array_equal(a.numpy(), a2.numpy())
    np.testing.assert_array_equal(b.numpy(), b2.numpy())
    with pytest.raises(ValueError, match="the state has 2 parameter groups, the optimizer 1"):
        optim.Adam([a2]).load_state_dict(state)
    bad = opt.state_dict()
    bad["state"][1]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 1 has shape \(5,\), the parameter \(3,\)"):
        opt2.load_state_dict(bad)


# -------------------------------------------------------------- schedulers
def lrs(make, steps=12, lr=0.1, opt_cls=optim.SGD, **kw):
    opt = opt_cls([nn.Parameter(np.zeros(1))], lr=lr, **kw)
    sched = make(opt)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        sched.step()
        out.append(sched.get_last_lr()[0])
    return np.array(out)


def warm_restarts(t, t0, mult, base=0.1, eta=0.01):
    t_i = t0
    while t >= t_i:
        t, t_i = t - t_i, t_i * mult
    return eta + (base - eta) * (1 + math.cos(math.pi * t / t_i)) / 2


@pytest.mark.parametrize("make, closed", [
    (lambda o: S.MultiStepLR(o, milestones=[5, 2, 5], gamma=0.5), lambda t: 0.1 * 0.5 ** ((t >= 2) + 2 * (t >= 5))),
    (lambda o: S.LambdaLR(o, lambda t: 1 / (t + 1)), lambda t: 0.1 / (t + 1)),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), lambda t: warm_restarts(t, 3, 2)),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4, eta_min=0.01), lambda t: warm_restarts(t, 4, 1)),
    (lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.5, 1.0, total_iters=3), S.ExponentialLR(o, gamma=0.9)],
                              milestones=[4]),
     lambda t: 0.1 * (0.5 + 0.5 * min(t, 3) / 3) if t < 4 else 0.1 * 0.9 ** (t - 4)),
])
def test_schedulers_follow_closed_forms(make, closed):
    np.testing.assert_allclose(lrs(make), [closed(t) for t in range(13)], rtol=1e-12)


@pytest.mark.parametrize("three_phase, strategy", [(False, "cos"), (True, "linear")])
def test_one_cycle(three_phase, strategy):
    total, max_lr, pct, div, final = 20, 1.0, 0.25, 25.0, 1e4
    lo, end = max_lr / div, max_lr / div / final

    def anneal(a, b, x):
        return b + (a - b) / 2 * (math.cos(math.pi * x) + 1) if strategy == "cos" else a + (b - a) * x

    p = pct * total
    phases = ([(p - 1, lo, max_lr, 0.95, 0.85), (2 * p - 2, max_lr, lo, 0.85, 0.95), (total - 1, lo, end, 0.95, 0.95)]
              if three_phase else [(p - 1, lo, max_lr, 0.95, 0.85), (total - 1, max_lr, end, 0.85, 0.95)])

    def closed(t):
        start = 0.0
        for i, (stop, a, b, ma, mb) in enumerate(phases):
            if t <= stop or i == len(phases) - 1:
                x = (t - start) / (stop - start)
                return anneal(a, b, x), anneal(ma, mb, x)
            start = stop

    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=max_lr, total_steps=total, pct_start=pct, anneal_strategy=strategy,
                         three_phase=three_phase)
    got = [(opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"])]
    for _ in range(total - 1):
        sched.step()
        got.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    np.testing.assert_allclose(got, [closed(t) for t in range(total)], rtol=1e-12)
    sched.step()
    with pytest.raises(ValueError, match="OneCycleLR: stepped 21 times, but total_steps is 20"):
        sched.step()


def test_one_cycle_cycles_adam_beta1():
    opt = optim.Adam([nn.Parameter(np.zeros(1))])
    S.OneCycleLR(opt, max_lr=0.01, total_steps=10)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)


def test_reduce_lr_on_plateau():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    # best·(1 − 1e-4) must be beaten: 1.0, then 0.99995 is not an improvement
    out = []
    for value in [1.0, 0.99995, 0.9999, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        sched.step(value)
        out.append(sched.get_last_lr()[0])
    # bad-epoch counts: 0, 1, 2 (> patience: halve, cooldown 1), improvement (the cooldown ends), 1,
    # 2 (halve to 0.25, cooldown), 1 but reset by the cooldown, 1, 2 (0.125, floored at min_lr 0.2), 1
    assert out == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2]
    mx = S.ReduceLROnPlateau(optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0), mode="max", patience=0,
                             threshold=0.1, threshold_mode="abs")
    mx.step(1.0)
    mx.step(1.05)  # not above 1.0 + 0.1
    assert mx.get_last_lr() == [0.1]


def test_scheduler_state_dict_round_trip():
    def make():
        opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
        return opt, S.SequentialLR(opt, [S.StepLR(opt, 2),
                                         S.CosineAnnealingWarmRestarts(opt, T_0=3)], milestones=[3])

    opt, sched = make()
    for _ in range(5):
        sched.step()
    opt2, sched2 = make()
    sched2.load_state_dict(sched.state_dict())
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for _ in range(4):
        sched.step()
        sched2.step()
        assert sched.get_last_lr() == sched2.get_last_lr()
    plateau = S.ReduceLROnPlateau(opt, patience=0)
    plateau.step(1.0)
    state = plateau.state_dict()
    assert state["best"] == 1.0 and "optimizer" not in state


def test_fit_steps_reduce_lr_on_plateau_with_the_monitored_loss():
    X = np.zeros((16, 1))
    model = nn.Linear(1, 1, seed=0)  # zero bias, zero inputs, zero targets: the loss stays 0
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = S.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    hist = nn.fit(model, nn.MSELoss(), opt, X, X, epochs=3, progress=False, scheduler=sched)
    assert hist["loss"] == [0.0, 0.0, 0.0] and hist["lr"] == [0.1, 0.1, 0.05] and opt.lr == 0.025


def test_fit_logs_each_group_lr():
    X = np.linspace(-1, 1, 8).reshape(-1, 1)
    model = nn.Linear(1, 1, seed=0)
    opt = optim.SGD([{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.01}])
    hist = nn.fit(model, nn.MSELoss(), opt, X, 2 * X, epochs=2, progress=False)
    assert hist["lr"] == [0.1, 0.1] and hist["lr_group1"] == [0.01, 0.01]


# ------------------------------------------------------- L-BFGS line search
def test_cubic_interpolation_is_exact_on_a_parabola():
    from nn.optim.line_search import cubic_interpolate

    # (x − 1)²: values 1, 4 and slopes −2, 4 at x = 0, 3 determine it; the minimiser is 1
    assert cubic_interpolate(0.0, 1.0, -2.0, 3.0, 4.0, 4.0) == pytest.approx(1.0, abs=1e-12)
    assert cubic_interpolate(3.0, 4.0, 4.0, 0.0, 1.0, -2.0) == pytest.approx(1.0, abs=1e-12)
    assert cubic_interpolate(0.0, 1.0, -2.0, 3.0, 4.0, 4.0, bounds=(2.0, 3.0)) == 2.0


@pytest.mark.parametrize("t0", [1e-3, 1.0, 30.0])
def test_strong_wolfe_step_satisfies_both_conditions(t0):
    from nn.optim.line_search import strong_wolfe

    def f_and_g(x):
        return float(np.sum(x ** 4 - 3 * x ** 2 + x)), 4 * x ** 3 - 6 * x + 1

    x0 = np.array([0.3, -0.2, 1.5])
    f0, g0 = f_and_g(x0)
    d = -g0
    f, g, t, evals = strong_wolfe(lambda t: f_and_g(x0 + t * d), t0, d, f0, g0, float(g0 @ d))
    assert f == pytest.approx(f_and_g(x0 + t * d)[0]) and evals >= 1
    assert f <= f0 + 1e-4 * t * float(g0 @ d)                # sufficient decrease
    assert abs(float(g @ d)) <= 0.9 * abs(float(g0 @ d))      # curvature (strong form)


def test_lbfgs_with_line_search_minimises_rosenbrock():
    p = nn.Parameter(np.array([-1.2, 1.0]))
    opt = optim.LBFGS([p], lr=1.0, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        loss.backward()
        return loss

    opt.step(closure)
    # it stops when the loss changes by < tolerance_change = 1e-9, i.e. next to the minimum (1, 1)
    assert closure().item() < 1e-8
    np.testing.assert_allclose(p.numpy(), [1.0, 1.0], atol=1e-4)
