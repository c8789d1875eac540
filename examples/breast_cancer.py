"""Breast-cancer diagnosis (scikit-learn's 569 samples, 30 features): binary
classification with BCE-with-logits, early stopping that restores the best epoch's
weights, compared with scikit-learn's MLPClassifier on the same split.

    python examples/breast_cancer.py [--epochs 300 --patience 20]
"""

from __future__ import annotations

import time
import warnings

from common import parser, pyplot, save

import autodiff as ad
import nn
from nn import optim


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--patience", type=int, default=20)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.patience = 3, 2
    X_train, X_test, y_train, y_test = nn.datasets.load_breast_cancer(seed=args.seed)
    X_fit, X_val, y_fit, y_val = nn.train_test_split(X_train, y_train, test_size=0.2, seed=args.seed,
                                                     stratify=y_train)
    model = nn.MLP([30, 16, 1], dropout=0.2, seed=args.seed)
    stopper = nn.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True)
    start = time.perf_counter()
    history = nn.fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4),
                     X_fit, y_fit.reshape(-1, 1), epochs=args.epochs, batch_size=16,
                     validation_data=(X_val, y_val.reshape(-1, 1)), early_stopping=stopper, progress=False,
                     seed=args.seed)
    elapsed = time.perf_counter() - start
    model.eval()
    with ad.no_grad():
        acc = nn.metrics.accuracy(y_test, model(X_test).numpy().ravel() > 0)
    stopped = history.stopped_epoch if history.stopped_epoch is not None else len(history.epoch) - 1
    print(f"trained {len(history.epoch)} epochs; early stopping restored epoch {history.best_epoch + 1} "
          f"(val loss {history['val_loss'][history.best_epoch]:.4f}), stopped after epoch {stopped + 1}")
    print(f"chainrule 30-16-1 + dropout, BCE with logits, Adam: test accuracy {acc:.2%} ({elapsed:.1f}s)")
    result = {"ours": acc, "best_epoch": history.best_epoch}
    try:
        from sklearn.neural_network import MLPClassifier

        start = time.perf_counter()
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=1000, random_state=args.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X_train, y_train)
        sk = clf.score(X_test, y_test)
        print(f"scikit-learn MLPClassifier(16,), {clf.n_iter_} epochs: test accuracy {sk:.2%} "
              f"({time.perf_counter() - start:.1f}s)")
        result["sklearn"] = sk
    except ImportError:
        print("(scikit-learn comparison skipped: pip install 'chainrule[datasets]')")

    plt = pyplot()
    if plt is not None:
        fig, ax = plt.subplots(figsize=(6, 3.8))
        ax.plot(history["loss"], label="train loss")
        ax.plot(history["val_loss"], label="validation loss")
        ax.axvline(history.best_epoch, color="k", ls="--", lw=1, label=f"restored: epoch {history.best_epoch + 1}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("BCE")
        ax.legend()
        ax.set_title("early stopping restores the best epoch")
        save(fig, args.out, "breast_cancer.png")
    return result


if __name__ == "__main__":
    main()
