"""Every example runs (with tiny settings) so none of them rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_example(name: str, *args: str) -> str:
    out = subprocess.run([sys.executable, str(ROOT / "examples" / name), *args], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_quickstart_agrees_with_sympy():
    text = run_example("quickstart.py")
    assert "difference" in text and "autodiff  f'(1.5)     4.591777475" in text


def test_autodiff_tour_counts_the_notes_operations(tmp_path):
    text = run_example("autodiff_tour.py", "--out", str(tmp_path))
    assert "naive form          5 / 10" in text
    assert any(tmp_path.iterdir())
