"""Run every course script and write the README's "Course reproduced" table.

    python examples/course/run_all.py            # full runs: results.json and the README table
    python examples/course/run_all.py --quick    # smoke runs; the exact rows must equal results.json
    python examples/course/run_all.py --check --quick   # exit 1 when the README table differs
    python examples/course/run_all.py --only note000_temperature   # rerun one script, keep the other rows

The table comes from results.json, which only a full run writes; ``--quick`` recomputes
every row marked exact (worked numbers, counts, closed forms) and fails when one of them
differs from what results.json holds, so neither the README nor results.json can drift
from what the scripts print.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from pathlib import Path

from _course import OUTPUT, Row

HERE = Path(__file__).resolve().parent
README = HERE.parent.parent / "README.md"
RESULTS = HERE / "results.json"
SCRIPTS = ["note000_temperature", "note001_font_colour", "note002_coffee_roasting", "note003_lecture",
           "note004_ladder"]
START, END = "<!-- course-table:start (written by examples/course/run_all.py) -->", "<!-- course-table:end -->"

SLIPS = """\
Where the notes slip, or where we differ on purpose:

- 000: g(f(x)) for f = 2x + 5, g = 8x − 3 is 16x + 37 (the notes print 16x − 7; their own g(f(3)) = 85 agrees with
  +37). Our temperature year is synthetic (same recipe: one year, 125-day moving average, day index in [−1, 1]);
  the notes' costs come from a weather station's record.
- 001: Figure 7-10 first writes W_output[1] = 0.30781539 as 0.3078159, which gives its first Z2 = 3.03783757842636;
  A2 = 0.954254478103241 comes from the correct 3.0378364795204. The figure's input X is W_output's three numbers.
  The notes' hidden-layer gradient `dC_dA1 @ dA1_dZ1 @ dZ1_dW1.T` multiplies (1×3)(3×1)(1×3): it sums the
  three hidden nodes' dC/dZ1 and gives every row of W_hidden the same update (the column sum of the true
  gradient); ours is the outer product, equal to finite differences. Figure 7-3's labels come from the notes'
  CSV; ours from the luminance rule, which gives pink a dark font (contrast 13.7:1 against 1.54:1 for white).
- 003: the lecture picks η and λ on the test set; `examples/digits.py` (`note003_lecture.py --mode ours`)
  picks them on a validation split. The lecture's Adam corrects its bias with the epoch count and restarts its
  moments every epoch; its Adagrad keeps one accumulator per row: `nn.optim.lecture` has these variants,
  `nn.optim` PyTorch's. The lecture samples each batch independently; `nn.fit` shuffles once per epoch.
- 004: the notes' numbers are MNIST; ours are scikit-learn's 8×8 digits unless `--mnist` is given, and the
  listing is not in the repository, so each rung is matched to the notes' printed number by position.
  Early stopping that watches the test set reports an optimistic number; the validation-split one is honest.
"""


def run_scripts(quick: bool, out: Path, names: list[str]) -> tuple[list[Row], dict[str, float]]:
    rows, seconds = [], {}
    for name in names:
        module = importlib.import_module(name)
        print(f"\n===== {name} =====", flush=True)
        start = time.process_time()
        rows += module.main((["--quick"] if quick else []) + ["--out", str(out)])
        seconds[name] = time.process_time() - start
    return rows, seconds


def markdown(rows: list[dict], seconds: dict[str, float]) -> str:
    lines = [START, "", "| note | item | the notes | ours | difference | comment |", "|---|---|---|---|---|---|"]
    for r in rows:
        row = Row(**r)
        cells = [row.note, row.item, row.fmt(row.notes), row.fmt(row.ours), row.difference, row.comment]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    times = ", ".join(f"`{n}.py` {f'{s:.0f}' if s >= 1 else '< 1'} s" for n, s in seconds.items())
    lines += ["", f"CPU time of the full runs on the machine that wrote this table: {times}.", "", SLIPS.rstrip(),
              "", END]
    return "\n".join(lines)


def check_exact(fresh: list[Row], stored: list[dict]) -> list[str]:
    """Every exact row recomputed now must equal the stored one."""
    by_key = {(r["note"], r["item"]): r for r in stored}
    problems = []
    for row in fresh:
        if not row.exact:
            continue
        old = by_key.get((row.note, row.item))
        if old is None or Row(**old).fmt(old["ours"]) != row.fmt(row.ours):
            problems.append(f"{row.note} {row.item}: now {row.fmt(row.ours)}, results.json "
                            f"{'has no such row' if old is None else Row(**old).fmt(old['ours'])}")
    return problems


def readme_section(text: str) -> tuple[int, int]:
    if START not in text or END not in text:
        raise SystemExit(f"run_all: {README} lacks the markers {START!r} ... {END!r}")
    return text.index(START), text.index(END) + len(END)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke runs; the table comes from results.json")
    p.add_argument("--check", action="store_true", help="exit 1 when the README's table differs")
    p.add_argument("--out", type=Path, default=OUTPUT)
    p.add_argument("--only", action="append", choices=SCRIPTS, help="full run of this script only (repeatable); "
                   "the other scripts' rows stay as results.json has them")
    args = p.parse_args(argv)
    if args.only and args.quick:
        p.error("--only makes full runs; it cannot be combined with --quick")
    with tempfile.TemporaryDirectory() as tmp:
        rows, seconds = run_scripts(args.quick, Path(tmp) if args.quick else args.out, args.only or SCRIPTS)
    if args.quick:
        stored = json.loads(RESULTS.read_text(encoding="utf-8"))
        problems = check_exact(rows, stored["rows"])
        if problems:
            print("\nexact rows differ from results.json:\n  " + "\n  ".join(problems))
            return 1
    else:
        if args.only:  # keep the other scripts' rows, in SCRIPTS order
            old = json.loads(RESULTS.read_text(encoding="utf-8"))
            notes = {name[4:7] for name in args.only}
            fresh = {n: [r.as_dict() for r in rows if r.note == n] for n in notes}
            merged, done = [], set()
            for r in old["rows"]:
                if r["note"] in notes:
                    if r["note"] not in done:
                        merged += fresh[r["note"]]
                        done.add(r["note"])
                else:
                    merged.append(r)
            rows_out, seconds = merged, {**old["seconds"], **seconds}
        else:
            rows_out = [r.as_dict() for r in rows]
        stored = {"rows": rows_out, "seconds": seconds}
        RESULTS.write_text(json.dumps(stored, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    table = markdown(stored["rows"], stored["seconds"])
    text = README.read_text(encoding="utf-8")
    a, b = readme_section(text)
    if args.check:
        if text[a:b] != table:
            print(f"\n{README} differs from the table run_all.py writes; run python examples/course/run_all.py")
            return 1
        print("\nthe README's course table matches")
        return 0
    README.write_text(text[:a] + table + text[b:], encoding="utf-8")
    print(f"\nwrote the course table into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
