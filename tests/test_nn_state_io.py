"""Optimizer and scheduler state saved with nn.save and restored with nn.load: training
resumed from the file continues exactly as the uninterrupted run."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn import optim
from nn.optim import lr_scheduler as S


def _loss(ps):
    return sum(((p - 1.5) * (p - 1.5)).sum() for p in ps)


def _train(opt, ps, steps=3, sched=None):
    for _ in range(steps):
        opt.zero_grad()
        _loss(ps).backward()
        opt.step()
        if sched is not None:
            sched.step()


@pytest.mark.parametrize("make", [
    lambda ps: optim.Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.5}], lr=0.1, amsgrad=True),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.RMSprop(ps, centered=True, momentum=0.5),
    lambda ps: optim.NAdam(ps),
    lambda ps: optim.Adagrad(ps, lr_decay=0.1),
])
def test_optimizer_and_scheduler_state_round_trip_through_files(tmp_path, make):
    ps = [nn.Parameter(np.ones(2)), nn.Parameter(np.zeros(3))]
    opt = make(ps)
    sched = S.SequentialLR(opt, [S.LinearLR(opt, 0.5, total_iters=2), S.CosineAnnealingWarmRestarts(opt, 2)], [3])
    _train(opt, ps, sched=sched)
    nn.save(opt, tmp_path / "opt")
    nn.save(sched, tmp_path / "sched")
    qs = [nn.Parameter(p.numpy().copy()) for p in ps]
    opt2 = make(qs)
    sched2 = S.SequentialLR(opt2, [S.LinearLR(opt2, 0.5, total_iters=2), S.CosineAnnealingWarmRestarts(opt2, 2)],
                            [3])
    nn.load(opt2, tmp_path / "opt.npz")
    nn.load(sched2, tmp_path / "sched.npz")
    _train(opt, ps, sched=sched)
    _train(opt2, qs, sched=sched2)
    for p, q in zip(ps, qs, strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert sched.get_last_lr() == sched2.get_last_lr()


def test_lbfgs_and_plateau_state_round_trip(tmp_path):
    p = nn.Parameter(np.ones(3))
    opt = optim.LBFGS([p], max_iter=3)
    plateau = S.ReduceLROnPlateau(optim.SGD([nn.Parameter(np.ones(1))], lr=0.1), patience=0)
    plateau.step(1.0)
    plateau.step(1.0)

    def closure_for(o, x):
        def closure():
            o.zero_grad()
            loss = _loss([x])
            loss.backward()
            return loss
        return closure

    opt.step(closure_for(opt, p))
    nn.save(opt, tmp_path / "lbfgs")
    nn.save(plateau, tmp_path / "plateau")
    q = nn.Parameter(p.numpy().copy())
    opt2 = optim.LBFGS([q], max_iter=3)
    nn.load(opt2, tmp_path / "lbfgs.npz")
    opt.step(closure_for(opt, p))
    opt2.step(closure_for(opt2, q))
    np.testing.assert_array_equal(p.numpy(), q.numpy())
    plateau2 = S.ReduceLROnPlateau(optim.SGD([nn.Parameter(np.ones(1))], lr=0.1), patience=0)
    nn.load(plateau2, tmp_path / "plateau.npz")
    assert plateau2.best == 1.0 and plateau2.get_last_lr() == plateau.get_last_lr()
