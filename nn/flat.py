"""The optimizer of a compiled step over one flat buffer of all parameters.

Parameters become views into one array (their gradients and the optimizer's state
too), so an update is a dozen NumPy calls whatever the number of layers. The update
code is generated with the step, with PyTorch's formulas as ``nn.optim`` writes them;
the learning rate and the step count are arguments of the generated function, read at
every call. The optimizer's own ``state`` entries stay views of the flat buffers, so
eager steps, ``state_dict`` and compiled steps can be mixed.
"""

from __future__ import annotations

import math
from operator import attrgetter, is_
from typing import Any

import numpy as np

from autodiff import Tensor
from autodiff.compile.codegen import bind_number, build, generate, writes_out
from autodiff.compile.entries import Compiled
from autodiff.compile.program import Program

from .flat_plan import placement, renamed, segments
from .optim.flat_step import flat_views
from .optim.optimizers import SGD, Adam, AdamW

_DATA, _GRAD = attrgetter("_data"), attrgetter("grad")
_SCRATCH = ("T1", "T2", "T22", "T22_SQ", "D1", "D2")  # the update's temporaries, dead after each run's lines


def fusable(optimizer: Any) -> bool:
    """Whether the flat update handles this optimizer (SGD, Adam, AdamW without amsgrad,
    one parameter group, every parameter of one float dtype)."""
    if type(optimizer) not in (SGD, Adam, AdamW) or len(optimizer.param_groups) != 1 \
            or optimizer.param_groups[0].get("amsgrad"):
        return False
    return len({p.dtype for p in optimizer.params}) == 1 and optimizer.params[0].dtype.kind == "f"


def computes_in(value: Any, dtype: np.dtype[Any]) -> bool:
    """Whether NumPy computes ``value * x`` for an array ``x`` of ``dtype`` in ``dtype`` (a
    Python number, or a NumPy number no wider), as the flat update does: it writes each
    product into a buffer of that dtype, where eager's ``p -= lr * g`` with a float64
    ``lr`` and float32 ``p`` computes in float64 and rounds once."""
    return type(value) in (float, int, bool) or (isinstance(value, np.generic)
                                                 and np.result_type(value, dtype) == dtype)


