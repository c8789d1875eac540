"""The ``autodiff`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``autodiff`` command."""
    parser = argparse.ArgumentParser(
        prog="autodiff",
        description="chainrule's autodiff: differentiate expressions, inspect their graphs, check gradients.",
    )
    parser.add_argument("--version", action="version", version=f"autodiff (chainrule) {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 check failed, 2 bad input)."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
