"""Rich display: what a Jupyter notebook shows for Tensors, graphs, traces and histories."""

from __future__ import annotations

import html
import shutil
import subprocess
import sys

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.display import Dot


def _graph():
    x = ad.Tensor([1.0, -2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    y.backward()
    return x, y


def test_tensor_html_card_shows_shape_dtype_op_values_and_grad():
    x, y = _graph()
    card = x._repr_html_()
    for text in ("(2,)", "float64", "leaf", "name", "x", "[ 1. -2.]", "[ 2. -4.]"):
        assert text in card
    assert "sum" in y._repr_html_() and "grad:</div><pre>None" in y._repr_html_()
    assert "&lt;" in ad.Tensor(1.0, name="<b>")._repr_html_()  # names are escaped


def test_to_dot_is_text_that_a_notebook_draws():
    _, y = _graph()
    dot = ad.to_dot(y)
    assert isinstance(dot, str) and isinstance(dot, Dot) and dot.startswith("digraph autodiff {")
    exe = shutil.which("dot")
    if exe is None:  # no Graphviz: the notebook shows the text
        assert dot._repr_svg_() is None
        return
    expected = subprocess.run([exe, "-Tsvg"], input=str(dot).encode(), capture_output=True, check=True).stdout
    assert dot._repr_svg_() == expected.decode() and "<svg" in dot._repr_svg_()


def test_dot_without_graphviz_shows_text(monkeypatch):
    import autodiff.display as display

    monkeypatch.setattr(display.shutil, "which", lambda name: None)
    assert Dot("digraph { a }")._repr_svg_() is None


def test_dot_that_takes_too_long_shows_text(monkeypatch):
    import autodiff.display as display

    def slow(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"])

    monkeypatch.setattr(display.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setattr(display.subprocess, "run", slow)
    assert Dot("digraph { a }")._repr_svg_() is None


class _Printer:
    def __init__(self):
        self.parts = []

    def text(self, s):
        self.parts.append(s)


def test_trace_and_summary_display_as_their_listings():
    trace = ad.trace(lambda x: ad.exp(x * x), 2.0)
    summary = ad.summary(_graph()[1])
    for obj in (trace, summary):
        p = _Printer()
        obj._repr_pretty_(p, False)
        assert p.parts == [str(obj)]
        assert obj._repr_html_() == "<pre>" + html.escape(str(obj)) + "</pre>"


def _history(epochs=3):
    h = nn.History()
    for e in range(epochs):
        h.append(e, {"loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.1 * e, "dead_relu/1": 10.0 * e,
                     "grad_norm/0.weight": 2.0 ** -e})
    return h


def test_history_html_table():
    table = _history()._repr_html_()
    assert table.count("<tr>") == 4 and "<th>loss</th>" in table and "<td>0.3333</td>" in table
    long = _history(50)._repr_html_()
    assert long.count("<tr>") == 1 + 20 + 1 and "…" in long and "<td>50</td>" in long


def test_history_and_diagnostics_plots():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    fig = _history().plot()
    assert [ax.get_title() for ax in fig.axes] == ["loss", "accuracy"]
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [1.0, 0.5, 1 / 3])
    fig = nn.TrainingDiagnostics.plot(_history())
    assert [ax.get_title() for ax in fig.axes] == ["dead ReLU units (%)", "gradient norm"]
    assert fig.axes[1].get_yscale() == "log"
    with pytest.raises(ValueError, match="TrainingDiagnostics"):
        nn.TrainingDiagnostics.plot(nn.History())


def test_plots_without_matplotlib_name_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"chainrule\[plots\]"):
        _history().plot()
