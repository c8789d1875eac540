"""The `autodiff` console script."""

import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
from autodiff.cli import main


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as e:
        assert e.code == 0
    assert ad.__version__ in capsys.readouterr().out


def test_help_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "autodiff.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: autodiff" in out.stdout


def run(*args):
    return subprocess.run([sys.executable, "-m", "autodiff.cli", *args], capture_output=True, text=True)


def test_diff_prints_value_gradient_and_sympy_derivative():
    out = run("diff", "sqrt(x**2 + exp(x**2))", "--at", "x=1.5")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    auto = float(next(line for line in lines if "autodiff" in line).split()[-1])
    exact = 1.5 * (np.exp(2.25) + 1) / np.sqrt(2.25 + np.exp(2.25))  # the derivative by hand
    assert auto == pytest.approx(exact, rel=1e-11)
    assert "exp(x**2)" in next(line for line in lines if "SymPy" in line)
    assert lines[-1] == "agree"


def test_check_prints_table_and_counts():
    out = run("check", "x*sin(y) + tanh(x*y)", "--samples", "4")
    assert out.returncode == 0, out.stderr
    assert sum(line.endswith("  pass") for line in out.stdout.splitlines()) == 8
    assert out.stdout.splitlines()[-1] == "8 passed, 0 failed"


def test_graph_listing_and_files(tmp_path):
    out = run("graph", "exp(x**2)", "--at", "x=1")
    assert out.returncode == 0 and "= exp %2" in out.stdout
    dot = tmp_path / "g.dot"
    assert run("graph", "exp(x**2)", "--at", "x=1", "-o", str(dot)).returncode == 0
    assert dot.read_text().startswith("digraph")


@pytest.mark.parametrize("args, message", [
    (("diff", "x +", "--at", "x=1"), "cannot parse"),
    (("diff", "foo(x)", "--at", "x=1"), "unknown function foo"),
    (("diff", "x*y", "--at", "x=1"), "missing --at value for y"),
    (("diff", "x", "--at", "x=one"), "is not a number"),
    (("graph", "gamma(x)", "--at", "x=1"), "unsupported SymPy function 'gamma'"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_each_subcommand_has_help():
    for sub in ("diff", "check", "graph"):
        out = run(sub, "--help")
        assert out.returncode == 0 and f"usage: autodiff {sub}" in out.stdout
