"""The proof every registry entry passes: its derivatives checked against independent
references on inputs its own sampler draws.

For one entry (a primitive or a composite) and one drawn :class:`~autodiff.sampling.Case`:

- ``fd1``: the gradient of ``sum(u * f(x))`` (random ``u``) against central finite
  differences in float64;
- ``fd2``: the Hessian-vector product (reverse over reverse) against finite differences of
  the first-order gradient (smooth entries only);
- ``sympy1``/``sympy2``: the same two quantities against SymPy, which differentiates the
  entry traced on element symbols, evaluated at the drawn point;
- ``fwd_rev``: the dot-product test ``<u, J v>`` by ``jvp`` equals ``<Jᵀu, v>`` by ``vjp``;
- ``float32``: float32 inputs give float32 values and gradients, close to float64's;
- ``no_mutation``: forward and backward leave the inputs unchanged, and no gradient shares
  memory with an input or with the upstream gradient.

>>> from autodiff.primitive import REGISTRY
>>> print(prove(REGISTRY["exp"]).ok)
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import gradients
from ..mode import no_grad
from ..sampling import Case, Draw, RandomDraw
from ..tensor import Tensor

CHECKS = ("fd1", "fd2", "sympy1", "sympy2", "fwd_rev", "float32", "no_mutation")
RTOL, ATOL = 1e-5, 1e-6  # float64 against central differences with eps = 1e-6
SYMPY_RTOL, SYMPY_ATOL = 1e-8, 1e-10  # float64 against SymPy's exact derivative, evaluated numerically
F32_TOL = 2e-3  # float32 carries ~7 digits
SYMPY_MAX_ELEMENTS = 36  # larger cases skip the symbolic checks (their expressions grow quadratically)
SYMPY2_MAX_ELEMENTS = 12  # second order differentiates every first derivative again


class ProofError(AssertionError):
    """A registry entry or a user's function failed its proof; the message is the report."""


@dataclass
class CheckResult:
    """One check on one case: ``status`` is "pass", "fail" or "skip"; ``error`` the largest
    excess over the tolerance's reference scale (0 when exact); ``detail`` why it failed or skipped."""

    check: str
    status: str
    error: float = 0.0
    detail: str = ""


@dataclass
class ProofReport:
    """The results of every check on every drawn case of one entry."""

    name: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no check failed."""
        return all(r.status != "fail" for r in self.results)

    def summary(self) -> dict[str, str]:
        """Per check: "ok", "FAIL" or "skip" (a check passes when it passed on every case)."""
        out = {}
        for check in CHECKS:
            rs = [r for r in self.results if r.check == check]
            if any(r.status == "fail" for r in rs):
                out[check] = "FAIL"
            elif any(r.status == "pass" for r in rs):
                out[check] = "ok"
            else:
                out[check] = "skip"
        return out

    def max_error(self) -> float:
        """The largest relative error seen by a passing or failing numeric check."""
        return max((r.error for r in self.results if r.status != "skip"), default=0.0)

    def failures(self) -> list[CheckResult]:
        """The failed checks."""
        return [r for r in self.results if r.status == "fail"]

    def __str__(self) -> str:
        marks = "  ".join(f"{k}:{v}" for k, v in self.summary().items())
        lines = [f"{self.name}: {marks}  max rel error {self.max_error():.1e}"]
        lines += [f"  {r.check} failed: {r.detail}" for r in self.failures()]
        skipped = {r.detail for r in self.results if r.status == "skip" and r.detail}
        lines += [f"  skipped: {d}" for d in sorted(skipped)]
        return "\n".join(lines)

    def raise_if_failed(self) -> ProofReport:
        """Raise :class:`ProofError` with the report when a check failed; else return self."""
        if not self.ok:
            raise ProofError(str(self))
        return self


# ----------------------------------------------------------------- helpers
def _arr(x: Any) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _compare(check: str, got: Sequence[np.ndarray], want: Sequence[np.ndarray], rtol: float, atol: float,
             names: Sequence[str]) -> CheckResult:
    """Pass when every ``|got - want| <= atol + rtol |want|``; the error is relative to ``want``'s scale."""
    worst, detail = 0.0, ""
    for name, g, w in zip(names, got, want, strict=True):
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        if g.shape != w.shape:
            return CheckResult(check, "fail", np.inf, f"{name}: shape {g.shape}, expected {w.shape}")
        if not np.all(np.isfinite(g) == np.isfinite(w)):
            return CheckResult(check, "fail", np.inf, f"{name}: non-finite values differ ({g} vs {w})")
        fin = np.isfinite(w)
        if not fin.any():
            continue
        diff = np.abs(g[fin] - w[fin])
        scale = atol + rtol * np.abs(w[fin])
        rel = float(np.max(diff / (atol / rtol + np.abs(w[fin]))))
        if rel > worst:
            worst = rel
        if np.any(diff > scale):
            i = int(np.argmax(diff - scale))
            detail = f"{name}: got {g[fin][i]:.10g}, expected {w[fin][i]:.10g} (rtol={rtol}, atol={atol})"
            return CheckResult(check, "fail", rel, detail)
    return CheckResult(check, "pass", worst)


