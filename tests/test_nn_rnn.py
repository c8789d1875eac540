"""RNN, GRU, LSTM, their cells and Embedding: values and gradients against PyTorch
(float64, where installed) and against central finite differences (always)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff as ad
import nn

rng = np.random.default_rng(7)
LAYERS = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}
CELLS = {"RNNCell": nn.RNNCell, "GRUCell": nn.GRUCell, "LSTMCell": nn.LSTMCell}


def outputs_of(result):
    """The flat list of Tensors a layer or cell returns."""
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in outputs_of(r)]
    return [result]


def weighted_sum(result, seed=1):
    """sum(out * G) over every output, G fixed random weights (so every output matters)."""
    gen = np.random.default_rng(seed)
    return sum((o * gen.uniform(-1, 1, o.shape)).sum() for o in outputs_of(result))


def finite_difference_check(module, call, arrays, eps=1e-6):
    """Autodiff gradients of ``weighted_sum(call(module, *inputs))`` w.r.t. every parameter and
    every input array, against central differences in float64."""
    inputs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    module.zero_grad()
    weighted_sum(call(module, *inputs)).backward()
    targets = [(p.grad.numpy(), p) for p in module.parameters()] + [(t.grad.numpy(), t) for t in inputs]
    for auto, tensor in targets:
        base, numeric = tensor.data.copy(), np.zeros(tensor.shape)
        for i in np.ndindex(tensor.shape):
            values = []
            for sign in (1, -1):
                moved = base.copy()
                moved[i] += sign * eps
                tensor.data = moved
                with ad.no_grad():
                    values.append(weighted_sum(call(module, *[t.detach() for t in inputs])).item())
            numeric[i] = (values[0] - values[1]) / (2 * eps)
        tensor.data = base
        np.testing.assert_allclose(auto, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind, kwargs, batched, with_state", [
    ("RNN", dict(num_layers=2, nonlinearity="tanh"), True, True),
    ("GRU", dict(bidirectional=True), True, False),
    ("LSTM", dict(num_layers=2, bidirectional=True, batch_first=True), True, True),
    ("LSTM", dict(bias=False), False, True),
])
def test_layers_match_finite_differences(kind, kwargs, batched, with_state):
    layer = LAYERS[kind](2, 2, seed=3, **kwargs)
    shape = ((2, 3, 2) if kwargs.get("batch_first") else (3, 2, 2)) if batched else (3, 2)
    x = rng.normal(size=shape)
    if not with_state:
        finite_difference_check(layer, lambda m, x: m(x), [x])
        return
    state_shape = (layer.num_layers * layer.num_directions, *((2,) if batched else ()), 2)
    h0 = rng.normal(size=state_shape)
    if kind == "LSTM":
        finite_difference_check(layer, lambda m, x, h, c: m(x, (h, c)), [x, h0, rng.normal(size=state_shape)])
    else:
        finite_difference_check(layer, lambda m, x, h: m(x, h), [x, h0])


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cells_match_finite_differences(kind):
    cell = CELLS[kind](3, 2, seed=4)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    if kind == "LSTMCell":
        finite_difference_check(cell, lambda m, x, h, c: m(x, (h, c)), [x, h, c])
    else:
        finite_difference_check(cell, lambda m, x, h: m(x, h), [x, h])


def test_relu_rnn_and_step_by_step_equal_the_cell():
    rnn, cell = nn.RNN(3, 4, nonlinearity="relu", seed=0), nn.RNNCell(3, 4, nonlinearity="relu", seed=0)
    x = rng.normal(size=(5, 2, 3))
    out, h_n = rnn(x)
    h = None
    for t in range(5):
        h = cell(x[t], h)
        np.testing.assert_allclose(out.numpy()[t], h.numpy(), rtol=1e-14)
    np.testing.assert_allclose(h_n.numpy()[0], h.numpy(), rtol=1e-14)
    assert np.all(out.numpy() >= 0)


def test_parameters_names_shapes_init_and_seed():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse"]
    assert len(names) == 16 and names[-1] == "bias_hh_l1_reverse"
    assert lstm.weight_ih_l0.shape == (16, 3) and lstm.weight_ih_l1.shape == (16, 8) and lstm.bias_hh_l1.shape == (16,)
    assert all(np.abs(p.numpy()).max() <= 0.5 for p in lstm.parameters())  # 1/sqrt(hidden_size)
    again, other = nn.LSTM(3, 4, num_layers=2, bidirectional=True, seed=0), nn.LSTM(3, 4, num_layers=2, seed=1)
    assert all(np.array_equal(a.numpy(), b.numpy()) for a, b in zip(lstm.parameters(), again.parameters(), strict=True))
    assert not np.array_equal(lstm.weight_ih_l0.numpy(), other.weight_ih_l0.numpy())
    assert [n for n, _ in nn.GRU(2, 3, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert nn.GRUCell(2, 3, seed=0).weight_hh.shape == (9, 3)
    assert repr(nn.LSTM(3, 4, num_layers=2, batch_first=True)) == "LSTM(3, 4, num_layers=2, batch_first=True)"


def test_float32_stays_float32_and_dropout_between_layers():
    gru = nn.GRU(3, 4, num_layers=2, dropout=0.5, seed=0, dtype=np.float32)
    x = ad.Tensor(rng.normal(size=(4, 2, 3)).astype(np.float32), requires_grad=True)
    out, h_n = gru(x)
    assert out.dtype == h_n.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == gru.weight_ih_l1.grad.dtype == np.float32
    gru.eval()
    first, second = gru(x)[0].numpy(), gru(x)[0].numpy()
    np.testing.assert_array_equal(first, second)
    gru.train()
    assert not np.allclose(gru(x)[0].numpy(), first)


def test_embedding_gradient_scatter_adds_repeated_indices():
    emb = nn.Embedding(5, 3, seed=0)
    idx = np.array([[1, 3, 1], [1, 0, 3]])
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    G = rng.normal(size=(2, 3, 3))
    (out * G).sum().backward()
    expected = np.zeros((5, 3))
    for (i, j), k in np.ndenumerate(idx):
        expected[k] += G[i, j]
    np.testing.assert_allclose(emb.weight.grad.numpy(), expected, rtol=1e-15)
    assert np.all(emb.weight.grad.numpy()[[2, 4]] == 0)


def test_embedding_padding_idx_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=-1, seed=0)  # -1 is row 3, as in PyTorch
    assert emb.padding_idx == 3 and np.all(emb.weight.numpy()[3] == 0)
    with ad.no_grad():
        emb.weight[3] = np.array([5.0, 6.0])
    out = emb(np.array([3, 0, 3, 0]))
    np.testing.assert_array_equal(out.numpy()[0], [5.0, 6.0])  # the value passes through
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[2, 2], [0, 0], [0, 0], [0, 0]])
    frozen = nn.Embedding.from_pretrained(np.eye(3))
    assert not frozen.weight.requires_grad and frozen(np.array([2])).numpy().tolist() == [[0.0, 0.0, 1.0]]


def test_embedding_bad_input_names_the_layer():
    emb = nn.Embedding(4, 2, seed=0)
    with pytest.raises(TypeError, match=r"Embedding\(4, 2\): indices must be integers, got a float64"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(IndexError, match=r"Embedding\(4, 2\): index 4 is out of range for 4 embeddings"):
        emb(np.array([[0, 4]]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(np.array([-1]))
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-4, 4\), got 4"):
        nn.Embedding(4, 2, padding_idx=4)


@pytest.mark.parametrize("call, error, message", [
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 6))), ValueError,
     r"LSTM\(3, 4\): expected input of shape \(seq_len, batch, 3\) or \(seq_len, 3\), got \(5, 2, 6\)"),
    (lambda: nn.GRU(3, 4, batch_first=True)(np.zeros((2, 3))[None, None]), ValueError,
     r"expected input of shape \(batch, seq_len, 3\)"),
    (lambda: nn.RNN(3, 4, num_layers=2)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), ValueError,
     r"RNN\(3, 4, num_layers=2\): expected h_0 of shape \(2, 2, 4\) .* got \(1, 2, 4\)"),
    (lambda: nn.LSTM(3, 4)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4))), TypeError, r"hx must be a pair \(h_0, c_0\)"),
    (lambda: nn.LSTM(3, 4, bidirectional=True)(np.zeros((5, 2, 3)), (np.zeros((2, 2, 4)), np.zeros((1, 2, 4)))),
     ValueError, r"expected c_0 of shape \(2, 2, 4\)"),
    (lambda: nn.RNN(3, 4)(np.zeros((0, 2, 3))), ValueError, "the input sequence is empty"),
    (lambda: nn.RNN(3, 4, nonlinearity="sigmoid"), ValueError, "RNN: nonlinearity must be 'tanh' or 'relu'"),
    (lambda: nn.LSTM(3, 0), ValueError, "LSTM: hidden_size must be > 0"),
    (lambda: nn.GRU(3, 4, dropout=1.5), ValueError, r"GRU: dropout must be in \[0, 1\)"),
    (lambda: nn.GRUCell(3, 4)(np.zeros((2, 5))), ValueError,
     r"GRUCell\(3, 4\): expected input of shape \(batch, 3\) or \(3,\), got \(2, 5\)"),
    (lambda: nn.LSTMCell(3, 4)(np.zeros((2, 3)), (np.zeros((2, 4)), np.zeros((3, 4)))), ValueError,
     r"LSTMCell\(3, 4\): expected cell state c of shape \(2, 4\) for input of batch shape \(2,\), got \(3, 4\)"),
    (lambda: nn.RNNCell(3, 4)(np.zeros(3), np.zeros((1, 4))), ValueError, r"hidden state hx of shape \(4,\)"),
])
def test_bad_input_names_the_layer_and_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------ PyTorch, where installed
def torch_twin(ours, torch_cls, **kwargs):
    """The PyTorch module of the same configuration holding our parameters (float64)."""
    torch = pytest.importorskip("torch")
    theirs = torch_cls(**kwargs).double()
    state = {k: torch.from_numpy(v) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state, strict=True)
    return theirs


def compare_with_torch(ours, theirs, call_ours, call_torch, arrays):
    """Outputs and the gradients of the same weighted sum agree with PyTorch's."""
    torch = pytest.importorskip("torch")
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    mine, reference = outputs_of(call_ours(ours, *xs)), outputs_of_torch(call_torch(theirs, *ts))
    assert [m.shape for m in mine] == [tuple(r.shape) for r in reference]
    for m, r in zip(mine, reference, strict=True):
        np.testing.assert_allclose(m.numpy(), r.detach().numpy(), rtol=1e-12, atol=1e-14)
    weighted_sum(mine).backward()
    gen = np.random.default_rng(1)
    sum((r * torch.from_numpy(gen.uniform(-1, 1, tuple(r.shape)))).sum() for r in reference).backward()
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-10, atol=1e-13, err_msg=name)
    for x, t in zip(xs, ts, strict=True):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-13)


