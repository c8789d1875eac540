"""Optimizers, gradient clipping and learning-rate schedulers (PyTorch's formulas)."""

from . import lecture, lr_scheduler  # lecture: the course's own variants (nn.optim.lecture.Adam, ...)
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop, clip_grad_norm_, clip_grad_value_

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "clip_grad_norm_", "clip_grad_value_",
           "lr_scheduler"]
__all__ += ["lecture"]
