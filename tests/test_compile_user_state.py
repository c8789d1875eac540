"""A compiled step after the user changes state between steps, as PyTorch users do: a
submodule switched to eval, a dropout rate or loss setting changed, parameter groups
split, a frozen layer. Each must give eager training's numbers bit for bit (or retrace),
never the traced program's stale ones."""

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim
from tests.helpers import eager_step

X = np.random.default_rng(0).normal(size=(16, 6))
Y = np.arange(16) % 3


def _bn_dropout():
    return nn.Sequential(nn.Linear(6, 10, seed=0), nn.BatchNorm1d(10), nn.ReLU(), nn.Dropout(0.3, seed=5),
                         nn.Linear(10, 3, seed=1))


def _both(make_model, make_opt, change, loss_fn=None, steps=6, at=3, fuse=True):
    """Train an eager and a compiled copy, calling ``change(model, optimizer, loss_fn)`` on
    both before step ``at``; assert the losses, parameters and buffers are the same bits."""
    runs = []
    for compiled in (False, True):
        model = make_model()
        opt = make_opt(model.parameters())
        loss = loss_fn() if loss_fn is not None else nn.CrossEntropyLoss()
        step = nn.compile_step(model, loss, opt, fuse=fuse) if compiled else None
        losses = []
        for k in range(steps):
            if k == at:
                change(model, opt, loss)
            Xk = (X + 0.01 * k).astype(model.parameters()[0].dtype)
            losses.append(step(Xk, Y) if step is not None else eager_step(model, loss, opt, Xk, Y))
        runs.append((losses, [p.data for p in model.parameters()] + [b.data for b in model.buffers()], step))
    (le, se, _), (lc, sc, step) = runs
    assert le == lc
    for a, b in zip(se, sc, strict=True):
        np.testing.assert_array_equal(a, b)
    return step


def _modules(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def test_a_submodule_switched_to_eval_is_not_run_in_training_mode():
    def freeze_bn(model, opt, loss):  # the usual fine-tuning idiom
        for m in _modules(model, nn.BatchNorm1d):
            m.eval()
    _both(_bn_dropout, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), freeze_bn)

    def no_dropout(model, opt, loss):
        for m in _modules(model, nn.Dropout):
            m.eval()
    _both(_bn_dropout, lambda ps: optim.Adam(ps, lr=0.01), no_dropout, fuse=False)


def test_changed_module_settings_are_not_baked_in():
    def dropout_rate(model, opt, loss):
        _modules(model, nn.Dropout)[0].p = 0.6
    _both(_bn_dropout, lambda ps: optim.SGD(ps, lr=0.1), dropout_rate)

    def bn_momentum(model, opt, loss):
        _modules(model, nn.BatchNorm1d)[0].momentum = 0.5
    _both(_bn_dropout, lambda ps: optim.SGD(ps, lr=0.1), bn_momentum)

    def smoothing(model, opt, loss):
        loss.label_smoothing = 0.2
    _both(lambda: nn.MLP([6, 10, 3], seed=0), lambda ps: optim.Adam(ps, lr=0.01), smoothing)

    def activation(model, opt, loss):  # a submodule replaced by another
        model[1] = nn.Tanh()
    _both(lambda: nn.MLP([6, 10, 3], seed=0), lambda ps: optim.SGD(ps, lr=0.1), activation)


@pytest.mark.parametrize("lr", [0.1, 0.5])
@pytest.mark.parametrize(("make_opt", "settings"), [(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), {"momentum": 0.0}),
                                                    (lambda ps: optim.Adam(ps, lr=0.1), {"betas": (0.5, 0.9)})])
def test_parameters_split_into_groups_get_each_groups_settings(make_opt, settings, lr):
    def split(model, opt, loss):  # the same parameters, in the same order, now two groups
        ps = model.parameters()
        opt.param_groups[0]["params"] = ps[:2]
        opt.add_param_group({"params": ps[2:], "lr": lr, "weight_decay": 0.1, **settings})
    _both(lambda: nn.MLP([6, 10, 3], seed=0), make_opt, split)


