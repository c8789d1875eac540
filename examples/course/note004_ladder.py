"""Notes 004: the training ladder as the notes run it, softmax([5, 3, 2]) and the
hidden-layer-size arithmetic.

The notes' set-up: StandardScaler on the pixels, one tanh hidden layer of 89 units
(√(784·10) = 88.54, rounded up), softmax cross-entropy, batch 60, 50 epochs. Rungs:
constant η; linear and exponential decay from η₀ to η_end over the 50 epochs; momentum;
the notes' initialisation (Glorot: U(±√(6 / (fan_in + fan_out)))); Adam; early stopping
as the notes do it (watching the test set, keeping the best test epoch) and as it should
be done (watching a validation split cut from the training set, restoring the best
weights, then testing once). Runs on scikit-learn's 8×8 digits by default (seconds);
``--mnist`` runs MNIST (nn.datasets.load_mnist: downloaded once, then cached).

    python examples/course/note004_ladder.py [--quick] [--mnist] [--epochs 50]
"""

from __future__ import annotations

import math

import numpy as np
from _course import Row, parser, pyplot, report, save, table

import autodiff as ad
import nn
from nn import optim
from nn.optim.lr_scheduler import ExponentialDecayLR, LinearDecayLR

# the notes' printed test accuracies on MNIST, in the order the notes print them
NOTES_LADDER = [0.8758, 0.8924, 0.9154, 0.9339, 0.9487, 0.9448]
NOTES_EARLY_STOPPING = (0.9555, 0.9522)

RUNGS = [
    # label, optimizer, schedule, init
    ("constant η = 0.01", "sgd", None, "normal"),
    ("linear decay 0.1 → 0.001", "sgd", "linear", "normal"),
    ("exponential decay 0.1 → 0.001", "sgd", "exponential", "normal"),
    ("+ momentum 0.9", "momentum", "exponential", "normal"),
    ("+ the notes' Glorot init", "momentum", "exponential", "glorot"),
    ("Adam η = 0.001, Glorot init", "adam", None, "glorot"),
]


def standardize(X_train, X_test):
    """StandardScaler: the training set's mean and standard deviation (1 where a pixel never varies)."""
    mu, sd = X_train.mean(axis=0), X_train.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return ((X_train - mu) / sd).astype(np.float32), ((X_test - mu) / sd).astype(np.float32)


def network(n_in: int, hidden: int, init: str, seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    if init == "glorot":  # as the notes compute it: limit = √(6 / (fan_in + fan_out))
        make = lambda shape: rng.uniform(-1, 1, shape) * math.sqrt(6 / (shape[0] + shape[1]))
    else:  # N(0, 1/fan_in): small enough for tanh on standardised inputs
        make = lambda shape: rng.normal(0.0, 1 / math.sqrt(shape[0]), shape)
    layers = [nn.Linear(n_in, hidden, dtype=np.float32), nn.Tanh(), nn.Linear(hidden, 10, dtype=np.float32)]
    for layer in (layers[0], layers[2]):
        layer.weight.numpy(writable=True)[...] = make(layer.weight.shape)
    return nn.Sequential(*layers)


def make_optimizer(kind: str, schedule: str | None, params, epochs: int):
    if kind == "adam":
        opt = optim.Adam(params, lr=0.001)
    else:
        opt = optim.SGD(params, lr=0.01, momentum=0.9 if kind == "momentum" else 0.0)
    # with momentum 0.9 the step is η / (1 − 0.9): decay from a ten times smaller η
    scale = 0.1 if kind == "momentum" else 1.0
    if schedule == "linear":
        return opt, LinearDecayLR(opt, start=0.1 * scale, end=0.001 * scale, epochs=epochs)
    if schedule == "exponential":
        return opt, ExponentialDecayLR(opt, start=0.1 * scale, end=0.001 * scale, epochs=epochs)
    return opt, None


def run(rung, data, hidden, epochs, seed, validation=None, early_stopping=None, callbacks=()):
    _, kind, schedule, init = rung
    X_train, X_test, y_train, y_test = data
    model = network(X_train.shape[1], hidden, init, seed)
    opt, sched = make_optimizer(kind, schedule, model.parameters(), epochs)
    h = nn.fit(model, nn.CrossEntropyLoss(), opt, X_train, y_train, epochs=epochs, batch_size=60, scheduler=sched,
               validation_data=validation, early_stopping=early_stopping, callbacks=callbacks, progress=False,
               seed=seed)
    with ad.no_grad():
        return nn.metrics.accuracy(y_test, model(X_test)), h


class WatchTest(nn.Callback):
    """The notes' early stopping: test accuracy after every epoch, the best one reported."""

    def __init__(self, model_ref, X_test, y_test) -> None:
        self.model_ref, self.X_test, self.y_test, self.scores = model_ref, X_test, y_test, []

    def on_train_begin(self, model) -> None:
        self.model_ref.append(model)

    def on_epoch_end(self, epoch, logs) -> None:
        with ad.no_grad():
            self.scores.append(nn.metrics.accuracy(self.y_test, self.model_ref[-1](self.X_test)))


def early_stopping(rung, data, hidden, epochs, seed) -> tuple[float, float, int, int]:
    X_train, X_test, y_train, y_test = data
    watch = WatchTest([], X_test, y_test)
    run(rung, data, hidden, epochs, seed, callbacks=[watch])
    notes_way, notes_epoch = max(watch.scores), int(np.argmax(watch.scores))
    X_fit, X_val, y_fit, y_val = nn.train_test_split(X_train, y_train, test_size=1 / 6, seed=seed, stratify=y_train)
    stopper = nn.EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True)
    proper, h = run(rung, (X_fit, X_test, y_fit, y_test), hidden, epochs, seed, validation=(X_val, y_val),
                    early_stopping=stopper)
    return notes_way, proper, notes_epoch, h.best_epoch


