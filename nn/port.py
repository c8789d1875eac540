"""Move weights between PyTorch and nn: state dicts converted by parameter name.

Names match when the model is built the same way (``Sequential`` numbers its layers,
activations included, as PyTorch does; RNN/GRU/LSTM use PyTorch's names). The one
layout that differs is :class:`nn.Linear`'s weight, (in_features, out_features) here
and (out_features, in_features) in PyTorch: it is transposed, decided by the module
type (so a square weight is transposed too), never guessed from shapes. Any other
shape difference is an error naming the key. torch is never imported: values may be
torch tensors (anything with ``.detach().cpu().numpy()``) or array-likes.

>>> import nn
>>> model = nn.Sequential(nn.Linear(3, 2, seed=0))
>>> ours = from_torch_state_dict(model, {"0.weight": np.ones((2, 3)), "0.bias": np.zeros(2)})
>>> ours["0.weight"].shape
(3, 2)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from .layers import Linear
from .module import Module


def _array(value: Any) -> np.ndarray:
    """A NumPy copy of a torch tensor (detached, on the CPU) or of an array-like."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.array(value, copy=True)


def _transposed_keys(model: Module) -> set[str]:
    """The state-dict keys whose layout is transposed from PyTorch's (Linear weights)."""
    return {f"{name}.weight" if name else "weight" for name, m in model.named_modules() if isinstance(m, Linear)}


def _check_keys(owner: str, ours: Mapping[str, Any], theirs: Mapping[str, Any], strict: bool) -> None:
    if not strict:
        return
    missing = [k for k in ours if k not in theirs]
    unexpected = [k for k in theirs if k not in ours]
    if missing:
        raise KeyError(f"{owner}: the PyTorch state has no key '{missing[0]}' ({len(missing)} missing in all; "
                       f"its keys start {list(theirs)[:4]})")
    if unexpected:
        raise KeyError(f"{owner}: the PyTorch state has key '{unexpected[0]}' that the model lacks "
                       f"({len(unexpected)} unexpected in all); pass strict=False to skip them")


def from_torch_state_dict(model: Module, torch_state: Mapping[str, Any],
                          strict: bool = True) -> OrderedDict[str, np.ndarray]:
    """``torch_state`` (a PyTorch ``state_dict()``) as a state dict for ``model``: NumPy
    arrays by name, Linear weights transposed, cast to the model's dtypes.

    With ``strict`` (the default) every key of the model must be present and no other;
    otherwise keys only one side has are skipped. A shape mismatch is a ValueError
    naming the key and both shapes. The model is not changed (see
    :func:`load_torch_state_dict`).
    """
    if not isinstance(model, Module):
        raise TypeError(f"from_torch_state_dict: model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(torch_state, Mapping):
        hint = " (pass the model's .state_dict())" if hasattr(torch_state, "state_dict") else ""
        raise TypeError(f"from_torch_state_dict: expected a mapping of names to tensors, "
                        f"got {type(torch_state).__name__}{hint}")
    ours = model.state_dict()
    _check_keys("from_torch_state_dict", ours, torch_state, strict)
    flip = _transposed_keys(model)
    out: OrderedDict[str, np.ndarray] = OrderedDict()
    for key, target in ours.items():
        if key not in torch_state:
            continue
        value = _array(torch_state[key])
        if key in flip:
            value = value.T
        if value.shape != target.shape:
            note = " (after transposing PyTorch's (out, in) Linear weight)" if key in flip else ""
            raise ValueError(f"from_torch_state_dict: '{key}' has shape {value.shape}{note} from PyTorch, "
                             f"{target.shape} in the model")
        out[key] = np.array(value, dtype=target.dtype, order="C")  # (ascontiguousarray would make 0-d 1-d)
    return out


def load_torch_state_dict(model: Module, torch_state: Mapping[str, Any], strict: bool = True) -> Module:
    """Load a PyTorch ``state_dict()`` into ``model`` (see :func:`from_torch_state_dict`); returns the model.

    >>> import nn
    >>> model = load_torch_state_dict(nn.Linear(2, 1, seed=0), {"weight": [[1.0, 2.0]], "bias": [0.5]})
    >>> model.weight
    Parameter([[1.],
               [2.]], requires_grad=True)
    """
    model.load_state_dict(from_torch_state_dict(model, torch_state, strict), strict=False)
    return model


def to_torch_state_dict(model: Module) -> OrderedDict[str, np.ndarray]:
    """``model.state_dict()`` in PyTorch's layouts (Linear weights transposed to (out, in)),
    as NumPy arrays: ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in ...})``."""
    flip = _transposed_keys(model)
    return OrderedDict((k, np.ascontiguousarray(v.T) if k in flip else v) for k, v in model.state_dict().items())