def _frozen_first_layer():
    model = nn.MLP([6, 10, 3], seed=0)
    model.parameters()[0].requires_grad_(False)  # fine-tuning: the first weight is frozen
    return model


def _trainable(ps):
    return optim.SGD([p for p in ps if p.requires_grad], lr=0.1, momentum=0.9)


def test_a_frozen_parameter_is_read_at_every_call():
    def load(model, opt, loss):  # new values for every parameter, the frozen one included
        model.load_state_dict({k: np.asarray(v) * 0.5 for k, v in model.state_dict().items()})
    step = _both(_frozen_first_layer, _trainable, load)
    assert step.ran is not None  # compiled, not refused

    def replace(model, opt, loss):  # the frozen parameter replaced by another object
        model.layers[0].weight = nn.Parameter(np.full((6, 10), 0.1), requires_grad=False)
    _both(_frozen_first_layer, _trainable, replace)


def test_a_jitted_frozen_model_reads_its_parameters_at_every_call():
    model = nn.MLP([6, 10, 3], seed=0).requires_grad_(False)
    f = ad.jit(model)
    for k in range(3):
        np.testing.assert_array_equal(f(X + k), model(X + k).data)
    model.load_state_dict({k: np.asarray(v) * 0.5 for k, v in model.state_dict().items()})
    np.testing.assert_array_equal(f(X), model(X).data)
    assert f.ran is not None


def test_a_jitted_model_follows_eval_and_train():
    model = _bn_dropout()
    g = ad.jit(lambda x: model.layers[3](model.layers[0](x)))  # dropout after a linear layer
    for k in range(3):
        g(X + k)
    model.eval()
    for k in range(3):  # eval mode: dropout is the identity, every call
        np.testing.assert_array_equal(g(X + k), model.layers[0](X + k).data)
    assert g.ran is not None
    model.train()
    out = g(X)
    assert np.count_nonzero(out == 0) > 0  # dropout again
    model.layers[3].p = 0.0  # and a changed rate is another program
    np.testing.assert_array_equal(g(X), model.layers[0](X).data)


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                      lambda ps: optim.Adam(ps, lr=0.01),
                                      lambda ps: optim.SGD(ps, lr=0.1, momentum=np.float64(0.9),
                                                           weight_decay=np.float64(0.01))])
def test_float32_training_with_numpy_float64_settings_equals_eager(make_opt):
    def make_model():
        return nn.MLP([6, 10, 3], seed=0, dtype=np.float32)

    def schedule(model, opt, loss):  # a LambdaLR of a NumPy function gives np.float64 rates
        optim.lr_scheduler.LambdaLR(opt, lambda epoch: np.exp(-0.5 * epoch)).step()
    _both(make_model, make_opt, schedule, at=2)


class _Branching(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 3, seed=0)

    def forward(self, x):
        h = self.fc(x)
        return h * 2 if h.sum() > 0 else h  # data-dependent Python control flow


def test_fit_compile_names_the_line_and_what_fit_takes_instead_of_fallback():
    model = _Branching()
    with pytest.raises(ad.compile.TraceError, match=r"test_compile_user_state.py:\d+ in forward.*compile=False"):
        nn.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, Y, epochs=1, progress=False,
               compile=True)


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                      lambda ps: optim.Adam(ps, lr=0.01)])
def test_parameters_cast_to_float32_between_steps_train_in_float32(make_opt):
    def cast(model, opt, loss):
        for p in model.parameters():
            p.data = p.data.astype(np.float32)
    step = _both(lambda: nn.MLP([6, 10, 3], seed=0), make_opt, cast)
    assert step.model.parameters()[0].dtype == np.float32


