"""Graph inspection: topo_order, summary, trace listings, DOT structure, rendering."""

from __future__ import annotations

import re
import shutil
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import autodiff as ad

NODE = re.compile(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
EDGE = re.compile(r"^\s+(\w+) -> (\w+);$")


def parse_dot(text: str):
    nodes, edges = {}, set()
    for line in text.splitlines():
        if m := NODE.match(line):
            nodes[m.group(1)] = (m.group(2), m.group(3))
        elif m := EDGE.match(line):
            edges.add((m.group(1), m.group(2)))
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    return nodes, edges


def naive(x):
    return ad.sqrt(x ** 2 + ad.exp(x ** 2))


def with_intermediate(x):
    u = x ** 2
    return ad.sqrt(u + ad.exp(u))


def test_topo_order_parents_first_and_shared_once():
    x = ad.Tensor([1.0, 2.0], requires_grad=True)
    h = ad.tanh(x)
    y = (h * h + h).sum()
    order = ad.topo_order(y)
    position = {id(t): k for k, t in enumerate(order)}
    assert len(order) == len({id(t) for t in order})
    for t in order:
        assert all(position[id(p)] < position[id(t)] for p in t.parents)
    assert order[-1] is y and sum(1 for t in order if t is h) == 1


def test_topo_order_deep_chain_no_recursion():
    y = ad.Tensor(1.0, requires_grad=True)
    for _ in range(20_000):
        y = y + 1.0
    assert len(ad.topo_order(y)) == 20_000 + 2  # every add, the leaf and the shared constant


def test_summary_counts():
    W = ad.Tensor(np.ones((3, 2)), requires_grad=True)
    x = ad.Tensor(np.ones(3))
    y = ad.relu(x @ W).sum()
    s = ad.summary(y)
    assert s.ops == {"matmul": 1, "relu": 1, "sum": 1}
    assert (s.nodes, s.leaves, s.parameters, s.constants) == (5, 2, 1, 1)
    # float64: W (3, 2) 48 B, x (3,) 24 B, matmul (2,) 16 B, relu (2,) 16 B, sum () 8 B
    assert s.bytes_data == 48 + 24 + 16 + 16 + 8
    y.backward()
    assert ad.summary(y).bytes_grad == W.numpy().nbytes
    assert "3 ops" in str(s)


def test_trace_counts_the_notes_operations():
    naive_trace = ad.trace(naive, 1.5)
    assert naive_trace.n_ops == 5  # x², x² again, exp, +, sqrt: as counted in the course notes
    assert [e.split(" = ")[1].split()[0] for e in naive_trace.equations] == ["pow", "pow", "exp", "add", "sqrt"]
    assert ad.trace(with_intermediate, 1.5).n_ops == 4
    # the gradient's listing contains the forward ops and the chain-rule ops
    grad_trace = ad.trace(ad.grad(naive), 1.5)
    assert grad_trace.n_ops > naive_trace.n_ops
    assert ad.trace(ad.grad(with_intermediate), 1.5).n_ops < grad_trace.n_ops


def test_trace_format_names_inputs_outputs_and_constants():
    text = str(ad.trace(lambda W, x: ad.tanh(W @ x) * 2.0, np.ones((4, 3)), np.ones(3)))
    lines = [line.strip() for line in text.splitlines()]
    assert lines == [
        "inputs:  %0:f64[4,3] (W) %1:f64[3] (x)",
        "%2:f64[] = const 2.",
        "%3:f64[4] = matmul %0 %1",
        "%4:f64[4] = tanh %3",
        "%5:f64[4] = mul %4 %2",
        "outputs: %5",
    ]


def test_trace_shows_params_and_float32():
    t = ad.trace(lambda x: x.sum(axis=1), np.ones((2, 3), np.float32))
    assert t.equations == ["%1:f32[2] = sum[axis=1, keepdims=False] %0"]


def test_to_dot_structure_matches_graph():
    x = ad.Tensor([1.0, -2.0], requires_grad=True, name="x")
    y = (ad.relu(x) * 3.0).sum()
    y.backward()
    nodes, edges = parse_dot(ad.to_dot(y))
    graph = ad.topo_order(y)
    assert len(nodes) == len(graph)
    assert len(edges) == sum(len(t.parents) for t in graph)
    labels = {k: v[0] for k, v in nodes.items()}
    x_node = next(k for k, v in labels.items() if v.startswith("x\\n"))
    assert "f64[2]" in labels[x_node] and "grad [3., 0.]" in labels[x_node]
    assert 'fillcolor="#cfe2ff"' in nodes[x_node][1]  # a parameter
    assert sum('dashed' in style for _, style in nodes.values()) == 1  # the constant 3
    assert sum('bold' in style for _, style in nodes.values()) == 1  # the output
    assert "grad" not in "".join(ad.to_dot(y, show_grad=False).split("x\\n")[1:2])


def test_to_dot_previews_are_capped():
    x = ad.Tensor(np.arange(1000.0), requires_grad=True, name="x")
    nodes, _ = parse_dot(ad.to_dot(x.sum()))
    label = next(v[0] for v in nodes.values() if v[0].startswith("x\\n"))
    assert "mean 499.5" in label and len(label) < 120


def test_to_dot_folds_long_chains():
    x = ad.Tensor(np.ones(3), requires_grad=True, name="x")
    y = x
    for _ in range(300):
        y = ad.tanh(y * 0.5 + 0.1)
    out = y.sum()
    nodes, edges = parse_dot(ad.to_dot(out))
    assert len(nodes) < 10
    chain = [v[0] for v in nodes.values() if "ops in a chain" in v[0]]
    assert chain and "mul x300" in chain[0] and "tanh x300" in chain[0]


def test_render_text_and_dot_need_nothing(tmp_path):
    y = ad.exp(ad.Tensor(2.0, requires_grad=True, name="x"))
    assert ad.render(y, tmp_path / "g.dot").read_text().startswith("digraph")
    assert "exp %0" in ad.render(y, tmp_path / "g.txt").read_text()
    with pytest.raises(ValueError, match=r"unknown format '\.gif'"):
        ad.render(y, tmp_path / "g.gif")


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")


@needs_dot
def test_render_svg_and_png(tmp_path):
    x = ad.Tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    svg = ad.render(y, tmp_path / "g.svg")
    root = ET.fromstring(svg.read_text())
    groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
    assert len(groups) == len(ad.topo_order(y))
    png = ad.render(y, tmp_path / "g.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_render_without_dot_names_the_system_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on PATH
    with pytest.raises(RuntimeError, match="graphviz system package"):
        ad.render(ad.exp(ad.Tensor(1.0, requires_grad=True)), tmp_path / "g.svg")


def test_render_stops_a_slow_dot(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 60\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"did not finish within 0\.5 s and was stopped"):
        ad.render(ad.exp(ad.Tensor(1.0, requires_grad=True)), tmp_path / "g.svg", timeout=0.5)
    assert time.perf_counter() - start < 30  # far below the fake's 60 s: it was stopped
    assert not (tmp_path / "g.svg").exists()


def test_render_reports_a_failing_dot(tmp_path, monkeypatch):
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'Error: syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"dot failed \(exit status 1\): Error: syntax error in line 1"):
        ad.render(ad.exp(ad.Tensor(1.0, requires_grad=True)), tmp_path / "g.svg")


# ------------------------------------------------------- recurrent graphs: folding repeats
def unrolled_rnn(steps: int, seed: int = 0):
    """h <- tanh(h @ W + x_t @ U) for ``steps`` steps; every step shares W and U."""
    rng = np.random.default_rng(seed)
    W = ad.Tensor(rng.standard_normal((4, 4)) * 0.5, requires_grad=True, name="W")
    U = ad.Tensor(rng.standard_normal((3, 4)) * 0.5, requires_grad=True, name="U")
    h = ad.Tensor(np.zeros((2, 4)), name="h0")
    for t in range(steps):
        h = ad.tanh(h @ W + ad.Tensor(rng.standard_normal((2, 3)), name=f"x_{t}") @ U)
    return (h * h).sum()


def box_counts(dot_text: str) -> dict[str, int]:
    """How many graph nodes each box stands for (1 for a plain box)."""
    nodes, _ = parse_dot(dot_text)
    counts = {}
    for name, (label, _) in nodes.items():
        m = re.search(r" ×(\d+)", label.split("\\n")[0])
        counts[name] = int(m.group(1)) if m else 1
    return counts


@pytest.mark.parametrize("steps", [30, 60])
def test_unrolled_recurrent_graph_folds_to_one_step(steps):
    loss = unrolled_rnn(steps)
    nodes = ad.topo_order(loss)
    assert len(nodes) == 5 * steps + 5  # x_t, two matmuls, add, tanh per step; W, U, h0, mul, sum
    text = ad.to_dot(loss)
    counts = box_counts(text)
    assert len(counts) <= 20
    assert sum(counts.values()) == len(nodes)  # every node is drawn exactly once, in some box
    labels = [label for label, _ in parse_dot(text)[0].values()]
    assert any(label.startswith(f"tanh ×{steps - 1}") for label in labels)
    assert any(label.startswith(f"const ×{steps}\\nx_0 ... x_{steps - 1}") for label in labels)
    assert sum(label.startswith(("W\\n", "U\\n")) for label in labels) == 2  # the shared weights stay single
    # the recurrence shows as an edge back from the tanh box into the h @ W box
    assert re.search(rf'-> \w+ \[label="×{steps - 2}"\];', text)


def test_folded_edges_account_for_every_edge():
    loss = unrolled_rnn(40)
    text = ad.to_dot(loss)
    total = 0
    for line in text.splitlines():
        if m := re.match(r"^\s+\w+ -> \w+(?: \[label=\"×(\d+)\"\])?;$", line):
            total += int(m.group(1) or 1)
    graph = ad.topo_order(loss)
    # every parent edge is drawn, except that h * h draws its two identical edges once each
    assert total == sum(len(t.parents) for t in graph)


def test_max_nodes_bounds_the_picture_with_a_clear_error():
    out = ad.Tensor(0.0)
    for k in range(1, 30):  # every branch has its own shape: nothing repeats
        out = out + (ad.Tensor(np.ones(k), requires_grad=True, name=f"w{k}") * 2.0).sum()
    with pytest.raises(ValueError, match=r"more than max_nodes=20; pass a larger max_nodes"):
        ad.to_dot(out, max_nodes=20)
    assert len(parse_dot(ad.to_dot(out, max_nodes=200))[0]) == len(ad.topo_order(out))
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        ad.to_dot(out, max_nodes=0)


@needs_dot
def test_render_recurrent_graph_is_bounded(tmp_path):
    loss = unrolled_rnn(60)
    svg = ad.render(loss, tmp_path / "rnn.svg", timeout=60)
    root = ET.fromstring(svg.read_text())
    groups = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
    assert len(groups) == len(box_counts(ad.to_dot(loss)))
    width = float(root.get("width").removesuffix("pt"))
    assert width < 5000  # a readable picture, not Graphviz's 32,767 px maximum
