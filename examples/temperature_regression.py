"""Regression of one year of smoothed daily TMAX/TMIN on the day index, as in the course notes.

ReLU networks with 1-4 hidden layers, RMSProp with inverse-time learning-rate decay
(lr = lr0 / (1 + k t)), the output bias initialised to the targets' mean, and the
percentage of dead ReLU units per layer printed while training (the notes' get_dead).
Ends with a table of the final cost for 4/16/36/64 units and 1-4 layers.

    python examples/temperature_regression.py [--hidden 36 --layers 3] [--no-table]
"""

from __future__ import annotations

import numpy as np
from common import parser, pyplot, save, table

import nn
from nn import optim
from nn.optim.lr_scheduler import InverseTimeLR


def build(hidden: int, layers: int, Y: np.ndarray, seed: int) -> nn.MLP:
    model = nn.MLP([1] + [hidden] * layers + [2], init="he_uniform", seed=seed)
    model[-1].bias.data = Y.mean(axis=0)  # start at the mean temperature
    return model


def train(X, Y, hidden, layers, epochs, seed, verbose=False):
    model = build(hidden, layers, Y, seed)
    opt = optim.RMSprop(model.parameters(), lr=0.01)
    diagnostics = nn.TrainingDiagnostics(X)

    class Report(nn.Callback):
        def on_epoch_end(self, epoch, logs):
            if verbose and (epoch + 1) % max(1, epochs // 5) == 0:
                dead = ", ".join(f"layer {k.split('/')[1]}: {v:.0f}%" for k, v in logs.items()
                                 if k.startswith("dead_relu/"))
                print(f"  epoch {epoch + 1:4d}  cost {logs['loss']:.3f}  lr {logs['lr']:.5f}  dead ReLU units: {dead}")

    history = nn.fit(model, nn.MSELoss(), opt, X, Y, epochs=epochs, batch_size=64,
                     scheduler=InverseTimeLR(opt, decay=0.02), callbacks=[diagnostics, Report()], progress=False,
                     seed=seed)
    return model, history


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=36, help="units per hidden layer")
    p.add_argument("--layers", type=int, default=3, help="hidden layers (1-4)")
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--no-table", action="store_true", help="skip the 4x4 table of configurations")
    args = p.parse_args(argv)
    if args.quick:
        args.epochs = 3
    days, Y = nn.datasets.temperature(seed=args.seed)  # one year, 125-day moving average, as the notes
    X = 2 * (days - days.min()) / (days.max() - days.min()) - 1  # the day index scaled to [-1, 1]
    print(f"{len(X)} days of smoothed TMAX/TMIN (one year); network 1-{'-'.join([str(args.hidden)] * args.layers)}-2")
    model, history = train(X, Y, args.hidden, args.layers, args.epochs, args.seed, verbose=True)
    print(f"final cost (MSE, °C²): {history['loss'][-1]:.4f}")

    costs = {}
    if not args.no_table:
        units_list, layers_list = ([4, 16], [1, 2]) if args.quick else ([4, 16, 36, 64], [1, 2, 3, 4])
        rows = []
        for units in units_list:
            row = [units]
            for layers in layers_list:
                _, h = train(X, Y, units, layers, args.epochs, args.seed)
                costs[(units, layers)] = h["loss"][-1]
                row.append(h["loss"][-1])
            rows.append(row)
        print("\nfinal cost by units per layer (rows) and hidden layers (columns):")
        print(table(rows, ["units"] + [f"{k} layer{'s' if k > 1 else ''}" for k in layers_list]))

    plt = pyplot()
    if plt is not None:
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
        pred = model(X).numpy()
        for k, name in enumerate(("TMAX", "TMIN")):
            a.plot(days, Y[:, k], label=f"{name} (smoothed)")
            a.plot(days, pred[:, k], "--", label=f"{name} predicted")
        a.set_xlabel("day")
        a.set_ylabel("°C")
        a.legend(fontsize=8)
        b.semilogy(history["loss"])
        b.set_xlabel("epoch")
        b.set_ylabel("cost (MSE)")
        fig.suptitle(f"1-{'-'.join([str(args.hidden)] * args.layers)}-2 ReLU network, RMSProp with inverse-time decay")
        save(fig, args.out, "temperature_regression.png")
    return {"cost": history["loss"][-1], "table": costs}


if __name__ == "__main__":
    main()
