"""Convolution, pooling, LayerNorm, Flatten/Unflatten: values and gradients against PyTorch
in float64 (when installed) and against central finite differences (always), PyTorch's
weight layout and initialisation, and errors that name the layer and the shapes."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from tests.helpers import assert_vjp_matches


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def both(torch, ours, theirs, *arrays, seed=0):
    """Our and PyTorch's outputs and input gradients for the same weighted sum of the output."""
    xs = [ad.Tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    G = np.random.default_rng(seed).normal(size=y.shape)
    (y * G).sum().backward()
    (ty * torch.tensor(G)).sum().backward()
    for k, (x, t) in enumerate(zip(xs, ts, strict=True)):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"input {k}")


# (in, out, kernel, stride, padding, dilation, groups)
CONV2D = [
    (3, 4, 3, 1, 0, 1, 1), (3, 4, 3, 1, 1, 1, 1), (4, 6, (3, 2), (2, 1), (1, 0), (1, 2), 2),
    (4, 4, 3, 1, "same", 1, 4), (3, 6, (2, 3), 1, "same", (2, 1), 3), (2, 2, 5, 3, 2, 1, 1),
    (6, 3, 1, 2, 0, 1, 3), (2, 4, (4, 1), (1, 3), "valid", (1, 1), 1), (4, 8, 2, 2, (0, 2), 2, 2),
]


@pytest.mark.parametrize("c, o, k, s, p, d, g", CONV2D)
def test_conv2d_matches_pytorch(torch, c, o, k, s, p, d, g):
    rng = np.random.default_rng(1)
    kernel = (k, k) if isinstance(k, int) else k
    x, w, b = rng.normal(size=(2, c, 9, 8)), rng.normal(size=(o, c // g) + kernel), rng.normal(size=o)
    both(torch, lambda x, w, b: F.conv2d(x, w, b, s, p, d, g),
         lambda x, w, b: torch.nn.functional.conv2d(x, w, b, s, p, d, g), x, w, b)


@pytest.mark.parametrize("s, p, d, g", [(1, 0, 1, 1), (2, 1, 2, 2), (1, "same", 3, 1), (3, 2, 1, 4)])
def test_conv1d_matches_pytorch(torch, s, p, d, g):
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=(3, 4, 13)), rng.normal(size=(8, 4 // g, 3)), rng.normal(size=8)
    both(torch, lambda x, w, b: F.conv1d(x, w, b, s, p, d, g),
         lambda x, w, b: torch.nn.functional.conv1d(x, w, b, s, p, d, g), x, w, b)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_module_loads_a_pytorch_state_dict_and_agrees(torch, mode):
    theirs = torch.nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(1, 2), groups=2,
                             padding_mode=mode).double()
    ours = nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(2, 1), dilation=(1, 2), groups=2, padding_mode=mode,
                     seed=0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(3).normal(size=(2, 4, 7, 9))
    both(torch, ours, theirs, x)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), rtol=1e-10)


