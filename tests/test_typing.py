"""What a type checker tells a user about the public API: the packages ship ``py.typed``,
and ``mypy --strict`` on typical user code sees Tensors (not ``Any``) come out of
autodiff's functions, operators and linalg, and flags a wrong argument type."""

from __future__ import annotations

import os
import pathlib
import textwrap

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = pathlib.Path(__file__).resolve().parents[1]

USER_CODE = textwrap.dedent("""
    import numpy as np
    import autodiff as ad
    import nn
    from nn import optim

    x = ad.Tensor(np.ones(3), requires_grad=True)
    reveal_type(ad.exp(x) * 2 + ad.sum(x))
    reveal_type(ad.linalg.inv(np.eye(2)))
    reveal_type(ad.softmax(x))
    reveal_type(x.grad)
    model = nn.MLP([3, 4, 2], seed=0)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    reveal_type(nn.fit(model, nn.CrossEntropyLoss(), opt, np.ones((4, 3)), np.zeros(4, int), epochs=1))
    z: ad.Tensor = ad.tanh(x)
""")


def run_mypy(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, code: str) -> tuple[str, int]:
    """mypy --strict on ``code`` as a user's module, with this checkout's packages."""
    path = tmp_path / "user_code.py"
    path.write_text(code)
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    out, err, status = mypy_api.run(["--strict", "--no-incremental", "--cache-dir", os.devnull,
                                     "--config-file", os.devnull, str(path)])
    return out + err, status


def test_py_typed_markers_ship_with_both_packages():
    assert (ROOT / "autodiff" / "py.typed").is_file() and (ROOT / "nn" / "py.typed").is_file()


def test_strict_user_code_sees_tensors(tmp_path, monkeypatch):
    out, status = run_mypy(tmp_path, monkeypatch, USER_CODE)
    revealed = [line.split("Revealed type is ")[1].strip('"') for line in out.splitlines() if "Revealed type" in line]
    assert revealed == ["autodiff.tensor.Tensor"] * 3 + ["autodiff.tensor.Tensor | None", "nn.callbacks.History"], out
    assert status == 0, out


def test_a_wrong_argument_type_is_reported(tmp_path, monkeypatch):
    out, status = run_mypy(tmp_path, monkeypatch, "import autodiff as ad\nad.linalg.tensorinv([[1.0]], ind='two')\n")
    assert status == 1 and 'incompatible type "str"' in out, out
