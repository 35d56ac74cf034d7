"""A sweep of extreme inputs over every public classifier.

Each estimator is fitted on separable and non-separable data with sample
weights from 1e-300 to 1e307 and with a constant column from 1e-30 to 1e30,
with and without an intercept, in float64 and float32. Every fit must give:

- finite scores and probabilities that sum to one;
- no fit that counts as converged (no ConvergenceWarning) while its final
  training objective is above where it started;
- where only the scale of the weights changed, the predictions of the fit
  with unit weights;
- with a constant column, about the accuracy of the same data without it
  (with an intercept the column carries nothing; without one it is the
  intercept).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

ESTIMATORS = {
    "SoftmaxSGD": lambda **p: SoftmaxSGD(**p),
    "MulticlassSVMSGD": lambda **p: MulticlassSVMSGD(**p),
    "SoftmaxSGDCV": lambda **p: SoftmaxSGDCV(alphas=[1e-4, 1e-2], cv=2, **p),
    "MulticlassSVMSGDCV": lambda **p: MulticlassSVMSGDCV(alphas=[1e-4], cv=2, **p),
}
DATA = {"separable": 0.4, "overlapping": 2.5}
WEIGHT_SCALES = [1e-300, 1e-150, 1e-20, 1e20, 1e150, 1e307]
CONSTANTS = [1e-30, 1e-8, 1e8, 1e30]


def _data(spread, dtype=np.float64):
    X, y = make_blobs(150, n_features=6, centers=3, cluster_std=spread, random_state=0)
    return X.astype(dtype), y


def _fit(make, X, y, sample_weight=None, **params):
    """The fitted estimator and whether it warned that it did not converge."""
    model = make(max_iter=40, random_state=0, **params)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model.fit(X, y, sample_weight=sample_weight)
    warned = any(issubclass(r.category, ConvergenceWarning) for r in records)
    return model, warned


def _check_fit(model, warned, X):
    scores = model.decision_function(X)
    assert np.isfinite(scores).all()
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-4)
    if not warned:
        # Converged: the objective ended below where training started.
        assert model.loss_curve_[-1] <= model.initial_loss_, (
            model.loss_curve_[-1],
            model.initial_loss_,
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_the_scale_of_the_weights_changes_nothing(name, data, dtype):
    X, y = _data(DATA[data], dtype)
    ratios = np.random.default_rng(0).uniform(0.25, 1.0, len(y))
    reference, warned = _fit(ESTIMATORS[name], X, y)
    _check_fit(reference, warned, X)
    with_ratios, _ = _fit(ESTIMATORS[name], X, y, ratios)
    for scale in WEIGHT_SCALES:
        if dtype == np.float32 and not 1e-38 < scale < 1e38:
            limit = np.finfo(np.float32)
            scale = min(max(scale, float(limit.tiny) * 4), float(limit.max) / 4)
        uniform, warned = _fit(ESTIMATORS[name], X, y, np.full(len(y), scale))
        _check_fit(uniform, warned, X)
        np.testing.assert_array_equal(uniform.predict(X), reference.predict(X))
        scaled, warned = _fit(ESTIMATORS[name], X, y, ratios * scale)
        _check_fit(scaled, warned, X)
        np.testing.assert_array_equal(scaled.predict(X), with_ratios.predict(X))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("data", list(DATA))
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_constant_column_of_any_magnitude_trains(name, data, fit_intercept):
    X, y = _data(DATA[data])
    # Without an intercept the reference has its own column of ones.
    reference_X = X if fit_intercept else np.c_[X, np.ones(len(X))]
    reference, _ = _fit(ESTIMATORS[name], reference_X, y, fit_intercept=fit_intercept)
    expected = reference.score(reference_X, y)
    for value in CONSTANTS:
        for dtype in (np.float64, np.float32):
            X_const = np.c_[X, np.full(len(X), value)].astype(dtype)
            model, warned = _fit(
                ESTIMATORS[name], X_const, y, fit_intercept=fit_intercept
            )
            _check_fit(model, warned, X_const)
            assert model.score(X_const, y) >= expected - 0.05, (value, dtype)
