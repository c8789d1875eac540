"""The registry's proof for users' code: :func:`verify_primitive` for an own
``@ad.primitive``, :func:`check_grads` for any function.

>>> import numpy as np
>>> import autodiff as ad
>>> check_grads(lambda x: ad.sin(x) * x, np.array([0.5, 1.5]))
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..mode import no_grad
from ..sampling import Case, Sampler, elementwise
from ..tensor import Tensor
from .proof import ATOL, CHECKS, RTOL, CheckResult, ProofError, ProofReport, _arr, _compare, _Problem, prove


def _arity(fn: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty for p in params) or 1


def _sampler(prim: Any, domain: Any) -> Sampler:
    """The sampler a ``domain`` describes: a sampler itself, ``(lo, hi)`` for every input,
    or one ``(lo, hi)`` per input; None uses the primitive's own or [-3, 3]."""
    if callable(domain):
        sampler: Sampler = domain
        return sampler
    arity = _arity(prim.forward)
    if domain is None:
        return prim.sample or elementwise(arity=arity)
    bounds = list(domain)
    if len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds):
        return elementwise(bounds[0], bounds[1], arity=arity)
    if all(isinstance(b, (tuple, list)) and len(b) == 2 for b in bounds):
        return elementwise(bounds=[tuple(b) for b in bounds])
    raise TypeError(f"verify_primitive: domain must be a sampler, (lo, hi) or one (lo, hi) per input, got {domain!r}")


def verify_primitive(prim: Any, domain: Any = None, examples: int = 5, seed: int = 0,
                     checks: Sequence[str] = CHECKS) -> ProofReport:
    """Run the library's whole proof on a user's primitive: its gradient against finite
    differences and (when it has a SymPy form, see ``prim.defsympy``) against SymPy, to
    second order; forward mode against reverse mode; float32 kept; inputs not mutated.
    ``domain`` says where to test: ``(lo, hi)``, one ``(lo, hi)`` per input, or a sampler
    from ``autodiff.sampling``. Returns the report; raises :class:`ProofError` on failure.

    >>> import numpy as np
    >>> import autodiff as ad
    >>> cube = ad.primitive(lambda x: x ** 3, name="my_cube")
    >>> cube = cube.defvjp(lambda g, out, x: g * 3 * x ** 2)
    >>> print(verify_primitive(cube, domain=(-2, 2)))  # doctest: +ELLIPSIS
    my_cube: fd1:ok  fd2:ok  sympy1:skip  sympy2:skip  fwd_rev:ok  float32:ok  no_mutation:ok ...
    """
    report = prove(prim, examples=examples, seed=seed, checks=checks, sample=_sampler(prim, domain))
    return report.raise_if_failed()


def _shifted(xs: list[np.ndarray], vs: list[np.ndarray], eps: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [x + eps * v for x, v in zip(xs, vs, strict=True)], [x - eps * v for x, v in zip(xs, vs, strict=True)]


def _fwd(p: _Problem, order: int, eps: float, rtol: float, atol: float) -> list[CheckResult]:
    from ..transforms import jvp, vjp

    up, down = _shifted(p.xs, p.v, eps)
    with no_grad():
        hi, lo = _arr(p.call(*[Tensor(x) for x in up])), _arr(p.call(*[Tensor(x) for x in down]))
    _, jv = jvp(p.call, tuple(p.xs), tuple(p.v))
    out = [_compare("fwd1", [_arr(jv)], [(hi - lo) / (2 * eps)], rtol, atol, ["J v"])]
    if order >= 2:
        def grad(*xs: Any) -> Any:
            return vjp(p.call, *xs)[1](p.u)

        _, hv = jvp(grad, tuple(p.xs), tuple(p.v))
        fd = [(a - b) / (2 * eps) for a, b in zip(p.grad_arrays(up), p.grad_arrays(down), strict=True)]
        out.append(_compare("fwd2", [_arr(h) for h in hv], fd, rtol, atol, p.names))
    return out


def check_grads(f: Callable[..., Any], *args: Any, order: int = 2, modes: Sequence[str] = ("fwd", "rev"),
                eps: float = 1e-6, rtol: float = RTOL, atol: float = ATOL, seed: int = 0) -> bool:
    """Check the derivatives of ``f`` at ``args`` up to ``order`` (1 or 2) against central
    finite differences in float64, in forward mode (``jvp``, and ``jvp`` of the gradient)
    and reverse mode (``vjp``, and reverse over reverse), along random directions, as
    JAX's ``check_grads``. Returns True; raises ``AssertionError`` naming what differs.
    """
    if order not in (1, 2):
        raise ValueError(f"check_grads: order must be 1 or 2, got {order}")
    unknown = set(modes) - {"fwd", "rev"}
    if unknown or not modes:
        raise ValueError(f"check_grads: modes must be a non-empty subset of ('fwd', 'rev'), got {modes!r}")
    values = [np.array(_arr(a), dtype=np.float64) if np.asarray(_arr(a)).dtype.kind in "fiu" else a for a in args]
    p = _Problem(f, Case(values), np.random.default_rng(seed))
    if not p.wrt:
        raise ValueError("check_grads: f has no floating-point argument to differentiate")
    results: list[CheckResult] = []
    if "rev" in modes:
        from .proof import _central

        results.append(_compare("rev1", p.grad_arrays(p.xs), _central(p.loss_value, p.xs, eps), rtol, atol, p.names))
        if order >= 2:
            results.append(_compare("rev2", p.hvp(), _central(p.gv_value, p.xs, eps), rtol, atol, p.names))
    if "fwd" in modes:
        results += _fwd(p, order, eps, rtol, atol)
    failed = [r for r in results if r.status == "fail"]
    if failed:
        raise ProofError("check_grads: " + "; ".join(f"{r.check}: {r.detail}" for r in failed))
    return True


def gradient_property(f: Callable[..., Any], sample: Sampler, order: int = 2,
                      modes: Sequence[str] = ("fwd", "rev")) -> Callable[..., None]:
    """A Hypothesis property test in one line: ``check_grads(f, ...)`` on inputs that
    ``sample`` (an ``autodiff.sampling`` sampler) draws. Assign it to a ``test_`` name
    in a test module and pytest collects it (needs the ``dev`` extra).

    >>> import autodiff as ad
    >>> from autodiff.sampling import elementwise
    >>> test_softplus_times_x = gradient_property(lambda x: ad.softplus(x) * x, elementwise(-3, 3))
    >>> test_softplus_times_x()
    """
    from hypothesis import given, strategies as st

    from .draws import HypothesisDraw

    @given(st.data())
    def test(data: Any) -> None:
        case = sample(HypothesisDraw(data), np.float64)
        check_grads(lambda *xs: f(*xs, **case.params), *case.args, order=order, modes=modes)

    test.__name__ = f"test_gradients_of_{getattr(f, '__name__', 'f')}"
    return test


__all__ = ["check_grads", "gradient_property", "verify_primitive"]
