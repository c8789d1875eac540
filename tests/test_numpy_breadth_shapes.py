"""Shapes, joins, splits and indexing with NumPy's names: values against NumPy, gradients
against finite differences, PyTorch's gather/index_add/scatter_add/cumprod/logcumsumexp
where installed, NumPy dispatch on Tensors, the Tensor methods, and bad input."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.testing import gradcheck

RNG = np.random.default_rng(0)
A = RNG.uniform(-2, 2, (2, 3))
B = RNG.uniform(-2, 2, (2, 4))
V = RNG.uniform(-2, 2, 3)


@pytest.mark.parametrize("name,args", [
    ("hstack", ([A, B],)), ("vstack", ([V, A],)), ("dstack", ([A, A],)), ("column_stack", ([V, A.T],)),
    ("atleast_2d", (V,)), ("atleast_3d", (A,)), ("atleast_1d", (np.float64(2.0),)),
])
def test_joins_match_numpy_and_gradients(name, args):
    fn, ref = getattr(ad, name), getattr(np, name)
    np.testing.assert_array_equal(fn(*args).numpy(), ref(*args))
    if isinstance(args[0], list):
        gradcheck(lambda *xs: fn(list(xs)), *args[0])


@pytest.mark.parametrize("name,arg", [("split", 3), ("array_split", 2), ("array_split", [1, -1]),
                                      ("hsplit", [1]), ("vsplit", 2), ("array_split", [2, 1])])
def test_splits_match_numpy_and_each_piece_sends_its_gradient_back(name, arg):
    x = RNG.uniform(-1, 1, (4, 3)) if name != "split" else RNG.uniform(-1, 1, (3, 2))
    got, want = getattr(ad, name)(ad.Tensor(x), arg), getattr(np, name)(x, arg)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.numpy(), w)
    gradcheck(lambda t: sum((p * (k + 1.0)).sum() for k, p in enumerate(getattr(ad, name)(t, arg))), x)


def test_meshgrid_and_einsum_sublists():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])
    for kw in ({}, {"indexing": "ij"}, {"sparse": True}):
        for g, w in zip(ad.meshgrid(ad.Tensor(x), ad.Tensor(y), **kw), np.meshgrid(x, y, **kw), strict=True):
            np.testing.assert_array_equal(g.numpy(), w)
    gradcheck(lambda a, b: sum(g.sum() * (k + 2) for k, g in enumerate(ad.meshgrid(a, b))), x, y)
    np.testing.assert_allclose(ad.einsum(A, [0, 1], B, [0, 2], [1, 2]).numpy(), np.einsum(A, [0, 1], B, [0, 2], [1, 2]))
    np.testing.assert_allclose(ad.einsum(A, [Ellipsis, 1], V, [1]).numpy(), np.einsum(A, [Ellipsis, 1], V, [1]))
    gradcheck(lambda a, b: ad.einsum(a, [0, 1], b, [0, 2], [1, 2]), A, B)


def test_take_along_axis_index_add_and_scatter_add_match_numpy():
    x = RNG.uniform(-1, 1, (3, 4))
    idx = np.array([[0, 3, 3], [1, 1, 0], [2, 0, 1]])
    np.testing.assert_array_equal(ad.take_along_axis(ad.Tensor(x), idx, axis=1).numpy(),
                                  np.take_along_axis(x, idx, axis=1))
    np.testing.assert_array_equal(ad.take_along_axis(ad.Tensor(x), np.array([[2, 0, 1, 1]]), axis=0).numpy(),
                                  np.take_along_axis(x, np.array([[2, 0, 1, 1]]), axis=0))
    src = RNG.uniform(-1, 1, (3, 2))
    want = x.copy()
    np.add.at(want, (slice(None), [1, 1]), src[:, :2] * 2)
    np.testing.assert_allclose(ad.index_add(ad.Tensor(x), 1, [1, 1], ad.Tensor(src), alpha=2).numpy(), want)
    gradcheck(lambda a, s: ad.index_add(a, 1, [1, 1], s, alpha=2), x, src)
    gradcheck(lambda a, s: ad.scatter_add(a, 1, idx, s), x, RNG.uniform(-1, 1, idx.shape))


def test_pad_reflect_edge_constant_against_numpy_with_gradients():
    x = RNG.uniform(-1, 1, (3, 4))
    for kw in ({"mode": "reflect"}, {"mode": "edge"}, {"constant_values": ((1.0, 2.0), (3.0, 4.0))},
               {"mode": "wrap"}, {"mode": "symmetric"}):
        for width in (2, ((1, 0), (0, 3)), (5, 6)):
            np.testing.assert_array_equal(ad.pad(ad.Tensor(x), width, **kw).numpy(), np.pad(x, width, **kw))
        gradcheck(lambda t, kw=kw: ad.pad(t, ((1, 2), (3, 1)), **kw), x)


def test_numpy_functions_on_tensors_return_differentiable_tensors():
    x = ad.Tensor(RNG.uniform(0.5, 2, (2, 3)), requires_grad=True)
    for out in [np.prod(x, axis=1), np.flip(x, 0), np.pad(x, 1), np.cumsum(x), np.std(x, ddof=1), np.roll(x, 1),
                np.sort(x), np.median(x), np.quantile(x, 0.3), np.tile(x, 2), np.repeat(x, 2, axis=0),
                np.diff(x), np.tril(x), np.kron(x, x), np.rot90(x), np.moveaxis(x, 0, 1), np.ravel(x),
                np.take(x, [0, 2]), np.take_along_axis(x, np.array([[0], [1]]), axis=1), np.diagonal(x),
                np.vstack([x, x]), np.hstack([x, x]), np.average(x, axis=0, weights=[1.0, 3.0]),
                np.outer(x, x), np.inner(x, x), np.cross(x, x[::-1]), np.nansum(x), np.var(x, correction=1),
                np.einsum(x, [0, 1], [1])]:
        assert isinstance(out, ad.Tensor) and out.requires_grad
    pieces = np.split(x, 3, axis=1)
    assert all(isinstance(p, ad.Tensor) and p.requires_grad for p in pieces)


def test_tensor_methods_reach_the_new_functions():
    v = RNG.uniform(0.5, 2, (2, 3))
    x = ad.Tensor(v)
    np.testing.assert_allclose(x.std(1).numpy(), v.std(1))
    np.testing.assert_allclose(x.prod(dim=0).numpy(), v.prod(0))
    np.testing.assert_allclose(x.cumsum(1).numpy(), v.cumsum(1))
    np.testing.assert_array_equal(x.flip(0).numpy(), v[::-1])
    np.testing.assert_array_equal(x.repeat(2, axis=1).numpy(), v.repeat(2, axis=1))
    np.testing.assert_array_equal(x.ravel().numpy(), v.ravel())
    assert x.all().item() and x.any(axis=0).numpy().all() and x.argmax().item() == v.argmax()


def test_pytorch_agrees_on_gather_index_add_cumprod_and_logcumsumexp():
    torch = pytest.importorskip("torch")
    x = RNG.uniform(-1, 1, (3, 5))
    x[1, 2] = 0.0
    x[2, [0, 4]] = 0.0
    for fn_ad, fn_t in [(lambda t: ad.cumprod(t, axis=1), lambda t: torch.cumprod(t, 1)),
                        (lambda t: ad.prod(t, axis=1), lambda t: torch.prod(t, 1)),
                        (lambda t: ad.logcumsumexp(t * 400, axis=1), lambda t: torch.logcumsumexp(t * 400, 1)),
                        (lambda t: ad.std(t, axis=0, correction=1), lambda t: torch.std(t, 0, correction=1)),
                        (lambda t: ad.take_along_axis(t, np.array([[0, 4], [2, 2], [1, 3]]), axis=1),
                         lambda t: torch.gather(t, 1, torch.tensor([[0, 4], [2, 2], [1, 3]]))),
                        (lambda t: ad.index_add(t, 0, [2, 0, 2], t[:, ::-1] * 1.0),
                         lambda t: t.index_add(0, torch.tensor([2, 0, 2]), t.flip(1)))]:
        a = ad.Tensor(x, requires_grad=True)
        t = torch.tensor(x, requires_grad=True)
        out_a, out_t = fn_ad(a), fn_t(t)
        np.testing.assert_allclose(out_a.numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
        w = RNG.uniform(0.5, 1.5, out_a.shape)
        (out_a * w).sum().backward()
        (out_t * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call,error,words", [
    (lambda: ad.take(ad.Tensor([1.0, 2.0]), [2]), IndexError, ["take", "out of bounds"]),
    (lambda: ad.take(ad.Tensor([1.0, 2.0]), [0.5]), IndexError, ["take", "integers"]),
    (lambda: ad.pad(ad.Tensor([1.0]), 1, mode="mean"), ValueError, ["pad", "mode"]),
    (lambda: ad.pad(ad.Tensor([1.0]), -1), ValueError, ["pad", "non-negative"]),
    (lambda: ad.repeat(ad.Tensor([1.0, 2.0]), [1, 2, 3]), ValueError, ["repeat", "3 repeats"]),
    (lambda: ad.split(ad.Tensor([1.0, 2.0, 3.0]), 2), ValueError, ["split", "equal division"]),
    (lambda: ad.quantile(ad.Tensor([1.0]), 1.5), ValueError, ["quantile", "[0, 1]"]),
    (lambda: ad.median(ad.zeros((2, 0)), axis=1), ValueError, ["median", "empty"]),
    (lambda: ad.cross(ad.Tensor([1.0, 2.0]), ad.Tensor([1.0, 2.0])), ValueError, ["cross", "3 components"]),
    (lambda: ad.take_along_axis(ad.Tensor([[1.0]]), np.array([0]), axis=0), ValueError, ["take_along_axis"]),
    (lambda: ad.index_add(ad.zeros(3), 0, [0], ad.zeros(2)), ValueError, ["index_add", "source"]),
    (lambda: ad.flip(ad.zeros(2), axis=1), np.exceptions.AxisError, ["flip", "out of bounds"]),
    (lambda: ad.rot90(ad.zeros((2, 2)), axes=(0, 0)), ValueError, ["rot90", "different"]),
    (lambda: ad.prod(ad.zeros(2), axis=(0, 0)), ValueError, ["prod", "repeated"]),
    (lambda: ad.cumsum(ad.zeros(2), axis=1), np.exceptions.AxisError, ["cumsum"]),
    (lambda: ad.argmax(ad.zeros(0)), ValueError, ["argmax", "empty"]),
    (lambda: ad.diagonal(ad.zeros(3)), ValueError, ["diagonal", "2 axes"]),
    (lambda: ad.einsum(ad.zeros(2), [0.5]), ValueError, ["einsum", "sublist"]),
    (lambda: ad.average(ad.zeros((2, 3)), weights=np.ones(3)), TypeError, ["average", "axis"]),
    (lambda: ad.moveaxis(ad.zeros((2, 3)), [0, 1], [0, 0]), ValueError, ["moveaxis"]),
])
def test_bad_input_raises_clear_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value), str(info.value)


def test_the_readme_demo_prints_its_numbers():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, str(root / "examples" / "numpy_breadth_demo.py")], capture_output=True,
                         text=True, check=True, cwd=root).stdout
    assert "d prod / dx at [2, 0, 3, 4]: [ 0. 24.  0.  0.]" in out
    assert "median 2.5 gradient [0.  0.  0.5 0.5]" in out
    readme = (root / "README.md").read_text()
    for line in out.splitlines():
        assert line in readme, line
