"""A compiled training step: forward, backward and the optimizer update as one generated
NumPy function (see ``autodiff.compile``).

The backward is traced from the primitive table's own rules (``ad.gradients`` with
``create_graph=True``), like any other ops. With ``fuse=False`` the optimizer's own
``step()`` runs on the compiled gradients, so every number equals eager training bit
for bit; with ``fuse=True`` (the default) SGD and Adam/AdamW update one flat buffer of
all parameters inside the generated code (same formulas, results within a few ulp).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter, is_
from typing import Any

import numpy as np

import autodiff as ad
from autodiff import Tensor
from autodiff.compile.codegen import labels_checked
from autodiff.compile.entries import Compiled
from autodiff.compile.jit import Jitted, _signature
from autodiff.compile.kernels import labels_taken
from autodiff.compile.program import Program
from autodiff.compile.trace import GuardFailed, Recorder
from autodiff.mode import state

from .flat import FlatOptimizer, computes_in, fusable
from .losses import CrossEntropyLoss
from .module import Buffer, Module
from .module_state import SETTINGS_VERSION, changed, constants, settings

_RUNTIME = ("params", "lr", "initial_lr")


_REQUIRES_GRAD, _HOOKS = attrgetter("requires_grad"), attrgetter("_hooks")


class _Slot:
    """A module attribute read at every call (a buffer the step itself replaces)."""

    __slots__ = ("module", "name")
    requires_grad = False  # (as for a Tensor the step captured: a buffer never does, nor has hooks)
    _hooks = None

    def __init__(self, module: Module, name: str) -> None:
        self.module, self.name = module, name

    @property
    def _data(self) -> np.ndarray:
        value: np.ndarray = getattr(self.module, self.name)._data
        return value


class _Fast:
    """What a compiled flat step checks and passes at every call, prepared once: the
    guards' values, and the parameters' arrays (views of the flat buffer, which
    ``FlatOptimizer.sync`` keeps them) when nothing else is read from the closure."""

    __slots__ = ("args", "entry", "fn", "hooks", "hyper", "key", "labels_checked", "params", "taken", "writes")

    def __init__(self, step: CompiledStep, X: np.ndarray, y: np.ndarray, entry: Compiled, version: int) -> None:
        self.key = (X.shape, X.dtype, y.shape, y.dtype, version)  # (the modules' settings as compiled for)
        self.hyper = step._hyper()
        self.entry, self.fn = entry, entry.fn
        params = {id(p) for p in step.params}
        static = all(id(c) in params for c in entry.captured)
        self.args = tuple(c._data for c in entry.captured) if static else None
        self.params = step.params
        self.hooks = list(map(_HOOKS, step.params))
        # the generated NumPy code's loss kernel checks the labels; a numba kernel does not, and a
        # program that draws (dropout) before the loss has its labels checked before the draws
        self.labels_checked = labels_checked(entry.program, 1) and getattr(entry, "numba_kernel", None) is None \
            and not draws(entry.program)
        self.taken = entry.taken_labels  # (Jitted._replay checks them on the other calls)
        self.writes = bool(entry.program.state_writes)

    def captured_match(self) -> bool:
        """Parameters are checked by the flat buffer's sync, and here that none was frozen
        since (a flat update's program was traced with every one requiring grad) or given
        or rid of a gradient hook; anything else read from the closure by the program's own check."""
        if self.args is not None:
            return all(map(_REQUIRES_GRAD, self.params)) and all(map(is_, map(_HOOKS, self.params), self.hooks)) \
                and self.entry.constants_match()
        return self.entry.captured_match()


class CompiledStep(Jitted):
    """``step(X, y)`` runs one training step and returns the loss as a float.

    ``step.output`` is the model's output of the last step (valid until the next call),
    ``step.source`` the generated code, ``step.program`` the traced program.
    """

    def __init__(self, model: Module, loss_fn: Any, optimizer: Any, fuse: bool = True, fallback: bool = False,
                 backend: str = "numpy") -> None:
        if backend not in ("numpy", "numba"):
            raise ValueError(f"compile_step: backend must be 'numpy' or 'numba', got {backend!r}")
        if backend == "numba":
            from . import flat_numba  # noqa: F401  (fails here, naming the extra, when numba is missing)
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.fuse, self.backend = fuse, backend
        self.params = list(optimizer.params)
        self._reached = [True] * len(self.params)
        self.flat = FlatOptimizer(optimizer, backend) if fuse and fusable(optimizer) else None
        self.output: np.ndarray | None = None
        self._fast: _Fast | None = None  # the last compiled flat step and what it was compiled for
        self._labels = isinstance(loss_fn, CrossEntropyLoss)
        self._settings: tuple[int, tuple[Any, ...]] = (-1, ())  # (SETTINGS_VERSION, the settings then)
        self._watched: list[tuple[np.ndarray, np.ndarray]] = []  # (an array the modules hold, its values then)
        super().__init__(self._forward_backward, fallback=fallback)
        self.__name__ = "step"

    def _forward_backward(self, X: Tensor, y: Tensor) -> tuple[Any, ...]:
        out = self.model(X)
        loss = self.loss_fn(out, y)
        if not isinstance(loss, Tensor) or not loss.requires_grad:
            raise TypeError(f"compile_step: the loss must be a Tensor that depends on the parameters, got "
                            f"{type(loss).__name__}")
        # eager step() skips a parameter without a gradient: the loss never reaches it, or it is frozen
        reached = {id(t) for t in ad.topo_order(loss)}
        self._reached = [id(p) in reached and p.requires_grad for p in self.params]
        return (loss, out, *ad.gradients(loss, self.params, create_graph=True))

    def _refresh(self) -> None:
        """After the optimizer's parameters or parameter groups changed: new flat buffers
        (or none: several groups are updated by the optimizer's own step()). The flat
        update has one step count: parameters whose state disagrees on it (one parameter's
        state replaced, say) make the step leave the update to the optimizer."""
        groups = self.optimizer.param_groups
        regrouped = self.flat is not None and (len(groups) != 1 or groups[0] is not self.flat.group)
        if regrouped or [id(p) for p in self.optimizer.params] != [id(p) for p in self.params]:
            self.params = list(self.optimizer.params)
            self._reached = [True] * len(self.params)
            fusable_now = self.fuse and fusable(self.optimizer)
            self._set_flat(FlatOptimizer(self.optimizer, self.backend) if fusable_now else None)
        if self.flat is not None:
            self.flat.sync()
            if self.flat.stale or not self.flat.uniform() or not self.flat.plain_settings():
                # the optimizer's own step() from now on (parameters of another dtype, their
                # per-parameter counts, or a float64 NumPy learning rate for float32 parameters,
                # which eager computes in float64)
                self._set_flat(None)

    def _set_flat(self, flat: FlatOptimizer | None) -> None:
        """Update through these flat buffers (or the optimizer's step()) from now on. The
        programs compiled so far write the old buffers (or expect the other update), so
        they are dropped: the next calls trace again."""
        self.flat, self._fast = flat, None
        self._cache.clear()

    def _key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        opt = self.optimizer
        hyper = tuple((k, tuple(v) if isinstance(v, list) else v) for g in opt.param_groups
                      for k, v in sorted(g.items()) if k not in ("params", "lr", "initial_lr"))
        return (_signature(args, kwargs), self.settings(), self.state.settings(), hyper, tuple(map(id, opt.params)),
                self.flat is not None)

    def settings(self) -> tuple[Any, ...]:
        """What the program takes as fixed from the model and the loss (``training`` of every
        submodule, a dropout rate, the submodules themselves): recomputed when a module
        attribute was assigned since the last call (``nn.module.settings``)."""
        self._arrays_edited()
        version, value = self._settings
        if version != SETTINGS_VERSION[0]:
            version = SETTINGS_VERSION[0]
            self._settings = version, (value := settings(self.model, self.loss_fn))
            self._watched = [(a, a.copy()) for a in constants(self.model, self.loss_fn)]
        return value

    def _arrays_edited(self) -> None:
        """Count a change of the settings when an array the modules hold (class weights, a
        mask: constants of the program, which eager reads at every step) was edited in place."""
        for a, copy in self._watched:
            if a.shape != copy.shape or a.dtype != copy.dtype or not np.array_equal(a, copy):
                changed()
                return

    def runtime_inputs(self) -> list[Any]:
        """The learning rate and step count are read at every call, never compiled in."""
        return self.flat.runtime_inputs() if self.flat is not None else []

    def compile(self, program: Program, captured: list[Any], kinds: Any) -> Compiled:
        """Compile the traced step; with a flat optimizer the update is part of the code."""
        if self.flat is not None and not all(self._reached):
            self._set_flat(None)  # eager leaves such a parameter alone; the unfused update does too
        if self.flat is None:
            return super().compile(program, captured, kinds)
        return self.flat.compile(program, captured, kinds, len(self.params))

    def __call__(self, X: Any, y: Any, failed: Compiled | None = None) -> float:
        """One training step on the batch ``(X, y)``; the loss. (``failed``: a compiled
        program whose guard this very call already failed: not run again when it is the
        signature's first program.)"""
        if not state.grad_enabled:
            raise RuntimeError("compile_step: the step was called under no_grad(), where eager's loss.backward() "
                               "raises (the loss records no graph): call the training step outside no_grad")
        if self._watched:
            self._arrays_edited()
        X = X if type(X) is np.ndarray else np.asarray(X)
        y = y if type(y) is np.ndarray else np.asarray(y)
        flat, fast = self.flat, self._fast
        if (fast is not None and flat is not None
                and fast.key == (X.shape, X.dtype, y.shape, y.dtype, SETTINGS_VERSION[0])
                and self._same_hyper(fast.hyper) and flat.sync() and fast.captured_match()
                and (fast.entry.only_for is None or fast.entry.accepts([X, y]))):
            return self._fast_call(fast, flat, X, y)
        self._refresh()
        flat = self.flat
        if flat is not None:
            flat.sync()
        key = self._key((X, y), {})
        version = self._settings[0]
        cached = self._cache.get(key)
        if failed is cached and isinstance(failed, Compiled):  # its guard failed on this call: on to the other case
            self.ran = None
            outs, _ = self._other_case(failed, (X, y), {})
        else:  # (a program of another case failed: the signature's first program is tried first)
            outs, _ = self._run(key, (X, y), {})
        entry = self.ran  # the compiled program that ran (None: traced or eager, a guard failed, say)
        loss, self.output = outs[0], outs[1]
        if entry is not None and flat is not None:
            flat.after_step()
            self._fast = _Fast(self, X, y, entry, version)
        else:
            self._step_optimizer(outs)
        if entry is not None:
            self._write_back(entry, outs)
        return float(loss)

    def _fast_call(self, fast: _Fast, flat: FlatOptimizer, X: np.ndarray, y: np.ndarray) -> float:
        """A call of the compiled flat step whose guards all held. Labels the fused loss's
        program does not take (rows labelled ``ignore_index``, labels out of range) fail
        like a guard: the call goes on to the program of the other case."""
        if fast.taken and not fast.labels_checked and not labels_taken(fast.taken, [X, y], fast.entry.captured):
            self._fast = None
            return self(X, y, failed=fast.entry)
        args = fast.args if fast.args is not None else [c._data for c in fast.entry.captured]
        lr = self.optimizer.param_groups[0]["lr"]  # (_same_hyper saw one parameter group)
        if type(lr) is not float and not computes_in(lr, flat.dtype):
            self._set_flat(None)  # eager computes the update in the rate's wider dtype
            return self(X, y)
        try:
            outs = fast.fn(X, y, *args, lr, flat.step_number())
        except ValueError:  # the loss kernel refused the labels (before any update, any draw): the other case
            if labels_taken(fast.taken, [X, y], fast.entry.captured):
                raise
            self._fast = None
            return self(X, y, failed=fast.entry)
        except GuardFailed:  # a decision taken while tracing does not hold here: the other case's program
            self._fast = None
            return self(X, y, failed=fast.entry)
        self.output, self.ran = outs[1], fast.entry
        flat.after_step()
        if fast.writes:
            self._write_back(fast.entry, outs)
        return float(outs[0])

    def _write_back(self, entry: Compiled, outs: Sequence[Any]) -> None:
        """Replace the module state the traced step replaced (BatchNorm's running statistics)."""
        writes = entry.program.state_writes
        if writes:
            for (module, name), value in zip(writes, outs[len(outs) - len(writes):], strict=True):
                setattr(module, name, np.array(value))

    def prepare(self, rec: Recorder) -> None:
        """Module buffers are inputs read at every call, from the attribute that holds them."""
        self._slots = [(m, name) for m in self.model.modules() for name, v in vars(m).items() if isinstance(v, Buffer)]
        self._before = [getattr(m, name) for m, name in self._slots]
        for (m, name), b in zip(self._slots, self._before, strict=True):
            rec.add_input(b, label=name)
            rec.captured.append(_Slot(m, name))

    def state_writes(self) -> tuple[list[Any], list[Any]]:
        """The buffers the step replaced, and their new values."""
        targets, values = [], []
        for (m, name), old in zip(self._slots, self._before, strict=True):
            new = getattr(m, name)
            if new is not old:
                targets.append((m, name))
                values.append(new)
        return targets, values

    def _hyper(self) -> tuple[Any, ...]:
        """The one parameter group's hyperparameters but the learning rate (read at run
        time), and its parameter list, which the flat buffers were built for: (params,
        the keys, copies of their values as taken now)."""
        group = self.optimizer.param_groups[0]
        keys = tuple(k for k in group if k not in _RUNTIME)
        return (group["params"], tuple(group["params"]), keys,
                tuple(list(group[k]) if isinstance(group[k], list) else group[k] for k in keys))

    def _same_hyper(self, snapshot: tuple[Any, ...]) -> bool:
        groups = self.optimizer.param_groups
        params = groups[0]["params"]
        if len(groups) != 1 or params is not snapshot[0] or len(params) != len(snapshot[1]) \
                or not all(map(is_, params, snapshot[1])):  # (the list edited in place)
            return False
        return bool(tuple(map(groups[0].__getitem__, snapshot[2])) == snapshot[3])  # (C-level loops)

    def _step_optimizer(self, outs: Sequence[Any]) -> None:
        """The gradients the step computed into ``p.grad``, then the optimizer's own step()."""
        for p, g, reached in zip(self.params, outs[2:2 + len(self.params)], self._reached, strict=True):
            p.grad = Tensor._leaf(np.array(g, dtype=p.dtype, copy=True)) if reached else None
        self.optimizer.step()


def draws(program: Program) -> bool:
    """Whether an op of the program draws from a Generator (a dropout mask)."""
    return any(isinstance(v, np.random.Generator) for op in program.ops for v in op.params.values())


def compile_step(model: Module, loss_fn: Any, optimizer: Any, *, fuse: bool = True, fallback: bool = False,
                 backend: str = "numpy") -> CompiledStep:
    """A compiled training step: ``step(X, y)`` does forward, backward and the optimizer
    update, and returns the loss.

    The step is traced per input shape/dtype, the settings of the model's and the
    loss's modules (``training`` of each, a dropout rate, which submodules) and optimizer
    hyperparameters (a changed learning rate is read at run time; other changes
    retrace). Dropout masks are drawn from the layer's Generator at run time; module
    buffers (BatchNorm's running statistics) are read at every call and the new values
    written back. A model
    that reads traced values in Python raises ``TraceError`` (eager with ``fallback=True``).
    ``backend="numba"`` (the ``fast`` extra) compiles the whole step (forward, backward,
    flat SGD/Adam update) into one numba kernel, within a few ulp per operation of eager
    training (loops sum in order); a step with an op numba cannot take runs the NumPy code
    with a numba update instead (same bits as eager), and ``step.source`` says which op.

    >>> import nn
    >>> from nn import optim
    >>> model = nn.MLP([4, 8, 3], seed=0)
    >>> step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    >>> X, y = np.random.default_rng(0).normal(size=(16, 4)), np.arange(16) % 3
    >>> losses = [step(X, y) for _ in range(20)]
    >>> losses[-1] < losses[0]
    True
    """
    return CompiledStep(model, loss_fn, optimizer, fuse=fuse, fallback=fallback, backend=backend)
