"""Draw a graph: Graphviz DOT text (no dependency) and SVG/PNG/PDF through Graphviz.

Parameters (leaves that require grad) are blue boxes, constants grey dashed boxes,
operations yellow rounded boxes and the output green. Graphs larger than
``max_nodes`` fold every long linear chain into one box that counts its ops.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .display import Dot
from .graph import _params_text, _value_text, listing, topo_order, type_string
from .tensor import Tensor

_STYLE = {
    "param": 'shape=box, style="filled", fillcolor="#cfe2ff"',
    "const": 'shape=box, style="filled,dashed", fillcolor="#f0f0f0", fontcolor="#555555"',
    "op": 'shape=box, style="filled,rounded", fillcolor="#fff3cd"',
    "output": 'shape=box, style="filled,rounded,bold", fillcolor="#d1e7dd"',
    "chain": 'shape=box3d, style="filled", fillcolor="#ffe5d0"',
}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _label(t: Tensor, show_data: bool, show_grad: bool) -> str:
    if t.is_leaf:
        head = t.name or ("param" if t.requires_grad else "const")
    else:
        op = f"{t.op}{_params_text(t.saved)}"
        head = f"{t.name} = {op}" if t.name else op
    lines = [head, type_string(t)]
    if show_data:
        lines.append("data " + _value_text(t._data, limit=4))
    if show_grad and t.grad is not None:
        lines.append("grad " + _value_text(t.grad._data, limit=4))
    return "\\n".join(_escape(line) for line in lines)


def _chains(nodes: list[Tensor]) -> dict[int, int]:
    """Map each op node to the id of the first node of the linear chain it belongs to."""
    consumers = Counter(id(p) for n in nodes for p in n.parents)
    head: dict[int, int] = {}
    for n in nodes:
        if n.is_leaf:
            continue
        inner = [p for p in n.parents if not (p.is_leaf and not p.requires_grad)]
        prev = inner[0] if len(inner) == 1 else None
        if prev is not None and not prev.is_leaf and consumers[id(prev)] == 1 and id(prev) in head:
            head[id(n)] = head[id(prev)]
        else:
            head[id(n)] = id(n)
    return head


def to_dot(t: Tensor, show_data: bool = True, show_grad: bool = True, max_nodes: int = 150,
           min_chain: int = 4) -> Dot:
    """Graphviz DOT text for the graph of ``t`` (render it with ``dot -Tsvg``); a ``str``
    that a Jupyter notebook draws inline.

    >>> print(to_dot(Tensor(2.0, requires_grad=True, name="x") * 3).splitlines()[0])
    digraph autodiff {
    """
    nodes = topo_order(t)
    head = _chains(nodes) if len(nodes) > max_nodes else {}
    members: dict[int, list[Tensor]] = {}
    for n in nodes:
        if id(n) in head:
            members.setdefault(head[id(n)], []).append(n)
    folded = {h: group for h, group in members.items() if len(group) >= min_chain}
    rep = {id(n): f"c{h}" for h, group in folded.items() for n in group}
    dropped = {id(p) for group in folded.values() for n in group[1:] for p in n.parents
               if p.is_leaf and not p.requires_grad}

    lines = ["digraph autodiff {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [color="#666666", arrowsize=0.6];']
    for h, group in folded.items():
        ops = Counter(n.op for n in group)
        text = f"{len(group)} ops in a chain\\n" + _escape(", ".join(f"{op} x{k}" for op, k in ops.items()))
        text += "\\n" + type_string(group[-1])
        lines.append(f'  c{h} [label="{text}", {_STYLE["chain"]}];')
    edges = set()
    for n in nodes:
        if id(n) in dropped:
            continue
        me = rep.get(id(n), f"n{id(n)}")
        if id(n) not in rep:
            kind = "output" if n is t else "op" if not n.is_leaf else "param" if n.requires_grad else "const"
            lines.append(f'  {me} [label="{_label(n, show_data, show_grad)}", {_STYLE[kind]}];')
        for p in n.parents:
            src = rep.get(id(p), f"n{id(p)}")
            if id(p) in dropped or src == me or (src, me) in edges:
                continue
            edges.add((src, me))
            lines.append(f"  {src} -> {me};")
    lines.append("}")
    return Dot("\n".join(lines) + "\n")


def render(t: Tensor, path: str | Path, show_data: bool = True, show_grad: bool = True) -> Path:
    """Write the graph of ``t`` to ``path``; the suffix chooses the format.

    ``.dot`` (DOT text) and ``.txt`` (the op listing) need nothing; ``.svg``,
    ``.png`` and ``.pdf`` need the Python package ``graphviz`` (the ``graph``
    extra) and Graphviz's ``dot`` program (the ``graphviz`` system package).
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "dot":
        path.write_text(to_dot(t, show_data, show_grad))
        return path
    if suffix == "txt":
        path.write_text(str(listing(t)) + "\n")
        return path
    if suffix not in ("svg", "png", "pdf"):
        raise ValueError(f"render: unknown format '.{suffix}' for {path} (use .svg, .png, .pdf, .dot or .txt)")
    try:
        import graphviz
    except ImportError:
        raise ImportError("render: drawing needs the Python package 'graphviz'; "
                          "install it with: pip install 'chainrule[graph]'") from None
    try:
        data = graphviz.Source(to_dot(t, show_data, show_grad)).pipe(format=suffix)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("render: Graphviz's 'dot' program was not found; install the graphviz system "
                           "package (apt-get install graphviz, brew install graphviz or conda install graphviz)"
                           ) from None
    path.write_bytes(data)
    return path

