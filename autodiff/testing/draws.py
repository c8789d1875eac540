"""A :class:`~autodiff.sampling.Draw` backed by Hypothesis, so every registry sampler
(and a user's own) drives property tests with shrinking and a replayable database.

Needs the ``dev`` extra (Hypothesis).

>>> from hypothesis import given, strategies as st
>>> from autodiff.sampling import elementwise
>>> @given(st.data())
... def test_positive(data):
...     (x,) = elementwise(0.1, 5.0)(HypothesisDraw(data), np.float64).args
...     assert (x >= 0.1).all()
>>> test_positive()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # pragma: no cover - exercised only without the dev extra
    raise ImportError("autodiff.testing.draws needs Hypothesis: pip install 'chainrule[dev]'") from e


def _bound(value: float, toward: float, dtype: Any) -> float:
    """``value`` as the nearest ``dtype`` number on the inner side of the interval."""
    v = np.asarray(value, dtype=dtype)
    if (v < value and toward > value) or (v > value and toward < value):
        v = np.nextafter(v, np.asarray(toward, dtype=dtype))
    return float(v)


class HypothesisDraw:
    """:class:`~autodiff.sampling.Draw` over Hypothesis's ``st.data()``."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def integers(self, lo: int, hi: int) -> int:
        return int(self.data.draw(st.integers(lo, hi)))

    def floats(self, shape: tuple[int, ...], lo: float, hi: float, dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        width: Literal[32, 64] = 32 if dtype == np.float32 else 64
        elements = st.floats(_bound(lo, hi, dtype), _bound(hi, lo, dtype), allow_nan=False, allow_infinity=False,
                             allow_subnormal=False, width=width)
        return np.asarray(self.data.draw(hnp.arrays(dtype, shape, elements=elements)))

    def booleans(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray(self.data.draw(hnp.arrays(np.bool_, shape)))

    def shapes(self, n: int, min_dims: int = 0, max_dims: int = 3, max_side: int = 3) -> list[tuple[int, ...]]:
        if n == 1:
            return [self.data.draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1,
                                                    max_side=max_side))]
        drawn = self.data.draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=min_dims, max_dims=max_dims,
                                                                 min_side=1, max_side=max_side))
        return list(drawn.input_shapes)

    def choice(self, options: Sequence[Any]) -> Any:
        return self.data.draw(st.sampled_from(list(options)))


__all__ = ["HypothesisDraw"]
