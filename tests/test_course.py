"""The course scripts (examples/course/): their worked numbers against the notes' printed
values (independent closed forms here), each --quick run as a smoke test, and the
README's "Course reproduced" table regenerated and compared (run_all --check --quick)."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "examples" / "course"


def course(name: str):
    if str(COURSE) not in sys.path:
        sys.path.insert(0, str(COURSE))
    return importlib.import_module(name)


def rows_by_item(rows):
    return {r.item: r for r in rows}


def test_note000_quick(tmp_path):
    rows = rows_by_item(course("note000_temperature").main(["--quick", "--out", str(tmp_path)]))
    assert rows["Leaky ReLU(α = 0.01) at -10"].ours == pytest.approx(-0.1)
    assert rows["g(f(x)) for f = 2x + 5, g = 8x − 3"].ours == "16x + 37"


def test_note001_worked_pass_and_gradients(tmp_path):
    rows = rows_by_item(course("note001_font_colour").main(["--out", str(tmp_path)]))
    assert rows["Figure 7-10: A2"].ours == pytest.approx(0.954254478103241, abs=1e-15)
    assert rows["Figure 7-10: A2"].ours == pytest.approx(1 / (1 + math.exp(-3.0378364795204)), abs=1e-13)
    assert rows["dC/dW_hidden: max |ours − finite differences|"].ours == "< 1e-8"
    assert rows["dC/dW_hidden: max |notes' formula − finite differences|"].ours > 0.1


def test_note002_coffee_roasting(tmp_path):
    rows = rows_by_item(course("note002_coffee_roasting").main(["--out", str(tmp_path)]))
    assert rows["coffee roasting: a2"].ours == pytest.approx(1 / (1 + math.exp(-5.0)), abs=1e-12)
    assert round(rows["coffee roasting: a2"].ours, 5) == 0.99331


def test_note003_quick(tmp_path):
    pytest.importorskip("sklearn")
    rows = rows_by_item(course("note003_lecture").main(["--quick", "--out", str(tmp_path)]))
    assert rows["x(1 + b)/d: forward ops / gradient program ops"].ours.startswith("3 / ")
    assert rows["perceptron on AND: rule / gradient"].ours.startswith("100% / ")


def test_note004_quick(tmp_path):
    rows = rows_by_item(course("note004_ladder").main(["--quick", "--out", str(tmp_path)]))
    assert rows["hidden units √(N_i · N_o)"].ours == pytest.approx(math.sqrt(7840))
    assert rows["softmax([5, 3, 2])"].ours == "[0.844, 0.114, 0.042]"


def test_readme_course_table_is_what_run_all_writes():
    pytest.importorskip("sklearn")
    out = subprocess.run([sys.executable, str(COURSE / "run_all.py"), "--check", "--quick"], capture_output=True,
                         text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
