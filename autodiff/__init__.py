"""autodiff: reverse-mode automatic differentiation on NumPy.

>>> import autodiff as ad
>>> x = ad.Tensor([1.0, 2.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
Tensor([2., 4.])
"""
# ruff: noqa: I001  (tensor must load first: it wires its operators to the primitive table)

from typing import Any as _Any  # private: `autodiff.Any` is not part of the API

from .tensor import Tensor, tensor

from .creation import (
    arange,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    zeros,
    zeros_like,
)
from .draw import render, to_dot
from .engine import backward, gradients
from .functions import (
    astype,
    broadcast_to,
    clip,
    concatenate,
    dot,
    einsum,
    elu,
    expand_dims,
    flatten,
    getitem,
    leaky_relu,
    linear,
    log_softmax,
    logsumexp,
    max,
    mean,
    min,
    relu6,
    reshape,
    softmax,
    squeeze,
    stack,
    sum,
    swapaxes,
    tensordot,
    transpose,
    var,
    where,
)
from .aliases import TensorLike
from .graph import summary, topo_order, trace
from .mode import detect_anomaly, enable_grad, get_default_dtype, is_grad_enabled, no_grad, set_default_dtype
from .primitive import Primitive, primitive
from .primitives import (
    abs,
    add,
    cos,
    div,
    exp,
    log,
    log1p,
    matmul,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    pow as power,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    sub,
    tan,
    tanh,
)
from .windows import fold, unfold
from .primitives_math import (
    arccos,
    arccos as acos,
    arccosh,
    arccosh as acosh,
    arcsin,
    arcsin as asin,
    arcsinh,
    arcsinh as asinh,
    arctan,
    arctan as atan,
    arctan2,
    arctan2 as atan2,
    arctanh,
    arctanh as atanh,
    cbrt,
    cosh,
    deg2rad,
    erf,
    erfc,
    exp2,
    expm1,
    hypot,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    rad2deg,
    reciprocal,
    sinc,
    sinh,
    square,
)
from .primitives_piecewise import ceil, clip_bounds, floor, floor_divide, fmax, fmin, fmod, remainder, sign, trunc
from .elementwise import around, clamp, degrees, fix, mod, nan_to_num, radians, rint, round
from .activations import (
    celu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    selu,
    silu,
    softmin,
    softsign,
)
from .transforms import grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, value_and_grad, vjp
from .compile import jit
from . import linalg

from .cumulative import cumprod, cumsum, logcumsumexp, prod
from .shapes import (
    atleast_1d, atleast_2d, atleast_3d, diff, flip, fliplr, flipud, moveaxis, pad, ravel, repeat, roll, rot90, tile,
)
from .indexing import (
    cross, diag, diagonal, gather, index_add, inner, kron, outer, scatter_add, take, take_along_axis, tril, triu,
)
from .joins import array_split, column_stack, dsplit, dstack, hsplit, hstack, meshgrid, split, vsplit, vstack
from .reductions import (
    all, any, argmax, argmin, argsort, average, count_nonzero, median, nanmean, nansum, percentile, quantile, sort,
    std,
)

__version__ = "0.1.0"

_SYMBOLIC = ("to_sympy", "from_sympy", "check_against_sympy")


def __getattr__(name: str) -> _Any:
    # the SymPy bridge loads SymPy (slow to import) only when first used
    if name in _SYMBOLIC:
        from . import symbolic

        return getattr(symbolic, name)
    raise AttributeError(f"module 'autodiff' has no attribute '{name}'")


__all__ = [
    "Primitive", "Tensor", "TensorLike", "__version__", "abs", "check_against_sympy", "from_sympy", "render", "summary",
    "to_dot", "to_sympy", "topo_order", "trace", "add", "astype", "backward", "broadcast_to", "clip",
    "concatenate", "cos", "detect_anomaly", "div", "dot", "einsum", "elu", "enable_grad", "exp", "expand_dims",
    "flatten", "get_default_dtype", "getitem", "grad", "gradients", "hessian", "hvp", "is_grad_enabled", "jacfwd",
    "jacobian", "jacrev", "jit", "jvp", "vjp", "linalg",
    "leaky_relu", "linear", "log", "log1p", "log_softmax", "logsumexp", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mul", "neg", "no_grad", "pow", "power", "primitive", "relu", "relu6", "reshape",
    "set_default_dtype", "sigmoid", "sin", "softmax", "softplus", "sqrt", "squeeze", "stack", "sub", "sum",
    "swapaxes", "tan", "tanh", "tensor", "tensordot", "transpose", "value_and_grad", "var", "where",
    "arange", "eye", "from_numpy", "full", "full_like", "linspace", "ones", "ones_like", "rand", "randint", "randn",
    "zeros", "zeros_like", "fold", "unfold",
    "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "around", "asin",
    "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "celu", "clamp", "clip_bounds", "cosh", "deg2rad", "degrees",
    "erf", "erfc", "exp2", "expm1", "fix", "floor", "floor_divide", "fmax", "fmin", "fmod", "gelu", "glu",
    "hardsigmoid", "hardswish", "hardtanh", "hypot", "log2", "log10", "logaddexp", "logaddexp2", "logsigmoid",
    "mish", "mod", "nan_to_num", "rad2deg", "radians", "reciprocal", "remainder", "rint", "round", "selu", "sign",
    "silu", "sinc", "sinh", "softmin", "softsign", "square", "trunc",
]
__all__ += [  # reductions, shapes and indexing (cumulative, reductions, shapes, joins, indexing)
    "all", "any", "argmax", "argmin", "argsort", "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "average",
    "column_stack", "count_nonzero", "cross", "cumprod", "cumsum", "diag", "diagonal", "diff", "dsplit", "dstack",
    "flip", "fliplr", "flipud", "gather", "hsplit", "hstack", "index_add", "inner", "kron", "logcumsumexp",
    "median", "meshgrid", "moveaxis", "nanmean", "nansum", "outer", "pad", "percentile", "prod", "quantile", "ravel",
    "repeat", "roll", "rot90", "scatter_add", "sort", "split", "std", "take", "take_along_axis", "tile", "tril",
    "triu", "vsplit", "vstack",
]
