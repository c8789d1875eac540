"""Notes 000: Leaky ReLU values, and the temperature regression as the notes run it.

The data set is built the notes' way: one year of daily maxima and minima, a 125-day
moving average, the day index scaled to [-1, 1] (the notes use a weather station's
record; ours is a seeded synthetic year with the same shape: nn.datasets.temperature).
Then the notes' ladder: 1-4-2 with SGD, then momentum 0.5 (stays linear); the output
bias set to the targets' mean and RMSProp; 16/24/36 hidden units with the % of dead
ReLUs; two layers with inverse-time decay; three and four layers.

    python examples/course/note000_temperature.py [--quick] [--epochs 3000]
"""

from __future__ import annotations

import numpy as np
from _course import Row, parser, pyplot, report, save

import autodiff as ad
import nn
from nn import optim
from nn.optim.lr_scheduler import InverseTimeLR


def leaky_relu_rows() -> list[Row]:
    xs = np.array([-10.0, -1.0, 0.0, 2.0])
    values = ad.leaky_relu(ad.Tensor(xs), 0.01).numpy()
    slopes = [float(ad.grad(lambda x: ad.leaky_relu(x, 0.01))(float(x))) for x in xs]
    print("Leaky ReLU max(0.01x, x):", ", ".join(f"f({x:g}) = {v:g}" for x, v in zip(xs, values, strict=True)),
          "| slopes (autodiff):", ", ".join(f"{s:g}" for s in slopes))
    return [Row("000", f"Leaky ReLU(α = 0.01) at {x:g}", 0.01 * x if x < 0 else x, float(v), exact=True)
            for x, v in zip(xs, values, strict=True)] + \
           [Row("000", "Leaky ReLU slope left / right of 0", "0.01 / 1", f"{slopes[1]:g} / {slopes[3]:g}", exact=True)]


def stacked_linear_rows() -> list[Row]:
    """f(x) = 2x + 5 then g(x) = 8x − 3 as two linear neurons: one neuron 16x + 37."""
    f, g = nn.Linear(1, 1), nn.Linear(1, 1)
    for p, v in ((f.weight, 2.0), (f.bias, 5.0), (g.weight, 8.0), (g.bias, -3.0)):
        p.numpy(writable=True)[...] = v
    stacked = nn.Sequential(f, g)
    with ad.no_grad():
        b = stacked(np.zeros((1, 1))).item()
        at3 = stacked(np.full((1, 1), 3.0)).item()
    w = float(ad.grad(lambda x: stacked(x.reshape(1, 1)).sum())(0.0))
    print(f"g(f(x)) = {w:g}x + {b:g}; g(f(3)) = {at3:g}")
    return [Row("000", "g(f(x)) for f = 2x + 5, g = 8x − 3", "16x − 7", f"{w:g}x + {b:g}",
                f"notes' slip: g(f(3)) = {at3:g} = 16·3 + 37", exact=True)]