def outputs_of_torch(result):
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in outputs_of_torch(r)]
    return [result]


@pytest.mark.parametrize("kind, kwargs, shape, with_state", [
    ("RNN", dict(num_layers=2, nonlinearity="relu"), (4, 3, 5), True),
    ("RNN", dict(bidirectional=True, batch_first=True), (3, 4, 5), False),
    ("GRU", dict(num_layers=2, bidirectional=True), (4, 3, 5), True),
    ("GRU", dict(bias=False, batch_first=True), (3, 4, 5), False),
    ("LSTM", dict(num_layers=3, bidirectional=True, batch_first=True), (3, 4, 5), True),
    ("LSTM", dict(num_layers=2), (4, 5), True),  # unbatched
])
def test_layers_match_pytorch(kind, kwargs, shape, with_state):
    torch = pytest.importorskip("torch")
    ours = LAYERS[kind](5, 6, seed=2, **kwargs)
    theirs = torch_twin(ours, getattr(torch.nn, kind), input_size=5, hidden_size=6, **kwargs)
    x = rng.normal(size=shape)
    if not with_state:
        compare_with_torch(ours, theirs, lambda m, x: m(x), lambda m, x: m(x), [x])
        return
    state = (ours.num_layers * ours.num_directions, *((3,) if len(shape) == 3 else ()), 6)
    if kind == "LSTM":
        compare_with_torch(ours, theirs, lambda m, x, h, c: m(x, (h, c)), lambda m, x, h, c: m(x, (h, c)),
                           [x, rng.normal(size=state), rng.normal(size=state)])
    else:
        compare_with_torch(ours, theirs, lambda m, x, h: m(x, h), lambda m, x, h: m(x, h),
                           [x, rng.normal(size=state)])


