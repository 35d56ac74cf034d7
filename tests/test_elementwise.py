"""The step's elementwise work by row blocks equals the whole-array work.

Large parameter arrays (the many models of a one-pass search) are updated
block of rows by block of rows (sklinear._elementwise). Every
element goes through the same operations, so the fitted models must be
bitwise equal to those of the whole-array path, for every optimizer and
penalty and with the centering offset, the preconditioner and averaging.
"""

from functools import partial

import numpy as np
import pytest
from sklearn.datasets import make_classification

import sklinear._elementwise as elementwise
from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

CONFIGS = [
    (SoftmaxSGD, {"optimizer": "adam"}),
    (SoftmaxSGD, {"optimizer": "sgd", "average": True, "penalty": "elasticnet"}),
    (SoftmaxSGD, {"optimizer": "rmsprop", "penalty": "l1"}),
    (SoftmaxSGD, {"optimizer": "adagrad", "max_norm": 0.5}),
    (MulticlassSVMSGD, {"optimizer": "momentum"}),
    (MulticlassSVMSGD, {"optimizer": "nesterov", "learning_rate_init": 1e-3}),
    (MulticlassSVMSGD, {"optimizer": "adam", "average": 20, "dropout": 0.2}),
    (SoftmaxSGD, {"fit_intercept": False, "average": True}),
    (SoftmaxSGD, {"learning_rate": "adaptive", "early_stopping": True}),
]


@pytest.fixture
def data():
    X, y = make_classification(
        n_samples=300, n_features=40, n_informative=20, n_classes=4, random_state=0
    )
    return X * 5 + 3, y


def _fitted(estimator, X, y):
    estimator.fit(X, y)
    return estimator.coef_.copy(), estimator.intercept_.copy()


def _blocked(monkeypatch):
    """Every array is blocked, in blocks of a few rows."""
    monkeypatch.setattr(elementwise, "MIN_ELEMENTS", 1)
    monkeypatch.setattr(elementwise, "BLOCK_ELEMENTS", 16)


@pytest.mark.parametrize("Estimator, params", CONFIGS)
def test_blocked_step_is_bitwise_the_whole_array_step(
    monkeypatch, data, Estimator, params
):
    X, y = data
    make = partial(Estimator, max_iter=4, tol=None, random_state=0, **params)
    expected = _fitted(make(), X, y)
    with monkeypatch.context() as patch:
        _blocked(patch)
        got = _fitted(make(), X, y)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


@pytest.mark.parametrize(
    "Search, grid",
    [
        (SoftmaxSGDCV, {"alphas": [1e-4, 1e-2], "learning_rates": [1e-3, 1e-2]}),
        (MulticlassSVMSGDCV, {"alphas": [1e-4, 1e-2], "margins": [0.5, 1.0]}),
    ],
)
def test_blocked_one_pass_search_is_bitwise_the_whole_array_search(
    monkeypatch, data, Search, grid
):
    X, y = data
    make = partial(Search, cv=3, max_iter=3, tol=None, random_state=0, **grid)
    expected = make().fit(X, y).cv_results_["mean_test_score"]
    with monkeypatch.context() as patch:
        _blocked(patch)
        got = make().fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_array_equal(got, expected)


def test_small_arrays_are_not_blocked_and_large_ones_cover_every_row():
    assert elementwise.row_blocks((65, 10)) is None
    blocks = elementwise.row_blocks((3073, 480))
    assert blocks[0].start == 0 and blocks[-1].stop == 3073
    assert all(a.stop == b.start for a, b in zip(blocks[:-1], blocks[1:], strict=True))
    assert len(blocks) > 2
