"""Porting PyTorch state dicts: Linear weights transposed by module type, other names and
layouts kept; the ported model gives PyTorch's outputs (where torch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import nn


class Tagger(nn.Module):
    """Embedding -> LSTM -> Linear, the same attribute names as the PyTorch twin below."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(7, 4, seed=0)
        self.lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True, seed=1)
        self.head = nn.Linear(10, 3, seed=2)

    def forward(self, idx):
        out, _ = self.lstm(self.embed(idx))
        return self.head(out)


def test_square_linear_is_transposed_and_arrays_need_no_torch():
    model = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Tanh(), nn.Linear(2, 1, seed=1))
    w = np.array([[1.0, 2.0], [3.0, 4.0]])  # PyTorch's (out, in)
    state = {"0.weight": w, "0.bias": [0.0, 0.0], "2.weight": [[1.0, -1.0]], "2.bias": [0.5]}
    nn.load_torch_state_dict(model, state)
    np.testing.assert_array_equal(model[0].weight.numpy(), w.T)
    x = np.array([[0.3, -0.2]])
    expected = np.tanh(x @ w.T) @ np.array([[1.0], [-1.0]]) + 0.5
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-15)
    back = nn.to_torch_state_dict(model)
    assert all(np.array_equal(back[k], np.asarray(v)) for k, v in state.items())


def test_keys_and_shapes_are_checked():
    model = nn.Sequential(nn.Linear(3, 2, seed=0))
    with pytest.raises(KeyError, match="the PyTorch state has no key '0.bias'"):
        nn.from_torch_state_dict(model, {"0.weight": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="key 'extra' that the model lacks"):
        nn.from_torch_state_dict(model, {"0.weight": np.zeros((2, 3)), "0.bias": np.zeros(2), "extra": 1.0})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(2, 3\) \(after transposing PyTorch's \(out, in\) "
                                         r"Linear weight\) from PyTorch, \(3, 2\) in the model"):
        nn.from_torch_state_dict(model, {"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(2)})
    partial = nn.from_torch_state_dict(model, {"0.bias": np.ones(2), "other": 0}, strict=False)
    assert list(partial) == ["0.bias"] and partial["0.bias"].dtype == model[0].bias.dtype
    with pytest.raises(TypeError, match="expected a mapping"):
        nn.from_torch_state_dict(model, [np.zeros(2)])


def test_ported_mlp_and_lstm_give_pytorch_outputs():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    mlp_t = tnn.Sequential(tnn.Linear(4, 8), tnn.BatchNorm1d(8), tnn.ReLU(), tnn.Linear(8, 8), tnn.Tanh(),
                           tnn.Linear(8, 2)).double().eval()
    with torch.no_grad():  # running statistics and affine parameters that are not the defaults
        for name in ("running_mean", "running_var", "weight", "bias"):
            getattr(mlp_t[1], name).copy_(torch.rand(8, dtype=torch.float64) + 0.5)
    mlp = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
    nn.load_torch_state_dict(mlp.eval(), mlp_t.state_dict())  # torch tensors, converted without importing torch
    with pytest.raises(TypeError, match=r"got Sequential \(pass the model's .state_dict\(\)\)"):
        nn.load_torch_state_dict(mlp, mlp_t)
    x = np.random.default_rng(0).normal(size=(5, 4))
    np.testing.assert_allclose(mlp(x).numpy(), mlp_t(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)

    class TaggerT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.embed = tnn.Embedding(7, 4)
            self.lstm = tnn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True)
            self.head = tnn.Linear(10, 3)

        def forward(self, idx):
            return self.head(self.lstm(self.embed(idx))[0])

    tagger_t, tagger = TaggerT().double(), Tagger()
    nn.load_torch_state_dict(tagger, tagger_t.state_dict())
    idx = np.random.default_rng(1).integers(0, 7, size=(2, 6))
    np.testing.assert_allclose(tagger(idx).numpy(), tagger_t(torch.from_numpy(idx)).detach().numpy(), rtol=1e-12)
    # and back: PyTorch loads our state in its layout
    tagger_t.load_state_dict({k: torch.from_numpy(v) for k, v in nn.to_torch_state_dict(Tagger()).items()})
    np.testing.assert_allclose(Tagger()(idx).numpy(), tagger_t(torch.from_numpy(idx)).detach().numpy(), rtol=1e-12)
