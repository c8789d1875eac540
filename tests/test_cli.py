"""The `autodiff` console script."""

import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, strategies as st

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
    (("graph", "gamma(x)", "--at", "x=1"), "unknown function gamma"),
    (("check", "x", "--samples", "2.5"), "invalid int value"),
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


def cli(capsys, *args):
    """Run the command in this process: (exit status, stdout, stderr, seconds)."""
    start = time.perf_counter()
    try:
        code = main(list(args))
    except SystemExit as e:  # argparse's own errors
        code = e.code
    elapsed = time.perf_counter() - start
    out = capsys.readouterr()
    return code, out.out, out.err, elapsed


def assert_one_line_error(code, err, message):
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args, message", [
    (("diff", "__import__('os').system('touch X')"), "attribute access ('.') not allowed"),
    (("check", "(lambda: __import__('os').system('touch X'))()"), "lambda not allowed"),
    (("graph", "open('X', 'w')"), "unknown function open"),
    (("diff", "x**(10**10**10)", "--at", "x=1"), "not a finite real float64 number"),
    (("check", "factorial(10**9)"), "unknown function factorial"),
    (("diff", "x + 10**10**8", "--at", "x=1"), "not a finite real float64 number"),
    (("diff", "1e999999999"), "too large for float64"),
    (("diff", "x", "--at", "x=nan"), "is not a finite number"),
    (("check", "x", "--samples", "0"), "--samples must be between 1 and"),
    (("check", "x", "--samples", str(10 ** 12)), "--samples must be between 1 and"),
    (("check", "x", "--low", "2", "--high", "1"), "--low (2) must be less than --high (1)"),
    (("check", "x", "--low=-inf"), "is not a finite number"),
    (("check", "3"), "no variables"),
])
def test_bad_input_is_refused_in_one_line_without_running_anything(capsys, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err, elapsed = cli(capsys, *args)
    assert_one_line_error(code, err, message)
    assert elapsed < 1.0
    assert list(tmp_path.iterdir()) == []  # no payload ran, nothing was written


def test_graph_into_a_missing_folder_is_one_line(capsys, tmp_path):
    target = tmp_path / "no" / "such" / "g.dot"
    code, _, err, _ = cli(capsys, "graph", "exp(x)", "--at", "x=1", "-o", str(target))
    assert_one_line_error(code, err, "does not exist")
    assert str(target.parent) in err


@pytest.mark.parametrize("text", ["Abs(x)", "abs(x)", "sign(x)", "relu(x)"])
def test_kinks_at_zero_use_the_engines_convention(capsys, text):
    # d/dx |x|, sign(x) and relu(x) at 0: the engine takes 0 (PyTorch's convention); SymPy's
    # derivative of real symbols gives sign(0) = 0, 0 and Heaviside(0, 0) = 0
    code, out, err, _ = cli(capsys, "diff", text, "--at", "x=0")
    assert code == 0, err
    lines = out.splitlines()
    assert float(next(line for line in lines if "autodiff" in line).split()[-1]) == 0.0
    assert lines[-1] == "agree"


def test_derivative_undefined_at_the_point_is_one_line(capsys):
    # d/dx sqrt(x) = 1/(2 sqrt(x)) is infinite at 0; log(x) is not real at -1
    code, _, err, _ = cli(capsys, "diff", "sqrt(x)", "--at", "x=0")
    assert_one_line_error(code, err, "d/dx is infinite or undefined there")
    code, _, err, _ = cli(capsys, "diff", "log(x)", "--at", "x=-1")
    assert_one_line_error(code, err, "f is not real there")


def test_diff_does_not_hang_on_huge_intermediate_values(capsys):
    code, _, err, elapsed = cli(capsys, "diff", "sin(exp(exp(x)))", "--at", "x=100")
    assert_one_line_error(code, err, "beyond 1e1000 in magnitude")
    assert elapsed < 5.0


def test_check_says_how_many_points_it_skipped_and_why(capsys):
    code, out, err, _ = cli(capsys, "check", "log(x) + sqrt(y)", "--samples", "12", "--seed", "3")
    draws = np.random.default_rng(3).uniform(-2.0, 2.0, size=(12, 2))  # the points, in the order drawn
    outside = int(np.sum((draws[:, 0] <= 0) | (draws[:, 1] <= 0)))
    inside = 12 - outside
    assert 0 < outside < 12
    lines = out.splitlines()
    assert f"skipped {outside} of 12 points outside the domain" in out
    assert "not real" in out
    assert lines[-1] == f"{2 * inside} passed, 0 failed"
    assert code == 0


def test_check_with_every_point_outside_the_domain_fails(capsys):
    code, out, _, _ = cli(capsys, "check", "log(x)", "--low", "-3", "--high", "-1", "--samples", "5")
    assert code == 1
    assert "skipped 5 of 5 points outside the domain" in out and out.splitlines()[-1] == "0 passed, 0 failed"


@given(st.text(max_size=80))
def test_fuzz_cli_never_a_traceback(text):
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["diff", "--", text])
        except SystemExit as e:  # argparse
            code = e.code
    assert time.perf_counter() - start < 5.0
    assert code in (0, 1, 2)
    if code == 2:
        assert len(err.getvalue().strip().splitlines()) == 1 and "Traceback" not in err.getvalue()


@pytest.mark.parametrize("text, at", [("sigmoid(x)", "x=-1000"), ("softplus(x)", "x=1000"), ("log1p(x)", "x=1e-12")])
def test_stable_functions_agree_far_out(capsys, text, at):
    code, out, err, _ = cli(capsys, "diff", text, "--at", at)
    assert code == 0 and out.splitlines()[-1] == "agree", out + err
