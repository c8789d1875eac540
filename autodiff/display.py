"""Rich display in Jupyter: an HTML card for a Tensor, SVG for a graph's DOT text, and
listings (not dataclass fields) for traces and summaries."""

from __future__ import annotations

import html
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .tensor import Tensor


class Dot(str):
    """Graphviz DOT text: a ``str`` in every way, which Jupyter draws inline as SVG when
    Graphviz's ``dot`` program is installed (else, or when ``dot`` takes longer than
    ``SVG_TIMEOUT`` seconds, it shows the text).

    >>> Dot("digraph { a -> b }").startswith("digraph")
    True
    """

    __slots__ = ()
    SVG_TIMEOUT = 10.0

    def _repr_svg_(self) -> str | None:
        exe = shutil.which("dot")
        if exe is None:
            return None
        try:
            done = subprocess.run([exe, "-Tsvg"], input=str(self).encode(), capture_output=True,
                                  timeout=self.SVG_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:  # a huge graph: the text instead of a frozen notebook
            return None
        return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None


def _values(a: np.ndarray) -> str:
    return np.array2string(a, precision=4, threshold=60, edgeitems=3, suppress_small=True)


def tensor_html(t: Tensor) -> str:
    """An HTML card for ``t``: shape, dtype, op, name, requires_grad, a preview of the values and the grad."""
    rows = [("shape", str(t.shape)), ("dtype", str(t.dtype)), ("op", t.op or "leaf"),
            ("requires_grad", str(t.requires_grad))]
    if t.name is not None:
        rows.insert(0, ("name", t.name))
    cells = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{html.escape(v)}</td>"
                    f"</tr>" for k, v in rows)
    grad = "None" if t.grad is None else _values(np.asarray(t.grad.data))
    return (f"<div><b>Tensor</b><table>{cells}</table>"
            f"<pre>{html.escape(_values(np.asarray(t.data)))}</pre>"
            f"<div>grad:</div><pre>{html.escape(grad)}</pre></div>")


def repr_pretty(obj: Any, p: Any, cycle: bool) -> None:
    """IPython's pretty printer shows ``str(obj)`` (the listing) as a cell's value."""
    p.text(str(obj))


def repr_pre(obj: Any) -> str:
    """``str(obj)`` as preformatted HTML."""
    return f"<pre>{html.escape(str(obj))}</pre>"