@pytest.mark.parametrize("kind, kwargs, batched", [
    ("RNNCell", dict(nonlinearity="tanh"), True),
    ("RNNCell", dict(nonlinearity="relu", bias=False), False),
    ("GRUCell", {}, True),
    ("GRUCell", {}, False),
    ("LSTMCell", {}, True),
    ("LSTMCell", dict(bias=False), False),
])
def test_cells_match_pytorch(kind, kwargs, batched):
    torch = pytest.importorskip("torch")
    ours = CELLS[kind](5, 4, seed=5, **kwargs)
    theirs = torch_twin(ours, getattr(torch.nn, kind), input_size=5, hidden_size=4, **kwargs)
    x, h, c = (rng.normal(size=(3, n) if batched else (n,)) for n in (5, 4, 4))
    if kind == "LSTMCell":
        compare_with_torch(ours, theirs, lambda m, x, h, c: m(x, (h, c)), lambda m, x, h, c: m(x, (h, c)), [x, h, c])
    else:
        compare_with_torch(ours, theirs, lambda m, x, h: m(x, h), lambda m, x, h: m(x, h), [x, h])


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Embedding(6, 3, padding_idx=2, seed=1)
    theirs = torch_twin(ours, torch.nn.Embedding, num_embeddings=6, embedding_dim=3, padding_idx=2)
    idx = np.array([[2, 5, 5], [0, 2, 5]])
    out, ref = ours(idx), theirs(torch.from_numpy(idx))
    np.testing.assert_array_equal(out.numpy(), ref.detach().numpy())
    G = rng.normal(size=(2, 3, 3))
    (out * G).sum().backward()
    (ref * torch.from_numpy(G)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-14)


