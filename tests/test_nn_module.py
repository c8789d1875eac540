"""Module discovery by type (DESIGN decision 13), containers and the PyTorch Module methods."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
from nn import optim


class Private(nn.Module):
    def __init__(self):
        super().__init__()
        self._w = nn.Parameter(np.array([2.0]))
        self._stat = nn.Buffer(np.zeros(1))
        self.plain = ad.Tensor([1.0], requires_grad=True)  # a plain Tensor is not a parameter (PyTorch)

    def forward(self, x):
        return x * self._w


def test_private_attribute_parameter_is_trained_and_saved():
    m = Private()
    assert [n for n, _ in m.named_parameters()] == ["_w"]
    assert set(m.state_dict()) == {"_w", "_stat"}
    opt = optim.SGD(m.parameters(), lr=0.5)
    (m(ad.Tensor([3.0])) ** 2).sum().backward()  # d/dw (3w)² = 18w = 36
    opt.step()
    np.testing.assert_allclose(m._w.numpy(), [2.0 - 0.5 * 36.0])


def test_named_modules_deduplicates_shared_modules_and_cycles():
    inner = nn.Linear(2, 2, seed=0)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = inner
            self.b = [inner, nn.Linear(2, 1, seed=1)]
            self.me = self  # a cycle must not recurse forever

    m = Outer()
    assert [n for n, _ in m.named_modules()] == ["", "a", "b.1"]
    assert [n for n, _ in m.named_parameters()] == ["a.weight", "a.bias", "b.1.weight", "b.1.bias"]


def test_buffers_keep_their_type_when_assigned():
    m = Private()
    m._stat = np.array([5.0])
    assert isinstance(m._stat, nn.Buffer) and m.state_dict()["_stat"].tolist() == [5.0]
    m._stat = nn.Parameter(np.ones(1))  # a Parameter given to a buffer's name becomes a parameter (PyTorch)
    assert [n for n, _ in m.named_parameters()] == ["_w", "_stat"] and not m.buffers()
    bn = nn.BatchNorm1d(2)
    bn(np.array([[1.0, 2.0], [3.0, 6.0]]))
    assert all(isinstance(b, nn.Buffer) for b in bn.buffers())
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * np.array([2.0, 4.0]))


def test_module_list_and_dict_register_their_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(2, 2, seed=0)])
            self.blocks.append(nn.Linear(2, 2, seed=1))
            self.heads = nn.ModuleDict({"out": nn.Linear(2, 1, seed=2)})

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.heads["out"](x)

    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias", "heads.out.weight", "heads.out.bias"]
    assert net(np.ones((3, 2))).shape == (3, 1)
    assert len(net.blocks) == 2 and len(net.blocks[:1]) == 1 and "out" in net.heads
    with pytest.raises(TypeError, match="ModuleList: expected Modules, got int"):
        net.blocks.append(3)
    with pytest.raises(KeyError, match="ModuleDict: keys must be"):
        net.heads["a.b"] = nn.Linear(1, 1)


def test_apply_add_module_register_parameter_requires_grad():
    net = nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU())
    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "ReLU", "Sequential"]  # children first, as PyTorch

    m = nn.Module()
    m.add_module("head", nn.Linear(2, 1, seed=0))
    m.register_parameter("scale", nn.Parameter(np.ones(1)))
    m.register_buffer("count", np.zeros((), np.int64))
    assert [n for n, _ in m.named_parameters()] == ["scale", "head.weight", "head.bias"]
    assert m.state_dict()["count"].dtype == np.int64
    with pytest.raises(KeyError, match=r"add_module: name must be non-empty and contain no '\.', got 'a\.b'"):
        m.add_module("a.b", nn.ReLU())
    with pytest.raises(KeyError, match="register_parameter: 'forward' is already an attribute of Module"):
        m.register_parameter("forward", nn.Parameter(np.ones(1)))
    with pytest.raises(KeyError, match="register_buffer: 'scale' already holds a Parameter, not a Buffer"):
        m.register_buffer("scale", np.ones(1))
    with pytest.raises(TypeError, match="register_parameter: 'w' must be a Parameter or None, got ndarray"):
        m.register_parameter("w", np.ones(1))
    with pytest.raises(TypeError, match="add_module: 'x' must be a Module or None, got int"):
        m.add_module("x", 3)

    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    assert all(p.requires_grad for p in m.parameters())


def test_zero_grad_set_to_none():
    lin = nn.Linear(2, 1, seed=0)
    lin(np.ones((1, 2))).sum().backward()
    lin.zero_grad(set_to_none=False)
    assert np.array_equal(lin.weight.grad.numpy(), np.zeros((2, 1)))
    lin.zero_grad()
    assert lin.weight.grad is None


def test_load_state_dict_changes_nothing_when_a_shape_is_wrong():
    a = nn.MLP([3, 4, 2], seed=0)
    before = a.state_dict()
    state = nn.MLP([3, 4, 2], seed=1).state_dict()
    state["2.bias"] = np.ones(5)
    with pytest.raises(ValueError, match=r"'2.bias' has shape \(5,\) in the state, \(2,\) in the model"):
        a.load_state_dict(state)
    assert all(np.array_equal(v, a.state_dict()[k]) for k, v in before.items())
