"""Helpers shared by the examples: where figures go, and matplotlib (the ``plots`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parent / "output"


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every example has."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", type=Path, default=OUTPUT, help="folder for figures (default examples/output)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    return p


def pyplot():
    """matplotlib.pyplot with a file-only backend, or None (with a note) when it is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(figures skipped: install matplotlib with pip install 'chainrule[plots]')")
        return None
    return plt


def save(fig, out: Path, name: str) -> Path:
    """Save a figure as PNG under ``out`` and close it."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"figure: {path}")
    return path


def accuracy_heatmap(ax, acc: np.ndarray, rows, cols, row_label: str, col_label: str, title: str,
                     origin: str = "upper"):
    """Draw an accuracy grid on ``ax`` with each cell's value written in it (NaN: diverged, grey)."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("viridis").with_extremes(bad="#dddddd")
    im = ax.imshow(acc, origin=origin, cmap=cmap, vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), [f"{v:g}" for v in cols])
    ax.set_yticks(range(len(rows)), [f"{v:g}" for v in rows])
    ax.set_xlabel(col_label)
    ax.set_ylabel(row_label)
    ax.set_title(title)
    for (r, c), v in np.ndenumerate(acc):
        ax.text(c, r, "div." if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="w" if v <= 0.6 else "k")  # NaN compares False: black on grey
    return im


def table(rows: list[list], header: list[str]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(c) for c in header]] + [[c if isinstance(c, str) else f"{c:.4g}" if isinstance(c, float)
                                          else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
