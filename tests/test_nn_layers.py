"""nn modules: discovery, state_dict, repr, layers (gradcheck), init, BatchNorm, Dropout, save/load."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import autodiff as ad
import nn
from autodiff.testing import gradcheck, numerical_grad


def test_parameters_found_in_attributes_lists_and_dicts():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [nn.Linear(2, 3, seed=0), nn.Linear(3, 3, seed=1)]
            self.heads = {"a": nn.Linear(3, 1, seed=2)}
            self.scale = nn.Parameter(np.ones(1))
            self.shared = self.blocks[0]  # the same module twice: its parameters once

        def forward(self, x):
            return self.heads["a"](self.blocks[1](self.blocks[0](x))) * self.scale

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # a module's own parameters first, then its submodules' (PyTorch's order)
    assert names == ["scale", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
                     "heads.a.weight", "heads.a.bias"]
    assert net.num_parameters() == 9 + 12 + 4 + 1
    assert len(list(net.children())) == 3  # the shared module once, as PyTorch


def test_state_dict_round_trip_and_strict_errors():
    a, b = nn.MLP([3, 4, 2], seed=0), nn.MLP([3, 4, 2], seed=1)
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        assert na == nb and np.array_equal(pa.numpy(), pb.numpy())
    state = a.state_dict()
    del state["2.bias"]
    with pytest.raises(KeyError, match="missing key '2.bias'"):
        b.load_state_dict(state)
    state = {**a.state_dict(), "extra": np.ones(1)}
    with pytest.raises(KeyError, match="unexpected key 'extra'"):
        b.load_state_dict(state)
    state = a.state_dict()
    state["0.weight"] = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(4, 3\) in the state, \(3, 4\) in the model"):
        b.load_state_dict(state)


def test_repr_shows_architecture_and_counts():
    text = repr(nn.Sequential(nn.Linear(64, 50, seed=0), nn.ReLU(), nn.Dropout(0.2), nn.Linear(50, 10, seed=0)))
    assert "(0): Linear(in_features=64, out_features=50, bias=True)  # 3,250 params" in text
    assert "(2): Dropout(p=0.2)" in text
    assert text.endswith("# 3,760 parameters in all")


def test_linear_is_x_at_w_plus_b_and_passes_gradcheck():
    layer = nn.Linear(3, 2, seed=0)
    x = np.random.default_rng(1).standard_normal((4, 3))
    np.testing.assert_allclose(layer(x).numpy(), x @ layer.weight.numpy() + layer.bias.numpy())
    assert layer.weight.shape == (3, 2)
    gradcheck(lambda x, W, b: x @ W + b, x, layer.weight.numpy(), layer.bias.numpy())


def test_linear_wrong_width_names_layer_expected_and_got():
    with pytest.raises(ValueError, match=r"Linear\(in_features=64.*expected input with 64 features.*\(32, 63\)"):
        nn.Linear(64, 10, seed=0)(np.ones((32, 63)))


@pytest.mark.parametrize("module", [nn.ReLU(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.ReLU6(), nn.Sigmoid(),
                                    nn.Tanh(), nn.Softmax(dim=1), nn.Identity(), nn.Softplus()])
def test_activation_modules_pass_gradcheck(module):
    x = np.array([[-2.5, -0.3, 0.4], [1.7, 7.0, -5.0]])
    assert gradcheck(module, x)


def test_mlp_gradcheck_through_every_layer():
    model = nn.MLP([3, 5, 4, 2], activation="tanh", seed=0)
    x = np.random.default_rng(0).standard_normal((6, 3))
    params = model.parameters()
    # gradcheck with respect to the input; parameters via gradients() vs finite differences
    assert gradcheck(lambda x: model(x), x)
    loss = (model(x) ** 2).sum()
    grads = ad.gradients(loss, params)
    for p, g in zip(params, grads, strict=True):
        original = p.numpy().copy()

        def fp(v, p=p):
            p.data = v.data
            return (model(x) ** 2).sum()

        numeric = numerical_grad(fp, original)
        p.data = original
        np.testing.assert_allclose(g.numpy(), numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name, fn", [("glorot_uniform", nn.init.glorot_uniform), ("he_uniform", nn.init.he_uniform)])
def test_uniform_init_bounds(name, fn):
    w = fn((300, 200), np.random.default_rng(0))
    limit = np.sqrt(6 / 500) if name == "glorot_uniform" else np.sqrt(6 / 300)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.var() - limit ** 2 / 3) < 0.05 * limit ** 2 / 3  # variance of U(-a, a) is a²/3


@pytest.mark.parametrize("fn, std", [(nn.init.glorot_normal, np.sqrt(2 / 500)), (nn.init.he_normal, np.sqrt(2 / 300))])
def test_normal_init_std(fn, std):
    w = fn((300, 200), np.random.default_rng(0))
    assert abs(w.std() - std) < 0.02 * std and abs(w.mean()) < 0.02 * std


def test_init_is_reproducible_and_aliases():
    assert np.array_equal(nn.init.xavier_uniform((3, 4), np.random.default_rng(5)),
                          nn.init.glorot_uniform((3, 4), np.random.default_rng(5)))
    assert np.array_equal(nn.MLP([4, 3], seed=7)[0].weight.numpy(), nn.MLP([4, 3], seed=7)[0].weight.numpy())
    assert np.all(nn.init.constant((2, 2), 0.5) == 0.5) and not nn.init.zeros((3,)).any()


def test_batchnorm_train_and_eval_like_pytorch():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(3)
    x = rng.normal(2.0, 3.0, size=(16, 3))
    out = bn(x).numpy()
    mean, var = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-10)
    np.testing.assert_allclose(bn.running_mean, 0.1 * mean)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1))
    bn.eval()
    y = rng.normal(size=(4, 3))
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()  # Buffers are Tensors, as in PyTorch
    np.testing.assert_allclose(bn(y).numpy(), (y - rm) / np.sqrt(rv + 1e-5))
    assert set(bn.state_dict()) == {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}
    bn.train()
    assert gradcheck(lambda x, w, b: (x - ad.mean(x, 0, keepdims=True)) / ad.sqrt(ad.var(x, 0, keepdims=True) + 1e-5)
                     * w + b, x[:5], np.array([1.0, 2.0, 0.5]), np.zeros(3))
    assert gradcheck(lambda x: bn(x), x[:5])


def test_dropout_statistics_fresh_masks_and_eval_identity():
    d = nn.Dropout(0.3, seed=0)
    x = np.ones((200, 500))
    a, b = d(x).numpy(), d(x).numpy()
    assert not np.array_equal(a, b)  # a fresh mask each call
    assert set(np.unique(a)) == {0.0, 1 / 0.7}
    assert abs((a == 0).mean() - 0.3) < 0.01
    assert abs(a.mean() - 1.0) < 0.01  # inverted dropout keeps the expectation
    d.eval()
    assert d(x) is x


def test_save_load_bit_exact_and_mismatch(tmp_path):
    a = nn.MLP([4, 6, 3], seed=0)
    path = nn.save(a, tmp_path / "model")
    assert path.suffix == ".npz"
    b = nn.load(nn.MLP([4, 6, 3], seed=1), path)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert pa.numpy().tobytes() == pb.numpy().tobytes()
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(4, 6\) in .* but \(4, 5\) in the model"):
        nn.load(nn.MLP([4, 5, 3], seed=0), path)
    with pytest.raises(ValueError, match="missing '4.bias', '4.weight'"):
        nn.load(nn.MLP([4, 6, 3, 2], seed=0), path)


def test_pickle_payload_is_refused(tmp_path):
    evil = tmp_path / "evil.npz"
    np.savez(evil, **{"0.weight": np.array([object()], dtype=object)})
    with pytest.raises(ValueError, match="pickled objects, which are refused"):
        nn.load(nn.MLP([4, 6, 3], seed=0), evil)
    raw = tmp_path / "raw.npz"
    raw.write_bytes(pickle.dumps({"0.weight": np.ones(3)}))
    with pytest.raises(ValueError, match="refused"):
        nn.load(nn.MLP([4, 6, 3], seed=0), raw)


def test_dropout_gradient_is_the_mask_scaled():
    # the same seed on every call gives the same mask, so finite differences see one function
    f = lambda x: nn.functional.dropout(x, 0.4, training=True, rng=np.random.default_rng(3))
    x = np.random.default_rng(0).standard_normal((5, 4))
    assert gradcheck(f, x)
