"""The eager step's trims (issue 11) keep every number and every check.

Softmax cross-entropy gathers and scatters its labels through flat positions (one index
array instead of two), whatever the logits' memory order and the labels' integer type;
the optimizers' per-parameter loop bumps every parameter's version before it updates
any (so a read-only parameter is refused before anything changes) and plain SGD runs as
one loop of ``p -= lr * g``, the bits of ``_update``; a primitive's integer result is
still a constant and a complex one still refused.
"""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff import primitives_loss as PL
from autodiff.versions import version_of
from nn import optim


def _reference(x: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy and its gradient, in float64 with two-array indexing."""
    x = x.astype(np.float64)
    n = x.shape[0]
    z = x - x.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), labels]).mean()
    p[np.arange(n), labels] -= 1
    return loss, p / n


@pytest.mark.parametrize("order", ["C", "F", "strided"])
@pytest.mark.parametrize("label_dtype", [np.int64, np.int32, np.uint8, np.uint64])
def test_cross_entropy_picks_the_labels_in_any_memory_order_and_label_type(order, label_dtype):
    rng = np.random.default_rng(3)
    base = rng.normal(size=(7, 10)) * 3
    x = {"C": np.ascontiguousarray(base), "F": np.asfortranarray(base),
         "strided": np.repeat(base, 2, axis=1)[:, ::2]}[order]
    labels = rng.integers(0, 5, 7).astype(label_dtype)
    t = ad.Tensor(x, requires_grad=True)
    loss = nn.CrossEntropyLoss()(t, labels)
    loss.backward()
    want_loss, want_grad = _reference(base, labels.astype(np.int64))
    assert np.isclose(loss.item(), want_loss, rtol=1e-13, atol=0)
    assert np.allclose(t.grad.numpy(), want_grad, rtol=1e-12, atol=1e-15)
    # the gradient primitive from scratch (no kept forward) agrees bit for bit
    PL._LAST[0] = None
    again = PL.softmax_cross_entropy_grad_p(ad.Tensor(x), np.ones(()), labels=labels).numpy()
    assert np.array_equal(again, t.grad.numpy())


def test_a_fortran_ordered_exp_is_scattered_in_place_not_into_a_copy():
    x = np.asfortranarray(np.arange(12.0).reshape(3, 4) / 7)
    labels = np.array([0, 3, 1])
    e = np.exp(x - x.max(axis=1, keepdims=True))
    assert not e.flags.c_contiguous  # (the case where a flat reshape would be a copy)
    got = PL._sce_grad_tail(x, e, e.sum(axis=1, keepdims=True), np.ones(()), labels)
    assert np.allclose(got, _reference(x, labels)[1], rtol=1e-13, atol=1e-16)


def _two_params(read_only_second: bool) -> tuple[nn.Parameter, nn.Parameter]:
    arr = np.ones(70_000)  # past FLAT_MAX: the per-parameter loop
    p = nn.Parameter(np.ones(70_000))
    if read_only_second:
        arr.flags.writeable = False
        q = ad.from_numpy(arr).requires_grad_()
    else:
        q = nn.Parameter(arr)
    p.grad, q.grad = ad.Tensor(np.full(70_000, 2.0)), ad.Tensor(np.full(70_000, 2.0))
    return p, q


def test_a_read_only_parameter_is_refused_before_any_parameter_changes():
    p, q = _two_params(read_only_second=True)
    with pytest.raises(ValueError, match="read-only"):
        optim.SGD([p, q], lr=0.5).step()
    assert np.array_equal(p.numpy(), np.ones(70_000))  # the first one was not updated either


def test_one_step_bumps_every_parameter_so_graphs_that_saved_them_refuse():
    p, q = _two_params(read_only_second=False)
    out_p, out_q = (p * 1.0).sum(), (q * 1.0).sum()
    optim.SGD([p, q], lr=0.5).step()
    assert version_of(p) == 1 and version_of(q) == 1
    for out in (out_p, out_q):
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            out.backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_sgd_is_p_minus_lr_g_with_the_bits_of_update_and_keeps_its_state(dtype):
    rng = np.random.default_rng(0)
    values = [rng.normal(size=(300, 250)).astype(dtype), rng.normal(size=250).astype(dtype)]
    grads = [rng.normal(size=v.shape).astype(dtype) for v in values]

    class PerParameter(optim.SGD):  # overriding _update: the general loop, one call per parameter
        def _update(self, p, g, state, group):
            super()._update(p, g, state, group)

    results = []
    for cls in (optim.SGD, PerParameter):
        ps = [nn.Parameter(v.copy()) for v in values]
        opt = cls(ps, lr=0.1)
        for _ in range(2):
            for p, g in zip(ps, grads, strict=True):
                p.grad = ad.Tensor(g)
            opt.step()
        results.append(([p.numpy().copy() for p in ps], opt.state_dict()))
    (fast, fast_state), (general, general_state) = results
    for a, b, v, g in zip(fast, general, values, grads, strict=True):
        expected = v.copy()
        expected -= 0.1 * g
        expected -= 0.1 * g
        assert a.dtype == dtype and np.array_equal(a, expected) and np.array_equal(a, b)
    assert fast_state == general_state == {"state": {0: {}, 1: {}}, "param_groups": fast_state["param_groups"]}


def test_sgd_with_momentum_or_weight_decay_still_takes_update():
    calls = []

    class Counting(optim.SGD):
        def _update(self, p, g, state, group):
            calls.append(p.shape)
            super()._update(p, g, state, group)

    p = nn.Parameter(np.ones(70_000))
    p.grad = ad.Tensor(np.ones(70_000))
    Counting([p], lr=0.1, momentum=0.9).step()
    assert calls == [(70_000,)]
    assert np.allclose(p.numpy(), 0.9)


def test_integer_results_stay_constants_and_complex_results_are_refused():
    x = ad.Tensor([1.5, -2.5], requires_grad=True)
    assert not x.astype(np.int64).requires_grad
    with pytest.raises(TypeError, match="complex results are not differentiable"):
        x.astype(np.complex128)


def test_a_leaf_gradient_that_is_a_read_only_array_is_copied_into_grad():
    shared = np.full(3, 4.0)
    shared.flags.writeable = False
    twice = ad.primitive(lambda x: x * 2.0, name="twice_read_only_rule")
    twice.defvjp(lambda g, out, x: ad.from_numpy(shared))  # the rule returns a read-only array of its own
    x = ad.Tensor(np.ones(3), requires_grad=True)
    twice(x).sum().backward()
    assert np.array_equal(x.grad.numpy(), shared) and not np.shares_memory(x.grad.numpy(), shared)
    x.grad.numpy(writable=True)[0] = 7.0  # the gradient is the leaf's own memory
    assert shared[0] == 4.0


def test_an_update_that_writes_its_gradient_is_refused_whatever_the_gradient_dtype():
    class Writes(optim.SGD):
        def _update(self, p, g, state, group):
            g *= 2.0

    p = nn.Parameter(np.ones(70_000, dtype=np.float32))
    p.grad = ad.Tensor(np.ones(70_000))  # float64: cast to the parameter's dtype for the update
    with pytest.raises(ValueError, match="read-only"):
        Writes([p], lr=0.1).step()
    assert np.array_equal(p.numpy(), np.ones(70_000, dtype=np.float32))
