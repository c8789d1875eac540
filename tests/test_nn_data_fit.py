"""The data pipeline (Dataset, TensorDataset, Subset, random_split, DataLoader over
datasets), fit/evaluate with loaders, fit interrupted, and the metrics' input layouts."""

from __future__ import annotations

import numpy as np
import pytest

import nn
from nn import metrics, optim


class Squares(nn.data.Dataset):
    """A torch-style dataset: items are (features, label) pairs built on demand."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=float), i % 2


class Records:
    """Any object with __len__ and __getitem__ works; items may be dicts."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": np.full(3, float(i)), "y": np.int64(i)}


def test_tensor_dataset_subset_and_seeded_random_split():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = nn.TensorDataset(X, y)
    assert len(ds) == 10 and ds[3][1] == 3
    a, b = nn.random_split(ds, [0.7, 0.3], seed=0)
    c, d = nn.random_split(ds, [7, 3], seed=0)
    assert len(a) == 7 and len(b) == 3
    assert [a[i][1] for i in range(7)] == [c[i][1] for i in range(7)]  # same seed, same split
    assert sorted([a[i][1] for i in range(7)] + [b[i][1] for i in range(3)]) == list(range(10))  # a partition
    # floor(10·f) = 4, 3, 2 leaves 1 sample, which goes to the first part (PyTorch's round-robin)
    assert [len(s) for s in nn.random_split(ds, [0.45, 0.35, 0.2], seed=1)] == [5, 3, 2]
    with pytest.raises(ValueError, match=r"random_split: lengths \[3, 3\] sum to 6, the dataset has 10 samples"):
        nn.random_split(ds, [3, 3])
    with pytest.raises(ValueError, match=r"TensorDataset: arrays have different lengths \[10, 9\]"):
        nn.TensorDataset(X, y[:9])
    sub = nn.Subset(ds, [9, 0])
    assert sub[0][1] == 9 and len(sub) == 2


def test_dataloader_batches_any_dataset():
    xb, yb = next(iter(nn.DataLoader(Squares(), batch_size=4)))
    assert xb.shape == (4, 2) and yb.tolist() == [0, 1, 0, 1]
    assert [len(b[1]) for b in nn.DataLoader(Squares(), batch_size=4, drop_last=True)] == [4, 4]
    batch = next(iter(nn.DataLoader(Records(), batch_size=5, shuffle=True, seed=0)))
    assert batch["x"].shape == (5, 3) and sorted(batch["y"].tolist()) == [0, 1, 2, 3, 4]
    assert np.array_equal(batch["x"][:, 0], batch["y"])  # fields stay paired
    pairs = [(np.ones(2) * i, i) for i in range(3)]  # a plain list of samples
    assert next(iter(nn.DataLoader(pairs, batch_size=3)))[1].tolist() == [0, 1, 2]
    got = next(iter(nn.DataLoader(Squares(), batch_size=3, collate_fn=lambda items: len(items))))
    assert got == 3
    (only,) = next(iter(nn.DataLoader(nn.TensorDataset(np.arange(4.0)), batch_size=4)))
    assert only.tolist() == [0, 1, 2, 3]


def test_fit_and_evaluate_take_loaders():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    train, val = nn.random_split(nn.TensorDataset(X, y), [48, 16], seed=0)
    model = nn.MLP([2, 8, 2], seed=0)
    hist = nn.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05),
                  nn.DataLoader(train, batch_size=16, shuffle=True, seed=0), epochs=15, progress=False,
                  validation_data=nn.DataLoader(val, batch_size=8))
    assert hist["val_accuracy"][-1] >= 0.85 and hist["loss"][-1] < hist["loss"][0]
    logs = nn.evaluate(model, nn.CrossEntropyLoss(), nn.DataLoader(val, batch_size=8))
    assert logs["accuracy"] == hist["val_accuracy"][-1]
    with pytest.raises(ValueError, match="fit: got a DataLoader and y"):
        nn.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()), nn.DataLoader(train), y)


def test_pandas_frames_work_and_string_columns_are_named():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1, 0, 1, 0]})
    xb, yb = next(iter(nn.DataLoader(df, pd.Series([0, 1, 0, 1]), batch_size=4)))
    assert xb.shape == (4, 2) and yb.tolist() == [0, 1, 0, 1]
    df["city"] = ["a", "b", "c", "d"]
    with pytest.raises(TypeError, match=r"DataLoader: X has non-numeric columns \['city'\]"):
        nn.DataLoader(df, np.zeros(4))
    model = nn.Linear(3, 1, seed=0)
    with pytest.raises(TypeError, match=r"fit: X has non-numeric columns \['city'\]"):
        nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters()), df, np.zeros((4, 1)), progress=False)
    with pytest.raises(TypeError, match="DataLoader: y holds non-numeric values"):
        nn.DataLoader(np.zeros((2, 1)), np.array(["cat", "dog"], dtype=object))


