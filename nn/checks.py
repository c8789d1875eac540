"""Argument checks shared by nn: each error names the function, the argument and the value."""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import Any

import numpy as np

# rule name -> (test, description used in the error message)
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "nonneg": (lambda v: v >= 0, "must be >= 0"),
    "positive": (lambda v: v > 0, "must be > 0"),
    "unit_open": (lambda v: 0 <= v < 1, "must be in [0, 1)"),
    "unit": (lambda v: 0 <= v <= 1, "must be in [0, 1]"),
}


def check_number(owner: str, name: str, value: Any, rule: str | None = None, integer: bool = False) -> None:
    """Raise TypeError/ValueError naming ``owner``, ``name`` and ``value`` unless ``value``
    is a finite real number (an integer when asked) satisfying ``rule``."""
    kind = "an integer" if integer else "a real number"
    if isinstance(value, bool) or not isinstance(value, Real) or (integer and not float(value).is_integer()):
        raise TypeError(f"{owner}: {name} must be {kind}, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    if rule is not None:
        test, text = _RULES[rule]
        if not test(value):
            raise ValueError(f"{owner}: {name} {text}, got {value!r}")


def check_bool(owner: str, name: str, value: Any) -> None:
    """Raise TypeError naming ``owner`` and ``name`` unless ``value`` is a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r} ({type(value).__name__})")
