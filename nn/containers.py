"""ModuleList and ModuleDict: modules held in a list or a dict, registered with their holder
(as PyTorch's). Putting a module in or taking one out counts as an edit of the holder
(``module_state.changed``), so a compiled step never runs a program traced before it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .module import Module
from .module_state import changed


class ModuleList(Module):
    """A list of modules whose parameters the holder registers, as PyTorch's ModuleList.

    >>> from nn import Linear
    >>> blocks = ModuleList([Linear(2, 2, seed=0), Linear(2, 1, seed=1)])
    >>> [name for name, _ in blocks.named_parameters()]
    ['0.weight', '0.bias', '1.weight', '1.bias']
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self._list: list[Module] = []
        self.extend(modules)

    def _items(self) -> Iterator[tuple[str, Any]]:
        return ((str(i), m) for i, m in enumerate(self._list))

    @staticmethod
    def _checked(module: Any) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList: expected Modules, got {type(module).__name__}")
        return module

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self._list.append(self._checked(module))
        changed()
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add every module of ``modules`` at the end; returns self."""
        self._list.extend(self._checked(m) for m in modules)
        changed()
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before ``index``."""
        self._list.insert(index, self._checked(module))
        changed()

    def __getitem__(self, i: int | slice) -> Any:
        return ModuleList(self._list[i]) if isinstance(i, slice) else self._list[i]

    def __setitem__(self, i: int, module: Module) -> None:
        self._list[i] = self._checked(module)
        changed()

    def __delitem__(self, i: int | slice) -> None:
        del self._list[i]
        changed()

    def __len__(self) -> int:
        return len(self._list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your module's forward")


class ModuleDict(Module):
    """A dict of modules (keys are strings) whose parameters the holder registers.

    >>> from nn import Linear
    >>> heads = ModuleDict({"a": Linear(2, 1, seed=0)})
    >>> [name for name, _ in heads.named_parameters()]
    ['a.weight', 'a.bias']
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        self._dict: dict[str, Module] = {}
        if modules is not None:
            self.update(modules)

    def _items(self) -> Iterator[tuple[str, Any]]:
        return iter(self._dict.items())

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got {key!r}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: {key!r} must be a Module, got {type(module).__name__}")
        self._dict[key] = module
        changed()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or (key, module) pairs."""
        for key, module in (modules.items() if isinstance(modules, Mapping) else modules):
            self[key] = module

    def __getitem__(self, key: str) -> Module:
        return self._dict[key]

    def __delitem__(self, key: str) -> None:
        del self._dict[key]
        changed()

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __len__(self) -> int:
        return len(self._dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def keys(self) -> Iterable[str]:
        """The keys, in insertion order."""
        return self._dict.keys()

    def values(self) -> Iterable[Module]:
        """The modules, in insertion order."""
        return self._dict.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        """(key, module) pairs, in insertion order."""
        return self._dict.items()

    def pop(self, key: str) -> Module:
        """Remove and return the module under ``key``."""
        module = self._dict.pop(key)
        changed()
        return module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("ModuleDict has no forward(): index it in your module's forward")
