"""nn.datasets.load_mnist on small files written here in the same format (never a download)."""

from __future__ import annotations

import numpy as np
import pytest

import nn

rng = np.random.default_rng(0)


def write_mnist(path, n_train=12, n_test=5):
    arrays = dict(x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
                  y_train=rng.integers(0, 10, n_train).astype(np.uint8),
                  x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
                  y_test=rng.integers(0, 10, n_test).astype(np.uint8))
    np.savez_compressed(path, **arrays)
    return arrays


def test_reads_the_cached_file(tmp_path):
    a = write_mnist(tmp_path / "mnist.npz")
    X_train, X_test, y_train, y_test = nn.datasets.load_mnist(cache_dir=tmp_path, download=False)
    assert X_train.shape == (12, 784) and X_train.dtype == np.float32 and X_test.shape == (5, 784)
    np.testing.assert_array_equal(X_train * 255, a["x_train"].reshape(12, -1).astype(np.float32))
    np.testing.assert_array_equal(y_test, a["y_test"])
    raw = nn.datasets.load_mnist(cache_dir=tmp_path, download=False, scale=False)[0]
    assert raw.dtype == np.uint8 and raw[3, 29] == a["x_train"][3, 1, 1]


def test_missing_or_malformed_file_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="mnist.npz does not exist and download=False"):
        nn.datasets.load_mnist(cache_dir=tmp_path, download=False)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(ValueError, match=r"lacks \['y_train', 'x_test', 'y_test'\]"):
        nn.datasets.load_mnist(cache_dir=tmp_path)
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28)), y_train=np.zeros(2),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1))
    with pytest.raises(ValueError, match=r"x_train must be uint8 of shape \(n, 28, 28\)"):
        nn.datasets.load_mnist(cache_dir=tmp_path)


def test_download_once_through_fetch_openml_then_cache(tmp_path, monkeypatch):
    datasets = pytest.importorskip("sklearn.datasets")
    calls = []

    def fake_fetch_openml(name, version, return_X_y, as_frame, data_home, parser):
        calls.append((name, version))
        X = np.arange(10 * 784, dtype=np.int64).reshape(10, 784) % 256
        return X.astype(np.float64), np.array([str(k % 10) for k in range(10)], dtype=object)

    monkeypatch.setattr(datasets, "fetch_openml", fake_fetch_openml)
    monkeypatch.setattr(nn.datasets, "MNIST_TRAIN", 6)  # 60,000 of OpenML's 70,000 rows in the real file
    monkeypatch.setenv("CHAINRULE_DATA", str(tmp_path))
    X_train, X_test, y_train, y_test = nn.datasets.load_mnist()
    assert calls == [("mnist_784", 1)] and (tmp_path / "mnist.npz").exists()
    assert X_train.shape == (6, 784) and X_test.shape == (4, 784)
    assert y_train[:3].tolist() == [0, 1, 2] and y_test[0] == 6
    assert X_test[0, 0] * 255 == (6 * 784) % 256
    nn.datasets.load_mnist()  # the second call reads the cache
    assert len(calls) == 1