def test_a_rebuilt_flat_update_never_runs_a_program_of_the_old_buffers():
    def make_opt(ps):
        return optim.SGD(ps, lr=0.1, momentum=0.9)
    runs = []
    for compiled in (False, True):
        model = nn.MLP([6, 10, 3], seed=0)
        opt = make_opt(model.parameters())
        step = nn.compile_step(model, nn.CrossEntropyLoss(), opt) if compiled else None
        losses = []
        for k in range(10):  # two batch shapes, each compiled, then the group dict is replaced
            if k == 6:
                opt.param_groups[0] = dict(opt.param_groups[0])
            n = 16 if k % 2 else 8
            Xk, yk = X[:n] + 0.01 * k, Y[:n]
            losses.append(step(Xk, yk) if step else eager_step(model, nn.CrossEntropyLoss(), opt, Xk, yk))
        runs.append((losses, model.parameters()))
    assert runs[0][0] == runs[1][0]
    for p, q in zip(runs[0][1], runs[1][1], strict=True):
        np.testing.assert_array_equal(p.data, q.data)


def test_assigning_a_setting_its_own_value_keeps_the_compiled_steps_settings():
    from nn.module_state import SETTINGS_VERSION

    model = _bn_dropout()
    drop = _modules(model, nn.Dropout)[0]
    version = SETTINGS_VERSION[0]
    model.train()  # fit does this every epoch: nothing changed, nothing to recompute
    drop.p = 0.3
    assert SETTINGS_VERSION[0] == version
    for value in (0.30000000000000004, 1, 1.0, True):  # another value, or an equal one of another type
        drop.p = value
        assert SETTINGS_VERSION[0] > version
        version = SETTINGS_VERSION[0]
    model.eval()
    assert SETTINGS_VERSION[0] > version

    def same_then_other(model, opt, loss):
        model.train()
        _modules(model, nn.Dropout)[0].p = 0.3
        _modules(model, nn.Dropout)[0].p = 0.5
    _both(_bn_dropout, lambda ps: optim.SGD(ps, lr=0.1), same_then_other)


class _Blocks(nn.Module):
    """Layers held in a ModuleList and a ModuleDict, run in order, and spare modules made
    with it (making a module is an assignment: the edits below must be seen without one)."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 10, seed=0), nn.ReLU()])
        self.heads = nn.ModuleDict({"out": nn.Linear(10, 3, seed=1)})
        self.spare = nn.ModuleList([nn.Tanh(), nn.Sequential(nn.Sigmoid(), self.heads["out"])])

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.heads["out"](x)


@pytest.mark.parametrize("edit", ["setitem", "append", "insert", "delitem", "dict_setitem", "dict_update",
                                  "dict_pop", "dict_delitem"])
def test_modules_replaced_in_a_module_list_or_dict_are_not_baked_in(edit):
    def change(model, opt, loss):
        blocks, heads, (tanh, sigmoid_head) = model.blocks, model.heads, model.spare
        if edit == "setitem":
            blocks[1] = tanh
        elif edit == "append":
            blocks.append(tanh)
        elif edit == "insert":
            blocks.insert(1, tanh)
        elif edit == "delitem":
            del blocks[1]
        elif edit == "dict_setitem":
            heads["out"] = sigmoid_head
        elif edit == "dict_update":
            heads.update({"out": sigmoid_head})
        else:
            heads.pop("out") if edit == "dict_pop" else heads.__delitem__("out")
            blocks.append(tanh)  # (and the head read from the dict is gone: forward needs one)
            heads.update([("out", sigmoid_head)])
    _both(_Blocks, lambda ps: optim.SGD(ps, lr=0.1), change)


@pytest.mark.parametrize("make_opt", [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
                                      lambda ps: optim.AdamW(ps, lr=0.01), lambda ps: optim.Adam(ps, lr=0.01)])
@pytest.mark.parametrize("at", [0, 3])
def test_a_parameter_frozen_before_or_between_steps_is_left_alone_as_eager_leaves_it(make_opt, at):
    """requires_grad_(False) on a parameter the optimizer holds: eager's step() skips it (no
    gradient), so its weight decay and momentum must not move it in a compiled step either,
    whether it was frozen before the first step or between two steps."""
    def freeze(model, opt, loss):
        model.parameters()[0].requires_grad_(False)

    def make_model():
        model = nn.MLP([6, 10, 3], seed=0)
        if at == 0:
            freeze(model, None, None)
        return model
    _both(make_model, make_opt, freeze, at=max(at, 1), steps=8)


def test_a_compiled_step_called_under_no_grad_raises_as_eager_backward_does():
    model = nn.MLP([6, 10, 3], seed=0)
    step = nn.compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    for _ in range(3):
        step(X, Y)
    before = [p.data.copy() for p in model.parameters()]
    with ad.no_grad():
        with pytest.raises(RuntimeError, match="no_grad"):
            step(X, Y)  # (eager: loss.backward() refuses a loss computed under no_grad)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, q)
    step(X, Y)  # outside no_grad again: trains
    assert not np.array_equal(model.parameters()[0].data, before[0])


@pytest.mark.parametrize("edit", ["extend", "remove"])
def test_parameters_put_into_or_taken_out_of_a_group_in_place_are_seen(edit):
    """group["params"] edited in place (the same list): the compiled update covers the
    parameters eager's step() covers, no more and no fewer."""
    def change(model, opt, loss):
        params = opt.param_groups[0]["params"]
        if edit == "extend":
            params.extend(model.parameters()[:2])  # the first layer, left out until now
        else:
            del params[-2:]  # the last layer is no longer trained

    def make_opt(ps):
        return optim.SGD(ps[2:] if edit == "extend" else ps, lr=0.1, momentum=0.9)
    _both(lambda: nn.MLP([6, 10, 3], seed=0), make_opt, change)


