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


# ------------------------------------------- issue 14: the newer optimizers, groups, schedulers
@pytest.mark.parametrize("name, kwargs", [
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-6, weight_decay=0.1)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.05, betas=(0.9, 0.9), weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
])
def test_newer_optimizer_trajectories(name, kwargs):
    # PyTorch keeps NAdam's μ product and step counts in the default dtype (float32 unless
    # changed); with float64 scalars it agrees with our float64 arithmetic to rounding
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        test_optimizer_trajectories(name, kwargs)
    finally:
        torch.set_default_dtype(previous)


def test_param_groups_and_schedulers_match_pytorch():
    W0, b0 = rng.normal(size=(4, 2)), rng.normal(size=2)
    X, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    ours = [nn.Parameter(W0.copy()), nn.Parameter(b0.copy())]
    theirs = [torch.tensor(W0.copy(), requires_grad=True), torch.tensor(b0.copy(), requires_grad=True)]

    def groups(ps):
        return [{"params": [ps[0]]}, {"params": [ps[1]], "lr": 0.01, "momentum": 0.5}]

    o_opt, t_opt = optim.SGD(groups(ours), lr=0.1, momentum=0.9), torch.optim.SGD(groups(theirs), lr=0.1, momentum=0.9)
    S, TS = optim.lr_scheduler, torch.optim.lr_scheduler
    o_s = S.SequentialLR(o_opt, [S.LinearLR(o_opt, 0.5, total_iters=3), S.CosineAnnealingWarmRestarts(o_opt, 2, 2)],
                         milestones=[4])
    t_s = TS.SequentialLR(t_opt, [TS.LinearLR(t_opt, 0.5, total_iters=3), TS.CosineAnnealingWarmRestarts(t_opt, 2, 2)],
                          milestones=[4])
    for _ in range(12):
        o_opt.zero_grad()
        t_opt.zero_grad()
        F.mse_loss(ad.tanh(ad.Tensor(X) @ ours[0] + ours[1]), y).backward()
        torch.nn.functional.mse_loss(torch.tanh(torch.tensor(X) @ theirs[0] + theirs[1]), torch.tensor(y)).backward()
        o_opt.step()
        t_opt.step()
        o_s.step()
        t_s.step()
        np.testing.assert_allclose(o_s.get_last_lr(), t_s.get_last_lr(), rtol=1e-12)
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda S, o: S.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.5),
    lambda S, o: S.LambdaLR(o, lambda t: 0.9 ** t + 0.1),
    lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=15, pct_start=0.3),
    lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=15, three_phase=True, anneal_strategy="linear"),
    lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    lambda S, o: S.StepLR(o, step_size=4, gamma=0.3),
])
def test_scheduler_lrs_and_momenta_match_pytorch(make):
    def opt_for(lib_optim, p, q):
        return lib_optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.05}], lr=0.1, momentum=0.9)

    o_opt = opt_for(optim, nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1)))
    t_opt = opt_for(torch.optim, torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True))
    o_s, t_s = make(optim.lr_scheduler, o_opt), make(torch.optim.lr_scheduler, t_opt)
    for _ in range(14):
        t_opt.step()  # (PyTorch warns when a scheduler steps before its optimizer)
        o_s.step()
        t_s.step()
        for og, tg in zip(o_opt.param_groups, t_opt.param_groups, strict=True):
            assert og["lr"] == pytest.approx(tg["lr"], rel=1e-12, abs=1e-15)
            assert og["momentum"] == pytest.approx(tg["momentum"], rel=1e-12)


def test_reduce_lr_on_plateau_matches_pytorch():
    values = [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.7]
    for kw in (dict(patience=1, cooldown=1, factor=0.5, min_lr=0.02),
               dict(mode="max", patience=0, threshold=0.05, threshold_mode="abs")):
        o_opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
        t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        o_s = optim.lr_scheduler.ReduceLROnPlateau(o_opt, **kw)
        t_s = torch.optim.lr_scheduler.ReduceLROnPlateau(t_opt, **kw)
        for v in values:
            o_s.step(v)
            t_s.step(v)
            assert o_opt.param_groups[0]["lr"] == t_opt.param_groups[0]["lr"]


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_matches_pytorch(line_search):
    # least squares: convex, so the iterates do not amplify rounding differences as a
    # nonconvex run far from its minimum can
    local = np.random.default_rng(11)
    X, y = local.normal(size=(20, 3)), local.normal(size=(20, 1))
    W0 = local.normal(size=(3, 1))
    ours, theirs = nn.Parameter(W0.copy()), torch.tensor(W0.copy(), requires_grad=True)
    o_opt = optim.LBFGS([ours], lr=0.8, max_iter=7, history_size=3, line_search_fn=line_search)
    t_opt = torch.optim.LBFGS([theirs], lr=0.8, max_iter=7, history_size=3, line_search_fn=line_search)

    def o_closure():
        o_opt.zero_grad()
        r = ad.Tensor(X) @ ours - y
        loss = (r * r).mean()
        loss.backward()
        return loss

    def t_closure():
        t_opt.zero_grad()
        r = torch.tensor(X) @ theirs - torch.tensor(y)
        loss = (r * r).mean()
        loss.backward()
        return loss

    for _ in range(3):
        assert o_opt.step(o_closure).item() == pytest.approx(t_opt.step(t_closure).item(), rel=1e-10)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-9)


