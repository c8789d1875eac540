"""Multi-layer recurrent layers RNN, GRU and LSTM with PyTorch's formulas, arguments,
parameter names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
``..._l0_reverse`` for the backward direction), layouts and return values.

The sequence is unrolled into one step per time index, each step composed from
autodiff functions (see :mod:`nn.rnn_cells`), so backward is backpropagation
through time with no derivative code here.

>>> lstm = LSTM(3, 5, num_layers=2, batch_first=True, seed=0)
>>> out, (h_n, c_n) = lstm(np.ones((2, 7, 3)))      # (batch, seq, feature)
>>> out.shape, h_n.shape, c_n.shape
((2, 7, 5), (2, 2, 5), (2, 2, 5))
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from . import functional as F
from .checks import check_bool, check_number
from .init import make_rng
from .module import Module
from .rnn_cells import GATES, check_sizes, mode_of, step, uniform_parameter


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


def _index(x: Any, index: Any) -> Any:
    """``x[index]``: a graph node for a Tensor, a plain view for an array."""
    return ad.getitem(x, index) if isinstance(x, Tensor) else x[index]


class _RNNBase(Module):
    """Parameters, argument checks and the unrolled forward shared by RNN, GRU and LSTM."""

    _kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, nonlinearity: str, bias: bool,
                 batch_first: bool, dropout: float, bidirectional: bool, seed: int | None,
                 rng: np.random.Generator | None, dtype: Any) -> None:
        super().__init__()
        owner = type(self).__name__
        check_sizes(owner, input_size, hidden_size, bias)
        check_number(owner, "num_layers", num_layers, "positive", integer=True)
        check_bool(owner, "batch_first", batch_first)
        check_bool(owner, "bidirectional", bidirectional)
        check_number(owner, "dropout", dropout, "unit_open")
        self.mode = mode_of(owner, self._kind, nonlinearity)
        if dropout and num_layers == 1:
            warnings.warn(f"{owner}: dropout acts between recurrent layers, so a non-zero dropout expects "
                          f"num_layers greater than 1, got dropout={dropout} and num_layers=1", stacklevel=3)
        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout = float(dropout)
        self.num_directions = 2 if bidirectional else 1
        gen = make_rng(seed, rng)
        rows = GATES[self.mode] * self.hidden_size
        for layer in range(self.num_layers):
            width = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                sfx = _suffix(layer, direction)
                setattr(self, "weight_ih" + sfx, uniform_parameter((rows, width), self.hidden_size, gen, dtype))
                setattr(self, "weight_hh" + sfx,
                        uniform_parameter((rows, self.hidden_size), self.hidden_size, gen, dtype))
                if self.bias:
                    setattr(self, "bias_ih" + sfx, uniform_parameter((rows,), self.hidden_size, gen, dtype))
                    setattr(self, "bias_hh" + sfx, uniform_parameter((rows,), self.hidden_size, gen, dtype))
        self._state_dtype = np.dtype(dtype) if dtype is not None else ad.get_default_dtype()
        self._dropout_rng = gen  # dropout between layers draws its masks from the same Generator

    # ------------------------------------------------------------------ checks
    def _steps(self, input: Any) -> tuple[list[Any], tuple[int, ...]]:  # noqa: A002
        """The input split into time steps, and the batch shape (``()`` when unbatched)."""
        x = input if isinstance(input, Tensor) else np.asarray(input)
        shape = x.shape
        layout = "(batch, seq_len, " if self.batch_first else "(seq_len, batch, "
        if len(shape) not in (2, 3) or shape[-1] != self.input_size:
            raise ValueError(f"{self!r}: expected input of shape {layout}{self.input_size}) or "
                             f"(seq_len, {self.input_size}), got {shape}")
        time_axis = 1 if self.batch_first and len(shape) == 3 else 0
        if shape[time_axis] == 0:
            raise ValueError(f"{self!r}: the input sequence is empty (shape {shape})")
        steps = [_index(x, (slice(None),) * time_axis + (t,)) for t in range(shape[time_axis])]
        return steps, (shape[1 - time_axis],) if len(shape) == 3 else ()

    def _states(self, value: Any, batch: tuple[int, ...], what: str) -> list[Any]:
        """One initial state per (layer, direction), from ``value`` (zeros when None)."""
        shape = (self.num_layers * self.num_directions, *batch, self.hidden_size)
        if value is None:
            return [np.zeros(shape[1:], dtype=self._state_dtype)] * shape[0]
        if np.shape(value) != shape:
            raise ValueError(f"{self!r}: expected {what} of shape {shape} (num_layers * num_directions, "
                             f"{'batch, ' if batch else ''}hidden_size) for input of batch shape {batch}, "
                             f"got {np.shape(value)}")
        return [_index(value, k) for k in range(shape[0])]

    def _initial(self, hx: Any, batch: tuple[int, ...]) -> list[Any]:
        if self.mode != "LSTM":
            return self._states(hx, batch, "h_0")
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self!r}: hx must be a pair (h_0, c_0), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        return list(zip(self._states(h0, batch, "h_0"), self._states(c0, batch, "c_0"), strict=True))

    # ----------------------------------------------------------------- forward
    def _run(self, layer: int, direction: int, steps: list[Any], state: Any) -> tuple[list[Any], Any]:
        """One direction of one layer over the whole sequence: its outputs and last state."""
        sfx = _suffix(layer, direction)
        w_ih_t, w_hh_t = ad.transpose(getattr(self, "weight_ih" + sfx)), ad.transpose(getattr(self, "weight_hh" + sfx))
        b_ih, b_hh = getattr(self, "bias_ih" + sfx, None), getattr(self, "bias_hh" + sfx, None)
        outputs: list[Any] = [None] * len(steps)
        for t in (reversed(range(len(steps))) if direction else range(len(steps))):
            state = step(self.mode, ad.linear(steps[t], w_ih_t, b_ih), state, w_hh_t, b_hh)
            outputs[t] = state[0] if self.mode == "LSTM" else state
        return outputs, state

    def _unroll(self, input: Any, hx: Any) -> tuple[Tensor, list[Any]]:  # noqa: A002
        steps, batch = self._steps(input)
        states = self._initial(hx, batch)
        finals: list[Any] = []
        for layer in range(self.num_layers):
            runs = [self._run(layer, d, steps, states[layer * self.num_directions + d])
                    for d in range(self.num_directions)]
            finals.extend(last for _, last in runs)
            steps = runs[0][0] if self.num_directions == 1 else \
                [ad.concatenate([a, b], axis=-1) for a, b in zip(runs[0][0], runs[1][0], strict=True)]
            if self.dropout and self.training and layer < self.num_layers - 1:
                steps = [F.dropout(s, self.dropout, True, self._dropout_rng) for s in steps]
        output = ad.stack(steps, axis=1 if self.batch_first and batch else 0)
        return output, finals

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


_ARGS = """
    Arguments as PyTorch's: ``input_size``, ``hidden_size``, ``num_layers``, ``bias``,
    ``batch_first`` (input and output (batch, seq, feature) instead of (seq, batch,
    feature); the states stay (num_layers * num_directions, batch, hidden_size)),
    ``dropout`` (on the outputs of every layer but the last, in training mode),
    ``bidirectional``; and ``seed``/``rng``/``dtype`` for the parameters. An unbatched
    input (seq_len, input_size) takes states (num_layers * num_directions, hidden_size).
