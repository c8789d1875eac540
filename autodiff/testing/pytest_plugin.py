"""pytest fixtures for gradient tests, loaded automatically when chainrule is installed
(entry point ``pytest11``)::

    def test_my_loss(check_grads):
        check_grads(my_loss, x, y)            # FD, fwd and rev, to second order

    def test_my_primitive(verify_primitive):
        verify_primitive(my_cube, domain=(-2, 2))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(name="check_grads")
def check_grads_fixture() -> Callable[..., bool]:
    """:func:`autodiff.testing.check_grads`."""
    from .checks import check_grads as fn

    return fn


@pytest.fixture(name="verify_primitive")
def verify_primitive_fixture() -> Callable[..., Any]:
    """:func:`autodiff.testing.verify_primitive`."""
    from .checks import verify_primitive as fn

    return fn
