"""Port PyTorch models (an MLP, a CNN, an LSTM tagger) to nn: the same architecture, PyTorch's state dict loaded with
``nn.load_torch_state_dict``, and the outputs compared (needs torch; skipped without it).

    python examples/port_from_torch.py
"""

from __future__ import annotations

import numpy as np
from common import parser

import nn


def port_mlp(torch, x: np.ndarray) -> float:
    """A 4-16-16-3 MLP: the largest |difference| between PyTorch's outputs and ours."""
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Linear(4, 16), tnn.ReLU(), tnn.Linear(16, 16), tnn.Tanh(), tnn.Linear(16, 3)).double()
    ours = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3))
    nn.load_torch_state_dict(ours, theirs.state_dict())  # Linear weights transposed to (in, out)
    return float(np.abs(ours(x).numpy() - theirs(torch.from_numpy(x)).detach().numpy()).max())


def port_cnn(torch, x: np.ndarray) -> float:
    """The same for a small CNN (Conv2d, MaxPool2d, LayerNorm, Flatten, Linear): conv weights
    share PyTorch's (out, in, kh, kw) layout, so only the Linear weight is transposed."""
    tnn = torch.nn
    theirs = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.LayerNorm([4, 4, 4]),
                            tnn.Flatten(), tnn.Linear(64, 10)).double()
    ours = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.LayerNorm([4, 4, 4]),
                         nn.Flatten(), nn.Linear(64, 10))
    nn.load_torch_state_dict(ours, theirs.state_dict())
    return float(np.abs(ours(x).numpy() - theirs(torch.from_numpy(x)).detach().numpy()).max())


class Tagger(nn.Module):
    """Embedding -> 2-layer bidirectional LSTM -> Linear, attribute names as in the PyTorch model."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=True)
        self.head = nn.Linear(24, 5)

    def forward(self, idx):
        out, _ = self.lstm(self.embed(idx))
        return self.head(out)


def port_tagger(torch, idx: np.ndarray) -> float:
    """The same for an Embedding + LSTM + Linear sequence tagger."""
    tnn = torch.nn

    class TorchTagger(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = tnn.Embedding(20, 8)
            self.lstm = tnn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=True)
            self.head = tnn.Linear(24, 5)

        def forward(self, idx):
            return self.head(self.lstm(self.embed(idx))[0])

    theirs, ours = TorchTagger().double(), Tagger()
    nn.load_torch_state_dict(ours, theirs.state_dict())  # LSTM and Embedding: same names and layouts
    return float(np.abs(ours(idx).numpy() - theirs(torch.from_numpy(idx)).detach().numpy()).max())


def main(argv=None) -> dict:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    try:
        import torch
    except ImportError:
        print("(skipped: PyTorch is not installed)")
        return {}
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    result = {"mlp": port_mlp(torch, rng.normal(size=(8, 4))),
              "cnn": port_cnn(torch, rng.normal(size=(5, 1, 8, 8))),
              "tagger": port_tagger(torch, rng.integers(0, 20, size=(3, 10)))}
    for label, key in (("MLP 4-16-16-3, 8 rows", "mlp"), ("CNN on 8x8 images, 5 images", "cnn"),
                       ("Embedding + 2-layer BiLSTM + Linear, 3 x 10", "tagger")):
        print(f"{label:<44} max |ours - PyTorch| = {result[key]:.1e}")
    return result


if __name__ == "__main__":
    main()
