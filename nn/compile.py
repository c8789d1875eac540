"""A compiled training step: forward, backward and the optimizer update as one generated
NumPy function (see ``autodiff.compile``).

The backward is traced from the primitive table's own rules (``ad.gradients`` with
``create_graph=True``), like any other ops. With ``fuse=False`` the optimizer's own
``step()`` runs on the compiled gradients, so every number equals eager training bit
for bit; with ``fuse=True`` (the default) SGD and Adam/AdamW update one flat buffer of
all parameters inside the generated code (same formulas, results within a few ulp).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.compile.jit import Compiled, Jitted, _signature
from autodiff.compile.program import Program

from .flat import FlatOptimizer, fusable
from .module import Module


class CompiledStep(Jitted):
    """``step(X, y)`` runs one training step and returns the loss as a float.

    ``step.output`` is the model's output of the last step (valid until the next call),
    ``step.source`` the generated code, ``step.program`` the traced program.
    """

    def __init__(self, model: Module, loss_fn: Any, optimizer: Any, fuse: bool = True, fallback: bool = False) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.params = list(optimizer.params)
        self.flat = FlatOptimizer(optimizer) if fuse and fusable(optimizer) else None
        self.output: np.ndarray | None = None
        super().__init__(self._forward_backward, fallback=fallback)
        self.__name__ = "step"

    def _forward_backward(self, X: Tensor, y: Tensor) -> tuple:
        out = self.model(X)
        loss = self.loss_fn(out, y)
        return (loss, out, *ad.gradients(loss, self.params, create_graph=True))

    def _key(self, args: tuple, kwargs: dict) -> tuple:
        opt = self.optimizer
        hyper = tuple((k, tuple(v) if isinstance(v, list) else v) for g in opt.param_groups
                      for k, v in sorted(g.items()) if k not in ("params", "lr", "initial_lr"))
        return (_signature(args, kwargs), self.model.training, hyper, tuple(map(id, opt.params)))

    def runtime_inputs(self) -> list[Any]:
        """The learning rate and step count are read at every call, never compiled in."""
        return self.flat.runtime_inputs() if self.flat is not None else []

    def compile(self, program: Program, captured: list[Tensor], kinds: Any) -> Compiled:
        """Compile the traced step; with a flat optimizer the update is part of the code."""
        if self.flat is None:
            return super().compile(program, captured, kinds)
        return self.flat.compile(program, captured, kinds, len(self.params))

    def __call__(self, X: Any, y: Any) -> float:  # type: ignore[override]
        X, y = np.asarray(X), np.asarray(y)
        if self.flat is not None:
            self.flat.sync()
        key = self._key((X, y), {})
        entry = self._cache.get(key)
        compiled_flat = self.flat is not None and type(entry) is Compiled and entry.captured_match()
        outs, _ = self._run(key, (X, y), {})
        loss, self.output = outs[0], outs[1]
        if compiled_flat:
            self.flat.after_step()
        else:
            for p, g in zip(self.params, outs[2:], strict=True):
                p.grad = Tensor._leaf(np.array(g, dtype=p.dtype, copy=True))
            self.optimizer.step()
        return float(loss)


def compile_step(model: Module, loss_fn: Any, optimizer: Any, *, fuse: bool = True,
                 fallback: bool = False) -> CompiledStep:
    """A compiled training step: ``step(X, y)`` does forward, backward and the optimizer
    update, and returns the loss.

    The step is traced per input shape/dtype, ``model.training`` and optimizer
    hyperparameters (a changed learning rate is read at run time; other changes
    retrace). Dropout masks are drawn from the layer's Generator at run time. A model
    that reads traced values in Python raises ``TraceError`` (eager with ``fallback=True``).

    >>> import nn
    >>> from nn import optim
    >>> model = nn.MLP([4, 8, 3], seed=0)
    >>> step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    >>> X, y = np.random.default_rng(0).normal(size=(16, 4)), np.arange(16) % 3
    >>> losses = [step(X, y) for _ in range(20)]
    >>> losses[-1] < losses[0]
    True
    """
    return CompiledStep(model, loss_fn, optimizer, fuse=fuse, fallback=fallback)
