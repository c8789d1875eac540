"""Bad input to autodiff, by group: the exception type and a message naming the op and the
offending value or shape; axis and mask handling fuzzed against NumPy's own acceptance;
corners fixed by this suite (pow at 0, negative transpose axes) checked from the math."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad

X2 = ad.Tensor(np.ones((2, 3)))
X0 = ad.Tensor(1.5)


@pytest.mark.parametrize("call, error, words", [
    # axes: out of range never wraps; 0-d arrays have no axis 0
    (lambda: ad.expand_dims(X2, 4), np.exceptions.AxisError, ["expand_dims", "axis 4"]),
    (lambda: ad.squeeze(X2, 5), np.exceptions.AxisError, ["squeeze", "axis 5"]),
    (lambda: ad.sum(X0, axis=0), np.exceptions.AxisError, ["sum", "axis 0"]),
    (lambda: ad.mean(X0, axis=-1), np.exceptions.AxisError, ["mean", "axis -1"]),
    (lambda: ad.var(X2, axis=2), np.exceptions.AxisError, ["var", "axis 2"]),
    (lambda: ad.max(X2, axis=(0, 0)), ValueError, ["max", "repeated axis"]),
    (lambda: ad.transpose(X2, (0, 0)), ValueError, ["transpose", "permutation"]),
    (lambda: ad.swapaxes(X2, 0, 3), np.exceptions.AxisError, ["swapaxes", "axis 3"]),
    (lambda: ad.softmax(X2, axis=2), np.exceptions.AxisError, ["softmax", "axis 2"]),
    (lambda: X2.sum(axis=0, dim=1), TypeError, ["sum", "axis=", "dim="]),
    # indexing: a mask must have the shape of the axes it covers
    (lambda: X2[np.array([True, False, True])], IndexError, ["getitem", "(3,)", "(2,)"]),
    (lambda: X2[np.array([0.5])], IndexError, ["getitem", "float64"]),
    # shapes
    (lambda: ad.matmul(X2, X2), ValueError, ["matmul", "(2, 3)"]),
    (lambda: ad.concatenate(X2), TypeError, ["concatenate", "list"]),
    (lambda: ad.tensor([ad.Tensor([1.0]), [1.0, 2.0]]), ValueError, ["ragged"]),
    # dtypes
    (lambda: ad.Tensor(np.array([1 + 2j])).requires_grad_(), TypeError, ["complex", "requires_grad"]),
    (lambda: ad.Tensor([1.0], requires_grad=True) * 1j, TypeError, ["mul", "complex"]),
    (lambda: ad.Tensor(np.array([1, 2]), requires_grad=True), TypeError, ["floating-point", "int64"]),
    (lambda: ad.Tensor(["a"]), TypeError, ["unsupported dtype"]),
    (lambda: ad.einsum(["ij"], X2), TypeError, ["einsum", "string"]),
    # creation
    (lambda: ad.zeros(-1), ValueError, ["zeros", "non-negative"]),
    (lambda: ad.rand(2), TypeError, ["rand", "rng="]),
    (lambda: ad.randint(3, 3, rng=0), ValueError, ["randint", "empty range"]),
])
def test_bad_input_names_the_op_and_the_value(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value)


def test_conditions_carry_no_gradient_and_are_read_as_numpy_does():
    c = ad.Tensor([1.0, 0.0], requires_grad=True)
    x = ad.Tensor([2.0, 3.0], requires_grad=True)
    out = ad.where(c, x, -x)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [2.0, -3.0])
    np.testing.assert_array_equal(x.grad.data, [1.0, -1.0])
    assert c.grad is None


def test_degenerate_shapes_numpy_accepts():
    np.testing.assert_allclose(ad.einsum(",->", ad.Tensor(2.0), ad.Tensor(3.0)).data, 6.0)
    s = ad.Tensor(2.0, requires_grad=True)
    out = ad.dot(s, ad.Tensor(np.ones((2, 3, 4))))
    assert out.shape == (2, 3, 4)
    out.sum().backward()
    assert s.grad.item() == 24.0
    assert ad.softmax(ad.Tensor(np.zeros((0, 3)))).shape == (0, 3)
    assert ad.sum(X0, axis=()).item() == 1.5


def test_transpose_with_negative_axes_routes_the_gradient():
    w = np.arange(24.0).reshape(2, 3, 4)
    x = ad.Tensor(np.ones((2, 3, 4)), requires_grad=True)
    for axes in [(-1, 0, 1), (2, -3, -2), (-2, -1, -3)]:
        x.grad = None
        y = ad.transpose(x, axes)
        (y * np.transpose(w, axes)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, w)        # d/dx sum(w^T * x^T) = w
        x.grad = None
        (x.transpose(*axes) * np.transpose(w, axes)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, w)


def test_pow_corners_follow_pytorch():
    def grads(x, y):
        xt, yt = ad.Tensor(x, requires_grad=True), ad.Tensor(y, requires_grad=True)
        (xt ** yt).backward()
        return xt.grad.item(), yt.grad.item()

    assert grads(0.0, 0.0) == (0.0, 0.0)           # x**0 is constant: 0, not 0 * inf = nan
    assert grads(0.0, 1.0) == (1.0, 0.0)
    assert grads(0.0, 0.5) == (np.inf, 0.0)
    assert grads(0.0, -1.0) == (-np.inf, -np.inf)  # PyTorch: x**y log x with the y < 0 convention
    dx, dy = grads(-2.0, 3.0)
    assert dx == 12.0 and np.isnan(dy)             # log of a negative base: nan, as PyTorch
    assert grads(3.0, 0.0) == (0.0, np.log(3.0))
    x = ad.Tensor(0.0, requires_grad=True)
    (d,) = ad.gradients(x ** 0.0, [x], create_graph=True)
    (d2,) = ad.gradients(d, [x])
    assert d.item() == 0.0 and d2.item() == 0.0    # second order stays exact too


def test_pow_corners_against_torch():
    torch = pytest.importorskip("torch")
    for x, y in [(0.0, 0.0), (0.0, 1.0), (0.0, 0.5), (0.0, -1.0), (0.0, 2.0), (-2.0, 3.0), (2.0, -0.5)]:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        yt = torch.tensor(y, dtype=torch.float64, requires_grad=True)
        (xt ** yt).backward()
        a, b = ad.Tensor(x, requires_grad=True), ad.Tensor(y, requires_grad=True)
        (a ** b).backward()
        np.testing.assert_array_equal([a.grad.item(), b.grad.item()], [xt.grad.item(), yt.grad.item()])


def test_mixed_float_dtypes_follow_numpy_promotion():
    f32 = ad.Tensor(np.ones(2, np.float32), requires_grad=True)
    f64 = ad.Tensor(np.ones(2, np.float64), requires_grad=True)
    out = f32 * f64
    assert out.dtype == np.float64                        # as NumPy and PyTorch for two arrays
    out.sum().backward()
    assert f32.grad.dtype == np.float32 and f64.grad.dtype == np.float64
    assert (f32 * 2.5).dtype == np.float32                 # Python numbers are weak (NEP 50)
    assert (f32 * np.float64(2.5)).dtype == np.float64     # NumPy scalars are not
    assert (f32 * np.ones(2)).dtype == np.float64


# ------------------------------------------------------ fuzzed against NumPy's acceptance
def _outcome(fn):
    try:
        return "ok", np.asarray(fn())
    except (ValueError, IndexError, TypeError) as e:      # AxisError is both ValueError and IndexError
        return type(e).__mro__[1].__name__ if isinstance(e, np.exceptions.AxisError) else "error", None


def _same(ours, theirs):
    assert (ours[0] == "ok") == (theirs[0] == "ok"), (ours, theirs)
    if ours[0] == "ok":
        np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12, atol=1e-12)


shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)
axes = st.one_of(st.none(), st.integers(-4, 4), st.lists(st.integers(-4, 4), max_size=3).map(tuple))


@given(shapes, axes, st.booleans(), st.sampled_from(["sum", "mean", "max", "min", "var"]))
def test_reductions_accept_what_numpy_accepts(shape, axis, keepdims, name):
    a = np.arange(float(np.prod(shape))).reshape(shape) + 1.0
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _same(_outcome(lambda: getattr(ad, name)(ad.Tensor(a), axis=axis, keepdims=keepdims).data),
                  _outcome(lambda: getattr(np, name)(a, axis=axis, keepdims=keepdims)))


@given(shapes, st.integers(-5, 5))
def test_shape_functions_accept_what_numpy_accepts(shape, axis):
    a = np.arange(float(np.prod(shape))).reshape(shape)
    t = ad.Tensor(a)
    _same(_outcome(lambda: ad.expand_dims(t, axis).data), _outcome(lambda: np.expand_dims(a, axis)))
    _same(_outcome(lambda: ad.squeeze(t, axis).data), _outcome(lambda: np.squeeze(a, axis)))
    _same(_outcome(lambda: ad.swapaxes(t, axis, 0).data), _outcome(lambda: np.swapaxes(a, axis, 0)))


@given(shapes, st.lists(st.integers(-4, 4), max_size=3).map(tuple))
def test_transpose_accepts_what_numpy_accepts(shape, perm):
    a = np.arange(float(np.prod(shape))).reshape(shape)
    _same(_outcome(lambda: ad.transpose(ad.Tensor(a), perm).data), _outcome(lambda: np.transpose(a, perm)))


@given(shapes, st.lists(st.integers(0, 3), max_size=3).map(tuple), st.data())
def test_boolean_masks_accept_what_numpy_accepts(shape, mask_shape, data):
    a = np.arange(float(np.prod(shape))).reshape(shape)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=int(np.prod(mask_shape)),
                                       max_size=int(np.prod(mask_shape))))).reshape(mask_shape)
    lead = data.draw(st.booleans())
    index = (slice(None), mask) if lead else mask
    _same(_outcome(lambda: ad.Tensor(a)[index].data), _outcome(lambda: a[index]))
