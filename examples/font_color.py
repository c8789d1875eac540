"""Light or dark font for an RGB background, learned by a 3-3-1 network.

First exactly as the course notes: ReLU hidden layer, sigmoid output, squared error,
plain SGD on one sample at a time. Then the same network with BCE-with-logits and
Adam on mini-batches. Labels come from the luminance rule 0.299R + 0.587G + 0.114B:
a light font on backgrounds darker than 128.

    python examples/font_color.py [--epochs 30]
"""

from __future__ import annotations

import numpy as np
from common import parser, pyplot, save

import autodiff as ad
import nn
from nn import optim

PINK = np.array([[255.0, 192.0, 203.0]])


def network(seed: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 3, init="he_uniform", seed=seed), nn.ReLU(), nn.Linear(3, 1, seed=seed + 1))


def train_like_the_notes(X, y, epochs, lr, seed):
    """Single-sample SGD on (sigmoid(output) - y)², as the notes do it."""
    model = network(seed)
    opt = optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            opt.zero_grad()
            p = ad.sigmoid(model(X[i:i + 1]))
            ((p - y[i]) ** 2).sum().backward()
            opt.step()
    return model


def train_modern(X, y, epochs, seed):
    model = network(seed)
    nn.fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.02), X, y.reshape(-1, 1),
           epochs=epochs, batch_size=16, progress=False, seed=seed)
    return model


def light_probability(model, rgb):
    with ad.no_grad():
        return ad.sigmoid(model(np.asarray(rgb, dtype=np.float64) / 255)).numpy().ravel()


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=30)
    args = p.parse_args(argv)
    if args.quick:
        args.samples, args.epochs = 200, 2
    X, y = nn.datasets.font_color(args.samples, seed=args.seed)
    X_train, X_test, y_train, y_test = nn.train_test_split(X / 255, y, test_size=0.2, seed=args.seed)

    results = {}
    for label, model in (("notes: squared error, single-sample SGD",
                          train_like_the_notes(X_train, y_train, args.epochs, 0.1, args.seed)),
                         ("BCE with logits, Adam, batch 16", train_modern(X_train, y_train, args.epochs * 4,
                                                                           args.seed))):
        acc = nn.metrics.accuracy(y_test, light_probability(model, X_test * 255) > 0.5)
        pink = light_probability(model, PINK)[0]
        results[label] = (acc, pink, model)
        print(f"{label:<42} test accuracy {acc:.1%}   pink (255, 192, 203): P(light font) = {pink:.3f} -> "
              f"{'light' if pink > 0.5 else 'dark'} font")
    print(f"luminance of pink: {nn.datasets.luminance(PINK)[0]:.1f} (>= 128: a dark font is right)")

    plt = pyplot()
    if plt is not None:
        model = results["BCE with logits, Adam, batch 16"][2]
        grid = np.linspace(0, 255, 101)
        R, G = np.meshgrid(grid, grid)
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
        for ax, blue in zip(axes, (0, 128, 255), strict=True):
            rgb = np.stack([R.ravel(), G.ravel(), np.full(R.size, blue)], axis=1)
            prob = light_probability(model, rgb).reshape(R.shape)
            ax.imshow(rgb.reshape(*R.shape, 3).astype(np.uint8), origin="lower", extent=(0, 255, 0, 255))
            ax.contour(R, G, prob, levels=[0.5], colors="white", linewidths=2)
            ax.contour(R, G, nn.datasets.luminance(rgb).reshape(R.shape), levels=[128], colors="black",
                       linestyles="dashed")
            ax.set_title(f"blue = {blue}")
            ax.set_xlabel("red")
            ax.set_ylabel("green")
        fig.suptitle("learned boundary (white) vs luminance rule (dashed): light font below, dark above")
        save(fig, args.out, "font_color.png")
    return {k: v[:2] for k, v in results.items()}


if __name__ == "__main__":
    main()
