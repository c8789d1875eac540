"""Generated code compiled once per process (``codegen.CODE_CACHE``): models of the same
shapes share the code object, each step keeps its own buffers, parameters and state."""

import numpy as np

import autodiff.compile.codegen as codegen
import nn
from nn import optim
from tests.helpers import eager_step


def test_models_of_the_same_shapes_share_the_code_and_train_apart():
    rng = np.random.default_rng(0)
    batches = [(rng.normal(size=(8, 5)), rng.integers(0, 3, 8)) for _ in range(5)]
    pairs = []
    for seed in (1, 2):
        model, twin = nn.MLP([5, 7, 3], seed=seed), nn.MLP([5, 7, 3], seed=seed)
        step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01))
        pairs.append((model, step, twin, optim.Adam(twin.parameters(), lr=0.01)))
    loss_fn = nn.CrossEntropyLoss()
    for X, y in batches:
        for model, step, twin, opt in pairs:  # interleaved: each step's buffers stay its own
            X_k = X + (0.5 if model is pairs[1][0] else 0.0)
            assert step(X_k, y) == eager_step(twin, loss_fn, opt, X_k, y)
    (_, a, _, _), (_, b, _, _) = pairs
    assert a.ran is not None and b.ran is not None
    assert a.ran.fn.__code__ is b.ran.fn.__code__ and a.ran.fn.__globals__ is not b.ran.fn.__globals__
    for model, _, twin, _ in pairs:
        for p, q in zip(model.parameters(), twin.parameters(), strict=True):
            np.testing.assert_array_equal(p.data, q.data)


def test_the_cache_keeps_the_newest_sources(monkeypatch):
    monkeypatch.setattr(codegen, "CODE_CACHE", {})
    monkeypatch.setattr(codegen, "CODE_CACHE_SIZE", 3)
    sources = [f"def f(x):\n    return x + {k}\n" for k in range(5)]
    fns = [codegen.build(src, {}, "f") for src in sources]
    assert [f(1) for f in fns] == [1, 2, 3, 4, 5]
    assert list(codegen.CODE_CACHE) == sources[2:]
    again = codegen.build(sources[2], {}, "f")  # used again: now the newest
    assert again.__code__ is fns[2].__code__ and list(codegen.CODE_CACHE) == [sources[3], sources[4], sources[2]]
    codegen.build(sources[0], {}, "f")  # compiled anew; the least recently built (sources[3]) goes
    assert list(codegen.CODE_CACHE) == [sources[4], sources[2], sources[0]]
