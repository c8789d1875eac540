"""Compiled mode: trace a function through the primitive table into a straight-line
program, run passes over it and generate NumPy code (a layer above the engine).

``jit`` compiles functions of Tensors and arrays; ``nn.compile_step`` builds on it.
"""

from .jit import Jitted, jit
from .program import Program
from .trace import TraceError

__all__ = ["Jitted", "Program", "TraceError", "jit"]
