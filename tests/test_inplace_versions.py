"""In-place operations and version counters: a value changed after the graph saved it is
never used silently (PyTorch's "modified by an in-place operation"), writes work in place
under no_grad, and recorded in-place ops give the gradients of the out-of-place program."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn

STALE = "modified by an in-place operation"


def test_writes_after_forward_are_caught_in_backward():
    x = ad.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    with ad.no_grad():
        x[0] = 5.0
    with pytest.raises(RuntimeError, match=STALE) as err:
        y.backward()
    assert "mul" in str(err.value) and "setitem" in str(err.value)


def _grad_after(loss_of, labels, write):
    """x's gradient when ``labels`` is (or is not) overwritten between forward and backward."""
    x = ad.Tensor(np.random.default_rng(0).normal(size=(4, 3)), requires_grad=True)
    held = labels.copy()
    loss = loss_of(x, held)
    if write:
        held[...] = held[::-1] if held.ndim else 0
    loss.backward()
    return x.grad.numpy()


@pytest.mark.parametrize("loss_of", [
    lambda x, t: nn.functional.cross_entropy(x, t),  # the fused primitive
    lambda x, t: nn.functional.cross_entropy(x, t, label_smoothing=0.1),
    lambda x, t: nn.functional.cross_entropy(x, t, weight=np.array([1.0, 2.0, 3.0])),
    lambda x, t: nn.functional.nll_loss(ad.log_softmax(x, axis=1), t, reduction="sum"),
    lambda x, t: (x[t] ** 2).sum(),  # an index array
    lambda x, t: (ad.take_along_axis(x, t[:, None], axis=1) ** 2).sum(),
], ids=["fused CE", "smoothed CE", "weighted CE", "NLL", "getitem", "take_along_axis"])
def test_labels_and_index_arrays_written_after_forward_leave_the_gradient_alone(loss_of):
    """Integer arrays a node keeps as parameters are copied when it is recorded, as array
    operands are: writing the caller's array afterwards cannot change the gradient."""
    labels = np.array([0, 1, 2, 1])
    np.testing.assert_array_equal(_grad_after(loss_of, labels, True), _grad_after(loss_of, labels, False))


def test_detach_shares_the_counter_and_handed_out_arrays_are_read_only():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.detach().data[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(x)[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        x.numpy()[0] = 5.0
    x.detach()[0] = 5.0            # a write through the API on a detached alias
    assert x.data[0] == 5.0
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_views_share_the_counter():
    x = ad.Tensor(np.arange(6.0), requires_grad=True)
    v = x.reshape(2, 3)
    y = (v * v).sum()
    with ad.no_grad():
        x += 1.0                  # changes v's values too
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()


def test_an_optimizer_step_before_backward_is_caught():
    layer = nn.Linear(3, 2, seed=0)
    opt = nn.optim.SGD(layer.parameters(), lr=0.1)
    loss = (layer(np.ones((4, 3))) ** 2).mean()
    loss.backward()
    opt.step()
    with pytest.raises(RuntimeError, match=STALE):
        loss.backward()


def test_data_assignment_counts_and_refuses_integer_data_when_grad_is_required():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    x.data = np.array([3.0, 4.0])
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()
    with pytest.raises(TypeError, match="floating-point"):
        x.data = np.array([1, 2])
    with pytest.raises(ValueError, match="shape"):
        x.data = np.zeros(3)


def test_no_grad_step_updates_in_place():
    w = ad.Tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    same = w
    with ad.no_grad():
        w -= 0.1 * w.grad        # the course's hand-written step
    assert w is same and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, [0.8, -1.6])
    (w * w).sum().backward()     # a fresh graph after the step is fine


def test_in_place_on_a_leaf_that_requires_grad_is_refused_while_recording():
    w = ad.Tensor([1.0], requires_grad=True)
    for write in (lambda: w.__iadd__(1.0), lambda: w.mul_(2.0), lambda: w.__setitem__(0, 3.0), w.zero_):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            write()


def test_recorded_in_place_on_an_interior_node_matches_the_out_of_place_gradient():
    def inplace(x):
        h = x * 2.0
        h += x ** 2
        h *= 3.0
        h[1] = x[0] * 10.0
        return h.sum()

    def outofplace(x):
        h = (x * 2.0 + x ** 2) * 3.0
        return ad.where(np.array([False, True, False]), x[0] * 10.0, h).sum()

    x0 = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.grad(inplace)(x0), ad.grad(outofplace)(x0))
    # closed form: 3 (2 + 2x) except entry 1 (overwritten), plus 10 at entry 0
    np.testing.assert_allclose(ad.grad(inplace)(x0), [3 * 4 + 10, 0.0, 3 * 3])


def test_setitem_with_a_differentiable_value_on_a_plain_buffer():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    buf = ad.zeros(3)
    buf[1:] = x * x
    assert buf.requires_grad and buf.op == "where"
    buf.sum().backward()
    np.testing.assert_allclose(x.grad.data, [2.0, 4.0])


def test_recorded_setitem_refuses_repeated_indices():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    buf = ad.zeros(3)
    with pytest.raises(ValueError, match="more than once"):
        buf[[0, 0]] = x


def test_consumers_of_the_old_value_are_refused_after_a_recorded_write():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    early = (h * h).sum()
    h += 1.0
    with pytest.raises(RuntimeError, match=STALE):
        early.backward()


def test_in_place_methods():
    t = ad.Tensor([1.0, 5.0, -3.0])
    t.add_(1.0).sub_(0.5, alpha=2).mul_(2.0).clamp_(-2.0, 8.0)
    np.testing.assert_allclose(t.data, [2.0, 8.0, -2.0])
    t.fill_(7.0)
    np.testing.assert_allclose(t.data, [7.0] * 3)
    t.copy_(np.array([1.0, 2.0, 3.0]))
    t.div_(2.0)
    np.testing.assert_allclose(t.data, [0.5, 1.0, 1.5])
    t.zero_()
    assert not t.data.any()


def test_in_place_keeps_dtype_rules():
    i = ad.Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match=r"\+=: cannot store float64"):
        i += 0.5
    f = ad.Tensor(np.array([1.0, 2.0], np.float32))
    f += np.array([1.0, 1.0])       # float64 values stored in float32, as NumPy's same_kind
    assert f.dtype == np.float32
    with pytest.raises(ValueError, match="does not fit in place"):
        f += np.ones((2, 2))


def test_version_checks_also_hold_with_create_graph():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = (ad.sin(x) * x).sum()
    with ad.no_grad():
        x *= 2.0
    with pytest.raises(RuntimeError, match=STALE):
        ad.gradients(y, [x], create_graph=True)


def test_register_hook_changes_the_gradient_and_can_be_removed():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3.0
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.data.copy()) or g * 2)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad.data, [6.0, 6.0])
    handle.remove()
    x.grad = None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3.0, 3.0])


def test_add_and_sub_with_alpha_scale_a_list_instead_of_repeating_it():
    t = ad.Tensor(np.zeros(2))
    t.add_([1.0, 2.0], alpha=3).sub_((0.5, 0.5), alpha=2)
    np.testing.assert_array_equal(t.data, [2.0, 5.0])
    with pytest.raises(ValueError, match="add"):  # [1, 2] * 2 would have given a silent [1, 2, 1, 2]
        ad.Tensor(np.zeros(4)).add_([1.0, 2.0], alpha=2)
