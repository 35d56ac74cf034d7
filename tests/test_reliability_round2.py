"""Reliability, round 2: the one-pass search, stopping, extreme weights and columns.

Each test here failed before its fix: a ``refit=False`` search that kept the
previous model, ``*CV`` fits that were not atomic, a stopping rule that never
fired once its measure reached zero, weights whose sum overflowed, constant
columns that broke the automatic rate, folds that could not be trained but
were scored, and messages that did not say what was wrong.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning, NotFittedError
from sklearn.linear_model import LogisticRegression

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV
from sklinear._optimizers import OPTIMIZERS

CV_ESTIMATORS = [SoftmaxSGDCV, MulticlassSVMSGDCV]
PLAIN_ESTIMATORS = [SoftmaxSGD, MulticlassSVMSGD]
GRADIENT_OPTIMIZERS = [name for name in OPTIMIZERS if name != "random_search"]


def _blobs(cluster_std=3.0):
    return make_blobs(
        300, n_features=10, centers=3, cluster_std=cluster_std, random_state=0
    )


def _state(model):
    return pickle.dumps(vars(model))


def _no_warnings_of(category, records):
    return [str(r.message) for r in records if issubclass(r.category, category)]


# ------------------------------------------- 1. refit=False keeps no model


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_refit_false_after_a_refit_leaves_no_model(Estimator):
    X, y = _blobs()
    search = Estimator(alphas=[1e-3], cv=3, random_state=0)
    search.fit(X, np.array(list("abc"))[y])
    assert search.coef_.shape == (3, 10)
    assert search.refit_time_ > 0.0
    X2 = np.random.default_rng(1).standard_normal((300, 10))
    y2 = np.array(list("wxyz"))[np.arange(300) % 4]
    search.set_params(refit=False).fit(X2, y2)
    assert search.classes_.tolist() == list("wxyz")
    assert search.best_params_ == {"alpha": 1e-3, "learning_rate_init": "auto"} or (
        search.best_params_["alpha"] == 1e-3
    )
    for name in (
        "coef_",
        "intercept_",
        "loss_curve_",
        "n_iter_",
        "temperature_",
        "refit_time_",
    ):
        assert not hasattr(search, name), name
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError, match="refit=False"):
            getattr(search, method)(X2)


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_refit_false_on_a_first_fit_predicts_nothing(Estimator):
    X, y = _blobs()
    search = Estimator(alphas=[1e-3, 1e-2], cv=3, refit=False, random_state=0)
    search.fit(X, y)
    assert set(search.cv_results_) >= {"mean_test_score", "params"}
    with pytest.raises(NotFittedError, match="refit=True"):
        search.predict(X)


# ---------------------------------------------- 2. a failed *CV fit is atomic


def _failing_calls(X, y):
    nan_X = X.copy()
    nan_X[0, 0] = np.nan
    return {
        "binary scorer on 3 classes, other width": (
            {"scoring": "roc_auc"},
            (X[:, :4], y),
        ),
        "NaN in X": ({}, (nan_X, y)),
        "every candidate diverges": (
            {"optimizer": "sgd", "learning_rates": [1e30]},
            (X * 1e30, y),
        ),
        "unknown class_weight key": ({"class_weight": {7: 1.0}}, (X, y)),
        "a bad cv": ({"cv": []}, (X, y)),
        "only one class": ({}, (X, np.zeros(len(y), dtype=int))),
    }


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
@pytest.mark.parametrize("case", list(_failing_calls(*_blobs())))
def test_a_failed_search_leaves_the_previous_one_intact(Estimator, case):
    import pandas as pd

    X, y = _blobs()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    search = Estimator(alphas=[1e-3], cv=3, random_state=0).fit(frame, y)
    before = _state(search)
    predictions = search.predict(frame)
    params, (X_bad, y_bad) = _failing_calls(X, y)[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((ValueError, FloatingPointError)):
            search.set_params(**params).fit(X_bad, y_bad)
    search.set_params(**{name: Estimator().get_params()[name] for name in params})
    search.set_params(alphas=[1e-3], cv=3)
    assert _state(search) == before
    np.testing.assert_array_equal(search.predict(frame), predictions)
    assert list(search.feature_names_in_) == list(frame.columns)


# ------------------------------------------------ 3. stopping at a zero measure


def test_hinge_loss_reaching_zero_stops_the_plain_fit():
    X, y = _blobs()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model = MulticlassSVMSGD(penalty=None, random_state=0).fit(X, y)
    assert model.loss_curve_[-1] == 0.0
    assert model.n_iter_ < model.max_iter
    assert not _no_warnings_of(ConvergenceWarning, records)


def test_a_perfect_validation_score_stops_early_stopping():
    X, y = _blobs(cluster_std=0.5)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model = SoftmaxSGD(early_stopping=True, random_state=0).fit(X, y)
    assert model.validation_scores_[-1] == 1.0
    assert model.n_iter_ <= model.n_iter_no_change + 2
    assert not _no_warnings_of(ConvergenceWarning, records)


@pytest.mark.parametrize(
    "Estimator, params, cluster_std",
    [
        (MulticlassSVMSGDCV, {"penalty": None}, 3.0),
        (SoftmaxSGDCV, {"early_stopping": True}, 0.5),
        (MulticlassSVMSGDCV, {"early_stopping": True}, 0.5),
    ],
)
def test_the_search_stops_at_a_zero_measure(Estimator, params, cluster_std):
    X, y = _blobs(cluster_std)
    search = Estimator(alphas=[1e-3], cv=3, random_state=0, **params)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        search.fit(X, y)
    assert search.cv_results_["max_n_iter"].max() < search.max_iter
    assert search.n_iter_ < search.max_iter
    assert not _no_warnings_of(ConvergenceWarning, records)


def test_tol_zero_gives_no_runtime_warning():
    X, y = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = SoftmaxSGD(tol=0, max_iter=3, random_state=0).fit(X, y)
    assert model.n_iter_ == 3


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask.array")
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
        silence_logs=50,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_stops_once_the_hinge_loss_reaches_zero(dask_client):
    import dask.array as da

    from sklinear.dask import DaskSGD

    X, y = _blobs()
    model = DaskSGD(MulticlassSVMSGD(penalty=None, random_state=0))
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model.fit(da.from_array(X, chunks=150), y)
    assert model.estimator_.loss_curve_[-1] == 0.0
    assert model.estimator_.n_iter_ < 100
    assert not _no_warnings_of(ConvergenceWarning, records)


# ---------------------------------------------- 4. the scale of the weights


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("Estimator", PLAIN_ESTIMATORS)
@pytest.mark.parametrize(
    "dtype, scale", [(np.float64, 1e307), (np.float64, 1e-300), (np.float32, 1e37)]
)
def test_uniform_weights_of_any_scale_give_the_unweighted_fit(
    Estimator, optimizer, dtype, scale
):
    X, y = _blobs()
    X = X.astype(dtype)
    params = {"optimizer": optimizer, "max_iter": 20, "random_state": 0}
    reference = Estimator(**params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        weighted = Estimator(**params).fit(X, y, sample_weight=np.full(300, scale))
    assert np.isfinite(weighted.loss_curve_).all()
    np.testing.assert_array_equal(weighted.coef_, reference.coef_)
    np.testing.assert_array_equal(weighted.predict(X), reference.predict(X))


@pytest.mark.parametrize("optimizer", GRADIENT_OPTIMIZERS)
def test_huge_class_weights_give_the_unweighted_fit(optimizer):
    X, y = _blobs()
    params = {"optimizer": optimizer, "max_iter": 20, "random_state": 0}
    reference = SoftmaxSGD(**params).fit(X, y)
    weighted = SoftmaxSGD(class_weight=dict.fromkeys(range(3), 1e308), **params)
    weighted.fit(X, y, sample_weight=np.full(300, 1e307))
    np.testing.assert_array_equal(weighted.coef_, reference.coef_)


def test_only_the_ratios_of_the_weights_matter():
    X, y = _blobs()
    ratios = np.random.default_rng(0).uniform(0.5, 2.0, 300)
    fits = [
        SoftmaxSGD(max_iter=20, random_state=0).fit(X, y, sample_weight=ratios * s)
        for s in (1.0, 1e300, 1e-300)
    ]
    for fit in fits[1:]:
        np.testing.assert_allclose(fit.coef_, fits[0].coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(fit.predict(X), fits[0].predict(X))


# --------------------------------------------- 5. a large constant column


@pytest.mark.parametrize("optimizer", GRADIENT_OPTIMIZERS)
@pytest.mark.parametrize(
    "value, fit_intercept", [(1000.0, False), (100.0, False), (1e20, True)]
)
def test_a_large_constant_column_trains(optimizer, value, fit_intercept):
    X, y = _blobs()
    X = np.c_[X, np.full((len(X), 1), value)]
    reference = LogisticRegression(fit_intercept=fit_intercept).fit(X, y).score(X, y)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        model = SoftmaxSGD(
            optimizer=optimizer, fit_intercept=fit_intercept, random_state=0
        ).fit(X, y)
    assert model.score(X, y) >= reference - 0.02
    assert model.loss_curve_[-1] < model.initial_loss_
    assert not _no_warnings_of(ConvergenceWarning, records)


@pytest.mark.parametrize("Estimator", PLAIN_ESTIMATORS)
@pytest.mark.parametrize("value", [1000.0, 1e20, 1e200])
def test_random_search_treats_a_constant_column_as_a_column_of_ones(Estimator, value):
    """Without an intercept a constant column is the intercept, at any scale."""
    X, y = _blobs()
    model = Estimator(optimizer="random_search", fit_intercept=False, random_state=0)
    reference = np.c_[X, np.ones(len(X))]
    expected = model.fit(reference, y).score(reference, y)
    scaled = np.c_[X, np.full(len(X), value)]
    assert model.fit(scaled, y).score(scaled, y) == pytest.approx(expected, abs=0.03)


def test_an_objective_that_rises_is_not_converged():
    X, y = _blobs()
    with pytest.warns(ConvergenceWarning, match="more than twice where it started"):
        SoftmaxSGD(optimizer="sgd", learning_rate_init=10.0, random_state=0).fit(
            X * 100, y
        )


# --------------------------------------------- 6. folds that cannot be trained


def _zero_weight_fold_case():
    X, y = _blobs()
    first, rest = np.arange(100), np.arange(100, 300)
    cv = [(first, rest), (rest, first), (np.arange(300), first)]
    weight = np.r_[np.zeros(100), np.ones(200)]
    return X, y, cv, weight


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_a_fold_without_weight_is_scored_error_score_with_a_warning(Estimator):
    X, y, cv, weight = _zero_weight_fold_case()
    search = Estimator(alphas=[1e-3, 1e-2], cv=cv, random_state=0)
    with pytest.warns(FitFailedWarning, match="split 0: the sample weights"):
        search.fit(X, y, sample_weight=weight)
    assert np.isnan(search.cv_results_["split0_test_score"]).all()
    assert np.isfinite(search.cv_results_["split1_test_score"]).all()
    assert np.isnan(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_a_single_class_fold_is_scored_error_score(Estimator):
    X, y = _blobs()
    cv = [
        (np.flatnonzero(y == 0), np.arange(300)),
        (np.arange(200), np.arange(200, 300)),
    ]
    search = Estimator(alphas=[1e-3], cv=cv, error_score=0.0, random_state=0)
    with pytest.warns(FitFailedWarning, match=r"split 0: only one class .*\[0\]"):
        search.fit(X, y)
    assert search.cv_results_["split0_test_score"].tolist() == [0.0]
    assert search.cv_results_["mean_test_score"][0] == pytest.approx(
        search.cv_results_["split1_test_score"][0] / 2
    )


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_error_score_raise_names_the_fold(Estimator):
    X, y, cv, weight = _zero_weight_fold_case()
    search = Estimator(alphas=[1e-3], cv=cv, error_score="raise")
    with pytest.raises(ValueError, match="cv split 0 cannot be trained"):
        search.fit(X, y, sample_weight=weight)


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_no_trainable_fold_is_an_error(Estimator):
    X, y = _blobs()
    weight = np.r_[np.ones(100), np.zeros(200)]
    cv = [(np.arange(100, 300), np.arange(100))]
    with pytest.raises(ValueError, match="No cv split can be trained"):
        Estimator(cv=cv).fit(X, y, sample_weight=weight)


# ------------------------------------------------------------ messages


@pytest.mark.parametrize(
    "labels, match",
    [
        (["a", 1, "b", 2] * 75, "mixes labels of different types: number"),
        (["a", None, "b", "a"] * 75, "None"),
        (["a", np.nan, "b", "a"] * 75, "NaN"),
    ],
)
@pytest.mark.parametrize("Estimator", PLAIN_ESTIMATORS + CV_ESTIMATORS)
def test_mixed_labels_are_named(Estimator, labels, match):
    X, _ = _blobs()
    with pytest.raises(ValueError, match=match):
        Estimator().fit(X, np.array(labels, dtype=object))


@pytest.mark.parametrize("Estimator", PLAIN_ESTIMATORS + CV_ESTIMATORS)
def test_an_unknown_class_weight_key_is_named(Estimator):
    X, y = _blobs()
    with pytest.raises(ValueError, match=r"keys \[7\] that are not classes"):
        Estimator(class_weight={7: 1.0}).fit(X, y)


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_a_scorer_returning_nan_is_not_called_divergence(Estimator):
    X, y = _blobs()
    search = Estimator(alphas=[1e-3], cv=3, scoring=lambda est, X, y: np.nan)
    with pytest.warns(
        UserWarning, match="the scorer returned NaN or failed on splits"
    ) as w:
        search.fit(X, y)
    assert not any("diverged" in str(r.message) for r in w)


@pytest.mark.parametrize(
    "cv, match",
    [
        ([], "gave no .train, test. split"),
        ([(np.arange(200), np.arange(200, 400))], r"out of range for 300 samples"),
        ([(np.arange(300), np.arange(0))], "split 0 has an empty test set"),
    ],
)
@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_bad_cv_splits_are_named(Estimator, cv, match):
    X, y = _blobs()
    with pytest.raises(ValueError, match=match):
        Estimator(cv=cv).fit(X, y)


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_a_binary_scorer_on_more_classes_names_the_multiclass_one(Estimator):
    X, y = _blobs()
    with pytest.raises(ValueError, match="roc_auc_ovr"):
        Estimator(scoring="roc_auc", cv=3).fit(X, y)


@pytest.mark.parametrize("Estimator", CV_ESTIMATORS)
def test_grid_values_may_be_any_iterable(Estimator):
    X, y = _blobs()
    from_set = Estimator(alphas={0.01, 0.001}, cv=3, random_state=0).fit(X, y)
    from_list = Estimator(alphas=[0.001, 0.01], cv=3, random_state=0).fit(X, y)
    assert [p["alpha"] for p in from_set.cv_results_["params"]] == [0.001, 0.01]
    np.testing.assert_array_equal(
        from_set.cv_results_["mean_test_score"],
        from_list.cv_results_["mean_test_score"],
    )


@pytest.mark.parametrize("Estimator", PLAIN_ESTIMATORS + CV_ESTIMATORS)
def test_a_categorical_column_is_named(Estimator):
    pd = pytest.importorskip("pandas")
    X, y = _blobs()
    frame = pd.DataFrame(X[:, :3], columns=["p", "q", "r"])
    frame["colour"] = pd.Categorical(np.array(["red", "blue"])[y % 2])
    with pytest.raises(ValueError, match="Column 'colour' of X .*OneHotEncoder"):
        Estimator().fit(frame, y)


@pytest.mark.parametrize("Estimator", PLAIN_ESTIMATORS)
@pytest.mark.parametrize("params", [{}, {"early_stopping": True, "average": False}])
def test_the_private_fitted_state_is_listed(Estimator, params):
    """A refit copies, and a new search drops, exactly the listed private state."""
    from sklinear._base import FITTED_STATE

    X, y = _blobs()
    model = Estimator(random_state=0, **params).fit(X, y)
    private = {
        name for name in vars(model) if name.startswith("_") and not name.endswith("_")
    }
    assert private <= set(FITTED_STATE)
    assert set(FITTED_STATE) <= set(vars(model))