"""


class RNN(_RNNBase):
    """Elman RNN: h_t = tanh(x_t @ W_ih^T + b_ih + h_{t-1} @ W_hh^T + b_hh) per layer
    (``nonlinearity='relu'`` for relu). ``rnn(x, h_0=None)`` returns ``(output, h_n)``.
    """

    _kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 seed: int | None = None, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, nonlinearity, bias, batch_first, dropout,
                         bidirectional, seed, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        output, finals = self._unroll(input, hx)
        return output, ad.stack(finals, axis=0)


class GRU(_RNNBase):
    """PyTorch's GRU (gates r, z, n per layer); ``gru(x, h_0=None)`` returns ``(output, h_n)``.
    """

    _kind = "GRU"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 seed: int | None = None, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout,
                         bidirectional, seed, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        output, finals = self._unroll(input, hx)
        return output, ad.stack(finals, axis=0)


class LSTM(_RNNBase):
    """PyTorch's LSTM (gates i, f, g, o per layer); ``lstm(x, (h_0, c_0))`` (or ``lstm(x)``
    for zero states) returns ``(output, (h_n, c_n))``.
    """

    _kind = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 seed: int | None = None, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, "tanh", bias, batch_first, dropout,
                         bidirectional, seed, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:  # noqa: A002
        output, finals = self._unroll(input, hx)
        return output, (ad.stack([h for h, _ in finals], axis=0), ad.stack([c for _, c in finals], axis=0))


for _layer in (RNN, GRU, LSTM):
    _layer.__doc__ = (_layer.__doc__ or "") + _ARGS
