"""Recurrent cells with PyTorch's formulas, parameter names and layouts: RNNCell,
GRUCell, LSTMCell, and the one-step functions the multi-layer RNN, GRU and LSTM reuse.

Weights keep PyTorch's layout (unlike :class:`nn.Linear`): ``weight_ih`` is
(gates * hidden_size, input_size) and ``weight_hh`` is (gates * hidden_size,
hidden_size), the gates stacked in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n),
so a PyTorch state dict loads without transposing. Every parameter starts
uniform in (-1/sqrt(hidden_size), 1/sqrt(hidden_size)), drawn in parameter order from
the ``numpy.random.Generator`` given as ``rng`` or made from ``seed``.

>>> cell = LSTMCell(3, 4, seed=0)
>>> h, c = cell(np.ones((2, 3)))
>>> h.shape, c.shape
((2, 4), (2, 4))
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor

from .checks import check_bool, check_number
from .init import make_rng
from .module import Module, Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def gate(gates: Tensor, k: int, hidden: int) -> Tensor:
    """The k-th block of ``hidden`` columns of ``gates`` (last axis)."""
    return ad.getitem(gates, (Ellipsis, slice(k * hidden, (k + 1) * hidden)))


def rnn_step(xw: Tensor, h: Any, w_hh_t: Tensor, b_hh: Tensor | None, relu: bool) -> Tensor:
    """h' = act(xw + h @ W_hh^T + b_hh), where xw = x @ W_ih^T + b_ih (act: tanh or relu)."""
    pre = xw + ad.linear(h, w_hh_t, b_hh)
    out: Tensor = ad.relu(pre) if relu else ad.tanh(pre)
    return out


def gru_step(xw: Tensor, h: Any, w_hh_t: Tensor, b_hh: Tensor | None) -> Tensor:
    """PyTorch's GRU: r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r * h_n),
    h' = (1 - z) * n + z * h, where x_* = x @ W_i*^T + b_i* and h_* = h @ W_h*^T + b_h*."""
    hw = ad.linear(h, w_hh_t, b_hh)
    size = hw.shape[-1] // 3
    r = ad.sigmoid(gate(xw, 0, size) + gate(hw, 0, size))
    z = ad.sigmoid(gate(xw, 1, size) + gate(hw, 1, size))
    n = ad.tanh(gate(xw, 2, size) + r * gate(hw, 2, size))
    h_new: Tensor = n + z * (h - n)
    return h_new


def lstm_step(xw: Tensor, h: Any, c: Any, w_hh_t: Tensor, b_hh: Tensor | None) -> tuple[Tensor, Tensor]:
    """PyTorch's LSTM: gates i, f, g, o from xw + h @ W_hh^T + b_hh (σ, σ, tanh, σ),
    c' = f * c + i * g, h' = o * tanh(c')."""
    gates = xw + ad.linear(h, w_hh_t, b_hh)
    size = gates.shape[-1] // 4
    i, f = ad.sigmoid(gate(gates, 0, size)), ad.sigmoid(gate(gates, 1, size))
    g, o = ad.tanh(gate(gates, 2, size)), ad.sigmoid(gate(gates, 3, size))
    c_new = f * c + i * g
    return o * ad.tanh(c_new), c_new


def step(mode: str, xw: Tensor, state: Any, w_hh_t: Tensor, b_hh: Tensor | None) -> Any:
    """One step of ``mode`` ('RNN_TANH', 'RNN_RELU', 'GRU', 'LSTM'); an LSTM's state is (h, c)."""
    if mode == "LSTM":
        return lstm_step(xw, state[0], state[1], w_hh_t, b_hh)
    if mode == "GRU":
        return gru_step(xw, state, w_hh_t, b_hh)
    return rnn_step(xw, state, w_hh_t, b_hh, relu=mode == "RNN_RELU")


def check_sizes(owner: str, input_size: Any, hidden_size: Any, bias: Any) -> None:
    """Errors naming ``owner`` for sizes that are not positive integers or a non-bool ``bias``."""
    check_number(owner, "input_size", input_size, "positive", integer=True)
    check_number(owner, "hidden_size", hidden_size, "positive", integer=True)
    check_bool(owner, "bias", bias)


