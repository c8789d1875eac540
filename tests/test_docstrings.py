"""Every example in a docstring runs and prints what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import autodiff
import nn

MODULES = sorted(
    name for package in (autodiff, nn)
    for _, name, _ in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
) + ["autodiff", "nn"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as e:  # a module of an optional extra (nn.sklearn) says which one to install
        if "chainrule[" not in str(e):
            raise
        pytest.skip(str(e))
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