@pytest.mark.parametrize("edit", ["register", "remove"])
def test_a_gradient_hook_registered_or_removed_between_steps_is_seen(edit):
    """A hook on a parameter changes its gradient in eager's backward (here: halves it), so
    one registered or removed after the step was compiled is another program."""
    handles = []

    def make_model():
        model = nn.MLP([6, 10, 3], seed=0)
        if edit == "remove":
            handles.append(model.parameters()[0].register_hook(lambda g: g * 0.5))
        return model

    def change(model, opt, loss):
        if edit == "register":
            model.parameters()[0].register_hook(lambda g: g * 0.5)
        else:
            handles.pop(0).remove()
    _both(make_model, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), change)


@pytest.mark.parametrize("edit", ["loss_weight", "callers_array", "module_mask", "tensor_scale"])
def test_arrays_a_module_holds_edited_in_place_are_not_baked_in(edit):
    """NumPy arrays held by the loss or a module (class weights, a mask) are read by eager
    at every step: edited in place after the step was compiled, they are another program."""
    weight = np.array([1.0, 2.0, 0.5])

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.mlp, self.mask, self.scale = nn.MLP([6, 10, 3], seed=0), np.ones(6), ad.Tensor([1.0, 1.0, 1.0])

        def forward(self, x):
            return self.mlp(x * self.mask) * self.scale

    def change(model, opt, loss):
        if edit == "loss_weight":
            loss.weight[0] = 5.0
        elif edit == "callers_array":
            weight[1] = 0.25  # (the loss holds the caller's array, as eager reads it)
        elif edit == "module_mask":
            model.mask[2:4] = 0.0
        else:
            model.scale[1] = 3.0  # (a Tensor that does not require grad: a constant, as the mask)

    def make_loss():
        weight[:] = (1.0, 2.0, 0.5)
        return nn.CrossEntropyLoss(weight=weight)
    _both(Masked, lambda ps: optim.SGD(ps, lr=0.1), change, loss_fn=make_loss)


@pytest.mark.parametrize("edit", ["setitem", "data", "inplace_op"])
def test_a_jitted_function_sees_a_closure_tensor_written_since_the_trace(edit):
    """A Tensor that does not require grad, read from the closure, is a constant of the
    program; written in place through the API since (its version moved), another program."""
    scale = ad.Tensor([1.0, 2.0, 3.0])
    f = ad.jit(lambda x: (x * scale).sum())
    x = np.ones(3)
    for k in range(3):
        f(x + k)
    if edit == "setitem":
        scale[0] = 100.0
    elif edit == "data":
        scale.data = np.array([4.0, 5.0, 6.0])
    else:
        scale.mul_(2.0) if hasattr(scale, "mul_") else scale.__imul__(2.0)
    assert float(np.asarray(f(x))) == float((x * scale.data).sum())