# ------------------------------------------------------------ interruption
class Raise(nn.Callback):
    def __init__(self, exc, at_epoch):
        self.exc, self.at_epoch = exc, at_epoch

    def on_epoch_end(self, epoch, logs):
        if epoch == self.at_epoch:
            raise self.exc


def _setup():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 2))
    y = X @ np.array([[1.0], [-2.0]])
    model = nn.Linear(2, 1, seed=0)
    return model, X, y, optim.SGD(model.parameters(), lr=0.05)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_keyboard_interrupt_returns_history_and_keeps_mode(mode):
    model, X, y, opt = _setup()
    getattr(model, mode)()
    stop = nn.EarlyStopping(monitor="loss", patience=100)
    hist = nn.fit(model, nn.MSELoss(), opt, X, y, epochs=10, progress=False, early_stopping=stop,
                  callbacks=[Raise(KeyboardInterrupt(), at_epoch=3)])
    assert hist.interrupted and len(hist["loss"]) == 3  # epochs 0-2 recorded; epoch 3 interrupted
    assert model.training == (mode == "train")
    # the weights are the best epoch's (the loss decreases, so epoch 3, kept by early stopping)
    for key, value in stop.best_state.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)


def test_exception_in_callback_or_validation_reraises_restores_best_weights_and_mode():
    model, X, y, opt = _setup()
    model.eval()
    stop = nn.EarlyStopping(monitor="loss", patience=100)
    with pytest.raises(RuntimeError, match="boom"):
        nn.fit(model, nn.MSELoss(), opt, X, y, epochs=10, progress=False, early_stopping=stop,
               callbacks=[Raise(RuntimeError("boom"), at_epoch=2)])
    assert not model.training
    for key, value in stop.best_state.items():
        np.testing.assert_array_equal(model.state_dict()[key], value)

    model, X, y, opt = _setup()
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(32, 1\) and target shape \(32, 3\) differ"):
        nn.fit(model, nn.MSELoss(), opt, X, y, epochs=2, progress=False, validation_data=(X, np.zeros((32, 3))))
    assert model.training


# ----------------------------------------------------------------- metrics
@pytest.mark.parametrize("y_true, y_pred, expected", [
    ([1, 0, 1], np.array([[0.9], [0.2], [0.4]]), 2 / 3),            # (N, 1) probabilities
    (np.array([[1], [0], [1]]), np.array([0.9, 0.2, 0.6]), 1.0),    # (N, 1) labels, (N,) probabilities
    (np.eye(3)[[0, 2, 1]], np.array([[5, 1, 0], [0, 1, 2], [3, 0, 0.0]]), 2 / 3),  # one-hot vs scores
    ([True, False], np.array([1, 1]), 0.5),                         # bool labels
    ([2.0, 1.0], [2, 0], 0.5),                                      # integer-valued floats are labels
])
def test_accuracy_reads_every_layout(y_true, y_pred, expected):
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(expected)


def test_metrics_errors_and_thresholds():
    assert metrics.accuracy([1, 0], np.array([[2.5], [-1.0]]), threshold=0.0) == 1.0  # logits
    with pytest.raises(ValueError, match=r"accuracy: y_pred holds continuous values outside \[0, 1\] \(logits\?\)"):
        metrics.accuracy([1, 0], np.array([2.5, -1.0]))
    with pytest.raises(ValueError, match="accuracy: 3 true labels but 2 predictions"):
        metrics.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="accuracy: no samples"):
        metrics.accuracy([], [])
    with pytest.raises(ValueError, match=r"confusion_matrix: num_classes must be an integer >= 3"):
        metrics.confusion_matrix([0, 2], [0, 1], num_classes=2)
    np.testing.assert_array_equal(metrics.confusion_matrix([1, 0], np.array([[0.7], [0.1]])), [[1, 0], [0, 1]])
    assert metrics.mean_squared_error([1.0, 2.0, 3.0], np.array([[1.0], [2.0], [5.0]])) == pytest.approx(4 / 3)
    assert metrics.r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert metrics.r2_score([2.0, 2.0], [2.0, 2.0]) == 1.0 and metrics.r2_score([2.0, 2.0], [1.0, 2.0]) == 0.0
    with pytest.raises(ValueError, match=r"r2_score: y_true shape \(3,\) and y_pred shape \(2,\) differ"):
        metrics.r2_score([1.0, 2.0, 3.0], [1.0, 2.0])
