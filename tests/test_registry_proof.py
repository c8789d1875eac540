"""The registry proves itself: every primitive and composite passes the proof
(FD and SymPy to second order, forward = reverse, float32, no mutation) on
Hypothesis-drawn cases, every entry carries what the proof needs, and the proof kills
every mutant of every rule (mutation score 100%)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
from autodiff.primitive import REGISTRY, Composite, Primitive
from autodiff.testing.draws import HypothesisDraw
from autodiff.testing.mutation import Mutant, installed, run_mutation
from autodiff.testing.proof import CHECKS, prove_case

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
EXAMPLES = 60 if THOROUGH else 3  # drawn cases per entry (derandomized in CI)


@pytest.mark.parametrize("name", sorted(REGISTRY))
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_every_registered_entry_is_proven(name, data):
    entry = REGISTRY[name]
    case = entry.sample(HypothesisDraw(data), np.float64)
    results = prove_case(entry, case)
    failures = [f"{r.check}: {r.detail}" for r in results if r.status == "fail"]
    assert not failures, f"{name} at {case}: " + "; ".join(failures)


# NumPy's names for the table's arithmetic
NUMPY_NAME = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide", "neg": "negative",
              "pow": "power", "clip": None, "astype": None, "getitem": None, "scatter": None}


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if hasattr(np, NUMPY_NAME.get(n, n) or "-")))
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_forward_equals_numpy_where_numpy_has_the_function(name, data):
    entry, fn = REGISTRY[name], getattr(np, NUMPY_NAME.get(name, name))
    case = entry.sample(HypothesisDraw(data), np.float64)
    try:
        want = fn(*case.args, **case.params)
    except TypeError:  # NumPy names this function's parameters differently
        pytest.skip(f"np.{fn.__name__} takes other parameters")
    got = entry(*[ad.Tensor(a) if isinstance(a, np.ndarray) else a for a in case.args], **case.params)
    np.testing.assert_allclose(np.asarray(got.numpy()), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_entry_carries_what_its_proof_needs(name):
    entry = REGISTRY[name]
    assert entry.sample is not None, f"{name}: no sampler (sample=...)"
    if isinstance(entry, Primitive):
        has_form = entry.sympy is not None or entry.sympy_array is not None
        assert has_form or entry.no_sympy, f"{name}: neither a SymPy form nor a reason it has none (no_sympy=...)"
        assert type(entry).__doc__ and "d/d" in type(entry).__doc__, f"{name}: its doc does not give its derivative"
    else:
        assert isinstance(entry, Composite) and entry.fn.__doc__, f"{name}: a composite without a docstring"


def test_every_primitive_the_package_exposes_is_registered():
    import autodiff.primitives as P

    for module in (ad, P):
        for attr, value in vars(module).items():
            if isinstance(value, Primitive):
                assert REGISTRY.get(value.name) is value, f"{module.__name__}.{attr} is not in the registry"


def test_a_name_is_registered_once():
    from autodiff.primitive import defprim

    with pytest.raises(ValueError, match="already registered"):
        defprim("exp", np.exp, lambda g, z, x: g * z, sympy=lambda sp, x: sp.exp(x), doc="again")
    with pytest.raises(ValueError, match="built-in primitive autodiff.tanh"):
        ad.primitive(np.tanh, name="tanh")


@pytest.mark.parametrize("kind", ["scale", "sign", "zeros", "detach", "swap"])
def test_the_proof_fails_on_a_wrong_rule(kind):
    """Each mutant kind makes the proof fail on mul (both inputs differentiable, smooth)."""
    mul = REGISTRY["mul"]
    case = mul.sample(ad.sampling.RandomDraw(np.random.default_rng(3)), np.float64)
    with installed(mul, Mutant("mul", 0, kind)):
        results = prove_case(mul, case)
    failed = {r.check for r in results if r.status == "fail"}
    assert failed, f"{kind} survived"
    if kind == "detach":  # only the second derivative is wrong
        assert failed <= {"fd2", "sympy2"}, failed


# The CI subset: one primitive of every family; the whole table is `autodiff verify --mutate`
# (and runs here under HYPOTHESIS_PROFILE=thorough).
MUTATION_SUBSET = ["mul", "div", "pow", "exp", "tanh", "sigmoid", "maximum", "where", "clip", "matmul", "linear",
                   "sum", "max", "softmax", "log_softmax", "getitem", "concatenate", "stack", "einsum", "transpose"]


def test_mutation_score_is_100_percent():
    names = [n for n, e in REGISTRY.items() if isinstance(e, Primitive)] if THOROUGH else MUTATION_SUBSET
    report = run_mutation(names)
    assert report.total > 5 * len(names)
    assert not report.survived, str(report)


def test_checks_are_the_documented_ones():
    assert CHECKS == ("fd1", "fd2", "sympy1", "sympy2", "fwd_rev", "float32", "no_mutation")


def test_the_readme_lists_exactly_the_registry():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("gen_registry", root / "docs" / "gen_registry.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.block() in (root / "README.md").read_text(), \
        "README's function list differs from the registry: run python docs/gen_registry.py"
