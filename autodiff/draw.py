"""Draw a graph: Graphviz DOT text (no dependency) and SVG/PNG/PDF through Graphviz's ``dot``.

Parameters (leaves that require grad) are blue boxes, constants grey dashed boxes,
operations yellow rounded boxes and the output green. A graph larger than
``max_nodes`` is folded so that Graphviz always gets a bounded picture:

1. every long linear chain becomes one box that counts its ops;
2. if that is not enough, repeated structure is folded: nodes that compute the same
   op on the same kind of inputs (the same shared parameters, the same ops of the
   same types up to a few steps back) become one box ``tanh ×59``, and edges carry
   how many edges they stand for. An unrolled recurrent network shows its step once.
3. if the picture still has more than ``max_nodes`` boxes, a clear error says so.

``dot`` itself runs with a time limit.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

from .display import Dot
from .graph import _params_text, _value_text, listing, topo_order, type_string
from .tensor import Tensor

_STYLE = {
    "param": 'shape=box, style="filled", fillcolor="#cfe2ff"',
    "const": 'shape=box, style="filled,dashed", fillcolor="#f0f0f0", fontcolor="#555555"',
    "op": 'shape=box, style="filled,rounded", fillcolor="#fff3cd"',
    "output": 'shape=box, style="filled,rounded,bold", fillcolor="#d1e7dd"',
    "chain": 'shape=box3d, style="filled", fillcolor="#ffe5d0"',
    "repeat": 'shape=box3d, style="filled", fillcolor="#e2d9f3"',
}
_ROUNDS = (3, 2, 1)  # how many steps back two nodes must look alike to be folded together (most first)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _kind(t: Tensor, out: Tensor) -> str:
    return "output" if t is out else "op" if not t.is_leaf else "param" if t.requires_grad else "const"


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


class _Boxes:
    """Which box each node is drawn in: ``box[id(node)]`` names a box, ``members[name]``
    lists its nodes, ``style[name]`` says how a box of several nodes is labelled."""

    def __init__(self) -> None:
        self.box: dict[int, str] = {}
        self.members: dict[str, list[Tensor]] = {}
        self.style: dict[str, str] = {}
        self.dropped: set[int] = set()

    def add(self, node: Tensor, name: str, style: str = "") -> None:
        self.box[id(node)] = name
        self.members.setdefault(name, []).append(node)
        if style:
            self.style[name] = style

    def __len__(self) -> int:
        return len(self.members)


def _one_box_each(nodes: list[Tensor]) -> _Boxes:
    boxes = _Boxes()
    for n in nodes:
        boxes.add(n, f"n{id(n)}")
    return boxes


def _fold_chains(nodes: list[Tensor], min_chain: int) -> _Boxes:
    head = _chains(nodes)
    members: dict[int, list[Tensor]] = {}
    for n in nodes:
        if id(n) in head:
            members.setdefault(head[id(n)], []).append(n)
    folded = {h: group for h, group in members.items() if len(group) >= min_chain}
    boxes = _Boxes()
    for h, group in folded.items():
        for n in group:
            boxes.add(n, f"c{h}", "chain")
        # a constant fed into the chain after its first op is part of the chain's box
        boxes.dropped.update(id(p) for n in group[1:] for p in n.parents if p.is_leaf and not p.requires_grad)
    for n in nodes:
        if id(n) not in boxes.box and id(n) not in boxes.dropped:
            boxes.add(n, f"n{id(n)}")
    return boxes


def _fold_repeats(nodes: list[Tensor], out: Tensor, rounds: int) -> _Boxes:
    """One box per class of nodes that look alike ``rounds`` steps back (Weisfeiler-Lehman
    refinement over parents): same op, parameters and type, and parents that look alike.
    Shared leaves (a weight used by every step) and the output keep their identity."""
    consumers = Counter(id(p) for n in nodes for p in n.parents)
    names: dict[tuple[Any, ...], int] = {}

    def intern(key: tuple[Any, ...]) -> int:
        return names.setdefault(key, len(names))

    base: dict[int, int] = {}
    for n in nodes:
        if n is out or (n.is_leaf and consumers[id(n)] > 1):
            base[id(n)] = intern(("itself", id(n)))
        elif n.is_leaf:
            base[id(n)] = intern(("leaf", n.requires_grad, type_string(n)))
        else:
            base[id(n)] = intern(("op", n.op, _params_text(n.saved), type_string(n)))
    label = base
    for _ in range(rounds):
        label = {id(n): intern((base[id(n)], tuple(label[id(p)] for p in n.parents))) for n in nodes}
    boxes = _Boxes()
    for n in nodes:
        boxes.add(n, f"r{label[id(n)]}", "repeat")
    return boxes


def _plan(nodes: list[Tensor], out: Tensor, max_nodes: int, min_chain: int) -> _Boxes:
    if len(nodes) <= max_nodes:
        return _one_box_each(nodes)
    boxes = _fold_chains(nodes, min_chain)
    for rounds in _ROUNDS:
        if len(boxes) <= max_nodes:
            return boxes
        boxes = _fold_repeats(nodes, out, rounds)
    if len(boxes) <= max_nodes:
        return boxes
    raise ValueError(f"to_dot: the graph has {len(nodes)} nodes and still {len(boxes)} boxes after folding chains "
                     f"and repeated structure, more than max_nodes={max_nodes}; pass a larger max_nodes "
                     f"(Graphviz then takes longer) or draw a smaller part of the graph")


def _group_label(group: list[Tensor], style: str) -> str:
    if style == "chain":
        ops = Counter(n.op for n in group)
        text = f"{len(group)} ops in a chain\\n" + _escape(", ".join(f"{op} x{k}" for op, k in ops.items()))
        return text + "\\n" + type_string(group[-1])
    first, last = group[0], group[-1]
    what = f"{first.op}{_params_text(first.saved)}" if not first.is_leaf else (
        "param" if first.requires_grad else "const")
    extra = f"\\n{_escape(first.name)} ... {_escape(last.name)}" if first.name and last.name else ""
    return f"{_escape(what)} ×{len(group)}{extra}\\n{type_string(first)}\\nrepeated structure"


def to_dot(t: Tensor, show_data: bool = True, show_grad: bool = True, max_nodes: int = 150,
           min_chain: int = 4) -> Dot:
    """Graphviz DOT text for the graph of ``t`` (render it with ``dot -Tsvg``); a ``str``
    that a Jupyter notebook draws inline.

    Graphs of more than ``max_nodes`` nodes are folded (long chains, then repeated
    structure such as the steps of an unrolled recurrent network); a graph that
    stays larger raises ``ValueError``.

    >>> print(to_dot(Tensor(2.0, requires_grad=True, name="x") * 3).splitlines()[0])
    digraph autodiff {
    """
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"to_dot: max_nodes must be a positive int, got {max_nodes!r}")
    nodes = topo_order(t)
    boxes = _plan(nodes, t, max_nodes, min_chain)
    lines = ["digraph autodiff {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];',
             '  edge [color="#666666", arrowsize=0.6];']
    for name, group in boxes.members.items():
        if len(group) == 1:
            n = group[0]
            lines.append(f'  {name} [label="{_label(n, show_data, show_grad)}", {_STYLE[_kind(n, t)]}];')
        else:
            style = boxes.style[name]
            lines.append(f'  {name} [label="{_group_label(group, style)}", {_STYLE[style]}];')
    edges: Counter[tuple[str, str]] = Counter()
    for n in nodes:
        if id(n) in boxes.dropped:
            continue
        me = boxes.box[id(n)]
        for p in n.parents:
            src = boxes.box.get(id(p))
            if src is not None and not (src == me and boxes.style.get(me) == "chain"):
                edges[(src, me)] += 1
    for (src, dst), count in edges.items():
        folded = len(boxes.members[src]) > 1 or len(boxes.members[dst]) > 1
        lines.append(f'  {src} -> {dst} [label="×{count}"];' if folded and count > 1 else f"  {src} -> {dst};")
    lines.append("}")
    return Dot("\n".join(lines) + "\n")


def render(t: Tensor, path: str | Path, show_data: bool = True, show_grad: bool = True, max_nodes: int = 150,
           timeout: float = 30.0) -> Path:
    """Write the graph of ``t`` to ``path``; the suffix chooses the format.

    ``.dot`` (DOT text) and ``.txt`` (the op listing) need nothing; ``.svg``,
    ``.png`` and ``.pdf`` need Graphviz's ``dot`` program (the ``graphviz`` system
    package), which runs for at most ``timeout`` seconds. ``max_nodes`` bounds the
    picture (see :func:`to_dot`).
    """
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "dot":
        path.write_text(to_dot(t, show_data, show_grad, max_nodes=max_nodes))
        return path
    if suffix == "txt":
        path.write_text(str(listing(t)) + "\n")
        return path
    if suffix not in ("svg", "png", "pdf"):
        raise ValueError(f"render: unknown format '.{suffix}' for {path} (use .svg, .png, .pdf, .dot or .txt)")
    text = to_dot(t, show_data, show_grad, max_nodes=max_nodes)
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("render: Graphviz's 'dot' program was not found; install the graphviz system "
                           "package (apt-get install graphviz, brew install graphviz or conda install graphviz)")
    try:
        done = subprocess.run([exe, f"-T{suffix}"], input=text.encode(), capture_output=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"render: Graphviz's dot did not finish within {timeout:g} s and was stopped; "
                           f"pass a smaller max_nodes or a larger timeout") from None
    if done.returncode != 0:
        message = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[0]
        raise RuntimeError(f"render: Graphviz's dot failed (exit status {done.returncode}): {message}")
    path.write_bytes(done.stdout)
    return path
