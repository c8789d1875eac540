"""nn: neural networks composed purely of autodiff Tensors.

>>> import nn
>>> from nn import optim
>>> model = nn.Sequential(nn.Linear(2, 4, seed=0), nn.Tanh(), nn.Linear(4, 1, seed=1))
>>> opt = optim.SGD(model.parameters(), lr=0.1)
"""

import importlib
from typing import Any

from . import data, datasets, functional, init, metrics, optim
from .activations import (
    CELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    LogSoftmax,
    Mish,
    SiLU,
    Softmin,
    Softsign,
)
from .compile import compile_step
from .containers import ModuleDict, ModuleList
from .conv import Conv1d, Conv2d
from .data import DataLoader, Dataset, Subset, TensorDataset, random_split, train_test_split
from .embedding import Embedding
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
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Buffer, Module, Parameter
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    Flatten,
    LayerNorm,
    MaxPool1d,
    MaxPool2d,
    Unflatten,
)
from .port import from_torch_state_dict, load_torch_state_dict, to_torch_state_dict
from .rnn import GRU, LSTM, RNN
from .rnn_cells import GRUCell, LSTMCell, RNNCell
from .training import Callback, EarlyStopping, History, TrainingDiagnostics, evaluate, fit


def __getattr__(name: str) -> Any:
    # nn.sklearn needs scikit-learn, so it loads on first use (its ImportError names the extra)
    if name == "sklearn":
        return importlib.import_module(".sklearn", __name__)
    raise AttributeError(f"module 'nn' has no attribute '{name}'")


__all__ = [
    "ELU", "MLP", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "Callback", "CrossEntropyLoss", "DataLoader",
    "Dropout", "EarlyStopping", "History", "HuberLoss", "Identity", "L1Loss", "LeakyReLU", "Linear", "MSELoss",
    "Module", "Parameter", "ReLU", "ReLU6", "Sequential", "Sigmoid", "Softmax", "Softplus", "Tanh",
    "TrainingDiagnostics", "compile_step", "datasets", "evaluate", "fit", "functional", "get_activation", "init",
    "load", "metrics", "optim", "save", "train_test_split",
    "Buffer", "ModuleDict", "ModuleList",
    "CosineEmbeddingLoss", "HingeEmbeddingLoss", "KLDivLoss", "MarginRankingLoss", "NLLLoss", "SmoothL1Loss",
    "Dataset", "Subset", "TensorDataset", "data", "random_split",
    "Embedding", "GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell",
    "from_torch_state_dict", "load_torch_state_dict", "to_torch_state_dict",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "Flatten", "LayerNorm",
    "MaxPool1d", "MaxPool2d", "Unflatten",
    "CELU", "GELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "Hardtanh", "LogSigmoid", "LogSoftmax", "Mish", "SiLU",
    "Softmin", "Softsign",
]