def mode_of(owner: str, name: str, nonlinearity: str) -> str:
    """The mode key of a layer called ``name`` ('RNN' takes a nonlinearity)."""
    if name != "RNN":
        return name
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{owner}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def uniform_parameter(shape: tuple[int, ...], hidden_size: int, rng: np.random.Generator, dtype: Any) -> Parameter:
    """A parameter drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), PyTorch's RNN init."""
    k = 1.0 / np.sqrt(hidden_size)
    dtype = np.dtype(dtype) if dtype is not None else ad.get_default_dtype()
    return Parameter(rng.uniform(-k, k, size=shape).astype(dtype))


class _CellBase(Module):
    """Shared by the three cells: parameters, input checks, the zero initial state."""

    _kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool, nonlinearity: str,
                 seed: int | None, rng: np.random.Generator | None, dtype: Any) -> None:
        super().__init__()
        owner = type(self).__name__
        check_sizes(owner, input_size, hidden_size, bias)
        self.mode = mode_of(owner, self._kind, nonlinearity)
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        gen, rows = make_rng(seed, rng), GATES[self.mode] * self.hidden_size
        self.weight_ih = uniform_parameter((rows, self.input_size), self.hidden_size, gen, dtype)
        self.weight_hh = uniform_parameter((rows, self.hidden_size), self.hidden_size, gen, dtype)
        self.bias_ih = uniform_parameter((rows,), self.hidden_size, gen, dtype) if bias else None
        self.bias_hh = uniform_parameter((rows,), self.hidden_size, gen, dtype) if bias else None

    def _input(self, x: Any) -> tuple[Any, tuple[int, ...]]:
        """``x`` checked to be (batch, input_size) or (input_size,); returns it and the state's shape."""
        shape = np.shape(x)
        if len(shape) not in (1, 2) or shape[-1] != self.input_size:
            raise ValueError(f"{self!r}: expected input of shape (batch, {self.input_size}) or "
                             f"({self.input_size},), got {shape}")
        return x, shape[:-1] + (self.hidden_size,)

    def _state(self, value: Any, shape: tuple[int, ...], what: str, dtype: np.dtype) -> Any:
        if value is None:
            return np.zeros(shape, dtype=dtype)
        if np.shape(value) != shape:
            raise ValueError(f"{self!r}: expected {what} of shape {shape} for input of batch shape "
                             f"{shape[:-1]}, got {np.shape(value)}")
        return value

    def _project(self, x: Any) -> Tensor:
        return ad.linear(x, ad.transpose(self.weight_ih), self.bias_ih)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih is None:
            text += ", bias=False"
        return text + (", nonlinearity='relu'" if self.mode == "RNN_RELU" else "")


class RNNCell(_CellBase):
    """h' = tanh(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh) (or relu), as ``torch.nn.RNNCell``.

    ``cell(x, h=None)`` takes x of shape (batch, input_size) or (input_size,) and h of
    shape (batch, hidden_size) or (hidden_size,) (zeros when None); returns h'.
    """

    _kind = "RNN"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 seed: int | None = None, rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, nonlinearity, seed, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:  # noqa: A002  (PyTorch's argument name)
        x, shape = self._input(input)
        h = self._state(hx, shape, "hidden state hx", self.weight_hh.dtype)
        return rnn_step(self._project(x), h, ad.transpose(self.weight_hh), self.bias_hh, self.mode == "RNN_RELU")


class GRUCell(_CellBase):
    """PyTorch's GRU cell (gates r, z, n; see :func:`gru_step`); ``cell(x, h=None)`` returns h'."""

    _kind = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, seed: int | None = None,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, "tanh", seed, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> Tensor:  # noqa: A002
        x, shape = self._input(input)
        h = self._state(hx, shape, "hidden state hx", self.weight_hh.dtype)
        return gru_step(self._project(x), h, ad.transpose(self.weight_hh), self.bias_hh)


class LSTMCell(_CellBase):
    """PyTorch's LSTM cell (gates i, f, g, o; see :func:`lstm_step`).

    ``cell(x, (h, c))`` (or ``cell(x)`` for zero states) returns ``(h', c')``.
    """

    _kind = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, seed: int | None = None,
                 rng: np.random.Generator | None = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, "tanh", seed, rng, dtype)

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        x, shape = self._input(input)
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self!r}: hx must be a pair (h, c), got {type(hx).__name__}")
        h0, c0 = (None, None) if hx is None else hx
        h = self._state(h0, shape, "hidden state h", self.weight_hh.dtype)
        c = self._state(c0, shape, "cell state c", self.weight_hh.dtype)
        return lstm_step(self._project(x), h, c, ad.transpose(self.weight_hh), self.bias_hh)