def test_lbfgs_line_search_on_rosenbrock_matches_pytorch():
    ours, theirs = nn.Parameter(np.array([-1.2, 1.0])), torch.tensor([-1.2, 1.0], dtype=torch.float64,
                                                                      requires_grad=True)
    o_opt = optim.LBFGS([ours], max_iter=200, line_search_fn="strong_wolfe")
    t_opt = torch.optim.LBFGS([theirs], max_iter=200, line_search_fn="strong_wolfe")

    def closure(opt, p):
        def run():
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            return loss
        return run

    o_opt.step(closure(o_opt, ours))
    t_opt.step(closure(t_opt, theirs))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-9)
    o_state, t_state = o_opt.state[ours], t_opt.state[theirs]
    assert (o_state["func_evals"], o_state["n_iter"]) == (t_state["func_evals"], t_state["n_iter"])


# ------------------------------------------------------ issue 10: losses with PyTorch's names
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_classification_losses_match_pytorch(reduction):
    TF = torch.nn.functional
    z, labels = rng.normal(size=(6, 4)), np.array([0, 3, 1, -1, 2, 3])
    w = np.array([1.0, 0.5, 2.0, 1.5])
    ours_and_torch(lambda a, b: F.cross_entropy(a, b, reduction, weight=w, label_smoothing=0.2, ignore_index=-1),
                   lambda a, b: TF.cross_entropy(a, b, weight=torch.tensor(w), ignore_index=-1,
                                                 reduction=reduction, label_smoothing=0.2), z, targets=(labels,))
    ours_and_torch(lambda a, b: F.nll_loss(a, b, weight=w, ignore_index=-1, reduction=reduction),
                   lambda a, b: TF.nll_loss(a, b, weight=torch.tensor(w), ignore_index=-1, reduction=reduction),
                   z, targets=(labels,))
    spatial, sp_labels = rng.normal(size=(2, 3, 4, 2)), rng.integers(0, 3, size=(2, 4, 2))
    ours_and_torch(lambda a, b: F.cross_entropy(a, b, reduction, label_smoothing=0.1),
                   lambda a, b: TF.cross_entropy(a, b, reduction=reduction, label_smoothing=0.1), spatial,
                   targets=(sp_labels,))
    probs = rng.dirichlet(np.ones(4), size=6)  # probability targets: both get gradients
    ours_and_torch(lambda a, b: F.cross_entropy(a, b, reduction, weight=w, label_smoothing=0.1),
                   lambda a, b: TF.cross_entropy(a, b, weight=torch.tensor(w), reduction=reduction,
                                                 label_smoothing=0.1), z, probs)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # PyTorch's note on its 'mean'
@pytest.mark.parametrize("reduction", ["mean", "sum", "batchmean"])
def test_kl_div_matches_pytorch(reduction):
    lp, q = np.log(rng.dirichlet(np.ones(3), size=5)), rng.dirichlet(np.ones(3), size=5)
    TF = torch.nn.functional
    ours_and_torch(lambda a, b: F.kl_div(a, b, reduction), lambda a, b: TF.kl_div(a, b, reduction=reduction), lp, q)
    ours_and_torch(lambda a, b: F.kl_div(a, b, reduction, log_target=True),
                   lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=True), lp, np.log(q))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_other_losses_match_pytorch(reduction):
    TF = torch.nn.functional
    x, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    ty = torch.tensor(y)
    ours_and_torch(lambda a, b: F.smooth_l1_loss(a, b, reduction, beta=0.7),
                   lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=0.7), x, t)
    ours_and_torch(lambda a, b: F.margin_ranking_loss(a, b, y, margin=0.2, reduction=reduction),
                   lambda a, b: TF.margin_ranking_loss(a, b, ty, margin=0.2, reduction=reduction), x[:, 0], t[:, 0])
    ours_and_torch(lambda a: F.hinge_embedding_loss(a, y, margin=0.5, reduction=reduction),
                   lambda a: TF.hinge_embedding_loss(a, ty, margin=0.5, reduction=reduction), x[:, 1])
    ours_and_torch(lambda a, b: F.cosine_embedding_loss(a, b, y, margin=0.1, reduction=reduction),
                   lambda a, b: TF.cosine_embedding_loss(a, b, ty, margin=0.1, reduction=reduction), x, t)
    ours_and_torch(lambda a, b: F.cosine_similarity(a, b).sum(), lambda a, b: TF.cosine_similarity(a, b).sum(), x, t)
    ours_and_torch(lambda a, b: F.binary_cross_entropy(a, b, reduction, weight=np.arange(1.0, 4.0)),
                   lambda a, b: TF.binary_cross_entropy(a, b, weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                                        reduction=reduction),
                   rng.uniform(0.1, 0.9, size=(5, 3)), targets=(rng.uniform(size=(5, 3)),))
