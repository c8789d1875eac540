"""Python numbers passed to a jitted function: eager NumPy treats them as weakly typed (a
float32 array times 1.5 stays float32), a traced argument is a value of the default
dtype. Where the two would differ, jit says so (or runs eagerly with fallback=True)."""

import numpy as np
import pytest

import autodiff as ad
from autodiff.compile import TraceError


def scale(x, a):
    return x * a


def test_a_number_meeting_float32_is_refused_naming_the_line():
    x32 = np.ones(3, np.float32)
    assert (ad.Tensor(x32) * 1.5).dtype == np.float32  # eager keeps float32
    with pytest.raises(TraceError, match=r"argument 1 .*float32.*test_compile_scalars.py:\d+ in scale"):
        ad.jit(scale)(x32, 1.5)
    f = ad.jit(scale, fallback=True)
    for a in (1.5, 2.5, 3.5):
        out = f(x32, a)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, x32 * a)


def test_numbers_meeting_float64_or_float32_numbers_compile():
    f = ad.jit(scale)
    for a in (1.5, 2.5, 3.5):
        np.testing.assert_array_equal(f(np.ones(3), a), np.ones(3) * a)
    assert f.ran is not None
    g = ad.jit(scale)
    for a in (1.5, 2.5, 3.5):
        out = g(np.ones(3, np.float32), np.float32(a))
        assert out.dtype == np.float32
    assert g.ran is not None


def test_an_integer_argument_used_as_a_count_gets_a_hint():
    def repeat(x, n):
        for _ in range(n):
            x = x * 2
        return x
    with pytest.raises(TypeError, match=r"argument 1 is a Python int.*keyword"):
        ad.jit(repeat)(np.ones(2), 3)
    np.testing.assert_array_equal(ad.jit(repeat)(np.ones(2), n=3), np.full(2, 8.0))
