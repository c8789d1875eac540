"""Every example runs (with tiny settings) so none of them rots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

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
    assert "reverse mode from the first adjoint (both 4.5917774751)" in text
    assert "reverse mode, grad(f)" in text and "forward mode, jvp(f, (x,), (1,))" in text
    assert any(tmp_path.iterdir())


def load_example(name: str):
    """Import examples/<name>.py as a module (its folder on sys.path for `common`)."""
    import importlib.util

    folder = str(ROOT / "examples")
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stacked_linear_numbers_from_the_notes(tmp_path):
    r = load_example("stacked_linear").main(["--out", str(tmp_path)])
    assert (r["f3"], r["gf3"], r["w"], r["b"]) == (11.0, 85.0, 16.0, 37.0)
    assert (r["left"], r["right"]) == (0.0, 16.0)


def test_font_color_quick(tmp_path):
    r = load_example("font_color").main(["--quick", "--out", str(tmp_path)])
    assert len(r) == 2 and all(0.0 <= acc <= 1.0 and 0.0 <= pink <= 1.0 for acc, pink in r.values())


def test_temperature_regression_quick(tmp_path):
    r = load_example("temperature_regression").main(["--quick", "--out", str(tmp_path)])
    assert np.isfinite(r["cost"]) and len(r["table"]) == 4


def test_logic_gates_quick(tmp_path):
    r = load_example("logic_gates").main(["--quick", "--out", str(tmp_path)])
    assert r["perceptron and"] == 1.0 and r["perceptron xor"] <= 0.75  # no line separates XOR


def test_polynomial_fit_quick(tmp_path):
    r = load_example("polynomial_fit").main(["--quick", "--out", str(tmp_path)])
    assert np.isfinite(r["grad_err_mean"])


def test_digits_quick(tmp_path):
    pytest.importorskip("sklearn")
    r = load_example("digits").main(["--quick", "--out", str(tmp_path)])
    assert 0.0 <= r["ours"] <= 1.0


def test_training_ladder_quick_and_npz_input(tmp_path):
    pytest.importorskip("sklearn")
    r = load_example("training_ladder").main(["--quick", "--out", str(tmp_path)])
    assert len(r) == 7
    rng = np.random.default_rng(0)
    fake = tmp_path / "mnist.npz"
    np.savez(fake, x_train=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y_train=rng.integers(0, 10, 60),
             x_test=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8), y_test=rng.integers(0, 10, 20))
    r = load_example("training_ladder").main(["--quick", "--data", str(fake), "--out", str(tmp_path)])
    assert len(r) == 7


def test_breast_cancer_quick(tmp_path):
    pytest.importorskip("sklearn")
    r = load_example("breast_cancer").main(["--quick", "--out", str(tmp_path)])
    assert 0.0 <= r["ours"] <= 1.0 and r["best_epoch"] is not None


def test_grid_search_on_a_dask_cluster_equals_the_serial_run(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("distributed")
    r = load_example("grid_search_dask").main(["--quick", "--threads", "--out", str(tmp_path)])
    assert r["identical"]
    assert set(r["best_params"]) == {"alpha", "learning_rate_init"}
    assert r["scores"]["mean_test_score"].shape == (2, 2)


def test_char_lstm_quick(tmp_path):
    r = load_example("char_lstm").main(["--quick", "--out", str(tmp_path)])
    assert len(r["losses"]) == 4 and r["losses"][-1] < r["losses"][0] < np.log(r["vocab"]) + 0.1
    assert r["sample"].startswith("Shall I ") and len(r["sample"]) == len("Shall I ") + 40


def test_port_from_torch_gives_pytorch_outputs():
    pytest.importorskip("torch")
    r = load_example("port_from_torch").main([])
    assert r["mlp"] < 1e-12 and r["cnn"] < 1e-12 and r["tagger"] < 1e-12


def test_cnn_digits_quick(tmp_path):
    pytest.importorskip("sklearn")
    r = load_example("cnn_digits").main(["--quick", "--no-torch", "--out", str(tmp_path)])
    assert 0.0 <= r["ours"] <= 1.0 and r["ours_seconds"] > 0
