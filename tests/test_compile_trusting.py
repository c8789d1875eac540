"""The fused loss kernels check their labels at every call, unless the caller has checked
them already (``Compiled.trusting_fn``): ``Jitted`` checks the labels taken from its
inputs (``labels_taken``), ``fit``'s compiled epochs check the epoch's labels once. Labels
that are no input (computed in the program) or taken for another class count are still
checked by the kernel: a label out of range must raise, never index the next row."""

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.fit_epoch as fit_epoch
from nn import functional as F, optim
from nn.data import DataLoader


def test_jitted_gradient_checks_labels_computed_in_the_program():
    g = ad.jit(ad.grad(lambda x, y: F.cross_entropy(x, y) + F.cross_entropy(x, y + 1)))
    rng = np.random.default_rng(0)
    for _ in range(3):
        x, y = rng.normal(size=(6, 4)), rng.integers(0, 3, 6)
        np.testing.assert_array_equal(g(x, y), ad.grad(lambda x, y: F.cross_entropy(x, y)
                                                       + F.cross_entropy(x, y + 1))(x, y))
    assert g.ran is not None and g.ran.taken_labels == ((1, 4),)
    assert g.ran.trusting_fn() is g.ran.fn  # y + 1 is no input: its kernel keeps its check
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: labels must be in \[0, 3\] for 4 classes, got \[4\]"):
        g(rng.normal(size=(6, 4)), np.array([0, 1, 2, 3, 0, 1]))  # y + 1 = 4 in row 3


def test_jitted_gradient_with_input_labels_checks_them_once_and_equals_eager():
    f = ad.grad(lambda x, y: F.cross_entropy(x, y))
    g = ad.jit(f)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x, y = rng.normal(size=(5, 3)), rng.integers(0, 3, 5)
        np.testing.assert_array_equal(g(x, y), f(x, y))
    entry = g.ran
    assert entry is not None and entry.trusting_fn() is not entry.fn  # the variant without the kernel's check
    assert entry.trusting_fn().__code__ is entry.fn.__code__
    for bad in ([0, 1, 3, 0, 1], [0, -1, 2, 0, 1]):  # still refused (labels_taken: the other case, eager's error)
        with pytest.raises(ValueError, match=r"labels must be in \[0, 2\]"):
            g(rng.normal(size=(5, 3)), np.array(bad))


class _FirstClasses(nn.Module):
    """Cross-entropy over the first ``k`` of the model's outputs: the loss's kernel takes
    labels for ``k`` classes, not for the output's."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, out, y):
        return F.cross_entropy(out[:, :self.k], y)


def test_fit_epoch_trusts_only_labels_checked_for_the_kernels_class_count():
    rng = np.random.default_rng(2)
    model = nn.MLP([4, 6, 10], seed=0)
    loss_fn = _FirstClasses(5)
    step = nn.compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    X = rng.normal(size=(40, 4))
    for _ in range(4):
        step(X[:8], rng.integers(0, 5, 8))
    entry = step.ran
    assert entry is not None and entry.taken_labels == ((1, 5),)
    y = rng.integers(0, 5, 40)
    y[21] = 7  # a class of the output (10), not of the loss (5)
    loader = DataLoader(X, y, batch_size=8, shuffle=False)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"labels must be in \[0, 4\] for 5 classes, got \[7\]"):
        fit_epoch.run_epoch(step, loss_fn, "multiclass", 0, loader)
    eager = nn.MLP([4, 6, 10], seed=0)
    for p, b in zip(eager.parameters(), before, strict=True):
        p.data = b.copy()
    opt = optim.SGD(eager.parameters(), lr=0.1)
    for s in range(0, 16, 8):  # the two batches before the bad one, eagerly
        opt.zero_grad()
        loss_fn(eager(X[s:s + 8]), y[s:s + 8]).backward()
        opt.step()
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        np.testing.assert_array_equal(q.data, p.data)  # the steps before the bad batch, and no other


def test_fit_compiled_epochs_with_trusted_labels_equal_eager_fit():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(70, 5)), rng.integers(0, 4, 70)

    def run(compiled):
        model = nn.MLP([5, 8, 4], seed=1)
        history = nn.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), X, y, epochs=4,
                         batch_size=16, progress=False, seed=0, compile=compiled)
        return history, [p.data for p in model.parameters()]

    (h0, p0), (h1, p1) = run(False), run(True)
    assert h1.history == h0.history
    for a, b in zip(p0, p1, strict=True):
        np.testing.assert_array_equal(b, a)
