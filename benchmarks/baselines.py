"""What the training benchmarks share: the hand-written NumPy MLP step they measure
against, its parameters, and a chainrule model holding the same values.

Imported by ``bench_compile.py`` and ``bench_training.py`` (run as scripts from this
directory), after they have set the BLAS thread count.
"""

from __future__ import annotations

import numpy as np

import nn


def init_params(sizes, dtype, seed=0):
    """Glorot-uniform weights and zero biases for an MLP of these layer sizes."""
    rng = np.random.default_rng(seed)
    params = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        limit = np.sqrt(6 / (a + b))
        params += [rng.uniform(-limit, limit, (a, b)).astype(dtype), np.zeros(b, dtype)]
    return params


def numpy_grads(params, X, y):
    """Forward and backward of a ReLU MLP with softmax cross-entropy, written by hand:
    (mean loss, gradients in the order of ``params``)."""
    acts, h = [X], X
    for k in range(0, len(params), 2):
        z = h @ params[k] + params[k + 1]
        h = np.maximum(z, 0) if k < len(params) - 2 else z
        acts.append(h)
    e = np.exp(h - h.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    p[np.arange(len(y)), y] -= 1
    g = p / len(y)
    grads = [None] * len(params)
    for k in range(len(params) - 2, -1, -2):
        grads[k], grads[k + 1] = acts[k // 2].T @ g, g.sum(axis=0)
        if k:
            g = (g @ params[k].T) * (acts[k // 2] > 0)
    return loss, grads


def adam_update(params, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    """One Adam step (PyTorch's formulas) in place, t counting from 1."""
    for p, g, mk, vk in zip(params, grads, m, v, strict=True):
        mk *= b1
        mk += (1 - b1) * g
        vk *= b2
        vk += (1 - b2) * g * g
        p -= (lr / (1 - b1 ** t)) * mk / (np.sqrt(vk) / np.sqrt(1 - b2 ** t) + eps)


def model_from(params, sizes):
    """An ``nn.MLP`` of these sizes holding copies of ``params``."""
    model = nn.MLP(list(sizes), seed=0, dtype=params[0].dtype)
    for p, v in zip(model.parameters(), params, strict=True):
        p.data = v.copy()
    return model


def torch_mlp(ts, h):
    """The same ReLU MLP in PyTorch (``ts``: its weights and biases as torch tensors)."""
    import torch

    for k in range(0, len(ts), 2):
        h = h @ ts[k] + ts[k + 1]
        if k < len(ts) - 2:
            h = torch.relu(h)
    return h


def torch_train(params, X, y, lr, index_batches, adam):
    """Train the MLP in PyTorch (Adam or SGD) on the rows of each index array of
    ``index_batches``, as the other contenders take them."""
    import torch

    ts = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    opt = torch.optim.Adam(ts, lr=lr) if adam else torch.optim.SGD(ts, lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for idx in index_batches:
        i = torch.from_numpy(idx)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(torch_mlp(ts, Xt[i]), yt[i]).backward()
        opt.step()
