"""AND, OR and XOR: a single perceptron learns the first two and fails on XOR (no line
separates it); a 2-2-1 network learns all three. A grid search over learning rates,
as in the notes, shows where each one trains.

    python examples/logic_gates.py [--epochs 1000]
"""

from __future__ import annotations

import numpy as np
from common import parser, pyplot, save, table

import autodiff as ad
import nn
from nn import optim

GATES = ("and", "or", "xor")
RATES = (0.01, 0.1, 0.5, 1.0, 5.0)


def make(kind: str, seed: int) -> nn.Module:
    if kind == "perceptron":
        return nn.Linear(2, 1, seed=seed)
    return nn.Sequential(nn.Linear(2, 2, seed=seed), nn.Tanh(), nn.Linear(2, 1, seed=seed + 1))


def train(kind: str, gate: str, lr: float, epochs: int, seed: int) -> tuple[float, float, nn.Module]:
    X, y = nn.datasets.logic_gate(gate)
    model = make(kind, seed)
    opt = optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.BCEWithLogitsLoss()
    target = y.reshape(-1, 1)
    for _ in range(epochs):  # full batch: the four rows of the truth table
        opt.zero_grad()
        loss = loss_fn(model(X), target)
        loss.backward()
        opt.step()
    with ad.no_grad():
        logits = model(X).numpy().ravel()
    return nn.metrics.accuracy(y, logits > 0), float(loss_fn(model(X), target).item()), model


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=2, help="initialisations tried per setting (best kept)")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds = 50, 1
    best: dict = {}
    for kind in ("perceptron", "2-2-1 network"):
        rows = []
        for gate in GATES:
            row = [gate.upper()]
            for lr in RATES:
                runs = [train(kind, gate, lr, args.epochs, args.seed + 10 * s) for s in range(args.seeds)]
                acc, loss, model = max(runs, key=lambda r: (r[0], -r[1]))
                row.append(f"{acc:.0%} ({loss:.2f})")
                if acc >= best.get((kind, gate), (-1,))[0]:
                    best[(kind, gate)] = (acc, loss, lr, model)
            rows.append(row)
        print(f"\n{kind}: accuracy (final BCE loss) after {args.epochs} full-batch SGD steps, "
              f"best of {args.seeds} initialisations")
        print(table(rows, ["gate"] + [f"lr={lr:g}" for lr in RATES]))
    print()
    for gate in GATES:
        print(f"{gate.upper():>4}: perceptron {best[('perceptron', gate)][0]:.0%}, "
              f"2-2-1 network {best[('2-2-1 network', gate)][0]:.0%}")

    plt = pyplot()
    if plt is not None:
        grid = np.linspace(-0.5, 1.5, 121)
        G0, G1 = np.meshgrid(grid, grid)
        pts = np.stack([G0.ravel(), G1.ravel()], axis=1)
        fig, axes = plt.subplots(2, 3, figsize=(10, 6.4))
        for r, kind in enumerate(("perceptron", "2-2-1 network")):
            for c, gate in enumerate(GATES):
                ax = axes[r, c]
                model = best[(kind, gate)][3]
                with ad.no_grad():
                    z = model(pts).numpy().reshape(G0.shape)
                # the region predicted 0 in light blue, 1 in light red: the colours of the points' true outputs
                ax.contourf(G0, G1, z > 0, levels=[-0.5, 0.5, 1.5], colors=["#cfe2ff", "#f4cccc"])
                X, y = nn.datasets.logic_gate(gate)
                for value, colour in ((0, "#1f5fbf"), (1, "#c0392b")):
                    ax.scatter(X[y == value, 0], X[y == value, 1], color=colour, edgecolors="k", s=80,
                               label=f"true output {value}")
                ax.set_title(f"{kind}, {gate.upper()}: {best[(kind, gate)][0]:.0%}")
        from matplotlib.patches import Patch

        handles = [Patch(color="#cfe2ff", label="predicted 0"), Patch(color="#f4cccc", label="predicted 1"),
                   *axes[0, 0].get_legend_handles_labels()[0]]
        fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8)
        fig.set_layout_engine("tight", rect=(0, 0.06, 1, 1))
        save(fig, args.out, "logic_gates.png")
    return {f"{k} {g}": v[0] for (k, g), v in best.items()}


if __name__ == "__main__":
    main()