def test_conv_gradients_match_finite_differences():
    rng = np.random.default_rng(4)
    for c, o, k, s, p, d, g in [(2, 2, 3, 1, 1, 1, 1), (4, 2, (2, 3), (2, 1), (1, 0), (1, 2), 2),
                                (2, 2, 2, 1, "same", 2, 2)]:
        kernel = (k, k) if isinstance(k, int) else k
        x, w, b = rng.normal(size=(2, c, 5, 6)), rng.normal(size=(o, c // g) + kernel), rng.normal(size=o)
        assert_vjp_matches(lambda x, w, b: F.conv2d(x, w, b, s, p, d, g), [x, w, b])  # noqa: B023
    x, w = rng.normal(size=(1, 2, 7)), rng.normal(size=(4, 1, 3))
    assert_vjp_matches(lambda x, w: F.conv1d(x, w, None, 2, 1, 2, 2), [x, w])
    layer = nn.Conv2d(2, 3, 3, padding=2, padding_mode="reflect", seed=0)
    assert_vjp_matches(layer, [rng.normal(size=(1, 2, 4, 5))])


def test_conv_second_order_matches_finite_differences():
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(1, 2, 5, 5)), rng.normal(size=(2, 2, 2, 2))
    G = rng.normal(size=(1, 2, 3, 3))

    def grad_w(w):
        with ad.enable_grad():
            w = w if w.requires_grad else ad.Tensor(w.numpy(), requires_grad=True)
            y = ad.tanh(F.conv2d(x, w, stride=2, padding=1))
            (g,) = ad.gradients((y * G).sum(), [w], create_graph=True)
        return g

    assert_vjp_matches(grad_w, [w], rtol=1e-4, atol=1e-6)


POOLS = [(3, None, 1, 1, False), (3, 2, 1, 2, True), ((2, 3), (2, 1), (1, 0), 1, True), (2, 2, 0, 1, True),
         (2, 1, 1, 1, False)]


@pytest.mark.parametrize("k, s, p, d, ceil", POOLS)
def test_max_pool2d_matches_pytorch(torch, k, s, p, d, ceil):
    x = np.random.default_rng(6).normal(size=(2, 3, 9, 8))
    both(torch, lambda x: F.max_pool2d(x, k, s, p, d, ceil),
         lambda x: torch.nn.functional.max_pool2d(x, k, s, p, d, ceil), x)


@pytest.mark.parametrize("k, s, p, ceil, include, divisor", [
    (3, None, 1, False, True, None), (3, 2, 1, True, True, None), (3, 2, 1, True, False, None),
    ((2, 3), (2, 1), (1, 0), True, False, None), (2, 2, 0, True, True, 3), (2, 3, 1, False, False, None)])
def test_avg_pool2d_matches_pytorch(torch, k, s, p, ceil, include, divisor):
    x = np.random.default_rng(7).normal(size=(2, 3, 9, 8))
    both(torch, lambda x: F.avg_pool2d(x, k, s, p, ceil, include, divisor),
         lambda x: torch.nn.functional.avg_pool2d(x, k, s, p, ceil, include, divisor), x)


@pytest.mark.parametrize("size", [1, (3, 5), (4, None), (9, 8), (2, 3), (5, 7), (3, 4), (None, 2)])
def test_adaptive_avg_pool2d_matches_pytorch(torch, size):
    x = np.random.default_rng(8).normal(size=(2, 3, 9, 8))
    both(torch, lambda x: F.adaptive_avg_pool2d(x, size),
         lambda x: torch.nn.functional.adaptive_avg_pool2d(x, size), x)


def test_pool_gradients_match_finite_differences():
    rng = np.random.default_rng(9)
    x = rng.permutation(60).reshape(1, 3, 4, 5) / 10.0  # distinct values: no ties within a window
    assert_vjp_matches(lambda t: F.max_pool2d(t, 2, 1, 1, ceil_mode=True), [x])
    assert_vjp_matches(lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    assert_vjp_matches(lambda t: F.adaptive_avg_pool2d(t, (3, 2)), [x])
    assert_vjp_matches(lambda t: F.adaptive_avg_pool2d(t, (2, 5)), [x])  # equal blocks


def test_max_pool_ties_share_the_gradient_as_autodiff_max():
    x = ad.Tensor(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[[[1 / 3, 1 / 3], [0.0, 1 / 3]]]])


def test_layer_norm_matches_pytorch_and_finite_differences(torch):
    rng = np.random.default_rng(10)
    x, w, b = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    both(torch, lambda x, w, b: F.layer_norm(x, (4, 5), w, b, 1e-3),
         lambda x, w, b: torch.nn.functional.layer_norm(x, (4, 5), w, b, 1e-3), x, w, b)


def test_layer_norm_gradients_match_finite_differences():
    rng = np.random.default_rng(11)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=4), rng.normal(size=4)
    assert_vjp_matches(lambda x, w, b: F.layer_norm(x, 4, w, b), [x, w, b])
    layer = nn.LayerNorm((3, 4), elementwise_affine=False)
    assert layer.parameters() == []
    assert_vjp_matches(layer, [x])


def test_flatten_and_unflatten_shapes_and_gradients():
    x = np.random.default_rng(12).normal(size=(2, 3, 4, 5))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    assert nn.Unflatten(1, (3, 4))(np.ones((2, 12, 5))).shape == (2, 3, 4, 5)
    assert nn.Unflatten(-1, (2, -1))(np.ones((2, 12))).shape == (2, 2, 6)
    assert_vjp_matches(lambda t: nn.Unflatten(1, (4, 15))(nn.Flatten()(t)), [x])
    with pytest.raises(ValueError, match=r"Unflatten.*cannot split axis 1 of an input of shape \(2, 12\)"):
        nn.Unflatten(1, (5, 3))(np.ones((2, 12)))
    with pytest.raises(ValueError, match=r"Flatten.*dim 4 is out of range"):
        nn.Flatten(4)(x)


