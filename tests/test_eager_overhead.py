"""The eager step's cheaper bookkeeping keeps every result and every check.

A leaf's complete gradient goes from its last consumer's rule straight to ``.grad``
(engine._chain), the optimizers' per-parameter loop reads arrays directly, and a large
group is turned away from the flat update by C-level loops: each must give the
general path's numbers and keep its errors.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim


def test_a_leaf_used_by_several_nodes_gets_the_sum_of_its_gradients_once():
    x = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (ad.sin(x) * x + x * x + ad.exp(x)).sum().backward()
    v = np.array([1.0, 2.0, 3.0])
    expected = (np.cos(v) * v + np.sin(v)) + 2 * v + np.exp(v)
    assert np.allclose(x.grad.numpy(), expected, rtol=1e-15, atol=0)
    # the sum of the three contributions in the engine's order, added once (no partial .grad writes)
    before = x.grad.numpy().copy()
    (ad.sin(x) * x + x * x + ad.exp(x)).sum().backward()
    assert np.array_equal(x.grad.numpy(), before + before)


def test_a_hook_on_a_leaf_sees_its_whole_gradient_once():
    x = ad.Tensor([1.0, -2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * 3.0 + x * x).sum().backward()
    assert len(seen) == 1
    assert np.array_equal(seen[0], np.array([3.0 + 2.0, 3.0 - 4.0]))
    assert np.array_equal(x.grad.numpy(), seen[0])


def test_gradients_does_not_touch_a_leaf_grad():
    x = ad.Tensor([0.5, 1.5], requires_grad=True)
    (g,) = ad.gradients((x * x).sum(), [x])
    assert x.grad is None
    assert np.array_equal(g.numpy(), np.array([1.0, 3.0]))


def test_a_leaf_gradient_that_is_the_upstream_gradient_itself_is_not_shared():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.Tensor([3.0, 4.0], requires_grad=True)
    (x + y).backward(np.array([1.0, 1.0]))
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    x.grad.numpy(writable=True)[0] = 7.0
    assert y.grad.numpy()[0] == 1.0


def _mlp_step(opt_cls, sizes, flat_max=None, **kw):
    rng = np.random.default_rng(0)
    model = nn.MLP(list(sizes), seed=0)
    opt = opt_cls(model.parameters(), lr=0.01, **kw)
    X, y = rng.normal(size=(8, sizes[0])), rng.integers(0, sizes[-1], 8)
    for _ in range(3):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(X), y).backward()
        opt.step()
    return [p.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("opt_cls,kw", [(optim.SGD, {}), (optim.SGD, {"momentum": 0.9, "nesterov": True}),
                                        (optim.Adam, {}), (optim.RMSprop, {"centered": True})])
def test_the_per_parameter_step_matches_a_hand_written_update(opt_cls, kw, monkeypatch):
    from nn.optim import flat_step

    monkeypatch.setattr(flat_step, "FLAT_MAX", 0)  # every group takes the per-parameter loop
    per_param = _mlp_step(opt_cls, (5, 4, 3), **kw)
    monkeypatch.setattr(flat_step, "FLAT_MAX", 1 << 16)
    flat = _mlp_step(opt_cls, (5, 4, 3), **kw)
    for a, b in zip(per_param, flat, strict=True):
        assert np.array_equal(a, b)


def test_the_per_parameter_sgd_step_is_p_minus_lr_g_and_bumps_the_version():
    p = nn.Parameter(np.arange(70_000, dtype=np.float64))  # past FLAT_MAX: the per-parameter loop
    q = nn.Parameter(np.ones(3))
    p.grad, q.grad = ad.Tensor(np.full(70_000, 2.0)), ad.Tensor(np.full(3, 4.0))
    out = p * 1.0  # a node that saved p (mul's rule for its other input reads it)
    optim.SGD([p, q], lr=0.5).step()
    assert np.array_equal(p.numpy(), np.arange(70_000) - 1.0)
    assert np.array_equal(q.numpy(), np.full(3, -1.0))
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        out.sum().backward()  # p was updated in place after the node saved it


def test_the_step_reads_the_gradient_and_cannot_write_it():
    class Writes(optim.SGD):
        def _update(self, p, g, state, group):
            g *= 2.0

    p = nn.Parameter(np.ones(70_000))
    p.grad = ad.Tensor(np.ones(70_000))
    with pytest.raises(ValueError, match="read-only"):
        Writes([p], lr=0.1).step()
    assert np.array_equal(p.grad.numpy(), np.ones(70_000))


def test_a_read_only_parameter_is_refused_with_its_error():
    arr = np.ones(70_000)
    arr.flags.writeable = False
    p = ad.from_numpy(arr).requires_grad_()
    p.grad = ad.Tensor(np.ones(70_000))
    with pytest.raises(ValueError, match="read-only"):
        optim.SGD([p], lr=0.1).step()


# ------------------------------------------------------------------ version epochs
STALE = "modified by an in-place operation"


def test_writes_elsewhere_between_forward_and_backward_are_not_mistaken_for_stale_values():
    w = ad.Tensor([1.0, 2.0], requires_grad=True)
    other = ad.Tensor([5.0])
    with ad.no_grad():
        w -= 0.5  # before the forward: the node sees the new values
    y = (w * w).sum()
    with ad.no_grad():
        other += 1.0  # after the forward, but not a value the node saved
    y.backward()
    assert np.array_equal(w.grad.numpy(), np.array([1.0, 3.0]))


def test_a_write_to_a_saved_value_names_the_op_the_input_and_its_version():
    w = ad.Tensor([1.0, 2.0], requires_grad=True, name="w")
    x = ad.Tensor([3.0, 4.0])
    y = (x * w).sum()
    with ad.no_grad():
        w -= 0.1
        w -= 0.1
    with pytest.raises(RuntimeError, match=STALE) as err:
        y.backward()
    text = str(err.value)
    assert "gradient of mul" in text and "(-=)" in text and "its input 1 ('w')" in text and "version 2" in text


def test_an_in_place_op_reading_its_own_target_through_an_alias_is_refused():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3.0
    y.mul_(y.detach())  # the rule for the alias needs the old values, which the write replaced
    with pytest.raises(RuntimeError, match=STALE):
        y.sum().backward()


def test_a_recorded_in_place_op_keeps_its_own_write_valid_and_later_writes_refused():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.exp(x)
    y *= 2.0  # recorded: y now is mul's output, written once by that op
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]), rtol=1e-15)
    z = ad.exp(x)
    z *= 2.0
    with ad.no_grad():
        z += 1.0  # a write after the recorded op: mul's output changed
    with pytest.raises(RuntimeError, match=STALE):
        (z * z).sum().backward()


# ------------------------------------------------------------------ linear's forward
@pytest.mark.parametrize("x_shape,b_shape,b_dtype", [((4, 3), (2,), np.float32), ((3,), (2,), np.float32),
                                                     ((5, 4, 3), (2,), np.float32), ((4, 3), (2,), np.float64),
                                                     ((4, 3), (4, 2), np.float32), ((4, 3), (1,), np.float32),
                                                     ((4, 3), (6, 4, 2), np.float32)])
def test_linear_adds_its_bias_in_place_only_where_that_is_the_same_array(x_shape, b_shape, b_dtype):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=x_shape).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    b = rng.normal(size=b_shape).astype(b_dtype)
    expected = np.matmul(x, w) + b  # dtype promotion and broadcasting as NumPy's
    out = ad.linear(ad.Tensor(x), ad.Tensor(w, requires_grad=True), ad.Tensor(b)).numpy()
    assert out.dtype == expected.dtype and out.shape == expected.shape
    assert np.array_equal(out, expected)


def test_linear_with_a_bias_that_does_not_fit_names_the_shapes():
    with pytest.raises(ValueError, match=r"linear: shapes \(4, 3\) and \(3, 2\) and \(3,\) are not aligned"):
        ad.linear(ad.Tensor(np.ones((4, 3))), ad.Tensor(np.ones((3, 2))), ad.Tensor(np.ones(3)))
