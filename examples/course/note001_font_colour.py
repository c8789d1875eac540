"""Notes 001: the font-colour network's worked forward pass (Figure 7-10), the notes'
hidden-layer gradient against ours and finite differences, and why pink gets a dark font.

The notes' 3-3-1 network: Z1 = W_hidden X + B_hidden, A1 = ReLU(Z1), Z2 = W_output A1 +
B_output, A2 = logistic(Z2), cost C = (A2 − Y)². The weights are the ones the notes print.

    python examples/course/note001_font_colour.py
"""

from __future__ import annotations

import numpy as np
from _course import Row, parser, report

import autodiff as ad
import nn
from autodiff.testing import numerical_grad

# the notes' randomly drawn weights, as printed (row k of W_hidden: the weights of hidden node k)
W_HIDDEN = np.array([[0.034535, 0.5185636, 0.81485028],
                     [0.3329199, 0.53873853, 0.96359003],
                     [0.19808306, 0.45422182, 0.36618893]])
B_HIDDEN = np.array([0.41379442, 0.81666079, 0.07511252])
W_OUTPUT = np.array([[0.82652072, 0.30781539, 0.93095565]])
B_OUTPUT = np.array([0.58018555])
# Figure 7-10's input: solving W_hidden X + B_hidden = Z1 for the printed Z1 gives back W_output's three numbers
X_FIG = np.array([0.82652072, 0.30781539, 0.93095565])
NOTES = {"Z1": [1.36054964190909, 2.15471757888247, 0.719554393391768], "Z2 (line before A2)": 3.03783757842636,
         "Z2 (inside logistic)": 3.0378364795204, "A2": 0.954254478103241}
PINK = np.array([255.0, 192.0, 203.0])


def network() -> nn.Sequential:
    """The notes' network with the notes' weights (our Linear computes x @ W, so W is transposed)."""
    hidden, output = nn.Linear(3, 3), nn.Linear(3, 1)
    hidden.weight.numpy(writable=True)[...], hidden.bias.numpy(writable=True)[...] = W_HIDDEN.T, B_HIDDEN
    output.weight.numpy(writable=True)[...], output.bias.numpy(writable=True)[...] = W_OUTPUT.T, B_OUTPUT
    return nn.Sequential(hidden, nn.ReLU(), output, nn.Sigmoid())


def worked_pass() -> list[Row]:
    model = network()
    x = X_FIG.reshape(1, 3)
    with ad.no_grad():
        z1 = model[0](x).numpy().ravel()
        z2 = model[2](model[1](model[0](x))).numpy().item()
        a2 = model(x).numpy().item()
    print(f"Figure 7-10's input X = {X_FIG} (×255: {np.round(X_FIG * 255, 1)})")
    print(f"Z1 = {z1}\nZ2 = {z2!r}\nA2 = {a2!r}")
    return [
        Row("001", "Figure 7-10: Z1[0]", NOTES["Z1"][0], float(z1[0]), exact=True, digits=13),
        Row("001", "Figure 7-10: Z2", NOTES["Z2 (inside logistic)"], z2, exact=True, digits=13),
        Row("001", "Figure 7-10: Z2 as first printed", NOTES["Z2 (line before A2)"], z2,
            "notes' slip: W_output[1] copied as 0.3078159", exact=True, digits=13),
        Row("001", "Figure 7-10: A2", NOTES["A2"], a2, exact=True, digits=13),
    ]


def gradients(y: float) -> list[Row]:
    """dC/dW_hidden three ways: ours (reverse mode), finite differences, and the notes' formula."""
    x = X_FIG.reshape(1, 3)

    def cost(w_hidden_t):  # the network of network(), with W_hidden the only variable
        h = ad.relu(ad.Tensor(x) @ w_hidden_t + B_HIDDEN)
        a2 = ad.sigmoid(h @ W_OUTPUT.T + B_OUTPUT)
        return ((a2 - y) ** 2).sum()

    ours = ad.grad(cost)(W_HIDDEN.T).T  # back to the notes' layout: row k = hidden node k
    fd = numerical_grad(cost, W_HIDDEN.T).T
    # The notes compute dC_dW1 = dC_dA1 @ dA1_dZ1 @ X.T with shapes (1,3) @ (3,1) @ (1,3): the
    # first product sums the three hidden nodes' dC/dZ1, so one row s·Xᵀ is broadcast onto every
    # row of W_hidden. In terms of the true gradient (dC/dZ1_k · X_j) that row is its column sum.
    notes = np.broadcast_to(ours.sum(axis=0), (3, 3))
    np.set_printoptions(precision=6, suppress=True)
    print(f"\ncost (A2 − Y)² with Y = {y:g}; dC/dW_hidden (row k: hidden node k)")
    print(f"ours (reverse mode):\n{ours}\nfinite differences:\n{fd}\nthe notes' formula:\n{notes}")
    err_ours, err_notes = np.abs(ours - fd).max(), np.abs(notes - fd).max()
    print(f"max |ours − finite differences| = {err_ours:.1e};  max |notes − finite differences| = {err_notes:.3f} "
          f"(the gradient itself is at most {np.abs(fd).max():.3f})")
    return [Row("001", "dC/dW_hidden: max |ours − finite differences|", None,
                "< 1e-8" if err_ours < 1e-8 else f"{err_ours:.2g}", "ours is the gradient", exact=True),
            Row("001", "dC/dW_hidden: max |notes' formula − finite differences|", None, float(err_notes),
                "notes: every row gets the column sum", exact=True, digits=2)]


def contrast(rgb: np.ndarray, other: np.ndarray) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (0-255)."""
    def rel_lum(c):
        c = np.asarray(c, dtype=np.float64) / 255
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    hi, lo = sorted((rel_lum(rgb), rel_lum(other)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def pink() -> list[Row]:
    lum = float(nn.datasets.luminance(PINK))
    black, white = contrast(PINK, np.zeros(3)), contrast(PINK, np.full(3, 255.0))
    print(f"\npink {PINK.astype(int)}: luminance 0.299R + 0.587G + 0.114B = {lum:.1f} of 255 (>= 128: dark font); "
          f"contrast with black text {black:.1f}:1, with white text {white:.2f}:1 (WCAG asks 4.5:1)")
    print("Figure 7-3 labels pink 'light font': its labels come from the notes' downloaded CSV of 1,345 colours, "
          "not from a brightness rule; ours come from the luminance rule, which sends pink to a dark font.")
    return [Row("001", "pink (255, 192, 203): font", "light (Figure 7-3)", f"dark (luminance {lum:.0f})",
                f"contrast black {black:.1f}:1 vs white {white:.2f}:1", exact=True)]


def main(argv=None) -> list[Row]:
    parser(__doc__.splitlines()[0]).parse_args(argv)
    rows = worked_pass()
    label = float(nn.datasets.luminance(X_FIG * 255) < 128)  # the figure's colour needs a dark font: Y = 0
    rows += gradients(label)
    rows += pink()
    return report(rows, "notes 001 beside ours")


if __name__ == "__main__":
    main()
