"""The `autodiff` console script."""

import subprocess
import sys

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