@settings(max_examples=8)
@given(kind=st.sampled_from(["RNN", "GRU", "LSTM"]), layers=st.integers(1, 2), bidirectional=st.booleans(),
       batch_first=st.booleans(), bias=st.booleans(), steps=st.integers(1, 3), batch=st.integers(0, 2))
def test_random_configurations_match_pytorch(kind, layers, bidirectional, batch_first, bias, steps, batch):
    torch = pytest.importorskip("torch")
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    ours = LAYERS[kind](2, 3, seed=steps, **kwargs)
    theirs = torch_twin(ours, getattr(torch.nn, kind), input_size=2, hidden_size=3, **kwargs)
    shape = (steps, 2) if batch == 0 else (batch, steps, 2) if batch_first else (steps, batch, 2)
    compare_with_torch(ours, theirs, lambda m, x: m(x), lambda m, x: m(x), [rng.normal(size=shape)])


class _Tagger(nn.Module):
    def __init__(self, embed: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(6, 2, padding_idx=0, seed=0) if embed else None
        self.gru = nn.GRU(2, 3, num_layers=2, bidirectional=True, batch_first=True, seed=1)
        self.head = nn.Linear(6, 4, seed=2)

    def forward(self, x):
        out, _ = self.gru(self.embed(x) if self.embed is not None else x)
        return self.head(out).reshape(-1, 4)


@pytest.mark.parametrize("embed", [False, True])
def test_compiled_step_equals_eager_training(embed):
    from nn import optim

    compiled, eager = _Tagger(embed), _Tagger(embed)
    step = nn.compile_step(compiled, nn.CrossEntropyLoss(), optim.Adam(compiled.parameters(), lr=0.01),
                           fallback=embed)  # Embedding's indices are values the trace cannot follow
    opt = optim.Adam(eager.parameters(), lr=0.01)
    for k in range(3):
        gen = np.random.default_rng(k)
        x = gen.integers(0, 6, (2, 4)) if embed else gen.normal(size=(2, 4, 2))
        y = gen.integers(0, 4, 8)
        loss = nn.CrossEntropyLoss()(eager(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert step(x, y) == loss.item()


def test_second_order_through_an_lstm_matches_finite_differences_of_the_gradient():
    lstm = nn.LSTM(2, 3, num_layers=2, seed=0)

    def loss(x):
        out, (h_n, c_n) = lstm(x)
        return weighted_sum([out, h_n, c_n])

    x, v, eps = rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 2, 2)), 1e-5
    grad = ad.grad(loss)
    numeric = (grad(x + eps * v) - grad(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(ad.hvp(loss, x, v), numeric, rtol=1e-6, atol=1e-8)


def test_dropout_on_a_single_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="expects num_layers greater than 1, got dropout=0.5 and num_layers=1"):
        nn.LSTM(2, 3, dropout=0.5)