class FlatOptimizer:
    """Flat parameter, gradient and state buffers for one optimizer, and its update code."""

    segment_size = 32768  # a parameter this large is updated on its own, as soon as it can be
    # a run of parameters is updated in pieces of this many bytes per array, which stay in
    # cache from one call of the update to the next (a 784 x 256 weight's update in one
    # piece streams its gradient, temporaries and values through memory several times)
    piece_bytes = 131072

    def __init__(self, optimizer: Any, backend: str = "numpy") -> None:
        self.opt = optimizer
        self.backend = backend
        params = optimizer.params
        self.dtype = params[0].dtype
        self.shapes = [p.shape for p in params]
        total = sum(p.size for p in params)
        self.flat = np.empty(total, self.dtype)
        self.views = flat_views(self.flat, self.shapes)
        self.gflat = np.zeros(total, self.dtype)
        self.gviews = flat_views(self.gflat, self.shapes)
        self.grads = [Tensor._leaf(g) for g in self.gviews]
        self.adam = isinstance(optimizer, Adam)
        self.group = optimizer.param_groups[0]
        keys = ["exp_avg", "exp_avg_sq"] if self.adam else (["momentum_buffer"] if self.group["momentum"] else [])
        self.keys = keys
        # Adam's two moments are the rows of one array: both advance in the same NumPy calls
        self.moments = np.zeros((len(keys), total), self.dtype)
        self.state = {k: self.moments[r] for r, k in enumerate(keys)}
        self.state_views = {k: flat_views(b, self.shapes) for k, b in self.state.items()}
        self._params = list(params)
        self.stale = False  # a parameter's array got another dtype: these buffers no longer fit
        self._param_views = list(zip(params, self.views, strict=True))
        self._param_grads = list(zip(params, self.grads, strict=True))
        self._link_state()
        self.sync()

    def _link_state(self) -> None:
        """The optimizer's per-parameter state dicts (created if missing), paired with the
        flat state's views; redone when the optimizer gets a new state (load_state_dict)."""
        opt = self.opt
        self._state_of = opt.state
        self._states = [opt.state.setdefault(p, {}) for p in opt.params]
        self._state_views = [(st, k, views[i]) for k, views in self.state_views.items()
                             for i, st in enumerate(self._states)]
        self._state_dicts: list[dict[str, Any]] = [st for st, _, _ in self._state_views]
        self._state_keys: list[str] = [k for _, k, _ in self._state_views]
        self._state_arrays: list[np.ndarray] = [v for _, _, v in self._state_views]

    def sync(self) -> bool:
        """Make parameters and optimizer state views of the flat buffers again (after
        ``p.data = ...``, ``load_state_dict`` or an eager step created new arrays).
        Returns True when nothing had changed."""
        state = self.opt.state
        if (state is self._state_of and all(map(is_, map(_DATA, self._params), self.views))
                and all(map(is_, map(state.get, self._params), self._states))
                and all(map(is_, map(dict.get, self._state_dicts, self._state_keys), self._state_arrays))):
            return True  # (C-level loops: this runs before every compiled step)
        return self._resync(state)

    def _resync(self, state: dict[Any, Any]) -> bool:
        if any(p._data.dtype != self.dtype for p in self._params):
            self.stale = True  # (p.data = an array of another dtype: not copied into this buffer's dtype)
            return False
        unchanged = True
        relink = state is not self._state_of
        for (p, v), st in zip(self._param_views, self._states, strict=True):
            if p._data is not v:
                v[...] = p._data
                p.data = v
                unchanged = False
            if state.get(p) is not st:
                relink = True
        if relink:
            self._link_state()
            unchanged = False
        for st, k, v in self._state_views:
            arr = st.get(k)
            if arr is v:
                continue
            if arr is None:  # no step yet (or the entry was deleted): the flat state starts from zeros
                v[...] = 0
                unchanged = False
            else:
                v[...] = arr
                st[k] = v
                unchanged = False
        return unchanged

    def uniform(self) -> bool:
        """Whether one step count serves every parameter, as the flat update needs: each
        parameter's state has the same Adam ``step`` and the same state arrays present."""
        first = self._states[0]
        step, present = first.get("step"), [k in first for k in self.keys]
        return all(st.get("step") == step and [k in st for k in self.keys] == present for st in self._states)

    def plain_settings(self) -> bool:
        """Whether every number of the group (learning rate, momentum, betas, ...) computes
        in the parameters' dtype (``computes_in``), as the flat update's code assumes."""
        for k in ("lr", "momentum", "dampening", "weight_decay", "betas", "eps"):
            v = self.group.get(k, 0.0)
            if not all(computes_in(x, self.dtype) for x in (v if isinstance(v, tuple) else (v,))):
                return False
        return True

    def step_number(self) -> int:
        """t, 1 at the first update (Adam's bias correction; SGD's first momentum step)."""
        st = self._states[0]
        return st.get("step", 0) + 1 if self.adam else (2 if "momentum_buffer" in st else 1)

    def runtime_inputs(self) -> list[Any]:
        """lr and the step number t, read at every call."""
        return [self.opt.lr, self.step_number()]

    def after_step(self) -> None:
        """Book-keeping eager ``step()`` does: step counts, the state it creates at the
        first step; the gradients stay readable in ``p.grad``."""
        if not all(map(is_, map(_GRAD, self._params), self.grads)):
            for p, g in self._param_grads:
                if p.grad is not g:
                    p.grad = g
        if self.adam:
            t = self._states[0].get("step", 0) + 1
            for st in self._states:
                st["step"] = t
        if self.keys and self.keys[0] not in self._states[0]:
            for st, k, v in self._state_views:
                st[k] = v

    def compile(self, program: Program, captured: list[Tensor], kinds: Any, n_params: int) -> Compiled:
        """The step's code: the program writes each gradient into the flat gradient buffer,
        then the update runs on the flat buffers."""
        why = ""
        if self.backend == "numba":
            from .flat_numba_step import whole_step

            compiled, why = whole_step(self, program, captured, kinds, n_params)
            if compiled is not None:
                return compiled
        grads = program.outputs[2:2 + n_params]
        program.outputs = program.outputs[:2] + program.outputs[2 + n_params:]  # loss, output, state writes
        namespace: dict[str, Any] = {"P": self.flat, "G": self.gflat, "T1": np.empty_like(self.flat),
                                     "T2": np.empty_like(self.flat)}
        if self.adam:  # eager Adam divides by a float64 scalar, so its denominator is float64
            namespace.update(D1=np.empty(self.flat.shape, np.float64), D2=np.empty(self.flat.shape, np.float64))
            b1, b2 = self.group["betas"]
            t22 = np.empty_like(self.moments)
            namespace.update(MOMENTS=self.moments, T22=t22, T22_SQ=t22[1], sqrt=math.sqrt,
                             ONE_MINUS_BETAS=np.array([[1 - b1], [1 - b2]], self.dtype))
        namespace.update({f"{k.upper()}": b for k, b in self.state.items()})
        targets: dict[int, str] = {}
        copies = []
        late: set[int] = set()
        for k, (g, view) in enumerate(zip(grads, self.gviews, strict=True)):
            namespace[f"g{k}"] = view
            if g in targets or g in program.outputs:
                late.add(g)
                copies.append(f"g{k}[...] = {targets.get(g) or _value_name(program, g)}")
            else:
                targets[g] = f"g{k}"
        self._output_buffer(program, targets, namespace)
        if self.backend == "numba":
            from . import flat_numba

            namespace.update(flat_numba.KERNELS)
            h = self.group
            update = (flat_numba.adam_lines(h, self.opt.decoupled, self.dtype) if self.adam
                      else flat_numba.sgd_lines(h, self.dtype))
            after: dict[int, list[str]] = {}
        else:
            update, after = self._placed(program, grads, captured, set(targets) - late, namespace)
        # plain SGD multiplies by lr once per run of parameters: lr as a 0-d array of the parameters'
        # dtype, which NumPy casts it to (the flat step runs only for a rate that computes in it)
        prologue = []
        if not self.adam and self.backend != "numba":
            prologue, namespace["DTYPE"] = ["lr = np.array(lr, DTYPE)"], self.dtype
        source, ns = generate(program, targets, namespace=namespace, epilogue=copies + update, extra_args=("lr", "t"),
                              after=after, prologue=prologue)
        fn = build(source, ns, "compiled")
        if why:  # say why the whole step is not one numba kernel (step.source shows it)
            source = f"# numba whole step not used: {why}\n# NumPy step with the numba update instead\n" + source
        return Compiled(program, fn, source, captured, kinds)

    def _output_buffer(self, program: Program, targets: dict[int, str], namespace: dict[str, Any]) -> None:
        """The model's output goes into one buffer, reused by every call (``step.output`` is
        valid until the next call), when its op can write there directly."""
        out = program.outputs[1]
        producer = next((op for op in program.ops if op.out == out), None)
        if producer is not None and out not in targets and writes_out(producer, program):
            v = program.values[out]
            namespace["OUTPUT"] = np.empty(v.shape, v.dtype)
            targets[out] = "OUTPUT"

    def _placed(self, program: Program, grads: list[int], captured: list[Any], ready: set[int],
                namespace: dict[str, Any]) -> tuple[list[str], dict[int, list[str]]]:
        """The update split into runs of parameters (see ``nn.flat_plan``): the lines for
        the end, and the lines to run right after given ops. A run's buffers are views
        named with its number; ``ready`` are the gradients written in place by their op."""
        update = self._adam_lines(namespace) if self.adam else self._sgd_lines(namespace)
        runs = segments([int(np.prod(s)) for s in self.shapes], self.segment_size)
        if len(runs) == 1:
            return update, {}
        slot = {id(c): v.index for c, v in zip(captured, _captured_inputs(program), strict=True)}
        offsets = np.cumsum([0] + [int(np.prod(s)) for s in self.shapes])
        end: list[str] = []
        after: dict[int, list[str]] = {}
        piece = max(self.piece_bytes // self.dtype.itemsize, 1)
        for r, (i, j) in enumerate(runs):
            params = [slot.get(id(p)) for p in self.opt.params[i:j]]
            late = {g for g in grads[i:j] if g not in ready}
            at = placement(program, grads[i:j], params, late)
            lines = []
            for k, lo in enumerate(range(int(offsets[i]), int(offsets[j]), piece)):
                hi = min(lo + piece, int(offsets[j]))
                for name in ("P", "G", "MOMENTS", *(key.upper() for key in self.keys)):
                    if name in namespace:  # the last axis runs over the parameters
                        namespace[f"{name}_{r}_{k}"] = namespace[name][..., lo:hi]
                for name in _SCRATCH:  # temporaries: every piece reuses the start of the buffer
                    if name in namespace:
                        namespace[f"{name}_{r}_{k}"] = namespace[name][..., :hi - lo]
                lines += [line for line in renamed(update, f"{r}_{k}") if not (k and line.startswith("#"))]
            if at is None:
                end += lines
            else:
                after.setdefault(at, []).extend(lines)
        return end, after

    def _number(self, namespace: dict[str, Any], x: Any, dtype: Any = None) -> str:
        """How the update's code names a hyperparameter it multiplies or adds by: a Python
        number as a 0-d array of the dtype NumPy casts it to (the parameters', or ``dtype``;
        ``codegen.bind_number``), anything else as its literal."""
        return bind_number(namespace, x, self.dtype if dtype is None else dtype) if type(x) is float else repr(x)

    def _l2_lines(self, namespace: dict[str, Any]) -> list[str]:
        wd = self.group["weight_decay"]
        if not wd:
            return ["g = G"]
        return [f"np.multiply(P, {self._number(namespace, wd)}, out=T1)", "g = np.add(G, T1, out=T1)"]

    def _sgd_lines(self, namespace: dict[str, Any]) -> list[str]:
        h = self.group
        lines = ["# SGD over the flat parameter buffer", *self._l2_lines(namespace)]
        mom = h["momentum"]
        if mom:
            mom = self._number(namespace, mom)
            lines += ["if t == 1:", "    np.copyto(MOMENTUM_BUFFER, g)", "else:",
                      f"    np.multiply(MOMENTUM_BUFFER, {mom}, out=MOMENTUM_BUFFER)",
                      f"    np.multiply(g, {self._number(namespace, 1 - h['dampening'])}, out=T2)",
                      "    np.add(MOMENTUM_BUFFER, T2, out=MOMENTUM_BUFFER)"]
            if h["nesterov"]:
                lines += [f"np.multiply(MOMENTUM_BUFFER, {mom}, out=T2)", "g = np.add(g, T2, out=T1)"]
            else:
                lines += ["g = MOMENTUM_BUFFER"]
        lines += ["np.multiply(g, lr, out=T2)", "np.subtract(P, T2, out=P)"]  # (lr: a 0-d array, see compile)
        return lines

    def _adam_lines(self, namespace: dict[str, Any]) -> list[str]:
        """The update's lines; the Python numbers they multiply or add by each call are bound in
        ``namespace`` as 0-d arrays of the dtype NumPy casts them to (the same values, without
        the conversion at every call)."""
        h = self.group
        b1, b2 = h["betas"]
        eps = h["eps"]
        lines = ["# Adam over the flat parameter buffer"]
        if isinstance(self.opt, AdamW) or self.opt.decoupled:
            lines += [f"np.multiply(P, 1 - lr * {h['weight_decay']!r}, out=P)", "g = G"]
        else:
            lines += self._l2_lines(namespace)
        if type(b1) is float and type(b2) is float:  # NumPy casts Python floats to the moments' dtype
            # m·β₁ and v·β₂ each by a scalar: one call broadcasting (2, 1) betas over both is ~2x slower
            # below ~10^5 parameters and no faster above
            lines += [f"np.multiply(EXP_AVG, {self._number(namespace, b1)}, out=EXP_AVG)",
                      f"np.multiply(EXP_AVG_SQ, {self._number(namespace, b2)}, out=EXP_AVG_SQ)",
                      "np.multiply(g, ONE_MINUS_BETAS, out=T22)",  # (1 − β₁)g and (1 − β₂)g, one call
                      "np.multiply(T22_SQ, g, out=T22_SQ)",  # T22_SQ is T22[1]: (1 − β₂)g²
                      "np.add(MOMENTS, T22, out=MOMENTS)"]
        else:
            lines += [f"np.multiply(EXP_AVG, {b1!r}, out=EXP_AVG)",
                      f"np.multiply(g, {1 - b1!r}, out=T2)",
                      "np.add(EXP_AVG, T2, out=EXP_AVG)",
                      f"np.multiply(EXP_AVG_SQ, {b2!r}, out=EXP_AVG_SQ)",
                      f"np.multiply(g, {1 - b2!r}, out=T2)",
                      "np.multiply(T2, g, out=T2)",
                      "np.add(EXP_AVG_SQ, T2, out=EXP_AVG_SQ)"]
        lines += [
                  "np.sqrt(EXP_AVG_SQ, out=D1)",
                  f"np.divide(D1, sqrt(1 - {b2!r} ** t), out=D1)",  # math.sqrt: eager's divisor, no ufunc call
                  f"np.add(D1, {self._number(namespace, eps, np.float64)}, out=D1)",  # (D1's dtype)
                  f"np.multiply(EXP_AVG, lr / (1 - {b1!r} ** t), out=T1)",
                  "np.divide(T1, D1, out=D2)",
                  "np.subtract(P, D2, out=P)"]
        return lines


def _captured_inputs(program: Program) -> list[Any]:
    """The program's inputs read from the closure (after the call's two arguments, X and y)."""
    return sorted((v for v in program.values if v.kind == "input" and v.slot is not None and v.slot >= 2),
                  key=lambda v: v.slot)


def _value_name(program: Program, i: int) -> str:
    v = program.values[i]
    return f"a{v.slot}" if v.kind == "input" else f"v{i}"
