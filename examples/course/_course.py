"""Shared by the course scripts: one row of the README's "Course reproduced" table, and
printing the notes' number beside ours and the difference."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # examples/common.py: parser, pyplot, save, table
    sys.path.insert(0, str(HERE.parent))

from common import OUTPUT, accuracy_heatmap, parser, pyplot, save, table  # noqa: E402


@dataclass
class Row:
    """One compared number: ``notes`` as the notes print it (None when they print none),
    ``ours`` as we compute it; ``exact`` rows are computed identically by ``--quick``."""

    note: str
    item: str
    notes: float | str | None
    ours: float | str
    comment: str = ""
    exact: bool = False
    digits: int = 4

    def fmt(self, v) -> str:
        if v is None:
            return "—"
        return v if isinstance(v, str) else f"{v:.{self.digits}g}"

    @property
    def difference(self) -> str:
        if isinstance(self.notes, (int, float)) and isinstance(self.ours, (int, float)):
            d = self.ours - self.notes
            return "< 1e-12" if abs(d) < 1e-12 * max(1.0, abs(self.notes)) else f"{d:+.2g}"
        return ""

    def as_dict(self) -> dict:
        return asdict(self)


def report(rows: list[Row], title: str) -> list[Row]:
    """Print the rows as a table: the notes' number, ours, the difference."""
    print(f"\n{title}")
    print(table([[r.item, r.fmt(r.notes), r.fmt(r.ours), r.difference, r.comment] for r in rows],
                ["", "notes", "ours", "difference", ""]))
    return rows


__all__ = ["OUTPUT", "Row", "accuracy_heatmap", "parser", "pyplot", "report", "save", "table"]
