"""Functional transforms in the style of JAX and HIPS autograd. They compose to any order.

Reverse mode: ``grad``, ``value_and_grad``, ``vjp``, ``jacrev`` (alias ``jacobian``), ``hvp``.
Forward mode: ``jvp``, ``jacfwd``, ``hessian`` (forward over reverse).

Plain inputs (numbers, lists, arrays, and pytrees of them) give plain ndarray results
when nothing else in the computation requires grad. Tensor inputs, or a function whose
graph reaches a tensor that requires grad (an enclosing transform's variable, a model
parameter), give Tensors that stay on the graph, which is how an outer transform
differentiates an inner one (see ``autodiff.transforms.core``).
"""

from .forward import hessian, jacfwd, jvp
from .reverse import grad, hvp, jacobian, jacrev, value_and_grad, vjp

__all__ = ["grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp", "value_and_grad", "vjp"]
