"""Notes 002: the coffee-roasting forward pass with the lecture's given weights.

x = [200, 17] (temperature °C, duration min); layer 1: three sigmoid units with
w = [1, 2], [−3, 4], [5, −6] and b = −1, 1, 2; layer 2: one sigmoid unit with
w = [−7, 8, 9], b = 3. The notes get a2 ≈ 0.99331.

    python examples/course/note002_coffee_roasting.py
"""

from __future__ import annotations

import numpy as np
from _course import Row, parser, report

import autodiff as ad
import nn

X = np.array([[200.0, 17.0]])
W1 = np.array([[1.0, -3.0, 5.0], [2.0, 4.0, -6.0]])  # column k: the weights of unit k
B1 = np.array([-1.0, 1.0, 2.0])
W2 = np.array([[-7.0], [8.0], [9.0]])
B2 = np.array([3.0])


def network() -> nn.Sequential:
    layer1, layer2 = nn.Linear(2, 3), nn.Linear(3, 1)
    layer1.weight.numpy(writable=True)[...], layer1.bias.numpy(writable=True)[...] = W1, B1
    layer2.weight.numpy(writable=True)[...], layer2.bias.numpy(writable=True)[...] = W2, B2
    return nn.Sequential(layer1, nn.Sigmoid(), layer2, nn.Sigmoid())


def main(argv=None) -> list[Row]:
    parser(__doc__.splitlines()[0]).parse_args(argv)
    model = network()
    with ad.no_grad():
        z1 = model[0](X).numpy().ravel()
        a1 = model[1](model[0](X)).numpy().ravel()
        a2 = model(X).numpy().item()
    print(f"z1 = {z1}  ->  a1 = {a1}")
    print(f"z2 = {W2.ravel() @ a1 + B2[0]:.6f}  ->  a2 = {a2:.10f}")
    rows = [Row("002", "coffee roasting: a1", "[1, 0, 1]", "[" + ", ".join(f"{v:.3g}" for v in a1) + "]", exact=True),
            Row("002", "coffee roasting: a2", 0.99331, a2, "sigmoid(5)", exact=True, digits=6)]
    return report(rows, "notes 002 beside ours")


if __name__ == "__main__":
    main()