def small_numbers() -> list[Row]:
    sm = ad.softmax(ad.Tensor([5.0, 3.0, 2.0])).numpy()
    n_s, n_i, n_o = 60000, 784, 10
    by_samples, geometric = n_s / (n_i + n_o), math.sqrt(n_i * n_o)
    print(f"softmax([5, 3, 2]) = {np.round(sm, 4)}")
    print(f"hidden units: N_s / (N_i + N_o) = {n_s} / ({n_i} + {n_o}) = {by_samples:.2f};  "
          f"√(N_i · N_o) = √({n_i} · {n_o}) = {geometric:.2f} -> 89")
    return [Row("004", "softmax([5, 3, 2])", "[0.844, 0.114, 0.042]", "[" + ", ".join(f"{v:.3f}" for v in sm) + "]",
                exact=True),
            Row("004", "hidden units N_s / (N_i + N_o)", 75.6, by_samples, exact=True, digits=3),
            Row("004", "hidden units √(N_i · N_o)", 88.54, geometric, exact=True, digits=4)]


def main(argv=None) -> list[Row]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--mnist", action="store_true", help="MNIST (downloaded once with fetch_openml, then cached)")
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--hidden", type=int, default=89)
    args = p.parse_args(argv)
    rungs = RUNGS
    if args.quick:
        args.epochs, args.hidden, rungs = 2, 16, RUNGS[:1]
    rows = small_numbers()
    if args.mnist:
        X_train, X_test, y_train, y_test = nn.datasets.load_mnist(scale=False)
        where = "MNIST"
    else:
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            print("(the ladder needs scikit-learn's digits: pip install 'chainrule[datasets]')")
            return report(rows, "notes 004 beside ours")
        d = load_digits()
        X_train, X_test, y_train, y_test = nn.train_test_split(d.data, d.target, test_size=0.2, seed=args.seed,
                                                               stratify=d.target)
        where = "digits"
    data = (*standardize(X_train, X_test), y_train, y_test)
    print(f"\nthe ladder on {where}: {len(y_train)} training / {len(y_test)} test images, tanh-{args.hidden}, "
          f"batch 60, {args.epochs} epochs")
    lines, accs = [], {}
    for k, rung in enumerate(rungs):
        acc, h = run(rung, data, args.hidden, args.epochs, args.seed)
        accs[rung[0]] = acc
        lines.append([rung[0], f"{NOTES_LADDER[k]:.4f}", f"{acc:.4f}", f"{h['loss'][-1]:.4f}"])
        print(f"  {rung[0]:<32} test accuracy {acc:.4f}  (notes, MNIST: {NOTES_LADDER[k]:.4f})", flush=True)
        if not args.quick:
            rows.append(Row("004", f"ladder ({where}): {rung[0]}", NOTES_LADDER[k], acc,
                            "notes: MNIST; the rung by position" if where == "digits" else "the rung by position"))
    if not args.quick:
        notes_way, proper, e1, e2 = early_stopping(rungs[-1], data, args.hidden, args.epochs, args.seed)
        print(f"  early stopping, the notes' way (best test epoch {e1 + 1}): {notes_way:.4f};  "
              f"on a validation split (restored epoch {e2 + 1}): {proper:.4f}")
        rows.append(Row("004", f"early stopping ({where}), watching the test set", NOTES_EARLY_STOPPING[0],
                        notes_way, "optimistic: picks the epoch on the test set"))
        rows.append(Row("004", f"early stopping ({where}), on a validation split", NOTES_EARLY_STOPPING[1], proper,
                        "the honest number"))
    print(table(lines, ["rung", "notes (MNIST)", f"ours ({where})", "final training loss"]))

    plt = pyplot()
    if plt is not None and not args.quick:
        fig, ax = plt.subplots(figsize=(9, 3.8))
        names = list(accs)
        y = np.arange(len(names))
        ax.barh(y - 0.2, [accs[n] * 100 for n in names], 0.4, label=f"ours ({where})")
        ax.barh(y + 0.2, [v * 100 for v in NOTES_LADDER[:len(names)]], 0.4, label="the notes (MNIST)")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.set_xlim(80, 100)
        ax.set_xlabel("test accuracy (%)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
        ax.set_title(f"the notes' ladder: tanh-{args.hidden}, batch 60, {args.epochs} epochs")
        save(fig, args.out, "course_ladder.png")
    return report(rows, "notes 004 beside ours")


if __name__ == "__main__":
    main()