def one_year(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day index scaled to [-1, 1], smoothed (TMAX, TMIN), and the day numbers."""
    days, Y = nn.datasets.temperature(n_days=365, window=125, seed=seed)
    X = 2 * (days - days.min()) / (days.max() - days.min()) - 1
    return X, Y, days


def notes_network(hidden: list[int], seed: int) -> nn.Sequential:
    """ReLU layers with every weight and bias drawn from N(0, 1), as the notes initialise them."""
    model = nn.MLP([1] + hidden + [2], activation="relu", seed=seed)
    rng = np.random.default_rng(seed)
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.weight.numpy(writable=True)[...] = rng.normal(size=layer.weight.shape)
            layer.bias.numpy(writable=True)[...] = rng.normal(size=layer.bias.shape)
    return model


def train(X, Y, hidden, opt_name, epochs, seed, bias_at_mean=False, decay=0.0, lr=None):
    model = notes_network(hidden, seed)
    if bias_at_mean:
        model[-1].bias.numpy(writable=True)[...] = Y.mean(axis=0)
    if opt_name == "sgd":
        opt = optim.SGD(model.parameters(), lr=lr or 0.01)
    elif opt_name == "momentum":
        opt = optim.SGD(model.parameters(), lr=lr or 0.01, momentum=0.5)
    else:
        opt = optim.RMSprop(model.parameters(), lr=lr or 0.01)
    sched = InverseTimeLR(opt, decay=decay) if decay else None
    diagnostics = nn.TrainingDiagnostics(X)
    with np.errstate(all="ignore"):
        h = nn.fit(model, nn.MSELoss(), opt, X, Y, epochs=epochs, batch_size=len(X), scheduler=sched,
                   callbacks=[diagnostics], progress=False, seed=seed)
    dead = diagnostics.dead_percentages()
    with ad.no_grad():
        pred = model(X).numpy()
    # linear? how far the prediction is from its own best straight line
    line = np.polyval(np.polyfit(X.ravel(), pred[:, 0], 1), X.ravel())
    bend = float(np.abs(pred[:, 0] - line).max())
    return {"cost": h["loss"][-1], "dead": float(np.mean(list(dead.values()))) if dead else 0.0, "bend": bend,
            "model": model, "loss": h["loss"]}


LADDER = [
    # label, hidden sizes, optimizer, bias at the mean, inverse-time decay, lr
    ("1-4-2, SGD", [4], "sgd", False, 0.0, 0.01),
    ("1-4-2, SGD + momentum 0.5", [4], "momentum", False, 0.0, 0.01),
    ("1-4-2, output bias = mean, RMSProp", [4], "rmsprop", True, 0.0, 0.01),
    ("1-16-2, RMSProp", [16], "rmsprop", True, 0.0, 0.01),
    ("1-24-2, RMSProp", [24], "rmsprop", True, 0.0, 0.01),
    ("1-36-2, RMSProp", [36], "rmsprop", True, 0.0, 0.01),
    ("1-36-36-2, RMSProp + inverse-time decay", [36, 36], "rmsprop", True, 0.001, 0.01),
    ("1-36-36-36-2, RMSProp + decay", [36] * 3, "rmsprop", True, 0.001, 0.01),
    ("1-36-36-36-36-2, RMSProp + decay", [36] * 4, "rmsprop", True, 0.001, 0.01),
]


def main(argv=None) -> list[Row]:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3000, help="full-batch epochs per rung")
    args = p.parse_args(argv)
    ladder = LADDER
    if args.quick:
        args.epochs, ladder = 20, LADDER[:1]
    rows = leaky_relu_rows() + stacked_linear_rows()
    X, Y, days = one_year(args.seed)
    print(f"\n{len(X)} smoothed days (one year, 125-day moving average), day index in [{X.min():g}, {X.max():g}]; "
          f"{args.epochs} full-batch epochs per rung")
    results = {}
    for label, hidden, opt_name, at_mean, decay, lr in ladder:
        r = results[label] = train(X, Y, hidden, opt_name, args.epochs, args.seed, at_mean, decay, lr)
        print(f"  {label:<42} cost {r['cost']:9.4f} °C²   dead ReLUs {r['dead']:5.1f}%   "
              f"max distance from a straight line {r['bend']:.3g} °C", flush=True)
    if not args.quick:
        for label in ("1-4-2, SGD", "1-4-2, SGD + momentum 0.5"):
            r = results[label]
            rows.append(Row("000", f"{label}: fit", "stays linear",
                            f"{'linear' if r['bend'] < 1e-6 else 'bent'}: {r['dead']:.0f}% dead ReLUs, "
                            f"cost {r['cost']:.3g} °C²", "N(0, 1) init: every hidden unit dies, the output is "
                            "its bias" if r["dead"] == 100 else ""))
        for label in ("1-4-2, output bias = mean, RMSProp", "1-16-2, RMSProp", "1-24-2, RMSProp",
                      "1-36-2, RMSProp", "1-36-36-2, RMSProp + inverse-time decay", "1-36-36-36-2, RMSProp + decay",
                      "1-36-36-36-36-2, RMSProp + decay"):
            r = results[label]
            one_layer = label in ("1-16-2, RMSProp", "1-24-2, RMSProp", "1-36-2, RMSProp")
            rows.append(Row("000", f"{label}: cost °C² (dead ReLUs {r['dead']:.0f}%)", "0.01–0.02" if one_layer
                            else None, r["cost"], "notes: one hidden layer fits" if one_layer else "", digits=2))
    report(rows, "notes 000 beside ours")

    plt = pyplot()
    if plt is not None and not args.quick:
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
        shown = ("1-4-2, SGD + momentum 0.5", "1-16-2, RMSProp", "1-36-36-36-2, RMSProp + decay")
        a.plot(days, Y[:, 0], "k", lw=3, alpha=0.3, label="TMAX (smoothed)")
        a.plot(days, Y[:, 1], "b", lw=3, alpha=0.3, label="TMIN (smoothed)")
        for k, label in enumerate(shown):
            with ad.no_grad():
                pred = results[label]["model"](X).numpy()
            a.plot(days, pred, f"C{k + 1}--", lw=1.2, label=[label, None])
        a.set_xlabel("day of the year (end of the 125-day window)")
        a.set_ylabel("°C")
        a.legend(fontsize=7)
        for k, label in enumerate(shown):
            b.semilogy(results[label]["loss"], f"C{k + 1}", label=label)
        b.set_xlabel("epoch")
        b.set_ylabel("cost (MSE, °C²)")
        b.legend(fontsize=7)
        fig.suptitle("one year of smoothed TMAX/TMIN, N(0, 1) init: 1-4-2 with SGD (every ReLU dead: flat), "
                     "one hidden layer, three hidden layers")
        save(fig, args.out, "course_temperature.png")
    return rows


if __name__ == "__main__":
    main()
