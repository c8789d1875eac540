"""Save and load model weights as .npz files, never with pickle."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .module import Module


def save(model: Module, path: str | Path) -> Path:
    """Write the model's ``state_dict`` to an ``.npz`` file (the suffix is added if missing)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz")
    np.savez(path, **model.state_dict())  # type: ignore[arg-type]  # NumPy's stub types only allow_pickle
    return path


def load(model: Module, path: str | Path) -> Module:
    """Load weights saved by :func:`save` into ``model``; returns the model.

    A file for another architecture raises an error naming the first mismatching
    key or shape; a file holding pickled objects is refused.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {k: data[k] for k in data.files}
    except ValueError as e:
        raise ValueError(f"load: {path} holds pickled objects, which are refused ({e})") from None
    expected = model.state_dict()
    for key, value in expected.items():
        if key not in state:
            raise ValueError(f"load: {path} has no entry '{key}' (the model's architecture differs)")
        if state[key].shape != value.shape:
            raise ValueError(f"load: '{key}' has shape {state[key].shape} in {path} but {value.shape} in the model")
    extra = [k for k in state if k not in expected]
    if extra:
        raise ValueError(f"load: {path} has entry '{extra[0]}', which the model does not have")
    model.load_state_dict(state)
    return model
