"""Gradient check and initial-loss check."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear._engine import LinearObjective
from sklinear.diagnostics import gradient_check, initial_loss_check, objective

LOSS_CONFIGS = [
    MulticlassSVMSGD(loss="hinge", margin=1.0),
    MulticlassSVMSGD(loss="hinge", multi_class="crammer_singer", margin=2.0),
    MulticlassSVMSGD(loss="squared_hinge", margin=0.5),
    MulticlassSVMSGD(loss="squared_hinge", multi_class="crammer_singer"),
    SoftmaxSGD(),
]
PENALTIES = [("l2", {}), ("elasticnet", {"l1_ratio": 0.4}), ("l1", {}), (None, {})]


def _data(seed, n_classes=4, sparse=False):
    X, y = make_classification(
        n_samples=60,
        n_features=8,
        n_informative=5,
        n_classes=n_classes,
        random_state=seed,
    )
    weight = np.random.default_rng(seed).uniform(0.2, 2.0, len(y))
    return X, y, weight


@pytest.mark.parametrize("estimator", LOSS_CONFIGS, ids=repr)
@pytest.mark.parametrize("penalty, extra", PENALTIES)
@pytest.mark.parametrize("seed", range(3))
def test_gradient_check_at_trained_parameters(estimator, penalty, extra, seed):
    X, y, weight = _data(seed)
    model = (
        clone(estimator)
        .set_params(
            penalty=penalty,
            alpha=0.05,
            max_iter=3,
            tol=None,
            random_state=seed,
            **extra,
        )
        .fit(X, y, sample_weight=weight)
    )
    errors = gradient_check(model, X, y, weight, n_checks=30, random_state=seed)
    assert errors.max() < 1e-6, errors


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gradient_check_unfitted_binary_and_no_intercept(fit_intercept):
    X, y, _ = _data(0, n_classes=2)
    for estimator in LOSS_CONFIGS:
        estimator = clone(estimator).set_params(fit_intercept=fit_intercept, alpha=0.1)
        assert gradient_check(estimator, X, y, random_state=0).max() < 1e-6


def test_gradient_check_detects_a_wrong_gradient(monkeypatch):
    X, y, _ = _data(0)
    model = SoftmaxSGD(alpha=0.1, random_state=0)

    def wrong(self, params, X, y_index, weight, out=None):
        value = original(self, params, X, y_index, weight, out)
        if out is not None:
            out *= 1.01
        return value

    original = LinearObjective.value_and_grad
    monkeypatch.setattr(LinearObjective, "value_and_grad", wrong)
    assert gradient_check(model, X, y, random_state=0).min() > 1e-3


@pytest.mark.parametrize(
    "estimator, expected",
    [
        (MulticlassSVMSGD(margin=1.0), 9.0),
        (MulticlassSVMSGD(margin=3.0), 27.0),
        (MulticlassSVMSGD(multi_class="crammer_singer"), 1.0),
        (SoftmaxSGD(), np.log(10)),
    ],
    ids=repr,
)
def test_initial_loss_is_about_the_expected_value(estimator, expected):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(500, 40)), np.arange(500) % 10
    estimator = clone(estimator).set_params(random_state=0)
    check = initial_loss_check(estimator, X, y)
    assert check.expected == pytest.approx(expected)
    assert check.loss == pytest.approx(expected, rel=0.02)
    fitted = estimator.set_params(max_iter=1).fit(X, y)
    assert fitted.initial_loss_ == pytest.approx(expected, rel=0.02)
    assert fitted.expected_initial_loss_ == pytest.approx(expected)


def test_objective_matches_loss_curve_for_full_batch_gradient_descent():
    X, y, _ = _data(1)
    params = {
        "batch_size": None,
        "penalty": "elasticnet",
        "alpha": 0.01,
        "optimizer": "sgd",
        "tol": None,
        "random_state": 0,
    }
    one = SoftmaxSGD(max_iter=1, **params).fit(X, y)
    two = SoftmaxSGD(max_iter=2, **params).fit(X, y)
    # With one full batch, an epoch's objective is that of the epoch's start.
    assert two.loss_curve_[0] == one.loss_curve_[0]
    assert two.loss_curve_[1] == pytest.approx(objective(one, X, y), rel=1e-6)


def test_diagnostics_reject_unknown_labels_and_wrong_width():
    X, y, _ = _data(0)
    model = SoftmaxSGD(max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="unknown"):
        gradient_check(model, X, y + 10)
    with pytest.raises(ValueError, match="features"):
        objective(model, X[:, :3], y)
