"""Pictures of training runs (matplotlib, the ``plots`` extra) and a History as an HTML table."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .callbacks import History


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting needs matplotlib; install it with: pip install 'chainrule[plots]'") from None
    return plt


def _panels(history: History, groups: list[tuple[str, list[str], bool]], figsize_per: float = 4.5) -> Any:
    """One axes per non-empty (title, keys, log scale) group, each key's curve over the epochs."""
    groups = [g for g in groups if g[1]]
    if not groups:
        raise ValueError(f"nothing to plot: the history logs {sorted(history.history)}")
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(groups), figsize=(figsize_per * len(groups), 3.5), squeeze=False)
    epochs = [e + 1 for e in history.epoch]
    for ax, (title, keys, log) in zip(axes[0], groups, strict=True):
        for k in keys:
            ax.plot(epochs, history[k], label=k)
        ax.set_xlabel("epoch")
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_history(history: History) -> Any:
    """Loss curves (train and validation) and, when logged, accuracy curves; returns the Figure."""
    keys = list(history.history)
    losses = [k for k in keys if k == "loss" or k.endswith("_loss") or k == "val_loss"]
    accs = [k for k in keys if "acc" in k]
    return _panels(history, [("loss", losses, False), ("accuracy", accs, False)])


def plot_diagnostics(history: History) -> Any:
    """Dead ReLU units (%) per layer and gradient norms per parameter over the epochs, from the
    logs :class:`nn.TrainingDiagnostics` adds; returns the Figure."""
    keys = list(history.history)
    dead = [k for k in keys if k.startswith("dead_relu/")]
    norms = [k for k in keys if k.startswith("grad_norm/")]
    if not dead and not norms:
        raise ValueError("plot_diagnostics: the history has no dead_relu/ or grad_norm/ logs; "
                         "train with callbacks=[nn.TrainingDiagnostics(X_probe)]")
    return _panels(history, [("dead ReLU units (%)", dead, False), ("gradient norm", norms, True)])


def history_html(history: History, max_rows: int = 20) -> str:
    """The logs as an HTML table, one row per epoch (the first and last epochs when there are many)."""
    keys = list(history.history)
    n = len(history.epoch)
    shown = list(range(n)) if n <= max_rows else [*range(max_rows // 2), -1, *range(n - max_rows // 2, n)]
    head = "".join(f"<th>{html.escape(k)}</th>" for k in ["epoch", *keys])
    rows = []
    for i in shown:
        if i < 0:
            rows.append(f"<tr><td colspan='{len(keys) + 1}'>…</td></tr>")
            continue
        cells = "".join(f"<td>{history.history[k][i]:.4g}</td>" for k in keys)
        rows.append(f"<tr><td>{history.epoch[i] + 1}</td>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
