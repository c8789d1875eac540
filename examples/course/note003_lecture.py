"""Notes 003: the lecture's optimizers beside PyTorch's formulas, digits as the lecture
runs it (with scikit-learn's MLPClassifier over the same grid), the Heaviside perceptron
with the perceptron learning rule, and the operation counts of x(1 + b)/d.

Digits as the lecture runs it: 64-50-10, sigmoid hidden layer, softmax output, weights
N(0, 1), biases 0.01, raw pixels (0-16), the summed cross-entropy of a batch of 100
plus (λ/2)‖W‖² (the lecture adds λW to the weights' gradient), plain SGD for 100 epochs,
η and λ over logspace(-5, 1, 7), an 80/20 split. ``--mode ours`` runs our
better-practice recipe instead (examples/digits.py: inputs scaled to [0, 1], mean loss,
Glorot init, the setting chosen on a validation split, never on the test set).

    python examples/course/note003_lecture.py [--quick] [--mode lecture|ours] [--epochs 100]
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _course import Row, accuracy_heatmap, parser, pyplot, report, save, table

import autodiff as ad
import nn
import nn.functional as F
from nn import optim
from nn.optim import lecture

GRID = np.logspace(-5, 1, 7)


# --- the lecture's optimizers beside PyTorch's formulas -------------------------------------

OPTIMIZERS = [
    # label, the lecture's, PyTorch's formulas (same hyperparameters where both have them)
    ("plain SGD", lambda p: lecture.Constant(p, lr=0.01), lambda p: optim.SGD(p, lr=0.01)),
    ("momentum 0.9", lambda p: lecture.Momentum(p, lr=0.01, momentum=0.9),
     lambda p: optim.SGD(p, lr=0.01, momentum=0.9)),
    ("Adagrad", lambda p: lecture.Adagrad(p, lr=0.1), lambda p: optim.Adagrad(p, lr=0.1)),
    ("RMSprop ρ = 0.9", lambda p: lecture.RMSProp(p, lr=0.001), lambda p: optim.RMSprop(p, lr=0.001, alpha=0.9)),
    ("Adam", lambda p: lecture.Adam(p, lr=0.001), lambda p: optim.Adam(p, lr=0.001)),
]


def compare_optimizers(data, epochs: int, seed: int) -> list[Row]:
    """The same network, data, batches and seed; only the update rule differs."""
    X_train, X_test, y_train, y_test = data
    scaled_train, scaled_test = X_train / 16, X_test / 16
    rows, lines = [], []
    for label, ours_lecture, ours_torch in OPTIMIZERS:
        result = []
        for make in (ours_lecture, ours_torch):
            model = nn.MLP([64, 50, 10], activation="sigmoid", seed=seed)
            opt = make(model.parameters())
            callbacks = [lecture.ResetEachEpoch(opt)] if isinstance(opt, lecture.LectureOptimizer) else []
            h = nn.fit(model, nn.CrossEntropyLoss(), opt, scaled_train, y_train, epochs=epochs, batch_size=32,
                       callbacks=callbacks, progress=False, seed=seed)
            with ad.no_grad():
                result.append((h["loss"][-1], nn.metrics.accuracy(y_test, model(scaled_test))))
        (l_loss, l_acc), (t_loss, t_acc) = result
        lines.append([label, f"{l_loss:.4f}", f"{t_loss:.4f}", f"{l_acc:.1%}", f"{t_acc:.1%}"])
        rows.append(Row("003", f"{label}, digits {epochs} epochs: test accuracy, lecture's / PyTorch's update", None,
                        f"{l_acc:.1%} / {t_acc:.1%}", "the same formula" if label.startswith(("plain", "momentum"))
                        else ""))
    print(f"\nthe lecture's optimizers vs PyTorch's formulas: digits 64-50-10 sigmoid, {epochs} epochs, batch 32")
    print(table(lines, ["", "lecture: final loss", "PyTorch: final loss", "lecture: test", "PyTorch: test"]))
    return rows


# --- digits as the lecture runs it --------------------------------------------------------------

class LectureLoss(nn.Module):
    """Summed cross-entropy of the batch plus (λ/2)‖W‖² over the weight matrices."""

    def __init__(self, weights, lam: float) -> None:
        super().__init__()
        self._weights, self.lam = list(weights), lam

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, reduction="sum") + (self.lam / 2) * F.l2_penalty(self._weights)


def lecture_network(seed: int) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    hidden, output = nn.Linear(64, 50), nn.Linear(50, 10)
    for layer in (hidden, output):
        layer.weight.numpy(writable=True)[...] = rng.normal(size=layer.weight.shape)
        layer.bias.numpy(writable=True)[...] = 0.01
    return nn.Sequential(hidden, nn.Sigmoid(), output)


def lecture_digits(data, etas, lams, epochs: int, seed: int) -> dict[str, np.ndarray]:
    X_train, X_test, y_train, y_test = data
    acc = {k: np.full((len(etas), len(lams)), np.nan) for k in ("train", "test")}
    for i, eta in enumerate(etas):
        for j, lam in enumerate(lams):
            model = lecture_network(seed)
            loss = LectureLoss([model[0].weight, model[2].weight], lam)
            try:
                with np.errstate(all="ignore"):
                    nn.fit(model, loss, lecture.Constant(model.parameters(), lr=eta), X_train, y_train,
                           epochs=epochs, batch_size=100, progress=False, seed=seed)
            except FloatingPointError:
                continue  # diverged: the cell stays empty
            with ad.no_grad():
                acc["train"][i, j] = nn.metrics.accuracy(y_train, model(X_train))
                acc["test"][i, j] = nn.metrics.accuracy(y_test, model(X_test))
    return acc


def sklearn_digits(data, etas, lams, max_iter: int, seed: int) -> dict[str, np.ndarray] | None:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        print("(scikit-learn comparison skipped: pip install 'chainrule[datasets]')")
        return None
    X_train, X_test, y_train, y_test = data
    acc = {k: np.full((len(etas), len(lams)), np.nan) for k in ("train", "test")}
    for i, eta in enumerate(etas):
        for j, lam in enumerate(lams):
            clf = MLPClassifier(hidden_layer_sizes=(50,), activation="logistic", alpha=lam, learning_rate_init=eta,
                                max_iter=max_iter, random_state=seed)
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", ConvergenceWarning)
                warnings.simplefilter("ignore", RuntimeWarning)
                clf.fit(X_train, y_train)
            acc["train"][i, j] = clf.score(X_train, y_train)
            acc["test"][i, j] = clf.score(X_test, y_test)
    return acc


def heatmaps(results: dict, etas, lams, out, name: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(len(results), 2, figsize=(10, 4.2 * len(results)), layout="constrained", squeeze=False)
    for r, (who, acc) in enumerate(results.items()):
        for c, split in enumerate(("train", "test")):
            # row 0 (η = 1e-5) at the top, as the notes draw it
            im = accuracy_heatmap(axes[r, c], acc[split], etas, lams, "η", "λ", f"{who}: {split} accuracy")
    fig.colorbar(im, ax=axes, shrink=0.6, label="accuracy (grey, div.: the loss overflowed)")
    save(fig, out, name)


def digits_rows(ours, sk, etas, lams) -> list[Row]:
    i, j = np.unravel_index(np.nanargmax(ours["test"]), ours["test"].shape)
    rows = [Row("003", "digits, lecture's way: best test accuracy on the grid", None, f"{ours['test'][i, j]:.1%}",
                f"η = {etas[i]:g}, λ = {lams[j]:g} (picked on the test set, as the lecture does)")]
    if sk is not None:
        k, m = np.unravel_index(np.nanargmax(sk["test"]), sk["test"].shape)
        rows.append(Row("003", "digits, MLPClassifier(logistic, adam) same grid: best test", None,
                        f"{sk['test'][k, m]:.1%}", f"η = {etas[k]:g}, λ = {lams[m]:g}"))
    return rows


# --- the perceptron learning rule and the operation counts --------------------------------

def heaviside_perceptron(gate: str, eta: float = 0.1, epochs: int = 100) -> float:
    """w ← w + η (y − H(w·x + b)) x, b ← b + η (y − H(w·x + b)): the rule, not a gradient."""
    X, y = nn.datasets.logic_gate(gate)
    w, b = np.zeros(2), 0.0
    for _ in range(epochs):
        errors = 0
        for xi, yi in zip(X, y, strict=True):
            err = yi - float(np.heaviside(w @ xi + b, 0.0))
            w, b = w + eta * err * xi, b + eta * err
            errors += err != 0
        if not errors:
            break
    return float(np.mean(np.heaviside(X @ w + b, 0.0) == y))


def gradient_perceptron(gate: str, seed: int, steps: int) -> float:
    """One sigmoid unit trained on BCE by full-batch gradient descent (autodiff)."""
    X, y = nn.datasets.logic_gate(gate)
    unit = nn.Linear(2, 1, seed=seed)
    opt = optim.SGD(unit.parameters(), lr=1.0)
    for _ in range(steps):
        opt.zero_grad()
        nn.BCEWithLogitsLoss()(unit(X), y.reshape(-1, 1)).backward()
        opt.step()
    with ad.no_grad():
        return float(np.mean((unit(X).numpy().ravel() > 0) == y))


def perceptron_rows(seed: int, steps: int) -> list[Row]:
    rows, lines = [], []
    for gate in ("and", "or", "nand", "xor"):
        rule, grad = heaviside_perceptron(gate), gradient_perceptron(gate, seed, steps)
        lines.append([gate.upper(), f"{rule:.0%}", f"{grad:.0%}"])
        rows.append(Row("003", f"perceptron on {gate.upper()}: rule / gradient", "75% at most" if gate == "xor"
                        else "100%", f"{rule:.0%} / {grad:.0%}", "no line separates XOR" if gate == "xor" else "",
                        exact=gate != "xor"))
    print("\nperceptron learning rule (Heaviside) vs a sigmoid unit trained by gradient descent")
    print(table(lines, ["gate", "learning rule", "gradient (BCE)"]))
    return rows


def operation_counts() -> list[Row]:
    reduced = lambda x, b, d: x * (1 + b) / d
    expanded = lambda x, b, d: x / d + x * b / d
    args = (2.0, 3.0, 4.0)
    rows, lines = [], []
    # arithmetic only: ad.grad's own argument handling may record reshapes that change no shape
    arithmetic = lambda trace: sum(" reshape[" not in eq for eq in trace.equations)
    for label, f in (("x(1 + b)/d", reduced), ("x/d + x·b/d", expanded)):
        fwd = arithmetic(ad.trace(f, *args))
        grad_program = arithmetic(ad.trace(ad.grad(f, argnums=(0, 1, 2)), *args))
        lines.append([label, fwd, grad_program])
        rows.append(Row("003", f"{label}: forward ops / gradient program ops", 3 if label == "x(1 + b)/d" else None,
                        f"{fwd} / {grad_program}", "our reverse pass, as ad.trace counts it", exact=True))
    grads = ad.grad(reduced, argnums=(0, 1, 2))(*args)
    print("\narithmetic operations of f and of the program computing its gradient (from ad.trace)")
    print(table(lines, ["", "forward", "gradient (forward + reverse)"]))
    print(f"∇ x(1 + b)/d at (2, 3, 4) = {tuple(float(g) for g in grads)}  (exact: (1 + b)/d, x/d, −x(1 + b)/d²"
          f" = (1, 0.5, −0.5))")
    return rows


def main(argv=None) -> list[Row]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--mode", choices=("lecture", "ours"), default="lecture")
    p.add_argument("--epochs", type=int, default=100, help="epochs per grid point (the lecture's 100)")
    args = p.parse_args(argv)
    if args.mode == "ours":
        import digits  # examples/digits.py: our recipe, chosen on a validation split

        digits.main(["--quick"] if args.quick else [])
        return []
    etas = lams = GRID
    opt_epochs, steps = 20, 1000
    if args.quick:
        args.epochs, etas, lams, opt_epochs, steps = 1, GRID[3:5], GRID[3:5], 1, 50
    rows = operation_counts() + perceptron_rows(args.seed, steps)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("(digits skipped: pip install 'chainrule[datasets]')")
        return report(rows, "notes 003 beside ours")
    d = load_digits()
    data = nn.train_test_split(d.data, d.target, test_size=0.2, seed=args.seed)  # raw pixels 0-16, as the lecture
    rows += compare_optimizers(data, opt_epochs, args.seed)
    start = time.perf_counter()
    ours = lecture_digits(data, etas, lams, args.epochs, args.seed)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    sk = sklearn_digits(data, etas, lams, args.epochs, args.seed)
    t_sk = time.perf_counter() - start
    print(f"\ndigits as the lecture runs it: {len(etas)}x{len(lams)} grid, {args.epochs} epochs: "
          f"chainrule {t_ours:.0f}s, scikit-learn {t_sk:.0f}s")
    print("test accuracy, η (rows) by λ (columns): chainrule (the lecture's network and loss)")
    print(table([[f"{e:g}"] + [("div." if np.isnan(a) else f"{a:.1%}") for a in ours["test"][i]]
                 for i, e in enumerate(etas)], ["η \\ λ"] + [f"{v:g}" for v in lams]))
    if sk is not None:
        print("MLPClassifier(activation='logistic', alpha=λ, learning_rate_init=η, max_iter=100): Adam, mean loss, "
              "Glorot init")
        print(table([[f"{e:g}"] + [f"{a:.1%}" for a in sk["test"][i]] for i, e in enumerate(etas)],
                    ["η \\ λ"] + [f"{v:g}" for v in lams]))
    if not args.quick:
        rows += digits_rows(ours, sk, etas, lams)
    heatmaps({"chainrule, the lecture's way": ours, **({"scikit-learn MLPClassifier": sk} if sk else {})},
             etas, lams, args.out, "lecture_digits_grid.png")
    return report(rows, "notes 003 beside ours")


if __name__ == "__main__":
    main()
