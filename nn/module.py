"""Module, Parameter and Buffer: the containers every layer is built from (as in PyTorch).

A Module finds its state by one walk over its attributes, by type: any attribute
(whatever its name, ``_private`` ones included) holding a :class:`Parameter`, a
:class:`Buffer` or a :class:`Module`, or a list, tuple or dict of them, registers.
Modules and parameters reachable twice are reported once, as PyTorch's
``named_modules`` and ``named_parameters`` do.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from autodiff import Tensor

from .module_state import changed, same_setting

_UNSET = object()  # (an attribute not assigned yet)


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad=True``, found by ``parameters()``.

    >>> Parameter(np.zeros(3)).requires_grad
    True
    """

    __slots__ = ()
    # a compiled function reads this object's array at every call, frozen (requires_grad
    # False) or not: its module keeps the object (a buffer is replaced instead)
    read_by_identity = True

    def __init__(self, data: Any, name: str | None = None, dtype: Any = None, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor"):]


class Buffer(Tensor):
    """A Tensor a Module keeps in its ``state_dict`` but does not train (BatchNorm's
    running statistics), as PyTorch's ``nn.Buffer``. Assigning an array to an attribute
    that holds a Buffer keeps it a Buffer.

    >>> Buffer(np.zeros(2)).requires_grad
    False
    """

    __slots__ = ()

    def __init__(self, data: Any, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=False, dtype=dtype)

    def __repr__(self) -> str:
        return "Buffer" + super().__repr__()[len("Tensor"):]


def _found_in(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """(name, item) for a Module/Parameter/Buffer, or for each one in a list, tuple or dict."""
    if isinstance(value, (Module, Parameter, Buffer)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _found_in(v, f"{prefix}.{i}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _found_in(v, f"{prefix}.{k}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_name(owner: Module, method: str, name: Any, kind: type) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{method}: name must be a str, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{method}: name must be non-empty and contain no '.', got {name!r}")
    if name == "training" or (hasattr(type(owner), name) and name not in owner.__dict__):
        raise KeyError(f"{method}: {name!r} is already an attribute of {type(owner).__name__}")
    current = owner.__dict__.get(name)
    if current is not None and not isinstance(current, kind):
        raise KeyError(f"{method}: {name!r} already holds a {type(current).__name__}, not a {kind.__name__}")


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

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it (``module(x)`` calls it)."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        # as in PyTorch, assigning an array or Tensor to a buffer's name updates the buffer
        if isinstance(self.__dict__.get(name), Buffer) and value is not None \
                and not isinstance(value, (Buffer, Parameter, Module)):
            value = Buffer(value)
        if not isinstance(value, Buffer) and not same_setting(self.__dict__.get(name, _UNSET), value):
            changed()
        object.__setattr__(self, name, value)

    # ----------------------------------------------------------- discovery
    def _items(self) -> Iterator[tuple[str, Any]]:
        """Every Module, Parameter and Buffer held by this module's own attributes."""
        for key, value in vars(self).items():
            yield from _found_in(value, key)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct submodule, each one once."""
        seen: set[int] = set()
        for name, item in self._items():
            if isinstance(item, Module) and id(item) not in seen:
                seen.add(id(item))
                yield name, item

    def children(self) -> Iterator[Module]:
        """The direct submodules."""
        return (m for _, m in self.named_children())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every submodule, depth first, each once
        (a module reachable twice, or a cycle, is reported at its first name)."""
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack.extend(reversed([(_join(name, n), c) for n, c in module.named_children()]))

    def modules(self) -> Iterator[Module]:
        """This module and every submodule."""
        return (m for _, m in self.named_modules())

    def _named_state(self, kind: type, prefix: str = "") -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix):
            for name, item in module._items():
                if isinstance(item, kind) and id(item) not in seen:
                    seen.add(id(item))
                    yield _join(mod_name, name), item

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each shared one once: a module's
        own parameters before its submodules' (PyTorch's order)."""
        return self._named_state(Parameter, prefix)

    def parameters(self) -> list[Parameter]:
        """Every parameter of this module and its submodules."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Buffer]]:
        """(dotted name, buffer) for every buffer of this module and its submodules."""
        return self._named_state(Buffer, prefix)

    def buffers(self) -> list[Buffer]:
        """Every buffer of this module and its submodules."""
        return [b for _, b in self.named_buffers()]

    def num_parameters(self) -> int:
        """How many scalars the parameters hold."""
        return sum(p.size for p in self.parameters())

    # --------------------------------------------------------- registering
    def register_buffer(self, name: str, value: Any) -> None:
        """Keep an array (not trained) as attribute ``name`` that ``state_dict`` saves."""
        _check_name(self, "register_buffer", name, Buffer)
        changed()
        object.__setattr__(self, name, value if isinstance(value, Buffer) else Buffer(value))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` as attribute ``name`` (None leaves the attribute empty)."""
        _check_name(self, "register_parameter", name, Parameter)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        changed()
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add ``module`` as the submodule (attribute) ``name``."""
        _check_name(self, "add_module", name, Module)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        changed()
        object.__setattr__(self, name, module)

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule, then on this module (PyTorch's order); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter (False freezes them); returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    # --------------------------------------------------------------- state
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics); returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, or zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            _zero(p, set_to_none)

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, t in [*self.named_parameters(), *self.named_buffers()]:
            state[name] = t.data.copy()
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers of the same names.

        With ``strict`` (the default) a missing or unexpected key is an error naming
        it; a shape mismatch is always an error naming the key. Values are cast to
        each parameter's dtype.
        """
        if not isinstance(state, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to arrays, got {type(state).__name__}")
        targets = dict([*self.named_parameters(), *self.named_buffers()])
        if strict:
            missing = [k for k in targets if k not in state]
            unexpected = [k for k in state if k not in targets]
            if missing:
                raise KeyError(f"load_state_dict: missing key '{missing[0]}' ({len(missing)} missing in all)")
            if unexpected:
                raise KeyError(f"load_state_dict: unexpected key '{unexpected[0]}' "
                               f"({len(unexpected)} unexpected in all)")
        updates = []
        for key, value in state.items():
            if key in targets:
                t, value = targets[key], np.asarray(value)
                if value.shape != t.shape:
                    raise ValueError(f"load_state_dict: '{key}' has shape {value.shape} in the state, "
                                     f"{t.shape} in the model")
                updates.append((t, value.astype(t.dtype, copy=True)))
        for t, value in updates:  # all checked before any is changed
            t.data = value

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


def _zero(p: Tensor, set_to_none: bool) -> None:
    if set_to_none or p.grad is None:
        p.grad = None
    else:
        p.grad = Tensor(np.zeros_like(p.data))