def _central(fun: Callable[[list[np.ndarray]], float], xs: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of a scalar function of float64 arrays."""
    xs = [np.array(x, dtype=np.float64, order="C") for x in xs]
    grads = []
    for x in xs:
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps
            up = fun(xs)
            flat[i] = old - eps
            down = fun(xs)
            flat[i] = old
            gflat[i] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


class _Problem:
    """One entry at one case: the function of the differentiated arguments alone."""

    def __init__(self, entry: Any, case: Case, rng: np.random.Generator) -> None:
        self.entry, self.case = entry, case
        self.wrt = case.positions()
        self.xs = [np.asarray(case.args[k]) for k in self.wrt]
        self.names = [f"input {k}" for k in self.wrt]
        with no_grad():
            out = self.call(*[Tensor(x) for x in self.xs])
        self.out_dtype = _arr(out).dtype
        self.u = rng.uniform(0.5, 1.5, size=np.shape(out)) * rng.choice([-1.0, 1.0], size=np.shape(out))
        self.v = [rng.standard_normal(np.shape(x)) for x in self.xs]

    def call(self, *diff: Any) -> Any:
        return self.case.partial(self.entry)[0](*diff)

    # The loss sum(u * f(x)) and <grad, v> are seeded as grad_outputs, never built from
    # mul/sum nodes: a mutated mul or sum rule must only change the entry under test.
    def grad(self, xs: Sequence[np.ndarray], create_graph: bool = False) -> tuple[list[Tensor], list[Tensor]]:
        ts = [Tensor(x, requires_grad=True) for x in xs]
        out = self.call(*ts)
        if not isinstance(out, Tensor) or not out.requires_grad:
            return ts, [Tensor(np.zeros_like(x)) for x in xs]
        u = self.u.astype(out.dtype)
        gs = gradients(out, ts, grad_outputs=[u], create_graph=create_graph)
        return ts, [g if g is not None else Tensor(np.zeros_like(x)) for g, x in zip(gs, xs, strict=True)]

    def grad_arrays(self, xs: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [np.array(g._data) for g in self.grad(xs)[1]]

    def loss_value(self, xs: Sequence[np.ndarray]) -> float:
        with no_grad():
            return float(np.sum(self.u * _arr(self.call(*[Tensor(x) for x in xs]))))

    def gv_value(self, xs: Sequence[np.ndarray]) -> float:
        return float(sum(np.sum(g * v) for g, v in zip(self.grad_arrays(xs), self.v, strict=True)))

    def hvp(self) -> list[np.ndarray]:
        ts, gs = self.grad(self.xs, create_graph=True)
        live = [(g, v.astype(g.dtype)) for g, v in zip(gs, self.v, strict=True) if g.requires_grad]
        if not live:
            return [np.zeros_like(x) for x in self.xs]
        hs = gradients([g for g, _ in live], ts, grad_outputs=[v for _, v in live])
        return [np.array(_arr(h)) if h is not None else np.zeros_like(x) for h, x in zip(hs, self.xs, strict=True)]


# ------------------------------------------------------------------ checks
def _fd1(p: _Problem) -> CheckResult:
    return _compare("fd1", p.grad_arrays(p.xs), _central(p.loss_value, p.xs), RTOL, ATOL, p.names)


def _fd2(p: _Problem) -> CheckResult:
    return _compare("fd2", p.hvp(), _central(p.gv_value, p.xs), RTOL, ATOL, p.names)


def _symbolic(p: _Problem) -> tuple[Any, list[np.ndarray], dict[Any, float]]:
    """The loss as a SymPy expression of one symbol per differentiated element, those
    symbols, and the drawn values."""
    import sympy as sp

    from ..symbolic import to_object_array

    ts = [Tensor(x, requires_grad=True, name=f"a{k}") for k, x in zip(p.wrt, p.xs, strict=True)]
    out = p.call(*ts)
    (arr,), leaves = to_object_array(out, inputs=ts)
    u = np.vectorize(lambda c: sp.Float(float(c), 30), otypes=[object])(p.u)
    expr = sp.Add(*[a * b for a, b in zip(np.broadcast_to(arr, u.shape).reshape(-1), u.reshape(-1), strict=True)])
    symbols = [leaves[t] for t in ts]
    values = {s: float(v) for t, syms in zip(ts, symbols, strict=True)
              for s, v in zip(syms.reshape(-1), t._data.reshape(-1), strict=True)}
    return expr, symbols, values


def _evaluate(exprs: list[Any], values: dict[Any, float]) -> np.ndarray:
    """The expressions at the drawn point: symbols replaced by 30-digit Floats, then
    evaluated (no code generation: piecewise forms stay cheap)."""
    import sympy as sp

    subs = {s: sp.Float(v, 30) for s, v in values.items()}
    return np.array([float(sp.N(e.xreplace(subs), 20)) for e in exprs], dtype=np.float64)


def _sympy_checks(p: _Problem, order: int) -> list[CheckResult]:
    from ..symbolic import sympy_derivative

    expr, symbols, values = _symbolic(p)
    flat = [list(s.reshape(-1)) for s in symbols]
    firsts = [[sympy_derivative(expr, s) for s in syms] for syms in flat]
    got1 = p.grad_arrays(p.xs)
    want1 = [_evaluate(d, values).reshape(np.shape(x)) for d, x in zip(firsts, p.xs, strict=True)]
    results = [_compare("sympy1", got1, want1, SYMPY_RTOL, SYMPY_ATOL, p.names)]
    if order >= 2:
        import sympy as sp

        gv = sp.Add(*[d * sp.Float(float(v), 30) for ds, vs in zip(firsts, p.v, strict=True)
                      for d, v in zip(ds, vs.reshape(-1), strict=True)])
        want2 = [_evaluate([sympy_derivative(gv, s) for s in syms], values).reshape(np.shape(x))
                 for syms, x in zip(flat, p.xs, strict=True)]
        results.append(_compare("sympy2", p.hvp(), want2, SYMPY_RTOL, SYMPY_ATOL, p.names))
    return results


def _sympy_reason(entry: Any) -> str | None:
    """Why an entry cannot be checked against SymPy (None when it can)."""
    if getattr(entry, "sympy", None) is not None or getattr(entry, "sympy_array", None) is not None:
        return None
    return getattr(entry, "no_sympy", None) if hasattr(entry, "no_sympy") else None


def _fwd_rev(p: _Problem) -> CheckResult:
    from ..transforms import jvp, vjp

    out, jv = jvp(p.call, tuple(p.xs), tuple(p.v))
    jtu = vjp(p.call, *p.xs)[1](p.u)
    lhs = float(np.sum(p.u * _arr(jv)))
    rhs = float(sum(np.sum(_arr(g) * v) for g, v in zip(jtu, p.v, strict=True)))
    return _compare("fwd_rev", [np.array(lhs)], [np.array(rhs)], 1e-9, 1e-10, ["<u, Jv> vs <Jᵀu, v>"])


def _float32(p: _Problem) -> CheckResult:
    xs32 = [x.astype(np.float32) for x in p.xs]
    args = list(p.case.args)
    for k, x in zip(p.wrt, xs32, strict=True):
        args[k] = x
    p32 = _Problem.__new__(_Problem)
    p32.entry, p32.case, p32.wrt, p32.xs, p32.names, p32.u, p32.v = (
        p.entry, Case(args, p.case.params, p.case.wrt), p.wrt, xs32, p.names, p.u, p.v)
    with no_grad():
        out32, out64 = _arr(p32.call(*[Tensor(x) for x in xs32])), _arr(p.call(*[Tensor(x) for x in p.xs]))
    want = np.dtype(p.case.params["dtype"]) if "dtype" in p.case.params else (
        np.dtype(np.float32) if out64.dtype == np.float64 else out64.dtype)
    if out32.dtype != want:
        return CheckResult("float32", "fail", np.inf, f"float32 inputs gave a {out32.dtype} value, expected {want}")
    grads = p32.grad_arrays(xs32)
    for name, g in zip(p.names, grads, strict=True):
        if g.dtype != np.float32:
            return CheckResult("float32", "fail", np.inf, f"{name}: float32 input got a {g.dtype} gradient")
    scale = [np.abs(g).max(initial=1.0) for g in p.grad_arrays(p.xs)]
    vals = _compare("float32", [out32], [out64], F32_TOL, F32_TOL * np.abs(out64).max(initial=1.0), ["value"])
    if vals.status == "fail":
        return vals
    return _compare("float32", grads, p.grad_arrays(p.xs), F32_TOL, F32_TOL * max(scale), p.names)


def _no_mutation(p: _Problem) -> CheckResult:
    args = [np.array(a) if isinstance(a, np.ndarray) else a for a in p.case.args]
    before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    ts = {k: Tensor(args[k], requires_grad=True) for k in p.wrt}
    call_args = [ts.get(k, a) for k, a in enumerate(args)]
    out = p.entry(*call_args, **p.case.params)
    u = np.array(p.u, dtype=_arr(out).dtype)
    u_before = u.copy()
    grads = gradients(out, [ts[k] for k in p.wrt], grad_outputs=[u]) if out.requires_grad else [None] * len(p.wrt)
    for k, (a, b) in enumerate(zip(args, before, strict=True)):
        if b is not None and not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
            return CheckResult("no_mutation", "fail", np.inf, f"input {k} was modified by forward or backward")
    if not np.array_equal(u, u_before):
        return CheckResult("no_mutation", "fail", np.inf, "the upstream gradient was modified by backward")
    for k, g in zip(p.wrt, grads, strict=True):
        if g is None:
            continue
        for j, a in enumerate([*args, u]):
            if isinstance(a, np.ndarray) and np.shares_memory(g._data, a):
                what = "the upstream gradient" if j == len(args) else f"input {j}"
                return CheckResult("no_mutation", "fail", np.inf,
                                   f"the gradient of input {k} shares memory with {what}")
    return CheckResult("no_mutation", "pass")


# ------------------------------------------------------------------- prove
def _run(check: str, fn: Callable[[], Any]) -> list[CheckResult]:
    try:
        r = fn()
    except Exception as e:  # a check that raises fails, naming the error
        return [CheckResult(check, "fail", np.inf, f"{type(e).__name__}: {e}")]
    return r if isinstance(r, list) else [r]


def prove_case(entry: Any, case: Case, checks: Sequence[str] = CHECKS, seed: int = 0) -> list[CheckResult]:
    """Run ``checks`` on one drawn case of ``entry`` (float64 arguments)."""
    rng = np.random.default_rng(seed)
    try:
        p = _Problem(entry, case, rng)
    except Exception as e:
        return [CheckResult("fd1", "fail", np.inf, f"the forward raised {type(e).__name__}: {e}")]
    if not p.wrt or p.out_dtype.kind != "f":
        return [CheckResult(c, "skip", 0.0, "no differentiable input or output") for c in checks]
    smooth = getattr(entry, "smooth", True)
    out: list[CheckResult] = []
    for check in checks:
        if check in ("fd2", "sympy2") and not smooth:
            out.append(CheckResult(check, "skip", 0.0, "not smooth: second order is not checked"))
        elif check == "fd1":
            out += _run(check, lambda: _fd1(p))
        elif check == "fd2":
            out += _run(check, lambda: _fd2(p))
        elif check in ("sympy1", "sympy2"):
            if check == "sympy2" and "sympy1" in checks:
                continue  # computed together with sympy1
            out += _sympy(p, entry, 2 if smooth and "sympy2" in checks else 1)
        elif check == "fwd_rev":
            out += _run(check, lambda: _fwd_rev(p))
        elif check == "float32":
            out += _run(check, lambda: _float32(p))
        elif check == "no_mutation":
            out += _run(check, lambda: _no_mutation(p))
        else:
            raise ValueError(f"prove: unknown check {check!r}; the checks are {', '.join(CHECKS)}")
    return out


def _sympy(p: _Problem, entry: Any, order: int) -> list[CheckResult]:
    names = ["sympy1", "sympy2"][:order]
    reason = _sympy_reason(entry)
    if reason is not None:
        return [CheckResult(c, "skip", 0.0, f"no SymPy form: {reason}") for c in names]
    size = sum(x.size for x in p.xs)
    if size > SYMPY_MAX_ELEMENTS:
        return [CheckResult(c, "skip", 0.0, "case too large for SymPy") for c in names]
    skipped = []
    if order == 2 and size > SYMPY2_MAX_ELEMENTS:
        order, skipped = 1, [CheckResult("sympy2", "skip", 0.0, "case too large for SymPy's second order")]
    try:
        return _sympy_checks(p, order) + skipped
    except NotImplementedError as e:  # a composite over a primitive without a SymPy form
        return [CheckResult(c, "skip", 0.0, str(e)) for c in names]
    except Exception as e:
        return [CheckResult(names[0], "fail", np.inf, f"{type(e).__name__}: {e}")]


def prove(entry: Any, draw: Draw | None = None, examples: int = 6, seed: int = 0,
          checks: Sequence[str] = CHECKS, sample: Callable[..., Case] | None = None) -> ProofReport:
    """Run the proof on ``examples`` cases of a registry entry (or a user's primitive),
    drawn by ``sample`` (default: the entry's own) from ``draw`` (default: a Generator
    seeded with ``seed``)."""
    sample = sample or getattr(entry, "sample", None)
    if sample is None:
        raise ValueError(f"prove: {entry!r} has no sampler (give it sample=... to say where it is tested)")
    draw = draw or RandomDraw(np.random.default_rng(seed))
    report = ProofReport(getattr(entry, "name", getattr(entry, "__name__", repr(entry))))
    for k in range(examples):
        case = sample(draw, np.float64)
        report.results += prove_case(entry, case, checks, seed + k)
    return report


__all__ = ["CHECKS", "CheckResult", "ProofError", "ProofReport", "prove", "prove_case"]
