"""Helpers shared by the examples: where figures go, and matplotlib (the ``plots`` extra)."""

from __future__ import annotations

import argparse
from pathlib import Path

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


def table(rows: list[list], header: list[str]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(c) for c in header]] + [[c if isinstance(c, str) else f"{c:.4g}" if isinstance(c, float)
                                          else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
