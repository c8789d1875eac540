"""Packaging: the license file matches the metadata; optional extras are named when missing."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_license_file_matches_the_metadata():
    assert re.search(r'^license = "MIT"$', (ROOT / "pyproject.toml").read_text(), re.M)
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_strategies_without_hypothesis_name_the_dev_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "hypothesis" or m.startswith("hypothesis.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    monkeypatch.delitem(sys.modules, "autodiff.testing.strategies", raising=False)
    with pytest.raises(ImportError, match=r"needs Hypothesis, part of the 'dev' extra: pip install 'chainrule\[dev\]'"):
        importlib.import_module("autodiff.testing.strategies")
