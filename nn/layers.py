"""Layers: Linear, Sequential, MLP, Dropout, BatchNorm1d and activation modules.

Each forward is a composition of autodiff functions; randomness comes from a
``numpy.random.Generator`` given as ``rng`` or made from ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

import autodiff as ad
from autodiff import Tensor, TensorLike

from . import activations as A, functional as F, init as init_
from .checks import check_bool, check_number
from .init import make_rng
from .module import Module, Parameter


class Linear(Module):
    """y = x @ weight + bias, with ``weight`` of shape (in_features, out_features).

    >>> layer = Linear(3, 2, seed=0)
    >>> layer(np.ones((4, 3))).shape
    (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str | Callable[..., np.ndarray] = "glorot_uniform", seed: int | None = None,
                 rng: np.random.Generator | None = None, dtype: DTypeLike | None = None) -> None:
        super().__init__()
        check_number("Linear", "in_features", in_features, "positive", integer=True)
        check_number("Linear", "out_features", out_features, "positive", integer=True)
        check_bool("Linear", "bias", bias)
        in_features, out_features = int(in_features), int(out_features)
        self.in_features, self.out_features = in_features, out_features
        weight = init_.get(init)((in_features, out_features), make_rng(seed, rng), dtype=dtype)
        self.weight = Parameter(weight)
        self.bias = Parameter(np.zeros(out_features, dtype=weight.dtype)) if bias else None

    def forward(self, x: TensorLike) -> Tensor:
        shape = x._data.shape if isinstance(x, Tensor) else x.shape if isinstance(x, np.ndarray) else np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input with {self.in_features} features in its last dimension, "
                             f"got shape {shape}")
        return ad.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied one after another.

    >>> Sequential(Linear(4, 3, seed=0), ReLU())(np.ones((2, 4))).shape
    (2, 3)
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: expected Modules, got {type(m).__name__}")
        self.layers = list(modules)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for i, m in enumerate(self.layers):
            yield str(i), m

    def forward(self, x: Any) -> Any:
        for m in self.layers:
            x = m(x)
        return x

    def __getitem__(self, i: int) -> Module:
        return self.layers[i]

    def __setitem__(self, i: int, module: Module) -> None:
        """Replace the ``i``-th module (``seq[1] = Tanh()``, as in PyTorch)."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        layers = list(self.layers)
        layers[i] = module
        self.layers = layers  # (an assignment: a compiled step sees the new module)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)


class Dropout(Module):
    """Inverted dropout: in training, zero entries with probability p and scale the rest
    by 1/(1-p), with a fresh mask on every call; the identity in eval mode."""

    def __init__(self, p: float = 0.5, seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        check_number("Dropout", "p", p, "unit_open")
        self.p = p
        self._rng = make_rng(seed, rng)

    def forward(self, x: TensorLike) -> TensorLike:
        return F.dropout(x, self.p, self.training, self._rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) inputs, as PyTorch's BatchNorm1d.

    Training uses the batch's mean and (biased) variance and updates
    ``running_mean``/``running_var`` with ``momentum`` (the running variance is
    unbiased); eval mode uses the running statistics.
    """

    running_mean: Tensor  # buffers (register_buffer), replaced by a new Tensor at every training step
    running_var: Tensor
    num_batches_tracked: Tensor

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 dtype: DTypeLike | None = None) -> None:
        super().__init__()
        check_number("BatchNorm1d", "num_features", num_features, "positive", integer=True)
        check_number("BatchNorm1d", "eps", eps, "nonneg")
        check_number("BatchNorm1d", "momentum", momentum, "unit")
        check_bool("BatchNorm1d", "affine", affine)
        dtype = np.dtype(dtype) if dtype is not None else ad.get_default_dtype()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.weight = Parameter(np.ones(num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype))
        self.register_buffer("num_batches_tracked", np.zeros((), np.int64))

    def forward(self, x: TensorLike) -> Tensor:
        shape = np.shape(x)
        if len(shape) not in (2, 3) or shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {shape}")
        axes = (0,) if len(shape) == 2 else (0, 2)
        view = (1, -1) if len(shape) == 2 else (1, -1, 1)
        if self.training:
            n = shape[0] * (shape[2] if len(shape) == 3 else 1)
            if n < 2:
                raise ValueError(f"{self!r}: training needs more than one value per channel, got input shape {shape}")
            mean = ad.mean(x, axis=axes, keepdims=True)
            var = ad.var(x, axis=axes, keepdims=True)
            m = self.momentum
            with ad.no_grad():  # running statistics are values (Tensor ops, so a compiled step replays them)
                self.running_mean = (1 - m) * self.running_mean + m * ad.reshape(mean, (-1,))
                self.running_var = (1 - m) * self.running_var + m * ad.reshape(var, (-1,)) * n / (n - 1)
                self.num_batches_tracked = self.num_batches_tracked + 1
        else:
            mean = ad.reshape(self.running_mean, view)
            var = ad.reshape(self.running_var, view)
        out: Tensor = ad.sub(x, mean) / ad.sqrt(var + self.eps)  # x may be an ndarray: sub types as Tensor
        if self.weight is not None and self.bias is not None:  # affine: both exist
            out = out * ad.reshape(self.weight, view) + ad.reshape(self.bias, view)
        return out

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}"


