"""Eager fast paths give the general path's bits.

The softmax cross-entropy forward keeps exp(x − max) and its row sums for the backward
that follows it (primitives_loss._LAST): that backward must equal the gradient primitive
computed from scratch, bit for bit, and every case that cannot use the kept values (a
second backward, create_graph, another loss node, a forward under no_grad) must take the
general path.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, strategies as st

import autodiff as ad
from autodiff import primitives_loss as PL


def _logits(seed: int, n: int, c: int, dtype: type, scale: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, c)) * scale).astype(dtype), rng.integers(0, c, n)


def _from_scratch(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The gradient primitive on its own (no forward before it: nothing kept)."""
    PL._LAST[0] = None
    return PL.softmax_cross_entropy_grad_p(ad.Tensor(x), np.ones((), x.dtype), labels=labels).numpy()


@given(st.integers(0, 10_000), st.integers(1, 40), st.integers(1, 12), st.sampled_from([np.float32, np.float64]))
def test_backward_after_the_forward_equals_the_gradient_from_scratch_bit_for_bit(seed, n, c, dtype):
    x, labels = _logits(seed, n, c, dtype)
    t = ad.Tensor(x, requires_grad=True)
    loss = PL.softmax_cross_entropy_p(t, labels=labels)
    assert PL._LAST[0] is not None and PL._LAST[0][0] is loss._data  # the fast path is the one taken
    loss.backward()
    assert PL._LAST[0] is None
    expected = _from_scratch(x, labels)
    assert t.grad.dtype == dtype
    assert np.array_equal(t.grad.numpy(), expected)
    # the textbook formula, in the hand-written steps' order
    e = np.exp(x - x.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    p[np.arange(n), labels] -= 1
    p *= np.asarray(1, dtype) / dtype(n)
    assert np.array_equal(expected, p)


def test_the_loss_value_keeps_its_bits():
    x, labels = _logits(3, 32, 10, np.float64)
    d = x - x.max(axis=1, keepdims=True)
    expected = np.add.reduce(np.log(np.add.reduce(np.exp(d), axis=1)) - d[np.arange(32), labels]) / 32.0
    assert PL.softmax_cross_entropy_p(ad.Tensor(x), labels=labels).item() == expected


def test_second_backward_and_create_graph_take_the_general_path_with_the_same_bits():
    x, labels = _logits(1, 8, 5, np.float64)
    t = ad.Tensor(x, requires_grad=True)
    loss = PL.softmax_cross_entropy_p(t, labels=labels)
    loss.backward()
    first = t.grad.numpy().copy()
    loss.backward()  # the graph is kept: the kept values were consumed, the rule recomputes
    assert np.array_equal(t.grad.numpy(), first + first)
    t.grad = None
    loss2 = PL.softmax_cross_entropy_p(t, labels=labels)
    (g,) = ad.gradients(loss2, [t], create_graph=True)
    assert g.requires_grad  # differentiable: the rule ran on Tensors
    assert np.array_equal(g.numpy(), first)


def test_only_the_node_that_kept_the_values_uses_them():
    x1, labels = _logits(2, 6, 4, np.float64)
    x2 = x1[::-1].copy()
    t1, t2 = ad.Tensor(x1, requires_grad=True), ad.Tensor(x2, requires_grad=True)
    loss1 = PL.softmax_cross_entropy_p(t1, labels=labels)
    loss2 = PL.softmax_cross_entropy_p(t2, labels=labels)  # replaces what loss1 kept
    loss1.backward()
    assert PL._LAST[0] is not None  # loss2's entry is untouched by loss1's backward
    assert np.array_equal(t1.grad.numpy(), _from_scratch(x1, labels))
    (loss1 + loss2).backward()
    assert np.array_equal(t2.grad.numpy(), _from_scratch(x2, labels))


def test_no_grad_and_non_finite_forwards_keep_nothing():
    x, labels = _logits(4, 5, 3, np.float64)
    PL._LAST[0] = None
    with ad.no_grad():
        PL.softmax_cross_entropy_p(ad.Tensor(x), labels=labels)
    assert PL._LAST[0] is None
    x[0, 0] = np.inf
    t = ad.Tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):
        loss = PL.softmax_cross_entropy_p(t, labels=labels)
        assert PL._LAST[0] is None
        loss.backward()
    with np.errstate(invalid="ignore"):
        expected = _from_scratch(x, labels)
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_labels_changed_after_the_forward_leave_the_backward_alone():
    """The node keeps a copy of its labels: the backward is the forward's (never a label -1
    wrapping around, never another batch's labels)."""
    x, labels = _logits(5, 4, 3, np.float64)
    want = PL.softmax_cross_entropy_grad_p(x, np.array(1.0), labels=labels.copy()).numpy()
    t = ad.Tensor(x, requires_grad=True)
    loss = PL.softmax_cross_entropy_p(t, labels=labels)
    labels[0], labels[1] = -1, (labels[1] + 1) % 3
    loss.backward()
    np.testing.assert_array_equal(t.grad.numpy(), want)
