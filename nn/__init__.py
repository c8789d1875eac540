"""nn: neural networks composed purely of autodiff Tensors.

>>> import nn
>>> from nn import optim
>>> model = nn.Sequential(nn.Linear(2, 4, seed=0), nn.Tanh(), nn.Linear(4, 1, seed=1))
>>> opt = optim.SGD(model.parameters(), lr=0.1)
"""

from . import datasets, functional, init, metrics, optim
from .compile import compile_step
from .data import DataLoader, train_test_split
from .io import load, save
from .layers import (
    ELU,
    MLP,
    BatchNorm1d,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    ReLU6,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    get_activation,
)
from .losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from .module import Buffer, Module, ModuleDict, ModuleList, Parameter
from .training import Callback, EarlyStopping, History, TrainingDiagnostics, evaluate, fit

__all__ = [
    "ELU", "MLP", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "Callback", "CrossEntropyLoss", "DataLoader",
    "Dropout", "EarlyStopping", "History", "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear", "MSELoss",
    "Module", "Parameter", "ReLU", "ReLU6", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "TrainingDiagnostics", "compile_step", "datasets", "evaluate", "fit", "functional", "get_activation", "init",
    "load", "metrics", "optim", "save", "train_test_split",
    "Buffer", "ModuleDict", "ModuleList",
]
