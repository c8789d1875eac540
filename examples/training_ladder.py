"""The course's ladder of improvements on a digit classifier, one rung at a time:
sigmoid + MSE baseline -> softmax cross-entropy -> momentum -> learning-rate decay ->
Glorot initialisation -> dropout (one hidden layer, then two).

Runs on scikit-learn's 8x8 digits, or on any MNIST-format .npz (x_train, y_train,
x_test, y_test) given with --data.

    python examples/training_ladder.py [--data mnist.npz] [--epochs 30]
"""

from __future__ import annotations

import numpy as np
from common import parser, pyplot, save, table

import autodiff as ad
import nn
from nn import optim
from nn.optim.lr_scheduler import InverseTimeLR

# each rung adds one change to the one before it
RUNGS = [
    # η = 3 on the notes' cost ½Σ‖y − a‖² is η = 15 on MSELoss, which averages over the 10 outputs
    dict(name="sigmoid + MSE (baseline)", loss="mse", lr=15.0, momentum=0.0, decay=0.0, init="normal",
         dropout=0.0, layers=1),
    dict(name="+ softmax cross-entropy", loss="ce", lr=0.5),
    dict(name="+ momentum 0.9", momentum=0.9, lr=0.05),  # the same effective step, lr / (1 - momentum)
    dict(name="+ learning-rate decay", decay=0.05),
    dict(name="+ Glorot initialisation", init="glorot_uniform"),
    dict(name="+ dropout 0.2, one hidden layer", dropout=0.2),
    dict(name="+ dropout 0.2, two hidden layers", layers=2),
]


def load(path: str | None, seed: int):
    if path is None:
        return nn.datasets.load_digits(seed=seed)
    with np.load(path, allow_pickle=False) as data:
        X_train, y_train = data["x_train"], data["y_train"]
        X_test, y_test = data["x_test"], data["y_test"]
    flat = lambda X: X.reshape(len(X), -1).astype(np.float32) / 255.0
    return flat(X_train), flat(X_test), y_train.astype(np.int64), y_test.astype(np.int64)


def build(config: dict, n_in: int, hidden: int, seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    init = (lambda shape, rng, dtype=None: nn.init.normal(shape, rng, std=1.0, dtype=dtype)) \
        if config["init"] == "normal" else config["init"]
    sizes = [n_in] + [hidden] * config["layers"] + [10]
    layers: list[nn.Module] = []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b, init=init, rng=rng, dtype=np.float32))
        if k < len(sizes) - 2:
            layers.append(nn.Sigmoid())
            if config["dropout"]:
                layers.append(nn.Dropout(config["dropout"], rng=rng))
    if config["loss"] == "mse":
        layers.append(nn.Sigmoid())  # the baseline squashes its outputs and compares them with one-hot targets
    return nn.Sequential(*layers)


def run(config, data, epochs, hidden, seed):
    X_train, X_test, y_train, y_test = data
    model = build(config, X_train.shape[1], hidden, seed)
    opt = optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    scheduler = InverseTimeLR(opt, decay=config["decay"]) if config["decay"] else None
    if config["loss"] == "mse":
        loss, targets = nn.MSELoss(), np.eye(10, dtype=np.float32)[y_train]
    else:
        loss, targets = nn.CrossEntropyLoss(), y_train
    history = nn.fit(model, loss, opt, X_train, targets, epochs=epochs, batch_size=10, scheduler=scheduler,
                     progress=False, seed=seed)
    model.eval()
    with ad.no_grad():
        return nn.metrics.accuracy(y_test, model(X_test)), history


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", help="an MNIST-format .npz (x_train, y_train, x_test, y_test)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--hidden", type=int, default=100)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.hidden = 1, 16
    data = load(args.data, args.seed)
    config: dict = {}
    rows, results, curves = [], {}, {}
    for rung in RUNGS:
        config = {**config, **rung}
        acc, history = run(config, data, args.epochs, args.hidden, args.seed)
        results[rung["name"]] = acc
        curves[rung["name"]] = history["loss"]
        rows.append([rung["name"], f"{acc:.2%}"])
        print(f"{rung['name']:<36} test accuracy {acc:.2%}", flush=True)
    print()
    print(table(rows, ["step", "test accuracy"]))

    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(7, 4))
        names = list(results)
        ax.barh(range(len(names)), [results[n] * 100 for n in names], color="C0")
        ax.set_yticks(range(len(names)), names)
        ax.invert_yaxis()
        ax.set_xlim(min(results.values()) * 100 - 5, 100)
        ax.set_xlabel("test accuracy (%)")
        for k, n in enumerate(names):
            ax.text(results[n] * 100 + 0.2, k, f"{results[n]:.1%}", va="center", fontsize=8)
        ax.set_title("the training ladder on digits" if args.data is None else f"the training ladder on {args.data}")
        save(fig, args.out, "training_ladder.png")
    return results


if __name__ == "__main__":
    main()