def test_conv_init_is_pytorchs_and_seeded():
    a, b = nn.Conv2d(4, 6, 3, groups=2, seed=7), nn.Conv2d(4, 6, 3, groups=2, seed=7)
    assert a.weight.shape == (6, 2, 3, 3) and a.bias.shape == (6,)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / np.sqrt(2 * 9)  # kaiming_uniform(a=sqrt(5)): 1/sqrt(fan_in), fan_in = in/groups * kernel
    w = nn.Conv2d(4, 64, 3, groups=2, seed=0).weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert nn.Conv1d(3, 5, 4, bias=False, seed=0).bias is None
    layer = nn.Conv2d(1, 2, 3, seed=0, dtype=np.float32)
    out = layer(np.ones((1, 1, 5, 5), np.float32))
    assert out.dtype == np.float32 and layer.weight.dtype == np.float32


def test_unbatched_inputs_and_a_cnn_trains_a_step():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3, seed=1))
    x = np.random.default_rng(13).normal(size=(5, 1, 8, 8))
    assert model[0](x[0]).shape == (4, 8, 8)
    assert nn.MaxPool2d(2)(x[0]).shape == (1, 4, 4)
    loss = nn.CrossEntropyLoss()(model(x), np.array([0, 1, 2, 0, 1]))
    loss.backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in model.parameters())


def test_bad_input_raises_naming_the_layer_and_shapes():
    conv = nn.Conv2d(3, 4, 3, seed=0)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4.*expected input of shape \(N, 3, H, W\).*\(2, 5, 8, 8\)"):
        conv(np.ones((2, 5, 8, 8)))
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4.*kernel \(3, 3\).*larger than the padded input.*"
                                         r"\(1, 3, 2, 8\)"):
        conv(np.ones((1, 3, 2, 8)))
    with pytest.raises(ValueError, match=r"Conv1d.*expected input of shape \(N, 2, L\).*\(4, 2\)"):
        nn.Conv1d(2, 2, 3, seed=0)(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"conv2d: input with 4 channels \(shape \(1, 4, 5, 5\)\).*\(6, 3, 3, 3\)"):
        F.conv2d(np.ones((1, 4, 5, 5)), np.ones((6, 3, 3, 3)))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match=r"MaxPool2d.*\(N, C, H, W\).*\(8, 8\)"):
        nn.MaxPool2d(2)(np.ones((8, 8)))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(3, 3\).*larger.*\(1, 1, 2, 2\)"):
        F.max_pool2d(np.ones((1, 1, 2, 2)), 3)
    with pytest.raises(ValueError, match="at most half the kernel size"):
        F.avg_pool2d(np.ones((1, 1, 6, 6)), 2, padding=2)
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4,\).*trailing axes are \(4,\).*\(2, 5\)"):
        nn.LayerNorm(4)(np.ones((2, 5)))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size"):
        F.adaptive_avg_pool2d(np.ones((1, 1, 4, 4)), 0)


def test_compiled_cnn_step_equals_eager():
    from nn import optim

    def model():
        rng = np.random.default_rng(0)
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2),
                             nn.Flatten(), nn.LayerNorm(16), nn.Linear(16, 3, rng=rng))

    data = np.random.default_rng(14)
    X, y = data.normal(size=(8, 1, 8, 8)), data.integers(0, 3, 8)
    a, b = model(), model()
    step = nn.compile_step(a, nn.CrossEntropyLoss(), optim.SGD(a.parameters(), lr=0.1))
    opt, loss = optim.SGD(b.parameters(), lr=0.1), nn.CrossEntropyLoss()
    for _ in range(3):
        compiled = float(step(X, y))
        opt.zero_grad()
        eager = loss(b(X), y)
        eager.backward()
        opt.step()
        assert compiled == pytest.approx(eager.item(), rel=1e-12)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_allclose(p.numpy(), q.numpy(), rtol=1e-12, atol=1e-14)
