"""Bad inputs to nn, by group: each raises the expected exception type with a message that
names the function (or class) and the offending argument, value or shape."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from nn import init, metrics, optim
from nn.optim import lr_scheduler as S


def P():
    return [nn.Parameter(np.zeros(2))]


def sgd():
    return optim.SGD(P(), lr=0.1)


OPTIMIZERS = [
    (lambda: optim.SGD(P(), lr=-1), ValueError, r"SGD: lr must be >= 0, got -1"),
    (lambda: optim.SGD(P(), lr="a"), TypeError, r"SGD: lr must be a real number, got 'a'"),
    (lambda: optim.SGD(P(), lr=float("nan")), ValueError, r"SGD: lr must be finite, got nan"),
    (lambda: optim.SGD(P(), lr=0.1, momentum=-0.1), ValueError, r"SGD: momentum must be >= 0, got -0.1"),
    (lambda: optim.SGD(P(), lr=0.1, nesterov=True), ValueError,
     r"SGD: nesterov=True requires momentum > 0 and dampening = 0, got momentum=0.0"),
    (lambda: optim.SGD(P(), weight_decay=-0.5), ValueError, r"SGD: weight_decay must be >= 0, got -0.5"),
    (lambda: optim.Adam(P(), betas=(1.0, 0.9)), ValueError, r"Adam: betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda: optim.AdamW(P(), betas=(0.9, -0.1)), ValueError, r"AdamW: betas\[1\] must be in \[0, 1\), got -0.1"),
    (lambda: optim.Adam(P(), betas=0.9), TypeError, r"Adam: betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda: optim.Adam(P(), eps=-1e-8), ValueError, r"Adam: eps must be >= 0, got -1e-08"),
    (lambda: optim.Adam(P(), amsgrad="yes"), TypeError, r"Adam: amsgrad must be True or False, got 'yes'"),
    (lambda: optim.RMSprop(P(), alpha=-1), ValueError, r"RMSprop: alpha must be >= 0, got -1"),
    (lambda: optim.Adagrad(P(), lr_decay=-1), ValueError, r"Adagrad: lr_decay must be >= 0, got -1"),
    (lambda: optim.Adadelta(P(), rho=1.5), ValueError, r"Adadelta: rho must be in \[0, 1\], got 1.5"),
    (lambda: optim.Adamax(P(), betas=(0.9, 1.0)), ValueError, r"Adamax: betas\[1\] must be in \[0, 1\), got 1.0"),
    (lambda: optim.NAdam(P(), momentum_decay=-1), ValueError, r"NAdam: momentum_decay must be >= 0, got -1"),
    (lambda: optim.RAdam(P(), weight_decay=-1), ValueError, r"RAdam: weight_decay must be >= 0, got -1"),
    (lambda: optim.LBFGS(P(), max_iter=0), ValueError, r"LBFGS: max_iter must be > 0, got 0"),
    (lambda: optim.LBFGS(P(), line_search_fn="armijo"), ValueError,
     r"LBFGS: line_search_fn must be None \(a fixed step\) or 'strong_wolfe', got 'armijo'"),
    (lambda: optim.LBFGS(P(), history_size=2.5), TypeError, r"LBFGS: history_size must be an integer, got 2.5"),
    (lambda: optim.SGD(P()[0]), TypeError, r"SGD: params must be an iterable of Tensors .* got Parameter"),
    (lambda: optim.SGD([]), ValueError, r"SGD: got an empty parameter list"),
    (lambda: optim.SGD([np.zeros(2)]), TypeError, r"SGD: parameter 0 is a ndarray, not a Tensor"),
    (lambda: optim.SGD([ad.Tensor(np.zeros(2, np.int64))]), TypeError, r"SGD: parameter 0 has dtype int64"),
    (lambda: optim.SGD([P()[0] * 2]), ValueError,
     r"SGD: parameter 0 is not a leaf Tensor \(it was computed by 'mul'\)"),
    (lambda: optim.SGD([{"params": P(), "foo": 1}]), TypeError, r"SGD: unknown hyperparameter 'foo'"),
    (lambda: sgd().load_state_dict({"x": 1}), ValueError, r"SGD.load_state_dict: expected a dict with 'state' and "
                                                          r"'param_groups' .*got \['x'\]"),
    (lambda: optim.clip_grad_norm_(P(), -1), ValueError, r"clip_grad_norm_: max_norm must be >= 0, got -1"),
    (lambda: optim.clip_grad_value_(P(), "a"), TypeError, r"clip_grad_value_: clip_value must be a real number"),
]

SCHEDULERS = [
    (lambda: S.StepLR(sgd(), step_size=0), ValueError, r"StepLR: step_size must be > 0, got 0"),
    (lambda: S.StepLR(sgd(), step_size=2.5), TypeError, r"StepLR: step_size must be an integer, got 2.5"),
    (lambda: S.StepLR("opt", 1), TypeError, r"StepLR: expected an Optimizer, got str"),
    (lambda: S.ExponentialLR(sgd(), gamma=-1), ValueError, r"ExponentialLR: gamma must be >= 0, got -1"),
    (lambda: S.CosineAnnealingLR(sgd(), T_max=0), ValueError, r"CosineAnnealingLR: T_max must be > 0, got 0"),
    (lambda: S.LinearLR(sgd(), start_factor=0), ValueError, r"LinearLR: start_factor must be in \(0, 1\], got 0"),
    (lambda: S.InverseTimeLR(sgd(), decay=-0.1), ValueError, r"InverseTimeLR: decay must be >= 0, got -0.1"),
    (lambda: S.MultiStepLR(sgd(), milestones=[-1]), ValueError, r"MultiStepLR: milestones must be >= 0, got -1"),
    (lambda: S.LambdaLR(sgd(), 3), TypeError, r"LambdaLR: lr_lambda must be a function of the step, got int"),
    (lambda: S.LambdaLR(sgd(), lambda t: "x"), TypeError, r"LambdaLR: lr_lambda\(0\) must be a real number, got 'x'"),
    (lambda: S.LambdaLR(sgd(), [lambda t: 1.0] * 2), ValueError,
     r"LambdaLR: expected 1 values of lr_lambda \(one per parameter group\), got 2"),
    (lambda: S.OneCycleLR(sgd(), max_lr=1), ValueError, r"OneCycleLR: give total_steps, or epochs and steps_per_epoch"),
    (lambda: S.OneCycleLR(sgd(), max_lr=1, total_steps=10, pct_start=2), ValueError,
     r"OneCycleLR: pct_start must be in \[0, 1\], got 2"),
    (lambda: S.OneCycleLR(sgd(), max_lr=1, total_steps=10, anneal_strategy="exp"), ValueError,
     r"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    (lambda: S.OneCycleLR(optim.Adagrad(P()), max_lr=1, total_steps=10), ValueError,
     r"OneCycleLR: Adagrad has no momentum or betas to cycle"),
    (lambda: S.ReduceLROnPlateau(sgd(), factor=1.0), ValueError, r"ReduceLROnPlateau: factor must be < 1.0, got 1.0"),
    (lambda: S.ReduceLROnPlateau(sgd(), mode="up"), ValueError, r"ReduceLROnPlateau: mode must be 'min' or 'max'"),
    (lambda: S.ReduceLROnPlateau(sgd(), patience=-1), ValueError, r"ReduceLROnPlateau: patience must be >= 0, got -1"),
    (lambda: S.ReduceLROnPlateau(sgd()).step(), TypeError, r"ReduceLROnPlateau.step: needs the monitored value"),
    (lambda: S.ReduceLROnPlateau(sgd()).step("a"), TypeError,
     r"ReduceLROnPlateau.step: the monitored value must be a number, got 'a'"),
    (lambda: S.CosineAnnealingWarmRestarts(sgd(), T_0=1, T_mult=0), ValueError,
     r"CosineAnnealingWarmRestarts: T_mult must be > 0, got 0"),
    (lambda: S.SequentialLR(sgd(), [S.StepLR(sgd(), 1)], milestones=[]), ValueError,
     r"SequentialLR: scheduler 0 steps a different optimizer"),
    (lambda: S.StepLR(sgd(), 1).load_state_dict({"x": 1}), KeyError, r"StepLR.load_state_dict: unexpected key 'x'"),
]


def lin():
    return nn.Linear(2, 1, seed=0)


def fit(**kw):
    model = lin()
    args = dict(X=np.zeros((3, 2)), y=np.zeros((3, 1)), progress=False)
    args.update(kw)
    return nn.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), **args)


DATA_AND_FIT = [
    (lambda: nn.DataLoader(np.zeros((0, 2)), np.zeros(0)), ValueError, r"DataLoader: the data is empty \(0 samples\)"),
    (lambda: nn.DataLoader(np.zeros((3, 2)), batch_size=0), ValueError, r"DataLoader: batch_size must be > 0, got 0"),
    (lambda: nn.DataLoader(np.zeros((3, 2)), batch_size=2.5), TypeError,
     r"DataLoader: batch_size must be an integer, got 2.5"),
    (lambda: nn.DataLoader(np.zeros((3, 2)), np.zeros(2)), ValueError, r"DataLoader: X has 3 samples but y has 2"),
    (lambda: nn.DataLoader(np.array([["a", "b"]]), np.zeros(1)), TypeError,
     r"DataLoader: X has dtype <U1, not numbers"),
    (lambda: nn.DataLoader(3.0), ValueError, r"DataLoader: X must have a first \(samples\) axis, got a scalar"),
    (lambda: nn.DataLoader(np.zeros((3, 2)), shuffle="yes"), TypeError, r"DataLoader: shuffle must be True or False"),
    (lambda: nn.DataLoader(np.zeros((3, 2)), seed="a"), TypeError,
     r"seed must be a non-negative integer or None, got 'a'"),
    (lambda: nn.DataLoader(np.zeros((3, 2)), collate_fn=3), TypeError, r"DataLoader: collate_fn must be a function"),
    (lambda: next(iter(nn.DataLoader([(np.zeros(2), 1), (np.zeros(3), 1)], batch_size=2))), ValueError,
     r"default_collate: samples have different shapes \[\(2,\), \(3,\)\]"),
    (lambda: nn.TensorDataset(np.zeros(3), np.zeros(2)), ValueError,
     r"TensorDataset: arrays have different lengths \[3, 2\]"),
    (lambda: nn.random_split(nn.TensorDataset(np.zeros(4)), [0.5, 0.6]), ValueError,
     r"random_split: lengths must be counts or fractions summing to 1, got \[0.5, 0.6\]"),
    (lambda: nn.random_split(3, [1]), TypeError, r"random_split: expected a dataset .* got int"),
    (lambda: nn.Subset(nn.TensorDataset(np.zeros(4)), [5]), IndexError, r"Subset: indices must be in \[0, 4\)"),
    (lambda: nn.train_test_split(np.zeros((5, 2)), test_size=0), ValueError,
     r"train_test_split: test_size must be > 0, got 0"),
    (lambda: fit(epochs=-1), ValueError, r"fit: epochs must be >= 0, got -1"),
    (lambda: fit(epochs=1.5), TypeError, r"fit: epochs must be an integer, got 1.5"),
    (lambda: fit(batch_size=0), ValueError, r"fit: batch_size must be > 0, got 0"),
    (lambda: fit(batch_size=2.5), TypeError, r"fit: batch_size must be an integer, got 2.5"),
    (lambda: fit(X=np.zeros((0, 2)), y=np.zeros((0, 1))), ValueError, r"fit: X and y are empty \(0 samples\)"),
    (lambda: fit(y=np.zeros((2, 1))), ValueError, r"fit: X has 3 samples but y has 2"),
    (lambda: fit(y=None), ValueError, r"fit: give targets y with the inputs X, or a DataLoader"),
    (lambda: fit(validation_data=np.zeros(3)), TypeError, r"fit: validation_data must be a pair \(X_val, y_val\)"),
    (lambda: fit(validation_data=(np.zeros((3, 2)), np.zeros(2))), ValueError,
     r"fit validation_data: X has 3 samples but y has 2"),
    (lambda: fit(progress="no"), TypeError, r"fit: progress must be True or False, got 'no'"),
    (lambda: fit(callbacks=[3]), TypeError, r"fit: callbacks must be Callbacks, got int"),
    (lambda: nn.fit(lambda x: x, nn.MSELoss(), optim.SGD(P()), np.zeros((3, 2)), np.zeros((3, 1))), TypeError,
     r"fit: model must be an nn.Module, got function"),
    (lambda: nn.fit(lin(), nn.MSELoss(), "sgd", np.zeros((3, 2)), np.zeros((3, 1))), TypeError,
     r"fit: optimizer must have step\(\) and zero_grad\(\), got str"),
    (lambda: nn.EarlyStopping(patience=-1), ValueError, r"EarlyStopping: patience must be >= 0, got -1"),
    (lambda: nn.EarlyStopping(mode="best"), ValueError, r"EarlyStopping: mode must be 'min', 'max' or 'auto'"),
    (lambda: nn.evaluate(lin(), nn.MSELoss(), np.zeros((2, 2)), np.zeros((2, 1)), batch_size=0), ValueError,
     r"evaluate: batch_size must be > 0, got 0"),
]

METRICS = [
    (lambda: metrics.accuracy([0, 1, 1], [0, 1]), ValueError, r"accuracy: 3 true labels but 2 predictions"),
    (lambda: metrics.accuracy([], []), ValueError, r"accuracy: no samples"),
    (lambda: metrics.accuracy(np.zeros((2, 2, 2)), np.zeros((2, 2, 2))), ValueError,
     r"accuracy: y_true must have shape \(N,\), \(N, 1\) or \(N, C\), got \(2, 2, 2\)"),
    (lambda: metrics.accuracy(["a"], ["b"]), TypeError, r"accuracy: y_true must be numbers, got dtype <U1"),
    (lambda: metrics.accuracy([1, 0], [np.nan, 0.2]), ValueError, r"accuracy: y_pred holds NaN"),
    (lambda: metrics.accuracy([1, 0], [2.5, -1.0]), ValueError, r"accuracy: y_pred holds continuous values outside"),
    (lambda: metrics.confusion_matrix([-1], [0]), ValueError, r"confusion_matrix: labels must be >= 0, got -1"),
    (lambda: metrics.confusion_matrix([0, 2], [0, 1], num_classes=2), ValueError,
     r"confusion_matrix: num_classes must be an integer >= 3 .* got 2"),
    (lambda: metrics.mean_squared_error([], []), ValueError, r"mean_squared_error: no samples"),
    (lambda: metrics.mean_squared_error([1.0, 2.0], [[1.0, 2.0]]), ValueError,
     r"mean_squared_error: y_true shape \(2,\) and y_pred shape \(1, 2\) differ"),
    (lambda: metrics.r2_score([1.0], [1.0]), ValueError, r"r2_score: needs at least 2 samples, got 1"),
]

LOSSES = [
    (lambda: F.mse_loss(ad.Tensor(np.zeros(3)), np.zeros(2)), ValueError,
     r"mse_loss: input shape \(3,\) and target shape \(2,\) differ"),
    (lambda: F.l1_loss(ad.Tensor(np.zeros(3)), np.zeros(3), "avg"), ValueError,
     r"l1_loss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    (lambda: nn.MSELoss(reduction="avg"), ValueError, r"MSELoss: reduction must be one of .* got 'avg'"),
    (lambda: F.huber_loss(ad.Tensor(np.zeros(3)), np.zeros(3), delta=0), ValueError,
     r"huber_loss: delta must be a positive number, got 0"),
    (lambda: nn.SmoothL1Loss(beta=-1), ValueError, r"SmoothL1Loss: beta must be >= 0, got -1"),
    (lambda: F.binary_cross_entropy(ad.Tensor([1.5]), np.ones(1)), ValueError,
     r"binary_cross_entropy: input must be probabilities in \[0, 1\], got values in \[1.5, 1.5\]"),
    (lambda: F.binary_cross_entropy_with_logits(ad.Tensor(np.zeros((2, 3))), np.zeros((2, 3)), pos_weight=np.ones(2)),
     ValueError, r"binary_cross_entropy_with_logits: pos_weight of shape \(2,\) does not broadcast with input shape"),
    (lambda: F.cross_entropy(ad.Tensor(np.zeros((2, 3))), np.array([0, 3])), ValueError,
     r"cross_entropy: labels must be in \[0, 2\] for 3 classes .* got \[3\]"),
    (lambda: F.cross_entropy(ad.Tensor(np.zeros((2, 3))), np.array([True, False, True])), ValueError,
     r"cross_entropy: expected class labels of shape \(2,\) .* got target of shape \(3,\)"),
    (lambda: F.cross_entropy(ad.Tensor(np.zeros((2, 3))), np.array(["a", "b"])), TypeError,
     r"cross_entropy: class labels must be integers, got dtype <U1"),
    (lambda: F.cross_entropy(ad.Tensor(np.zeros((2, 3))), np.array([0, 1]), weight=[1.0, 2.0]), ValueError,
     r"cross_entropy: weight must have one entry per class, shape \(3,\), got shape \(2,\)"),
    (lambda: F.cross_entropy(ad.Tensor(np.zeros((2, 3))), np.array([0, 1]), label_smoothing=2), ValueError,
     r"cross_entropy: label_smoothing must be in \[0, 1\], got 2"),
    (lambda: F.cross_entropy(ad.Tensor(1.0), np.array(0)), ValueError, r"cross_entropy: expected logits of shape"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=-1), ValueError,
     r"CrossEntropyLoss: label_smoothing must be in \[0, 1\], got -1"),
    (lambda: nn.NLLLoss(ignore_index=0.5), TypeError, r"NLLLoss: ignore_index must be an integer, got 0.5"),
    (lambda: F.nll_loss(ad.Tensor(np.zeros((2, 3))), np.array([0.5, 1.0])), TypeError,
     r"nll_loss: class labels must be integers, got non-integer values"),
    (lambda: F.kl_div(ad.Tensor(np.zeros(3)), np.zeros(3), "avg"), ValueError,
     r"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', got 'avg'"),
    (lambda: nn.KLDivLoss(log_target=1), TypeError, r"KLDivLoss: log_target must be True or False, got 1"),
    (lambda: F.cosine_similarity(ad.Tensor(np.zeros(3)), np.zeros(3)), ValueError,
     r"cosine_similarity: dim 1 is out of range for shape \(3,\)"),
    (lambda: F.cosine_similarity(ad.Tensor(np.zeros((2, 3))), np.zeros((4, 3))), ValueError,
     r"cosine_similarity: shapes \(2, 3\) and \(4, 3\) do not broadcast"),
    (lambda: F.cosine_embedding_loss(ad.Tensor(np.zeros((2, 3))), np.zeros((2, 4)), np.ones(2)), ValueError,
     r"cosine_embedding_loss: inputs must both have shape \(N, D\) or \(D,\), got \(2, 3\) and \(2, 4\)"),
    (lambda: F.margin_ranking_loss(ad.Tensor(np.zeros(3)), np.zeros(2), np.ones(3)), ValueError,
     r"margin_ranking_loss: input1 shape \(3,\) and input2 shape \(2,\) differ"),
    (lambda: F.hinge_embedding_loss(ad.Tensor(np.zeros(3)), np.ones(2)), ValueError,
     r"hinge_embedding_loss: target must have shape \(3,\), got \(2,\)"),
    (lambda: nn.HingeEmbeddingLoss(margin="a"), TypeError, r"HingeEmbeddingLoss: margin must be a real number"),
]

MODULES_AND_INIT = [
    (lambda: nn.Linear(2.5, 3), TypeError, r"Linear: in_features must be an integer, got 2.5"),
    (lambda: nn.Linear(2, 0), ValueError, r"Linear: out_features must be > 0, got 0"),
    (lambda: nn.Linear(2, 3, init="foo"), ValueError, r"init: unknown initialiser 'foo'"),
    (lambda: nn.Linear(2, 3)(np.zeros((2, 4))), ValueError,
     r"Linear\(in_features=2.*expected input with 2 features in its last dimension, got shape \(2, 4\)"),
    (lambda: nn.MLP([3, 2.5]), TypeError, r"MLP: sizes must be an integer, got 2.5"),
    (lambda: nn.BatchNorm1d(0), ValueError, r"BatchNorm1d: num_features must be > 0, got 0"),
    (lambda: nn.BatchNorm1d(3, eps=-1), ValueError, r"BatchNorm1d: eps must be >= 0, got -1"),
    (lambda: nn.BatchNorm1d(3, momentum=2), ValueError, r"BatchNorm1d: momentum must be in \[0, 1\], got 2"),
    (lambda: nn.Dropout(1.0), ValueError, r"Dropout: p must be in \[0, 1\), got 1.0"),
    (lambda: nn.Dropout("a"), TypeError, r"Dropout: p must be a real number, got 'a'"),
    (lambda: F.dropout(np.ones(2), p=-0.1), ValueError, r"dropout: p must be in \[0, 1\), got -0.1"),
    (lambda: nn.Sequential(3), TypeError, r"Sequential: expected Modules, got int"),
    (lambda: nn.ModuleList([3]), TypeError, r"ModuleList: expected Modules, got int"),
    (lambda: lin().load_state_dict([1]), TypeError,
     r"load_state_dict: expected a mapping of names to arrays, got list"),
    (lambda: lin().train("no"), TypeError, r"train: mode must be a bool, got str"),
    (lambda: init.glorot_uniform((-1, 2), np.random.default_rng(0)), ValueError,
     r"glorot_uniform: shape must be a tuple of non-negative integers, got \(-1, 2\)"),
    (lambda: init.normal((2, 2), np.random.default_rng(0), std=-1), ValueError, r"normal: std must be >= 0, got -1"),
    (lambda: init.he_normal((2, 2), 3), TypeError, r"rng must be a numpy.random.Generator, got int"),
    (lambda: init.constant((2,), "a"), TypeError, r"constant: value must be a real number, got 'a'"),
]


def _cases(group):
    return pytest.mark.parametrize("make, exc, message", group, ids=[m for _, _, m in group])


@_cases(OPTIMIZERS)
def test_optimizers(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@_cases(SCHEDULERS)
def test_schedulers(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@_cases(DATA_AND_FIT)
def test_data_and_fit(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@_cases(METRICS)
def test_metrics(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@_cases(LOSSES)
def test_losses(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


@_cases(MODULES_AND_INIT)
def test_modules_and_init(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


def test_zero_size_initialisation_is_an_empty_array():
    assert init.he_uniform((0, 3), np.random.default_rng(0)).shape == (0, 3)
