"""Users' side of the proof: verify_primitive on an own primitive, check_grads on any
function, gradient_property as a one-line property test, the pytest fixtures, and the
``autodiff verify`` command (table, exit status, mutation score)."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
from autodiff.cli import main
from autodiff.primitive import REGISTRY
from autodiff.sampling import elementwise
from autodiff.testing import ProofError, check_grads, gradient_property, verify_primitive
from autodiff.testing.mutation import Mutant, installed
from autodiff.testing.pytest_plugin import (
    check_grads_fixture,  # noqa: F401  (a fixture)
    verify_primitive_fixture,  # noqa: F401
)


def _cube(rule):
    return ad.primitive(lambda x: x ** 3, name="user_cube").defvjp(rule)


def test_verify_primitive_passes_a_right_rule_and_uses_its_sympy_form():
    cube = _cube(lambda g, out, x: g * 3 * x ** 2)
    assert verify_primitive(cube, domain=(-2, 2)).summary()["sympy1"] == "skip"
    cube.defsympy(lambda sp, x: x ** 3)
    summary = verify_primitive(cube, domain=(-2, 2)).summary()
    assert set(summary.values()) == {"ok"}, summary


@pytest.mark.parametrize("rule,check", [
    (lambda g, out, x: g * 3.003 * x ** 2, "fd1"),  # 0.1% off
    (lambda g, out, x: g * 3 * x.detach() ** 2, "fd2"),  # right first derivative, no second
    (lambda g, out, x: -g * 3 * x ** 2, "fd1"),
])
def test_verify_primitive_names_the_failing_check(rule, check):
    with pytest.raises(ProofError, match=f"{check} failed"):
        verify_primitive(_cube(rule), domain=(-2, 2))


def test_verify_primitive_domains():
    log = ad.primitive(np.log, name="user_log").defvjp(lambda g, out, x: g / x)
    verify_primitive(log, domain=(0.5, 3))
    with pytest.raises(ProofError):  # log is not defined below 0: the proof must fail, not pass silently
        verify_primitive(log, domain=(-2, -1))
    hyp = ad.primitive(np.hypot, name="user_hypot").defvjp(lambda g, out, x, y: g * x / out,
                                                            lambda g, out, x, y: g * y / out)
    verify_primitive(hyp, domain=[(0.5, 2), (0.5, 2)])
    verify_primitive(hyp, domain=elementwise(0.5, 2, arity=2))
    with pytest.raises(TypeError, match="domain must be"):
        verify_primitive(hyp, domain="positive")


def test_check_grads_both_modes_and_orders():
    assert check_grads(lambda x, y: ad.sum(ad.tanh(x) * y ** 2), np.array([0.3, -1.0]), np.array([2.0, 0.5]))
    bad = ad.primitive(np.sin, name="user_sin").defvjp(lambda g, out, x: g * ad.cos(x).detach())
    check_grads(bad, np.array([0.3, 1.0]), order=1)  # the first derivative is right
    for modes in (("rev",), ("fwd",)):
        with pytest.raises(AssertionError, match="2: input 0"):
            check_grads(bad, np.array([0.3, 1.0]), modes=modes)
    with pytest.raises(ValueError, match="order"):
        check_grads(bad, np.array([0.3]), order=3)
    with pytest.raises(ValueError, match="modes"):
        check_grads(bad, np.array([0.3]), modes=("sideways",))


test_gradient_property_is_one_line = gradient_property(lambda x, y: ad.softplus(x) * ad.sin(y),
                                                       elementwise(-3, 3, arity=2))


def test_gradient_property_fails_on_a_wrong_rule():
    bad = ad.primitive(np.exp, name="user_exp").defvjp(lambda g, out, x: g * out * 1.001)
    from hypothesis import Phase, settings

    with pytest.raises(AssertionError):  # (no shrinking: the first draw already fails)
        settings(max_examples=3, phases=[Phase.generate])(gradient_property(bad, elementwise(-1, 1)))()


def test_pytest_fixtures(check_grads, verify_primitive):  # the plugin's fixtures
    assert check_grads(lambda x: ad.exp(x) * x, np.array([0.5, 1.0]))
    verify_primitive(REGISTRY["sin"])


def test_the_plugin_is_declared_for_pytest():
    from pathlib import Path

    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"autodiff": "autodiff.testing.pytest_plugin"}


def test_cli_verify_prints_a_table_and_exits_0(capsys):
    assert main(["verify", "sin", "maximum", "mean"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["name", "FD", "FD²", "SymPy"]
    assert out[1].split()[:8] == ["sin"] + ["ok"] * 7
    assert out[-1].startswith("3/3 entries proven")


def test_cli_verify_exits_1_and_names_a_wrong_rule(capsys):
    with installed(REGISTRY["exp"], Mutant("exp", 0, "scale")):
        assert main(["verify", "exp"]) == 1
    out = capsys.readouterr().out
    assert "exp: fd1:FAIL" in out and "0/1 entries proven" in out


def test_cli_verify_mutate_ends_with_the_score(capsys):
    assert main(["verify", "--mutate", "neg", "mul"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("mutation score: ") and last.split()[-1].split("/")[0] == last.split()[-1].split("/")[1]


def test_cli_verify_refuses_unknown_names(capsys):
    assert main(["verify", "no_such_op"]) == 2
    assert "no_such_op" in capsys.readouterr().err
    assert main(["verify", "--list"]) == 0
    assert "sin" in capsys.readouterr().out
