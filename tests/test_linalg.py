"""autodiff.linalg: values against NumPy, gradients against central finite differences
(first and second order, float64), dtypes, singular and degenerate inputs, NumPy
dispatch, and PyTorch's gradients where it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff as ad
from autodiff.primitive import REGISTRY
from autodiff.sampling import RandomDraw
from autodiff.testing import numerical_grad

MINE = ["inv", "det", "logabsdet", "solve", "trace", "pinv", "cholesky", "eigh", "eigvalsh", "svd", "svdvals", "qr",
        "norm", "matrix_power"]
LA = np.linalg.LinAlgError


def _cases(name: str, count: int, seed: int = 0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    entry = REGISTRY[name]
    return [entry.sample(RandomDraw(rng), dtype) for _ in range(count)]


def test_every_entry_is_registered_with_a_sample_and_a_sympy_answer():
    for name in MINE:
        entry = REGISTRY[name]
        assert entry.sample is not None, name
        if isinstance(entry, ad.Primitive):
            assert entry.sympy_array is not None or entry.no_sympy, name
            assert entry.__doc__ and "d/d" in entry.__doc__, name


def _check_first_order_fn(f, xs, what=""):
    inputs = [ad.Tensor(x, requires_grad=True) for x in xs]
    out = f(*inputs)
    w = np.random.default_rng(1).uniform(-1, 1, out.shape)
    numeric = numerical_grad(lambda *t: (f(*t) * w).sum(), *xs)
    numeric = numeric if isinstance(numeric, tuple) else (numeric,)
    if not out.requires_grad:  # a constant (matrix_power with n = 0): finite differences must be 0 too
        assert all(np.all(n == 0) for n in numeric), what
        return
    auto = ad.gradients((out * w).sum(), inputs)
    for a, n in zip(auto, numeric, strict=True):
        np.testing.assert_allclose(a.numpy(), n, rtol=1e-5, atol=1e-6, err_msg=what)


def _check_first_order(name, case):
    f, xs = case.partial(REGISTRY[name])
    _check_first_order_fn(f, xs, f"{name} {case.params}")


@pytest.mark.parametrize("name", MINE)
def test_first_order_matches_finite_differences(name):
    for case in _cases(name, 6):
        _check_first_order(name, case)


def _check_second_order(name, case):
    f, xs = case.partial(REGISTRY[name])
    x0, rest = xs[0], xs[1:]
    rng = np.random.default_rng(3)
    w, v = rng.uniform(-1, 1, f(*[ad.Tensor(x) for x in xs]).shape), rng.uniform(-1, 1, x0.shape)

    def grad_dot_v(x):
        if not x.requires_grad:  # finite differences call this under no_grad, on a plain Tensor
            with ad.enable_grad():
                return grad_dot_v(ad.Tensor(x.numpy(), requires_grad=True)).detach()
        out = (f(x, *rest) * w).sum()
        if not out.requires_grad:  # a constant (matrix_power with n = 0)
            return x.sum() * 0
        (g,) = ad.gradients(out, [x], create_graph=True)
        return (g * v).sum() if g.requires_grad else x.sum() * 0  # a linear map (trace): no second order

    x = ad.Tensor(x0, requires_grad=True)
    (auto,) = ad.gradients(grad_dot_v(x), [x])
    numeric = numerical_grad(grad_dot_v, x0, eps=1e-5)
    np.testing.assert_allclose(auto.numpy(), numeric, rtol=1e-4, atol=1e-5, err_msg=f"{name} {case.params}")


@pytest.mark.parametrize("name", MINE)
def test_second_order_matches_finite_differences_of_the_gradient(name):
    for case in _cases(name, 3, seed=2):
        _check_second_order(name, case)


# ------------------------------------------------------------------ values against NumPy
def _spd(rng, shape):
    a = rng.standard_normal(shape)
    return a @ a.swapaxes(-1, -2) + shape[-1] * np.eye(shape[-1])


@given(batch=st.lists(st.integers(1, 3), max_size=2).map(tuple), n=st.integers(1, 4), seed=st.integers(0, 99))
def test_values_match_numpy_on_batches(batch, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(batch + (n, n)) + 3 * n * np.eye(n)
    s = _spd(rng, batch + (n, n))
    b = rng.standard_normal(batch + (n, 2))
    t = ad.Tensor(a)
    close = lambda x, y: np.testing.assert_allclose(np.asarray(x), y, rtol=1e-10, atol=1e-12)
    close(ad.linalg.inv(t), np.linalg.inv(a))
    close(ad.linalg.det(t), np.linalg.det(a))
    close(ad.linalg.slogdet(t).logabsdet, np.linalg.slogdet(a)[1])
    close(ad.linalg.slogdet(t).sign, np.linalg.slogdet(a)[0])
    close(ad.linalg.solve(t, b), np.linalg.solve(a, b))
    close(ad.linalg.solve(t, b[..., 0] if not batch else b[(0,) * len(batch)][:, 0]),
          np.linalg.solve(a, b[..., 0] if not batch else b[(0,) * len(batch)][:, 0]))
    close(ad.linalg.cholesky(ad.Tensor(s)), np.linalg.cholesky(s))
    close(ad.linalg.cholesky(ad.Tensor(s), upper=True), np.linalg.cholesky(s, upper=True))
    close(ad.linalg.eigvalsh(ad.Tensor(s)), np.linalg.eigvalsh(s))
    for ours, theirs in zip(ad.linalg.eigh(ad.Tensor(s)), np.linalg.eigh(s), strict=True):
        close(ours, theirs)
    for ours, theirs in zip(ad.linalg.svd(t), np.linalg.svd(a), strict=True):
        close(ours, theirs)
    close(ad.linalg.svd(t, compute_uv=False), np.linalg.svd(a, compute_uv=False))
    for ours, theirs in zip(ad.linalg.qr(t), np.linalg.qr(a), strict=True):
        close(ours, theirs)
    close(ad.linalg.pinv(t), np.linalg.pinv(a))
    close(ad.linalg.trace(t), np.linalg.trace(a))
    close(ad.linalg.matrix_power(t, 3), np.linalg.matrix_power(a, 3))
    close(ad.linalg.matrix_power(t, -2), np.linalg.matrix_power(a, -2))
    close(ad.linalg.matrix_power(t, 0), np.linalg.matrix_power(a, 0))


@given(m=st.integers(1, 4), n=st.integers(1, 4), lead=st.integers(0, 2), seed=st.integers(0, 99))
def test_rectangular_decompositions_match_numpy(m, n, lead, seed):
    a = np.random.default_rng(seed).standard_normal((2,) * lead + (m, n))
    t = ad.Tensor(a)
    for ours, theirs in zip(ad.linalg.svd(t, full_matrices=False), np.linalg.svd(a, full_matrices=False),
                            strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-12)
    for ours, theirs in zip(ad.linalg.qr(t), np.linalg.qr(a), strict=True):
        np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-12)
    np.testing.assert_allclose(ad.linalg.qr(t, mode="r").numpy(), np.linalg.qr(a, mode="r"), atol=1e-12)
    np.testing.assert_allclose(ad.linalg.pinv(t).numpy(), np.linalg.pinv(a), atol=1e-10)


NORM_CASES = [((5,), o, None) for o in (None, 2, 1, 0, np.inf, -np.inf, 3, 0.5, -1, -2)] + \
             [((3, 4), o, None) for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)] + \
             [((2, 3, 4), o, ax) for o in (None, 2, 1, np.inf) for ax in (0, -1, 2)] + \
             [((2, 3, 4), o, ax) for o in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)
              for ax in ((0, 2), (-1, -2), (2, 1))] + [((2, 3, 4), None, None)]


@pytest.mark.parametrize("shape,ord_,axis", NORM_CASES)
def test_norm_matches_numpy_for_every_order_axis_and_keepdims(shape, ord_, axis):
    x = np.random.default_rng(0).standard_normal(shape)
    for keepdims in (False, True):
        ours = ad.linalg.norm(ad.Tensor(x), ord_, axis, keepdims)
        theirs = np.linalg.norm(x, ord_, axis, keepdims)
        assert ours.shape == np.shape(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(ad.Tensor(x), ord_, axis).numpy(), np.linalg.norm(x, ord_, axis))


def test_norm_rejects_what_numpy_rejects():
    x = ad.Tensor(np.ones((2, 3, 4)))
    for args in [(2, None), ("fro", 0), (3, (0, 1)), (None, (0, 1, 2))]:
        with pytest.raises(ValueError):
            np.linalg.norm(np.ones((2, 3, 4)), *args)
        with pytest.raises(ValueError, match="norm"):
            ad.linalg.norm(x, *args)


def test_vector_and_matrix_norm_match_numpy():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for axis in (None, 1, (0, 2)):
        for o in (2, 1, np.inf, 3):
            np.testing.assert_allclose(ad.linalg.vector_norm(x, axis=axis, ord=o, keepdims=True).numpy(),
                                       np.linalg.vector_norm(x, axis=axis, ord=o, keepdims=True))
    for o in ("fro", "nuc", 2, -1):
        np.testing.assert_allclose(ad.linalg.matrix_norm(x, ord=o).numpy(), np.linalg.matrix_norm(x, ord=o))


def test_norm_at_zero_has_subgradient_zero_like_pytorch():
    for ord_, axis in [(None, None), (2, None), ("fro", None), (np.inf, None), (1, None), (3, None)]:
        shape = (3, 2) if ord_ == "fro" else (3,)
        x = ad.Tensor(np.zeros(shape), requires_grad=True)
        y = ad.linalg.norm(x, ord_, axis)
        assert float(y.numpy()) == 0.0
        y.backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros(shape))
    rows = ad.Tensor(np.array([[0.0, 0.0], [3.0, 4.0]]), requires_grad=True)
    ad.linalg.norm(rows, axis=1).sum().backward()
    np.testing.assert_allclose(rows.grad.numpy(), [[0, 0], [0.6, 0.8]])


# ------------------------------------------------------------------ dtypes and errors
def test_float32_in_float32_out_and_float32_gradients():
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((2, 3, 3)) + 4 * np.eye(3)).astype(np.float32)
    s = _spd(rng, (2, 3, 3)).astype(np.float32)
    fns = [ad.linalg.inv, ad.linalg.det, lambda t: ad.linalg.slogdet(t).logabsdet, ad.linalg.pinv,
           ad.linalg.trace, lambda t: ad.linalg.solve(t, np.ones((3, 2), np.float32)),
           lambda t: ad.linalg.svd(t).U, ad.linalg.svdvals, lambda t: ad.linalg.qr(t).R, ad.linalg.norm,
           lambda t: ad.linalg.norm(t, "nuc", (1, 2)), lambda t: ad.linalg.matrix_power(t, -2)]
    sym = [ad.linalg.cholesky, lambda t: ad.linalg.eigh(t).eigenvectors, ad.linalg.eigvalsh]
    for f, x in [(f, a) for f in fns] + [(f, s) for f in sym]:
        t = ad.Tensor(x, requires_grad=True)
        y = f(t)
        assert y.dtype == np.float32
        (y * y).sum().backward()
        assert t.grad.dtype == np.float32 and np.isfinite(t.grad.numpy()).all()


def test_singular_matrices_raise_clear_errors():
    sing = ad.Tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    with pytest.raises(LA, match="inv: .*singular"):
        ad.linalg.inv(sing)
    with pytest.raises(LA, match="solve: .*singular"):
        ad.linalg.solve(sing, np.ones(2))
    d = ad.linalg.det(sing)  # the value is fine (0), as NumPy
    assert float(d.numpy()) == 0.0
    with pytest.raises(LA, match="det: the gradient at a singular matrix"):
        d.backward()
    sl = ad.linalg.slogdet(sing)
    assert float(sl.sign.numpy()) == 0.0 and sl.logabsdet.numpy() == -np.inf
    with pytest.raises(LA, match="slogdet: .*singular"):
        sl.logabsdet.backward()
    with pytest.raises(LA, match="cholesky: .*not positive definite"):
        ad.linalg.cholesky(ad.Tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(LA, match="inv: expected square"):
        ad.linalg.inv(np.ones((2, 3)))
    tall = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(ValueError, match="full_matrices=False"):
        ad.linalg.svd(tall)
    with pytest.raises(ValueError, match="mode='reduced'"):
        ad.linalg.qr(tall, mode="complete")
    with pytest.raises(TypeError, match="integer"):
        ad.linalg.matrix_power(ad.Tensor(np.eye(2)), 1.5)


def test_rank_deficient_qr_and_tall_svd_vectors_raise_in_backward():
    a = ad.Tensor(np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]), requires_grad=True)
    with pytest.raises(LA, match="qr: not differentiable at a rank-deficient"):
        ad.linalg.qr(a).Q.sum().backward()
    with pytest.raises(LA, match="svd: the singular vectors of a rank-deficient"):
        ad.linalg.svd(a, full_matrices=False).U.sum().backward()
    a.grad = None
    ad.linalg.svdvals(a)[0].backward()  # the values alone are fine: the largest has gradient u₁ v₁ᵀ
    np.testing.assert_allclose(a.grad.numpy(), [[0.5, 0.5], [0.5, 0.5], [0, 0]], atol=1e-12)


# ------------------------------------------------------------------ repeated eigen/singular values
def test_repeated_eigenvalues_basis_dependent_loss_raises_invariant_loss_is_exact():
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0]
    a0 = q @ np.diag([1.0, 1.0, 2.0]) @ q.T
    a0 = (a0 + a0.T) / 2
    a = ad.Tensor(a0, requires_grad=True)
    w, v = ad.linalg.eigh(a)
    with pytest.raises(LA, match="eigh: the derivative of the eigenvectors is undefined at repeated values"):
        v[:, 0].sum().backward()
    # the projector onto the repeated eigenspace does not depend on the basis: finite and exact
    weights = np.random.default_rng(1).uniform(-1, 1, (3, 3))

    def projector_loss(t):
        vv = ad.linalg.eigh(t).eigenvectors[:, :2]
        return ((vv @ vv.T) * weights).sum()

    a.grad = None
    projector_loss(a).backward()
    np.testing.assert_allclose(a.grad.numpy(), numerical_grad(projector_loss, a0), atol=1e-6)
    # eigenvalues alone: a symmetric function of the repeated pair (their sum) is exact
    a.grad = None
    (ad.linalg.eigvalsh(a)[:2].sum() + ad.linalg.eigh(a).eigenvalues[2] * 3).backward()
    np.testing.assert_allclose(a.grad.numpy(), numerical_grad(
        lambda t: ad.linalg.eigvalsh(t)[:2].sum() + 3 * ad.linalg.eigvalsh(t)[2], a0), atol=1e-6)


def test_identity_eigh_and_orthogonal_svd_vectors():
    eye = ad.Tensor(np.eye(3), requires_grad=True)
    with pytest.raises(LA, match="repeated"):
        ad.linalg.eigh(eye).eigenvectors[1, 0].backward()
    rot = np.linalg.qr(np.random.default_rng(2).standard_normal((3, 3)))[0]
    r = ad.Tensor(rot, requires_grad=True)
    with pytest.raises(LA, match="svd: the derivative of the singular vectors is undefined"):
        ad.linalg.svd(r).U[0, 0].backward()
    r.grad = None
    ad.linalg.pinv(r).sum().backward()  # U S⁻¹ Vᵀ is basis-independent: the pseudo-inverse's own rule
    np.testing.assert_allclose(r.grad.numpy(), numerical_grad(lambda t: ad.linalg.pinv(t).sum(), rot), atol=1e-6)


# ------------------------------------------------------------------ NumPy dispatch
def test_numpy_linalg_functions_dispatch_to_differentiable_versions():
    rng = np.random.default_rng(0)
    a0 = rng.standard_normal((2, 3, 3)) + 4 * np.eye(3)
    s0 = _spd(rng, (3, 3))
    a, s = ad.Tensor(a0, requires_grad=True), ad.Tensor(s0, requires_grad=True)
    outs = [np.linalg.inv(a), np.linalg.det(a), np.linalg.slogdet(a).logabsdet, np.linalg.solve(a, np.ones(3)),
            np.linalg.pinv(a), np.linalg.norm(a, axis=(1, 2)), np.linalg.norm(a, 2, axis=-1),
            np.linalg.matrix_power(a, 2), np.linalg.trace(a), np.trace(a), np.linalg.svd(a).S,
            np.linalg.svd(a, compute_uv=False), np.linalg.qr(a).Q, np.linalg.cholesky(s),
            np.linalg.eigh(s).eigenvectors, np.linalg.eigvalsh(s), np.linalg.svdvals(a),
            np.linalg.vector_norm(a), np.linalg.matrix_norm(a)]
    for out in outs:
        assert isinstance(out, ad.Tensor) and out.requires_grad
    np.testing.assert_allclose(np.trace(a).numpy(), np.trace(a0))  # NumPy's axes: the first two
    np.testing.assert_allclose(np.trace(a, 1, 1, 2).numpy(), np.trace(a0, 1, 1, 2))
    np.testing.assert_allclose(np.linalg.trace(a, offset=-1).numpy(), np.linalg.trace(a0, offset=-1))
    assert ad.trace is not ad.linalg.trace  # the graph listing keeps its name
    np.trace(a).sum().backward()
    expected = np.zeros_like(a0)
    expected[0, 0, :] = expected[1, 1, :] = 1
    np.testing.assert_array_equal(a.grad.numpy(), expected)
    t = ad.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    assert float(t.norm().numpy()) == 5.0


# ------------------------------------------------------------------ against PyTorch
def test_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    a0 = rng.standard_normal((2, 4, 3))
    sq = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    s0 = _spd(rng, (2, 3, 3))
    w = rng.standard_normal((2, 3, 3))
    cases = [
        (sq, lambda t: ad.linalg.inv(t) * w, lambda t: torch.linalg.inv(t) * torch.tensor(w)),
        (sq, ad.linalg.det, torch.linalg.det),
        (s0, lambda t: ad.linalg.cholesky(t) * w, lambda t: torch.linalg.cholesky(t) * torch.tensor(w)),
        (s0, lambda t: ad.linalg.eigh(t).eigenvalues ** 2, lambda t: torch.linalg.eigh(t).eigenvalues ** 2),
        (s0, lambda t: ad.linalg.eigh(t).eigenvectors ** 2, lambda t: torch.linalg.eigh(t).eigenvectors ** 2),
        (a0, lambda t: ad.linalg.svd(t, full_matrices=False).S, lambda t: torch.linalg.svdvals(t)),
        (a0, lambda t: ad.linalg.svd(t, full_matrices=False).U ** 2,
         lambda t: torch.linalg.svd(t, full_matrices=False).U ** 2),
        (a0, lambda t: ad.linalg.svd(t, full_matrices=False).Vh ** 2,
         lambda t: torch.linalg.svd(t, full_matrices=False).Vh ** 2),
        (a0, lambda t: ad.linalg.qr(t).R ** 2, lambda t: torch.linalg.qr(t).R ** 2),
        (a0, lambda t: ad.linalg.pinv(t) * 1.0, lambda t: torch.linalg.pinv(t)),
        (a0, lambda t: ad.linalg.norm(t, "nuc", (1, 2)), lambda t: torch.linalg.matrix_norm(t, "nuc")),
    ]
    for x, ours, theirs in cases:
        t = ad.Tensor(x, requires_grad=True)
        ours(t).sum().backward()
        tt = torch.tensor(x, requires_grad=True)
        theirs(tt).sum().backward()
        np.testing.assert_allclose(t.grad.numpy(), tt.grad.numpy(), rtol=1e-7, atol=1e-9)
    z = torch.zeros(3, requires_grad=True)
    torch.linalg.norm(z).backward()
    x = ad.Tensor(np.zeros(3), requires_grad=True)
    ad.linalg.norm(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), z.grad.numpy())


def test_linalg_demo_prints_what_the_readme_shows():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, str(root / "examples" / "linalg_demo.py")], capture_output=True, text=True,
                         cwd=root, timeout=120)
    assert out.returncode == 0, out.stderr
    readme = (root / "README.md").read_text()
    for line in out.stdout.splitlines():
        assert line in readme, line


def test_cond_multi_dot_vecdot_match_numpy_and_finite_differences():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3), rng.standard_normal(3)
    t = ad.Tensor(a)
    for p in (None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"):
        np.testing.assert_allclose(np.linalg.cond(t, p).numpy(), np.linalg.cond(a, p), rtol=1e-12)
        _check_first_order_fn(lambda x, p=p: ad.linalg.cond(x, p), [a])
    np.testing.assert_allclose(np.linalg.multi_dot([b, t[0], t[1], b]).numpy(), np.linalg.multi_dot([b, a[0], a[1], b]))
    np.testing.assert_allclose(np.linalg.vecdot(t, b).numpy(), np.linalg.vecdot(a, b))
    np.testing.assert_array_equal(np.linalg.matrix_transpose(t).numpy(), np.linalg.matrix_transpose(a))
    np.testing.assert_allclose(np.linalg.matmul(t, t).numpy(), np.linalg.matmul(a, a))
    with pytest.raises(TypeError, match="numpy.linalg.eig"):
        np.linalg.eig(t)



@pytest.mark.parametrize("name", ["inv", "det", "logabsdet", "solve", "trace", "pinv", "cholesky", "matrix_power"])
def test_sympy_forms_agree_with_the_rules(name):
    """The registry's SymPy forms, differentiated by SymPy, against autodiff's rules."""
    pytest.importorskip("sympy")
    for case in _cases(name, 2, seed=11):
        f, xs = case.partial(REGISTRY[name])
        w = np.random.default_rng(0).uniform(-1, 1, f(*[ad.Tensor(x) for x in xs]).shape)
        ad.check_against_sympy(lambda *t, f=f, w=w: (f(*t) * w).sum(), *xs)
