"""examples/tour.ipynb runs top to bottom in a Jupyter kernel, and shows rich output."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent


def _mimetypes(cell) -> set[str]:
    return {m for out in cell.get("outputs", []) for m in out.get("data", {})}


def test_tour_notebook_executes_with_rich_output(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs are not committed"
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    by_source = {c.source.splitlines()[-1]: c for c in code}
    assert "text/html" in _mimetypes(by_source["x"])                      # the Tensor card
    trace = by_source["ad.trace(lambda x, w: ad.tanh(x @ w).sum(), np.ones((2, 3)), np.ones((3, 1)))"]
    text = [o for o in trace.outputs if "data" in o][0]["data"]["text/plain"]
    assert text.startswith("inputs:") and "tanh" in text                  # the listing, not dataclass fields
    assert "text/html" in _mimetypes(by_source["history"])                # the History table
    assert "image/png" in _mimetypes(by_source["history.plot();"])
    assert "image/png" in _mimetypes(by_source["nn.TrainingDiagnostics.plot(history);"])
    score = [o for o in by_source["clf.fit(X, labels).score(X, labels)"].outputs if "data" in o]
    assert float(score[0]["data"]["text/plain"]) > 0.9
    if shutil.which("dot") is None:
        return  # no Graphviz here: the graph shows as DOT text
    assert "image/svg+xml" in _mimetypes(by_source["ad.to_dot(y)"])
