"""Backward pass semantics: accumulation, reuse, repeated calls, depth, memory, gradients()."""

from __future__ import annotations

import gc
import sys
import weakref

import numpy as np
import pytest
from helpers import assert_vjp_matches
from hypothesis import given

import autodiff as ad
from autodiff.testing import gradcheck
from autodiff.testing.strategies import expressions


def test_diamond_reuse():
    a = ad.Tensor(3.0, requires_grad=True)
    b = a + a
    c = b * b  # c = 4a², dc/da = 8a
    c.backward()
    assert a.grad.item() == 24.0


def test_same_input_twice_in_one_op():
    x = ad.Tensor([1.0, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0])


def test_repeated_backward_accumulates_leaves_only():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = ad.exp(x)
    y = (h * 2).sum()
    y.backward()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.exp([1.0, 2.0]))
    assert h.grad is None  # interior nodes keep no gradient


def test_zero_grad_and_none():
    x = ad.Tensor([1.0], requires_grad=True)
    (x * 3).sum().backward()
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    assert x.grad.item() == 5.0
    x.grad = None
    (x * 7).sum().backward()
    assert x.grad.item() == 7.0


def test_retain_grad_keeps_interior_gradient():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())


def test_gradients_do_not_touch_grad_and_zero_for_unused():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    unused = ad.Tensor([5.0], requires_grad=True)
    gx, gu = ad.gradients((x ** 2).sum(), [x, unused])
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    np.testing.assert_array_equal(gu.numpy(), [0.0])
    assert x.grad is None and unused.grad is None


def test_gradients_of_interior_node():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (gh,) = ad.gradients((h * h).sum(), [h])
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_leaf_gradients_do_not_alias():
    """add passes g straight through: two leaves must still own separate arrays."""
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    y = ad.Tensor([3.0, 4.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (x + y).backward(seed)
    x.grad.numpy(writable=True)[0] = 100.0
    assert y.grad.numpy()[0] == 1.0 and seed[0] == 1.0


def test_float32_stays_float32_through_graph():
    x = ad.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = ad.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    loss = ad.log_softmax(ad.tanh(x @ w) * 2.5 + 1).mean()
    assert loss.dtype == np.float32
    loss.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_mixed_dtype_gradient_cast_back_to_each_input():
    x = ad.Tensor(np.ones(3, np.float32), requires_grad=True)
    y = ad.Tensor(np.ones(3, np.float64), requires_grad=True)
    out = (x * y).sum()
    assert out.dtype == np.float64
    out.backward()
    assert x.grad.dtype == np.float32 and y.grad.dtype == np.float64


def test_no_grad_records_nothing_and_enable_grad_inside():
    x = ad.Tensor([1.0], requires_grad=True)
    with ad.no_grad():
        y = x * 2
        with ad.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.op is None and y.parents == ()
    assert z.requires_grad and z.op == "mul"


def test_long_chain_without_recursion():
    n = 100_000
    x = ad.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0 + 0.0
    limit = sys.getrecursionlimit()
    y.backward()
    assert sys.getrecursionlimit() == limit
    assert x.grad.item() == 1.0


def _graph_refs():
    x = ad.Tensor(np.ones(4), requires_grad=True)
    h1 = ad.tanh(x * 2)
    h2 = ad.exp(h1) + h1
    out = (h2 * h2).sum()
    return x, out, [weakref.ref(t) for t in (h1, h2)]


@pytest.mark.parametrize("after_backward", [False, True])
def test_graph_freed_by_reference_counting(after_backward):
    gc.collect()
    gc.disable()
    try:
        x, out, refs = _graph_refs()
        if after_backward:
            out.backward()
        assert all(r() is not None for r in refs)
        del out
        assert all(r() is None for r in refs), "intermediates survived: a reference cycle"
        assert x.grad is None or x.grad.shape == (4,)
    finally:
        gc.enable()


def test_graph_inspection_attributes():
    x = ad.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = ad.sin(x) * 2
    assert y.op == "mul" and not y.is_leaf and x.is_leaf and x.op is None
    assert y.parents[0].op == "sin" and y.parents[0].parents[0] is x
    y.sum().backward()
    assert y.parents[0].parents[0] is x  # the graph stays inspectable after backward


def test_ties_share_the_gradient():
    x = ad.Tensor([2.0, 5.0, 5.0, 1.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.5, 0.5, 0.0])
    a = ad.Tensor(3.0, requires_grad=True)
    b = ad.Tensor(3.0, requires_grad=True)
    ad.maximum(a, b).backward()
    # central differences at a tie give exactly one half to each side
    assert a.grad.item() == 0.5 and b.grad.item() == 0.5


def test_kink_conventions():
    x = ad.Tensor([0.0], requires_grad=True)
    ad.relu(x).sum().backward()
    assert x.grad.item() == 0.0
    x.grad = None
    ad.abs(x).sum().backward()
    assert x.grad.item() == 0.0


def test_where_does_not_leak_nan_from_branch_not_taken():
    x = ad.Tensor([-1.0, 4.0], requires_grad=True)
    safe = ad.where(x > 0, x, 1.0)  # the documented double-where
    y = ad.where(x > 0, ad.sqrt(safe), 0.0)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.25])


@given(expressions())
def test_random_programs_match_finite_differences(program):
    assert gradcheck(program, *program.inputs)


@given(expressions(dtype=np.float32, max_steps=5))
def test_random_programs_float32_keep_dtype(program):
    assert program(*[ad.Tensor(a) for a in program.inputs]).dtype == np.float32
    assert_vjp_matches(program, program.inputs, rtol=5e-3, atol=5e-3)


def test_gradcheck_reports_a_wrong_rule():
    bad = ad.primitive(np.sin, name="bad_sin")
    bad.defvjp(lambda g, z, x: g * ad.sin(x))  # wrong: should be cos
    # at x = 0 the wrong rule gives 0 where cos gives 1: the worst mismatch
    with pytest.raises(AssertionError, match=r"argument 0, element \(0,\): autodiff gives 0, finite differences"):
        gradcheck(lambda x: bad(x), np.array([0.0, 1.0]))


def test_numerical_grad_of_a_transposed_array():
    # a transposed (Fortran-ordered) input was perturbed through a copy: every difference was 0
    from autodiff.testing import numerical_grad
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(numerical_grad(lambda w: (w * w).sum(), a.T), 2 * a.T, atol=1e-6)


def test_negative_zero_and_nan_constants_are_not_confused():
    x = ad.Tensor([1.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        assert (x / (x * 0.0)).item() == np.inf
        assert (x / (x * -0.0)).item() == -np.inf
        assert np.isnan((x * float("nan")).item())


def test_grad_mode_is_per_thread():
    import threading

    seen = {}

    def worker():
        seen["enabled"] = ad.is_grad_enabled()
        t = ad.Tensor([1.0], requires_grad=True) * 2
        seen["recorded"] = t.requires_grad

    with ad.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen == {"enabled": True, "recorded": True}
