"""Module and Parameter: the containers every layer is built from (as in PyTorch).

A Module finds its parameters through its attributes, including lists, tuples and
dicts of modules or parameters; ``state_dict`` also holds its buffers (arrays such
as BatchNorm's running statistics).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from autodiff import Tensor


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad=True``, found by ``parameters()``.

    >>> Parameter(np.zeros(3)).requires_grad
    True
    """

    __slots__ = ()

    def __init__(self, data: Any, name: str | None = None, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=True, name=name, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]


def _children_of(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(name, item) for a module/parameter, or for each one in a list, tuple or dict."""
    if isinstance(value, (Module, Parameter)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _children_of(v, f"{prefix}.{i}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _children_of(v, f"{prefix}.{k}")


class Module:
    """Base class of layers and models: ``__call__`` runs ``forward``.

    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(np.ones(2))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    def __init__(self) -> None:
        self.training = True
        self._buffers: list[str] = []

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it (``module(x)`` calls it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ----------------------------------------------------------- discovery
    def _items(self) -> Iterator[tuple[str, Any]]:
        for key, value in vars(self).items():
            if not key.startswith("_"):
                yield from _children_of(value, key)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct submodule."""
        for name, item in self._items():
            if isinstance(item, Module):
                yield name, item

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every submodule, depth first."""
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every submodule."""
        return (m for _, m in self.named_modules())

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each shared one once: a module's
        own parameters before its submodules' (PyTorch's order)."""
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix):
            for name, item in module._items():
                if isinstance(item, Parameter) and id(item) not in seen:
                    seen.add(id(item))
                    yield (f"{mod_name}.{name}" if mod_name else name), item

    def parameters(self) -> list[Parameter]:
        """Every parameter of this module and its submodules."""
        return [p for _, p in self.named_parameters()]

    def register_buffer(self, name: str, value: np.ndarray) -> None:
        """Keep an array (not trained) as an attribute that ``state_dict`` saves."""
        setattr(self, name, np.asarray(value))
        if name not in self._buffers:
            self._buffers.append(name)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every buffer of this module and its submodules."""
        for mod_name, module in self.named_modules():
            for name in module._buffers:
                yield (f"{mod_name}.{name}" if mod_name else name), getattr(module, name)

    def num_parameters(self) -> int:
        """How many scalars the parameters hold."""
        return sum(p.size for p in self.parameters())

    # --------------------------------------------------------------- state
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics); returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient."""
        for p in self.parameters():
            p.grad = None

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, b in self.named_buffers():
            state[name] = np.array(b, copy=True)
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers of the same names.

        With ``strict`` (the default) a missing or unexpected key is an error naming
        it; a shape mismatch is always an error naming the key. Values are cast to
        each parameter's dtype.
        """
        params = dict(self.named_parameters())
        buffers = {name: owner for owner_name, owner in self.named_modules()
                   for name in [f"{owner_name}.{b}" if owner_name else b for b in owner._buffers]}
        if strict:
            missing = [k for k in [*params, *buffers] if k not in state]
            unexpected = [k for k in state if k not in params and k not in buffers]
            if missing:
                raise KeyError(f"load_state_dict: missing key '{missing[0]}' ({len(missing)} missing in all)")
            if unexpected:
                raise KeyError(f"load_state_dict: unexpected key '{unexpected[0]}' "
                               f"({len(unexpected)} unexpected in all)")
        for key, value in state.items():
            value = np.asarray(value)
            if key in params:
                p = params[key]
                if value.shape != p.shape:
                    raise ValueError(f"load_state_dict: '{key}' has shape {value.shape} in the state, "
                                     f"{p.shape} in the model")
                p.data = value.astype(p.dtype, copy=True)
            elif key in buffers:
                owner, attr = buffers[key], key.rsplit(".", 1)[-1]
                current = np.asarray(getattr(owner, attr))
                if value.shape != current.shape:
                    raise ValueError(f"load_state_dict: '{key}' has shape {value.shape} in the state, "
                                     f"{current.shape} in the model")
                setattr(owner, attr, value.astype(current.dtype, copy=True))

    # ---------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr``."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            count = child.num_parameters()
            lines.append(f"  ({name}): {body}" + (f"  # {count:,} params" if count else ""))
        lines.append(f")  # {self.num_parameters():,} parameters in all")
        return "\n".join(lines)
