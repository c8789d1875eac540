"""Optimizers, gradient clipping and learning-rate schedulers (PyTorch's formulas)."""

from . import lecture, lr_scheduler  # lecture: the course's own variants (nn.optim.lecture.Adam, ...)
from .lbfgs import LBFGS
from .optimizer import Optimizer, ParamsLike, clip_grad_norm_, clip_grad_value_
from .optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop

__all__ = ["LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "NAdam", "Optimizer", "ParamsLike",
           "RAdam", "RMSprop", "clip_grad_norm_", "clip_grad_value_", "lecture", "lr_scheduler"]
