"""Handwritten digits (scikit-learn's 8x8 set), the course's 64-50-10 network.

A grid search over the learning rate η ∈ 10⁻⁵…10¹ and the L2 penalty λ ∈ 10⁻⁵…10¹
(loss = cross-entropy + λ‖W‖², mini-batch SGD) with heatmaps of train and test
accuracy, as the notes plot them. The setting chosen on a validation split (not on
the test set) is then trained longer and compared with scikit-learn's
MLPClassifier on the same 80/20 split.

    python examples/digits.py [--epochs 20]
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from common import accuracy_heatmap, parser, pyplot, save, table

import autodiff as ad
import nn
import nn.functional as F
from nn import optim


class L2CrossEntropy(nn.CrossEntropyLoss):
    """Cross-entropy plus λ‖W‖² over the weight matrices (not the biases)."""

    def __init__(self, weights, lam: float) -> None:
        super().__init__()
        self._weights, self.lam = list(weights), lam

    def forward(self, logits, target):
        return super().forward(logits, target) + self.lam * F.l2_penalty(self._weights)


def train(X, y, eta, lam, epochs, seed, momentum=0.0, validation=None):
    model = nn.MLP([64, 50, 10], seed=seed)
    loss = L2CrossEntropy([m.weight for m in model if isinstance(m, nn.Linear)], lam)
    opt = optim.SGD(model.parameters(), lr=eta, momentum=momentum)
    try:
        with np.errstate(all="ignore"):
            nn.fit(model, loss, opt, X, y, epochs=epochs, batch_size=32, progress=False, seed=seed,
                   validation_data=validation)
    except FloatingPointError:
        return None  # diverged
    return model.eval()


def accuracy(model, X, y) -> float:
    if model is None:
        return float("nan")
    with ad.no_grad():
        return nn.metrics.accuracy(y, model(X))


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20, help="epochs per grid point")
    p.add_argument("--final-epochs", type=int, default=150, help="epochs for the chosen setting")
    args = p.parse_args(argv)
    exponents = range(-5, 2)
    if args.quick:
        args.epochs, args.final_epochs, exponents = 1, 2, range(-2, 0)
    X_train, X_test, y_train, y_test = nn.datasets.load_digits(seed=args.seed)
    X_fit, X_val, y_fit, y_val = nn.train_test_split(X_train, y_train, test_size=0.2, seed=args.seed,
                                                     stratify=y_train)
    etas, lams = [10.0 ** e for e in exponents], [10.0 ** e for e in exponents]
    acc = {name: np.full((len(lams), len(etas)), np.nan) for name in ("train", "validation", "test")}
    start = time.perf_counter()
    for i, lam in enumerate(lams):
        for j, eta in enumerate(etas):
            model = train(X_fit, y_fit, eta, lam, args.epochs, args.seed)
            acc["train"][i, j] = accuracy(model, X_fit, y_fit)
            acc["validation"][i, j] = accuracy(model, X_val, y_val)
            acc["test"][i, j] = accuracy(model, X_test, y_test)
    print(f"grid of {len(lams)}x{len(etas)} settings, {args.epochs} epochs each: {time.perf_counter() - start:.0f}s")
    rows = [[f"{lam:g}"] + [("diverged" if np.isnan(a) else f"{a:.1%}") for a in acc["test"][i]]
            for i, lam in enumerate(lams)]
    print("test accuracy, λ (rows) by η (columns):")
    print(table(rows, ["λ \\ η"] + [f"{e:g}" for e in etas]))

    i, j = np.unravel_index(np.nanargmax(acc["validation"]), acc["validation"].shape)
    eta, lam = etas[j], lams[i]
    print(f"\nchosen on the validation split: η = {eta:g}, λ = {lam:g}")
    start = time.perf_counter()
    momentum = 0.9 if eta < 1 else 0.0  # momentum multiplies the step by 1 / (1 - 0.9): not with η >= 1
    ours = train(X_train, y_train, eta, lam, args.final_epochs, args.seed, momentum=momentum)
    ours_time = time.perf_counter() - start
    ours_acc = accuracy(ours, X_test, y_test)
    result = {"eta": eta, "lambda": lam, "ours": ours_acc, "ours_time": ours_time, "momentum": momentum}
    print(f"chainrule 64-50-10, SGD{f' + momentum {momentum:g}' if momentum else ' (no momentum)'}, "
          f"{args.final_epochs} epochs: test accuracy {ours_acc:.2%} ({ours_time:.1f}s)")
    try:
        from sklearn.neural_network import MLPClassifier

        start = time.perf_counter()
        clf = MLPClassifier(hidden_layer_sizes=(50,), max_iter=300, random_state=args.seed)
        with warnings.catch_warnings():  # MLPClassifier warns when max_iter ends its run
            warnings.simplefilter("ignore")
            clf.fit(X_train, y_train)
        sk_time = time.perf_counter() - start
        sk_acc = clf.score(X_test, y_test)
        print(f"scikit-learn MLPClassifier(50,), Adam, {clf.n_iter_} epochs: test accuracy {sk_acc:.2%} "
              f"({sk_time:.1f}s)")
        result.update(sklearn=sk_acc, sklearn_time=sk_time)
    except ImportError:
        print("(scikit-learn comparison skipped: pip install 'chainrule[datasets]')")

    plt = pyplot()
    if plt is not None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
        for ax, name in zip(axes, ("train", "test"), strict=True):
            im = accuracy_heatmap(ax, acc[name], lams, etas, "L2 penalty λ", "learning rate η", f"{name} accuracy",
                                  origin="lower")
        fig.colorbar(im, ax=axes, shrink=0.8, label="accuracy (grey, div.: the loss overflowed)")
        save(fig, args.out, "digits_grid.png")
    return result


if __name__ == "__main__":
    main()
