"""Forward mode (jvp, jacfwd) against reverse mode (vjp, jacrev), finite differences and closed forms.

The dot-product test: for random u, v, <u, J v> from jvp equals <Jᵀ u, v> from vjp;
both are then checked against a central finite difference of f along v.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad

# (name, f, input shapes, sampler of a point inside the domain)
_pos = lambda rng, s: rng.uniform(0.5, 2.0, s)
_any = lambda rng, s: rng.uniform(-1.5, 1.5, s)
_away0 = lambda rng, s: rng.choice([-1, 1], s) * rng.uniform(0.3, 1.5, s)

CASES = [
    ("add", lambda a, b: a + b, [(3, 1), (4,)], _any),
    ("sub", lambda a, b: a - b, [(3,), (2, 3)], _any),
    ("mul", lambda a, b: a * b, [(2, 3), (3,)], _any),
    ("div", lambda a, b: a / b, [(3,), (3,)], _pos),
    ("neg", lambda a: -a, [(3,)], _any),
    ("pow", lambda a, b: a ** b, [(3,), (3,)], _pos),
    ("pow-const", lambda a: a ** 3, [(4,)], _any),
    ("exp", ad.exp, [(4,)], _any),
    ("log", ad.log, [(4,)], _pos),
    ("log1p", ad.log1p, [(4,)], _pos),
    ("sqrt", ad.sqrt, [(4,)], _pos),
    ("sin", ad.sin, [(4,)], _any),
    ("cos", ad.cos, [(4,)], _any),
    ("tan", ad.tan, [(4,)], _any),
    ("tanh", ad.tanh, [(4,)], _any),
    ("sigmoid", ad.sigmoid, [(4,)], _any),
    ("softplus", ad.softplus, [(4,)], _any),
    ("relu", ad.relu, [(4,)], _away0),
    ("abs", ad.abs, [(4,)], _away0),
    ("maximum", ad.maximum, [(4,), (4,)], _any),
    ("minimum", ad.minimum, [(4,), (4,)], _any),
    ("where", lambda a, b: ad.where(a > 0, a * b, b), [(4,), (4,)], _away0),
    ("clip", lambda a: ad.clip(a, -0.5, 0.5), [(5,)], _away0),
    ("matmul", ad.matmul, [(2, 3), (3, 4)], _any),
    ("matmul-vec", ad.matmul, [(3,), (3, 2)], _any),
    ("linear", ad.linear, [(2, 3), (3, 4), (4,)], _any),
    ("sum", lambda a: a.sum(axis=0), [(3, 2)], _any),
    ("mean", lambda a: a.mean(axis=1, keepdims=True), [(3, 2)], _any),
    ("max", lambda a: a.max(axis=1), [(3, 4)], _any),
    ("min", lambda a: a.min(), [(3, 4)], _any),
    ("var", lambda a: ad.var(a, axis=0), [(4, 2)], _any),
    ("einsum", lambda a, b: ad.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)], _any),
    ("logsumexp", lambda a: ad.logsumexp(a, axis=1), [(2, 3)], _any),
    ("softmax", lambda a: ad.softmax(a, axis=-1), [(2, 3)], _any),
    ("log_softmax", lambda a: ad.log_softmax(a, axis=0), [(2, 3)], _any),
    ("reshape", lambda a: a.reshape(3, 2), [(2, 3)], _any),
    ("transpose", lambda a: ad.transpose(a, (1, 2, 0)), [(2, 3, 2)], _any),
    ("broadcast_to", lambda a: ad.broadcast_to(a, (2, 3)), [(3,)], _any),
    ("getitem", lambda a: a[np.array([0, 2, 2]), 1:], [(3, 3)], _any),
    ("concatenate", lambda a, b: ad.concatenate([a, b], axis=1), [(2, 1), (2, 3)], _any),
    ("stack", lambda a, b: ad.stack([a, b], axis=1), [(3,), (3,)], _any),
    ("astype", lambda a: ad.astype(a, np.float32) * 2, [(3,)], _any),
    ("leaky_relu", lambda a: ad.leaky_relu(a, 0.1), [(4,)], _away0),
    ("elu", ad.elu, [(4,)], _away0),
    ("relu6", lambda a: ad.relu6(4 * a), [(4,)], _away0),
    ("swapaxes", lambda a: ad.swapaxes(a, 0, 1), [(2, 3)], _any),
    ("tensordot", lambda a, b: ad.tensordot(a, b, axes=1), [(2, 3), (3, 2)], _any),
    ("squeeze-expand", lambda a: ad.expand_dims(ad.squeeze(a, 1), 0), [(3, 1)], _any),
]


def _fd_along(f, xs, vs, eps=1e-6):
    plus = f(*[x + eps * v for x, v in zip(xs, vs, strict=True)])
    minus = f(*[x - eps * v for x, v in zip(xs, vs, strict=True)])
    return (np.asarray(plus, np.float64) - np.asarray(minus, np.float64)) / (2 * eps)


@pytest.mark.parametrize("name,f,shapes,sample", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("seed", [0, 1])
def test_dot_product_forward_equals_reverse_and_finite_differences(name, f, shapes, sample, seed):
    rng = np.random.default_rng(seed)
    xs = [sample(rng, s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]
    out, jv = ad.jvp(f, tuple(xs), tuple(vs))
    assert isinstance(jv, np.ndarray) and jv.shape == np.shape(out)
    u = rng.standard_normal(np.shape(out)).astype(np.asarray(out).dtype)
    out2, vjp_fn = ad.vjp(f, *xs)
    np.testing.assert_array_equal(out, out2)
    jtu = vjp_fn(u)
    assert isinstance(jtu, tuple) and len(jtu) == len(xs)
    lhs = float(np.sum(u * jv))
    rhs = float(sum(np.sum(g * v) for g, v in zip(jtu, vs, strict=True)))
    tol = 1e-5 if np.asarray(out).dtype == np.float32 else 1e-10
    assert lhs == pytest.approx(rhs, rel=tol, abs=tol)
    if np.asarray(out).dtype == np.float64:
        np.testing.assert_allclose(jv, _fd_along(f, xs, vs), rtol=1e-5, atol=1e-6)
    else:  # float32 output: a coarser step, a float32 tolerance
        np.testing.assert_allclose(jv, _fd_along(f, xs, vs, eps=1e-2), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name,f,shapes,sample", CASES[:24], ids=[c[0] for c in CASES[:24]])
def test_jacfwd_equals_jacrev(name, f, shapes, sample):
    rng = np.random.default_rng(2)
    xs = [sample(rng, s) for s in shapes]
    nums = tuple(range(len(xs)))
    for a, b in zip(ad.jacfwd(f, nums)(*xs), ad.jacrev(f, nums)(*xs), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_jvp_closed_form_and_linearity():
    f = lambda x, y: ad.sin(x) * y ** 2  # J·(v, w) = cos(x) y² v + 2 sin(x) y w
    x, y, v, w = np.array([0.3, 1.2]), np.array([2.0, -1.0]), np.array([1.0, -2.0]), np.array([0.5, 3.0])
    out, t = ad.jvp(f, (x, y), (v, w))
    np.testing.assert_allclose(out, np.sin(x) * y ** 2)
    np.testing.assert_allclose(t, np.cos(x) * y ** 2 * v + 2 * np.sin(x) * y * w, rtol=1e-14)
    _, t2 = ad.jvp(f, (x, y), (3 * v, 3 * w))
    np.testing.assert_allclose(t2, 3 * t, rtol=1e-14)


def test_vjp_fn_reusable_and_tuple_per_primal():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, -1.0]])
    out, vjp_fn = ad.vjp(lambda x: A @ x, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(out, [3.0, 7.0, -1.0])
    for u in (np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 1.0])):
        (g,) = vjp_fn(u)
        np.testing.assert_array_equal(g, A.T @ u)
    with pytest.raises(ValueError, match=r"vjp: cotangent 0 has shape \(2,\) but the value it goes with has shape \(3"):
        vjp_fn(np.ones(2))


def test_jvp_of_pytrees_and_multiple_outputs():
    f = lambda p: {"s": (p["w"] * p["b"]).sum(), "v": [p["w"] ** 2]}
    p = {"w": np.array([1.0, 2.0]), "b": np.array([3.0, -1.0])}
    t = {"w": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    out, tout = ad.jvp(f, (p,), (t,))
    assert set(tout) == {"s", "v"} and isinstance(tout["v"], list)
    np.testing.assert_allclose(out["s"], 1.0)
    np.testing.assert_allclose(tout["s"], 3.0 * 1 + 2.0 * 1)      # b·dw + w·db
    np.testing.assert_allclose(tout["v"][0], [2.0, 0.0])
    out, vjp_fn = ad.vjp(f, p)
    (g,) = vjp_fn({"s": np.array(1.0), "v": [np.zeros(2)]})
    np.testing.assert_allclose(g["w"], p["b"])
    np.testing.assert_allclose(g["b"], p["w"])


def test_jvp_rejects_mismatched_tangents():
    with pytest.raises(TypeError, match="primals and tangents must be tuples"):
        ad.jvp(ad.sin, np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match=r"jvp: the tangent of argument 0 has shape \(3,\) but the value"):
        ad.jvp(ad.sin, (np.ones(2),), (np.ones(3),))
    with pytest.raises(ValueError, match="jvp: 1 primals but 2 tangents"):
        ad.jvp(ad.sin, (np.ones(2),), (np.ones(2), np.ones(2)))


def test_forward_mode_keeps_float32():
    x = np.array([0.5, 1.0], dtype=np.float32)
    out, t = ad.jvp(ad.tanh, (x,), (np.ones(2, np.float32),))
    assert out.dtype == t.dtype == np.float32
    assert ad.jacfwd(ad.tanh)(x).dtype == np.float32


def test_tensor_inputs_give_tensors_plain_give_arrays():
    out, t = ad.jvp(ad.exp, (ad.tensor([0.0, 1.0]),), (np.ones(2),))
    assert isinstance(out, ad.Tensor) and isinstance(t, ad.Tensor)
    out, t = ad.jvp(ad.exp, (np.array([0.0, 1.0]),), (np.ones(2),))
    assert isinstance(out, np.ndarray) and isinstance(t, np.ndarray)


@given(st.floats(-1.5, 1.5), st.floats(-2.0, 2.0))
def test_forward_over_reverse_and_reverse_over_forward(x, v):
    # f = sin(x) e^x: f' = (cos + sin) e^x, f'' = 2 cos(x) e^x, f''' = 2 (cos - sin) e^x
    f = lambda t: ad.sin(t) * ad.exp(t)
    e = np.exp(x)
    _, t = ad.jvp(ad.grad(f), (x,), (v,))               # f''·v
    np.testing.assert_allclose(t, 2 * np.cos(x) * e * v, rtol=1e-12, atol=1e-12)
    d = ad.grad(lambda s: ad.jvp(f, (s,), (1.0,))[1])   # d/dx f'(x) = f''
    np.testing.assert_allclose(d(x), 2 * np.cos(x) * e, rtol=1e-12, atol=1e-12)
    jj = lambda s: ad.jvp(lambda r: ad.jvp(f, (r,), (1.0,))[1], (s,), (1.0,))[1]
    np.testing.assert_allclose(ad.grad(jj)(x), 2 * (np.cos(x) - np.sin(x)) * e, rtol=1e-11, atol=1e-12)


def test_hessian_is_forward_over_reverse_and_hvp_matches():
    f = lambda x: x[0] * x[1] * x[2] + ad.exp(x[0]) * x[1]
    x = np.array([0.7, -1.1, 0.4])
    x0, x1, x2 = x
    e = np.exp(x0)
    H = np.array([[e * x1, x2 + e, x1], [x2 + e, 0, x0], [x1, x0, 0]])
    np.testing.assert_allclose(ad.hessian(f)(x), H, rtol=1e-12, atol=1e-14)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ad.hvp(f, x, v), H @ v, rtol=1e-12, atol=1e-14)
    assert ad.trace(lambda x: ad.hvp(f, x, v), x).n_ops < ad.trace(lambda x: ad.hessian(f)(x) @ v, x).n_ops


def test_hvp_of_pytree():
    f = lambda p: (p["a"] ** 2 * p["b"]).sum()  # H = [[2b, 2a], [2a, 0]] per element
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    v = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    hv = ad.hvp(f, p, v)
    np.testing.assert_allclose(hv["a"], 2 * p["b"] * v["a"] + 2 * p["a"] * v["b"])
    np.testing.assert_allclose(hv["b"], 2 * p["a"] * v["a"])


def test_jacfwd_and_jacrev_layout_for_pytrees_and_argnums():
    f = lambda x, y: {"p": x * y.sum(), "q": x[0] * 1.0}
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    for jac in (ad.jacfwd, ad.jacrev):
        J = jac(f, argnums=(0, 1))(x, y)
        assert J["p"][0].shape == (2, 2) and J["p"][1].shape == (2, 3) and J["q"][1].shape == (3,)
        np.testing.assert_allclose(J["p"][0], 12 * np.eye(2))
        np.testing.assert_allclose(J["p"][1], np.outer(x, np.ones(3)))
        np.testing.assert_allclose(J["q"][0], [1.0, 0.0])
        np.testing.assert_allclose(J["q"][1], np.zeros(3))
    assert ad.jacobian is ad.jacrev


def _registry_cases():
    from autodiff.primitive import REGISTRY

    return sorted((name, entry) for name, entry in REGISTRY.items() if entry.sample is not None)


@pytest.mark.parametrize("name,entry", _registry_cases(), ids=[n for n, _ in _registry_cases()])
def test_every_registered_operation_forward_equals_reverse(name, entry):
    """The dot-product test for every registry entry, on inputs its own sampler draws."""
    from autodiff.sampling import RandomDraw

    rng = np.random.default_rng(7)
    case = entry.sample(RandomDraw(rng), np.float64)
    wrt = case.positions()
    if not wrt:
        pytest.skip(f"{name}: no differentiable input")

    f, xs = case.partial(entry)
    vs = [rng.standard_normal(np.shape(x)) for x in xs]
    out, jv = ad.jvp(f, tuple(xs), tuple(vs))
    u = rng.standard_normal(np.shape(out))
    jtu = ad.vjp(f, *xs)[1](u)
    lhs, rhs = float(np.sum(u * jv)), float(sum(np.sum(g * v) for g, v in zip(jtu, vs, strict=True)))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-10), name
