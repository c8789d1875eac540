"""The flat update of small parameter groups (nn/optim/flat_step.py) gives the same bits
as the per-parameter loop, for every elementwise optimizer, and steps aside whenever a
group does not qualify."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim
from nn.optim import flat_step

SETTINGS = [("SGD", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
            ("Adagrad", {"weight_decay": 0.1}), ("RMSprop", {"momentum": 0.5, "centered": True}),
            ("Adam", {}), ("Adam", {"amsgrad": True, "weight_decay": 0.1}), ("AdamW", {"weight_decay": 0.1}),
            ("Adadelta", {}), ("Adamax", {"weight_decay": 0.1}), ("NAdam", {}), ("RAdam", {})]


def _train(name, kwargs, steps=6, flat=True, between=None, dtype=np.float64):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 6)).astype(dtype), rng.integers(0, 3, 16)
    model = nn.MLP([6, 5, 3], seed=1, dtype=dtype)
    opt = getattr(optim, name)(model.parameters(), **kwargs)
    limit, flat_step.FLAT_MAX = flat_step.FLAT_MAX, (flat_step.FLAT_MAX if flat else 0)
    try:
        for k in range(steps):
            opt.zero_grad()
            nn.CrossEntropyLoss()(model(X), y).backward()
            opt.step()
            if between is not None:
                between(k, model, opt)
    finally:
        flat_step.FLAT_MAX = limit
    return model, opt


@pytest.mark.parametrize("name, kwargs", SETTINGS, ids=[f"{n}-{sorted(k)}" for n, k in SETTINGS])
def test_flat_update_equals_per_parameter_update_bit_for_bit(name, kwargs):
    flat_model, flat_opt = _train(name, kwargs)
    loop_model, loop_opt = _train(name, kwargs, flat=False)
    assert flat_opt._flat_groups and not loop_opt._flat_groups
    for a, b in zip(flat_model.parameters(), loop_model.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for p, q in zip(flat_opt.params, loop_opt.params, strict=True):
        for key, value in loop_opt.state[q].items():
            np.testing.assert_array_equal(flat_opt.state[p][key], value)


def _disturb(k, model, opt):
    """Mid-training: reload the state, replace a parameter's array, drop a gradient, edit a state."""
    if k == 1:
        opt.load_state_dict(opt.state_dict())
    elif k == 2:
        w = model.parameters()[0]
        w.data = w.numpy().copy()
    elif k == 3:
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(np.ones((2, 6))), np.array([0, 1]))
        loss.backward()
        model.parameters()[1].grad = None  # a step on the others only: the per-parameter loop
        opt.step()
    elif k == 4:
        first = opt.state[opt.params[0]]
        if "exp_avg" in first:
            first["exp_avg"] = first["exp_avg"] * 0.5


@pytest.mark.parametrize("name", ["Adam", "SGD", "NAdam"])
def test_irregular_steps_fall_back_and_still_agree(name):
    kwargs = {"momentum": 0.9} if name == "SGD" else {}
    flat_model, _ = _train(name, kwargs, steps=7, between=_disturb)
    loop_model, _ = _train(name, kwargs, steps=7, flat=False, between=_disturb)
    for a, b in zip(flat_model.parameters(), loop_model.parameters(), strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_state_arrays_are_views_and_state_dict_copies():
    model, opt = _train("Adam", {}, steps=2)
    group = opt._flat_groups[id(opt.param_groups[0])]
    first = opt.state[opt.params[0]]["exp_avg"]
    assert first.base is group.state["exp_avg"] and opt.state[opt.params[0]]["step"] == 2
    saved = opt.state_dict()["state"][0]["exp_avg"]
    assert saved.base is None and np.array_equal(saved, first)


def test_mixed_dtypes_large_groups_and_single_parameters_use_the_loop():
    a = ad.Tensor(np.ones(3), requires_grad=True)
    b = ad.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([a, b])
    (a.sum() + b.sum()).backward()
    opt.step()
    assert not opt._flat_groups
    big = optim.SGD([ad.Tensor(np.ones(flat_step.FLAT_MAX), requires_grad=True),
                     ad.Tensor(np.ones(2), requires_grad=True)], lr=0.1)
    for p in big.params:
        p.grad = ad.Tensor(np.ones(p.shape))
    big.step()
    assert not big._flat_groups and big.params[1].numpy()[0] == pytest.approx(0.9)


def test_a_flat_step_bumps_versions_so_saved_graphs_refuse():
    w = ad.Tensor(np.ones(2), requires_grad=True)
    v = ad.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w, v], lr=0.1)
    (w * v).sum().backward()
    pending = (w * w).sum()
    opt.step()
    assert opt._flat_groups
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        pending.backward()


def test_a_wrong_gradient_shape_is_not_flattened_silently():
    w = ad.Tensor(np.ones((2, 2)), requires_grad=True)
    v = ad.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w, v], lr=0.1)
    w.grad, v.grad = ad.Tensor(np.ones(4)), ad.Tensor(np.ones(2))
    with pytest.raises(ValueError):
        opt.step()  # the per-parameter loop: NumPy refuses to subtract (4,) from (2, 2)
