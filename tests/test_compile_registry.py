"""Every registry entry, jitted with its gradient, equals eager on fresh samples of one
structure: a rule or composite that decided on values at trace time (a mask, a branch, a
shift built from one call's data) shows up here as a compiled call that differs.

Each entry's sampler runs once recording its structural draws (shapes, axes, choices) and
then replays them with new values, so the jitted function sees one signature (one
compiled program) and several data sets. ``HYPOTHESIS_PROFILE=thorough`` (the project's
slow profile) draws more data sets per entry.
"""

import os

import numpy as np
import pytest

import autodiff as ad
from autodiff.primitive import REGISTRY
from autodiff.sampling import RandomDraw

CALLS = 8 if os.environ.get("HYPOTHESIS_PROFILE") == "thorough" else 4  # the third call on runs compiled code


class _Structure(RandomDraw):
    """A draw that records its structural choices (integers, shapes, hence choices) and
    replays them when given a script, while floats and booleans come fresh: the same case
    structure with new values."""

    def __init__(self, rng: np.random.Generator, script: list | None = None) -> None:
        super().__init__(rng)
        self.script = [] if script is None else script
        self.replaying = script is not None
        self.k = 0

    def _structural(self, make):
        if not self.replaying:
            v = make()
            self.script.append(v)
            return v
        if self.k >= len(self.script):
            raise LookupError("the sampler's structure depends on the values it drew")
        v = self.script[self.k]
        self.k += 1
        return v

    def integers(self, lo: int, hi: int) -> int:
        return self._structural(lambda: int(self.rng.integers(lo, hi + 1)))

    def shapes(self, n: int, min_dims: int = 0, max_dims: int = 3, max_side: int = 3) -> list[tuple[int, ...]]:
        return self._structural(lambda: RandomDraw(self.rng).shapes(n, min_dims, max_dims, max_side))


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and np.array_equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _cases(entry, seed: int):
    first = _Structure(np.random.default_rng(seed))
    cases = [entry.sample(first, np.float64)]
    for k in range(1, CALLS):
        cases.append(entry.sample(_Structure(np.random.default_rng(seed + 7919 * k), first.script), np.float64))
    return cases


def _problem(entry, case, order=1):
    """``value_and_grad`` of the loss sum(u * entry(...)) (``order=2``: of the gradient's
    dot product with fixed directions, a Hessian-vector product) as a function of the
    case's array arguments, and their positions; None when nothing is differentiable."""
    arrays = [k for k, a in enumerate(case.args) if isinstance(a, np.ndarray)]
    wrt = [arrays.index(k) for k in case.positions() if k in arrays]
    if not wrt:
        return None

    def call(*xs):
        args = list(case.args)
        for k, x in zip(arrays, xs, strict=True):
            args[k] = x
        return entry(*args, **case.params)

    with ad.no_grad():
        out = call(*[ad.Tensor(case.args[k]) for k in arrays])
    if not isinstance(out, ad.Tensor) or out.dtype.kind != "f":
        return None
    u = np.random.default_rng(1).uniform(0.5, 1.5, size=out.shape) * np.where(np.arange(out.size) % 2, 1, -1).reshape(
        out.shape)

    def loss(*xs):
        return (call(*xs) * u).sum()

    argnums = tuple(wrt)
    if order == 2:
        first = ad.grad(loss, argnums=argnums)
        vs = [np.random.default_rng(2).standard_normal(np.shape(case.args[arrays[k]])) for k in wrt]

        def directional(*xs):
            return sum((g * v).sum() for g, v in zip(first(*xs), vs, strict=True))

        return ad.value_and_grad(directional, argnums=argnums), arrays
    return ad.value_and_grad(loss, argnums=argnums), arrays


def _outcome(fn, args):
    try:
        value, grads = fn(*args)
    except Exception as e:  # eager's error must be the compiled call's error too
        return type(e), str(e)
    return np.asarray(value), [np.asarray(g) for g in grads]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_jitted_value_and_grad_equals_eager_on_fresh_samples(name, order):
    entry = REGISTRY[name]
    if entry.sample is None:
        pytest.skip("no sampler")
    if order == 2 and not entry.smooth:
        pytest.skip("not smooth: second order is not meaningful")
    try:
        cases = _cases(entry, seed=sorted(REGISTRY).index(name))
    except LookupError as e:
        pytest.skip(str(e))
    problem = _problem(entry, cases[0], order)
    if problem is None:
        pytest.skip("no differentiable array input or float output")
    fn, arrays = problem
    if not all(_same(c.params, cases[0].params) and [np.shape(c.args[k]) for k in arrays]
               == [np.shape(cases[0].args[k]) for k in arrays] for c in cases):
        pytest.skip("the sampler's structure depends on the values it drew")
    jitted = ad.jit(fn)
    compiled_calls = 0
    for k, case in enumerate(cases):
        args = [case.args[i] for i in arrays]
        want = _outcome(_problem(entry, case, order)[0], args)  # eager, with this case's own closure
        got = _outcome(jitted, args)
        compiled_calls += jitted.ran is not None
        if isinstance(want[0], type):
            assert got == want, f"call {k}: eager raised {want}, the jitted call gave {got}"
            continue
        assert not isinstance(got[0], type), f"call {k}: the jitted call raised {got}, eager did not"
        np.testing.assert_array_equal(got[0], want[0], err_msg=f"{name}: value of call {k}")
        for g, w in zip(got[1], want[1], strict=True):
            np.testing.assert_array_equal(g, w, err_msg=f"{name}: gradient of call {k}")
    assert compiled_calls, f"{name}: no call ran compiled code ({jitted.traces} traces)"