class _Activation(Module):
    fn: Callable[..., Any] = staticmethod(F.identity)

    def forward(self, x: Any) -> Any:
        return type(self).fn(x)


class ReLU(_Activation):
    """max(x, 0)."""
    fn = staticmethod(ad.relu)


class ReLU6(_Activation):
    """min(max(x, 0), 6)."""
    fn = staticmethod(ad.relu6)


class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""
    fn = staticmethod(ad.sigmoid)


class Tanh(_Activation):
    """tanh(x)."""
    fn = staticmethod(ad.tanh)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch's defaults 1, 20)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        check_number("Softplus", "beta", beta, "positive")
        check_number("Softplus", "threshold", threshold)
        self.beta, self.threshold = beta, threshold

    def forward(self, x: TensorLike) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return "" if (self.beta, self.threshold) == (1.0, 20.0) else f"beta={self.beta}, threshold={self.threshold}"


class Identity(_Activation):
    """The identity."""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: TensorLike) -> Tensor:
        y: Tensor = ad.leaky_relu(x, self.negative_slope)
        return y

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: TensorLike) -> Tensor:
        y: Tensor = ad.elu(x, self.alpha)
        return y

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softmax(Module):
    """softmax along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: TensorLike) -> Tensor:
        return ad.softmax(x, axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


ACTIVATIONS: dict[str, Callable[[], Module]] = {
    "relu": ReLU, "relu6": ReLU6, "sigmoid": Sigmoid, "tanh": Tanh, "softplus": Softplus, "elu": ELU,
    "leaky_relu": LeakyReLU, "identity": Identity, "linear": Identity, "softmax": Softmax,
    "gelu": A.GELU, "silu": A.SiLU, "swish": A.SiLU, "mish": A.Mish, "selu": A.SELU, "celu": A.CELU,
    "hardtanh": A.Hardtanh, "hardsigmoid": A.Hardsigmoid, "hardswish": A.Hardswish, "logsigmoid": A.LogSigmoid,
    "softsign": A.Softsign, "log_softmax": A.LogSoftmax, "softmin": A.Softmin,
}


def get_activation(name: str | Module | None) -> Module:
    """An activation module from its name ('relu', 'tanh', ...), a module, or None (identity)."""
    if name is None:
        return Identity()
    if isinstance(name, Module):
        return name
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(ACTIVATIONS)}") from None


class MLP(Sequential):
    """A multilayer perceptron: Linear layers of ``sizes`` with an activation between
    them (and optional dropout), e.g. ``MLP([64, 50, 10])``.

    >>> print(MLP([4, 3, 2], seed=0))      # doctest: +NORMALIZE_WHITESPACE
    MLP(
      (0): Linear(in_features=4, out_features=3, bias=True)  # 15 params
      (1): ReLU()
      (2): Linear(in_features=3, out_features=2, bias=True)  # 8 params
    )  # 23 parameters in all
    """

    def __init__(self, sizes: list[int], activation: str | None = "relu", output_activation: str | None = None,
                 dropout: float = 0.0, init: str | Callable[..., np.ndarray] = "glorot_uniform",
                 seed: int | None = None, rng: np.random.Generator | None = None,
                 dtype: DTypeLike | None = None) -> None:
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs an input and an output size, got {sizes}")
        for size in sizes:
            check_number("MLP", "sizes", size, "positive", integer=True)
        gen = make_rng(seed, rng)
        modules: list[Module] = []
        for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            modules.append(Linear(a, b, init=init, rng=gen, dtype=dtype))
            if k < len(sizes) - 2:
                modules.append(get_activation(activation))
                if dropout:
                    modules.append(Dropout(dropout, rng=gen))
        if output_activation is not None:
            modules.append(get_activation(output_activation))
        super().__init__(*modules)
