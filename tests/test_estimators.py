"""Behaviour of MulticlassSVMSGD and SoftmaxSGD."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklinear import DivergenceError, MulticlassSVMSGD, SoftmaxSGD
from sklinear._optimizers import OPTIMIZERS
from sklinear.diagnostics import objective

ESTIMATORS = [MulticlassSVMSGD, SoftmaxSGD]
GRADIENT_OPTIMIZERS = [name for name in OPTIMIZERS if name != "random_search"]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _blobs(n_classes=3, n_samples=300, seed=0):
    X, y = make_blobs(
        n_samples=n_samples,
        centers=n_classes,
        n_features=5,
        cluster_std=2.0,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


# ------------------------------------------------------------------ optimum


def _logistic_optimum(X, y, C):
    reference = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(X, y)
    alpha = 1.0 / (C * len(y))
    value = log_loss(y, reference.predict_proba(X)) + alpha / 2 * np.sum(
        reference.coef_**2
    )
    return alpha, value


def test_softmax_reaches_the_logistic_regression_optimum(digits):
    X, y = digits
    alpha, optimum = _logistic_optimum(X, y, C=1.0)
    model = SoftmaxSGD(
        alpha=alpha,
        batch_size=None,
        learning_rate_init=0.05,
        max_iter=600,
        tol=None,
        random_state=0,
    ).fit(X, y)
    assert (objective(model, X, y) - optimum) / optimum < 1e-3


def test_minibatch_softmax_gets_close_to_the_optimum(digits):
    X, y = digits
    alpha, optimum = _logistic_optimum(X, y, C=1.0)
    model = SoftmaxSGD(
        alpha=alpha,
        learning_rate="step",
        lr_decay=0.98,
        learning_rate_init=0.05,
        max_iter=300,
        tol=None,
        random_state=0,
    ).fit(X, y)
    assert (objective(model, X, y) - optimum) / optimum < 3e-2


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("optimizer", GRADIENT_OPTIMIZERS)
def test_every_gradient_optimizer_lowers_the_objective(Estimator, optimizer):
    X, y = _blobs()
    lr = {"sgd": 0.1, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.1}.get(
        optimizer, 0.01
    )
    model = Estimator(
        optimizer=optimizer,
        learning_rate_init=lr,
        alpha=1e-2,
        max_iter=60,
        tol=None,
        random_state=0,
    )
    model.fit(X, y)
    start = Estimator(max_iter=1, random_state=0, alpha=1e-2).fit(X, y).initial_loss_
    assert model.loss_curve_[-1] < 0.5 * start
    assert np.mean(model.loss_curve_[-5:]) < np.mean(model.loss_curve_[:5])
    assert model.score(X, y) > 0.9


def test_random_search_improves_but_less_than_sgd():
    X, y = _blobs()
    search = MulticlassSVMSGD(
        optimizer="random_search",
        learning_rate_init=0.05,
        max_iter=30,
        tol=None,
        random_state=0,
    ).fit(X, y)
    sgd = MulticlassSVMSGD(max_iter=30, tol=None, random_state=0).fit(X, y)
    assert search.loss_curve_[-1] < 0.5 * search.initial_loss_
    assert sgd.loss_curve_[-1] < search.loss_curve_[-1]


def test_hinge_loss_reaches_zero_on_separable_data():
    centers = [[-3, -3], [-3, 3], [3, -3], [3, 3]]
    X, y = make_blobs(n_samples=200, centers=centers, cluster_std=0.3, random_state=0)
    model = MulticlassSVMSGD(penalty=None, max_iter=60, tol=None, random_state=0)
    model.fit(X, y)
    assert model.loss_curve_[-1] == 0.0
    assert model.score(X, y) == 1.0


# ------------------------------------------------------------------ penalties


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adagrad"])
def test_l1_gives_exact_zeros(digits, optimizer):
    X, y = digits
    params = {
        "alpha": 5e-3,
        "max_iter": 30,
        "optimizer": optimizer,
        "random_state": 0,
        "learning_rate_init": 0.1 if optimizer == "sgd" else 0.01,
    }
    model = SoftmaxSGD(penalty="l1", **params).fit(X, y)
    dense = SoftmaxSGD(penalty="l2", **params).fit(X, y)
    assert np.mean(model.coef_ == 0) > 0.15
    assert np.mean(dense.coef_ == 0) < np.mean(model.coef_ == 0) / 10
    assert model.score(X, y) > 0.85


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_max_norm_is_never_exceeded(Estimator, digits):
    X, y = digits
    model = Estimator(
        max_norm=0.5,
        penalty=None,
        learning_rate_init=0.05,
        average=False,  # the norm of the last iterate reaches the bound
        random_state=0,
    )
    classes = np.unique(y)
    for start in range(0, len(y), 200):
        model.partial_fit(X[start : start + 200], y[start : start + 200], classes)
        norms = np.linalg.norm(model.coef_, axis=1)
        assert norms.max() <= 0.5 * (1 + 1e-6)
    assert norms.max() == pytest.approx(0.5, rel=1e-3)


def test_dropout_trains_and_predicts_deterministically(digits):
    X, y = digits
    model = SoftmaxSGD(dropout=0.5, max_iter=30, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))
    plain = SoftmaxSGD(max_iter=30, random_state=0).fit(X, y)
    assert not np.allclose(model.coef_, plain.coef_)


def test_dropout_on_sparse_input():
    X, y = _blobs()
    model = MulticlassSVMSGD(dropout=0.2, max_iter=20, random_state=0)
    model.fit(sp.csr_matrix(X), y)
    assert model.score(X, y) > 0.9


# ------------------------------------------------------------------ inputs


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_float32_stays_float32(Estimator):
    X, y = _blobs()
    model = Estimator(max_iter=5, random_state=0).fit(X.astype(np.float32), y)
    assert model.coef_.dtype == np.float32
    assert model.intercept_.dtype == np.float32
    assert model.decision_function(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("shuffle", [True, False])
def test_float32_fit_makes_no_copy_of_X(shuffle):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 400), dtype=np.float32)
    y = rng.integers(0, 10, 20_000)
    model = SoftmaxSGD(max_iter=2, shuffle=shuffle, random_state=0)
    tracemalloc.start()
    model.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.1 * X.nbytes


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_sparse_and_dense_give_the_same_model(Estimator, dropout):
    X, y = make_classification(
        n_samples=200, n_features=30, n_informative=10, n_classes=3, random_state=0
    )
    X[np.abs(X) < 0.8] = 0.0
    params = {"max_iter": 10, "random_state": 0, "alpha": 1e-3}
    dense = Estimator(**params).fit(X, y)
    sparse = Estimator(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-8)
    if dropout:
        # Dropout masks are drawn per stored entry for sparse input: same
        # distribution, different draws.
        return
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-8)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "labels",
    [np.array(["cat", "dog", "frog"]), np.array([-1, 1]), np.array([3, 7, 11, 12])],
    ids=["strings", "minus-one-one", "gapped-integers"],
)
def test_any_label_type(Estimator, labels):
    X, y_index = _blobs(n_classes=len(labels))
    y = labels[y_index]
    model = Estimator(max_iter=30, random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    assert model.score(X, y) > 0.9
    assert set(model.predict(X)) <= set(labels)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_binary_shapes(Estimator):
    X, y = _blobs(n_classes=2)
    model = Estimator(max_iter=10, random_state=0).fit(X, y)
    assert model.coef_.shape == (1, X.shape[1])
    assert model.intercept_.shape == (1,)
    decision = model.decision_function(X)
    assert decision.shape == (len(y),)
    np.testing.assert_array_equal(model.predict(X), model.classes_[(decision > 0) * 1])


# ------------------------------------------------------------------ proba


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 4])
def test_predict_proba_invariants(Estimator, n_classes):
    X, y_index = _blobs(n_classes=n_classes)
    labels = np.array(["ant", "bee", "cow", "doe"])[:n_classes]
    y = labels[y_index]
    model = Estimator(max_iter=20, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), n_classes)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(
        model.classes_[proba.argmax(axis=1)], model.predict(X)
    )
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-12)


def test_softmax_proba_is_softmax_of_decision_function():
    X, y = _blobs(n_classes=3)
    model = SoftmaxSGD(max_iter=10, random_state=0).fit(X, y)
    scores = model.decision_function(X)
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(model.predict_proba(X), expected, rtol=1e-10)


def test_svm_temperature_minimizes_held_out_log_loss():
    X, y = make_classification(
        n_samples=2000,
        n_features=20,
        n_informative=5,
        n_classes=4,
        flip_y=0.1,
        random_state=0,
    )
    model = MulticlassSVMSGD(
        early_stopping=True, validation_fraction=0.3, max_iter=30, random_state=0
    ).fit(X, y)
    assert model.temperature_ > 0
    scores = model.decision_function(X)

    def loss_at(temperature):
        scaled = scores / temperature
        proba = np.exp(scaled - scaled.max(axis=1, keepdims=True))
        return log_loss(y, proba / proba.sum(axis=1, keepdims=True))

    fitted = loss_at(model.temperature_)
    assert fitted <= loss_at(1.0) + 1e-3
    assert fitted <= loss_at(model.temperature_ * 1.5) + 1e-3
    assert fitted <= loss_at(model.temperature_ / 1.5) + 1e-3


def test_svm_temperature_stays_finite_on_separable_data():
    X, y = make_blobs(n_samples=200, centers=3, cluster_std=0.2, random_state=0)
    model = MulticlassSVMSGD(max_iter=50, random_state=0).fit(X, y)
    proba = model.predict_proba(X)
    assert 0.9 < proba.max(axis=1).mean() < 1.0


# ------------------------------------------------------------------ training loop


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_partial_fit_epochs_equal_fit_epochs(Estimator):
    X, y = _blobs()
    fitted = Estimator(max_iter=4, tol=None, random_state=0).fit(X, y)
    incremental = Estimator(random_state=0)
    for _ in range(4):
        incremental.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_allclose(incremental.coef_, fitted.coef_, rtol=1e-12)
    assert incremental.loss_curve_ == pytest.approx(fitted.loss_curve_, rel=1e-12)
    assert incremental.n_iter_ == fitted.n_iter_ == 4
    assert incremental.t_ == fitted.t_ == 4 * len(y)


def test_partial_fit_errors():
    X, y = _blobs()
    model = SoftmaxSGD()
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    model.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes_"):
        model.partial_fit(X, np.full(len(y), 7))
    with pytest.raises(ValueError, match="differs from classes_"):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="balanced"):
        SoftmaxSGD(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_partial_fit_accepts_chunks_missing_classes():
    X, y = _blobs()
    model = SoftmaxSGD(random_state=0)
    order = np.argsort(y, kind="stable")
    for chunk in np.array_split(order, 6):
        model.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert model.n_iter_ == 6


def test_warm_start_continues_from_the_previous_solution():
    X, y = _blobs()
    model = SoftmaxSGD(max_iter=5, tol=None, warm_start=True, random_state=0)
    model.fit(X, y)
    first = model.coef_.copy()
    model.fit(X, y)
    assert model.t_ == 10 * len(y)
    assert model.initial_loss_ > model.loss_curve_[0]
    cold = SoftmaxSGD(max_iter=5, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(first, cold.coef_)
    with pytest.raises(ValueError, match="warm_start"):
        model.fit(X, (y + 1) % 4 + 10)


def test_early_stopping_records_validation_scores():
    X, y = make_classification(
        n_samples=600, n_features=10, n_classes=3, n_informative=5, random_state=0
    )
    model = MulticlassSVMSGD(
        early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0
    ).fit(X, y)
    assert len(model.validation_scores_) == model.n_iter_ < 200
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None
    plain = MulticlassSVMSGD(max_iter=3, random_state=0).fit(X, y)
    assert plain.validation_scores_ is None
    assert plain.best_loss_ == min(plain.loss_curve_)


def test_tolerance_stops_training_and_none_runs_max_iter():
    X, y = _blobs()
    stopped = SoftmaxSGD(
        tol=1e-2, n_iter_no_change=2, max_iter=500, random_state=0
    ).fit(X, y)
    assert stopped.n_iter_ < 500
    with pytest.warns(ConvergenceWarning, match="max_iter=7"):
        SoftmaxSGD(max_iter=7, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        full = SoftmaxSGD(tol=None, max_iter=30, random_state=0).fit(X, y)
    assert full.n_iter_ == 30 and len(full.loss_curve_) == 30


def test_adaptive_schedule_lowers_the_rate_and_stops():
    X, y = _blobs()
    model = SoftmaxSGD(
        learning_rate="adaptive",
        tol=1e-2,
        n_iter_no_change=2,
        max_iter=1000,
        random_state=0,
    ).fit(X, y)
    assert model.n_iter_ < 1000
    assert model._final_learning_rate < model.learning_rate_


def test_class_weight_balanced_equals_explicit_sample_weight():
    X, y = _blobs()
    keep = np.r_[np.flatnonzero(y == 0)[:20], np.flatnonzero(y != 0)]
    X, y = X[keep], y[keep]
    counts = np.bincount(y)
    explicit = (len(y) / (3 * counts))[y]
    params = {"batch_size": None, "max_iter": 20, "tol": None, "random_state": 0}
    balanced = SoftmaxSGD(class_weight="balanced", **params).fit(X, y)
    weighted = SoftmaxSGD(**params).fit(X, y, sample_weight=explicit)
    np.testing.assert_allclose(balanced.coef_, weighted.coef_, rtol=1e-10)


def test_verbose_prints_initial_loss_and_epochs(capsys):
    X, y = _blobs()
    MulticlassSVMSGD(verbose=1, max_iter=3, early_stopping=True, random_state=0).fit(
        X, y
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Learning rate") and "'auto'" in out[0]
    assert out[1].startswith("Initial loss") and "expected about 2.0000" in out[1]
    assert len(out) == 5
    assert all(
        "objective" in line and "validation score" in line and "time" in line
        for line in out[2:]
    )


def test_fit_is_deterministic_with_random_state():
    X, y = _blobs()
    first = MulticlassSVMSGD(dropout=0.1, random_state=3, max_iter=5).fit(X, y)
    second = clone(first).fit(X, y)
    np.testing.assert_array_equal(first.coef_, second.coef_)


def test_pipeline_and_grid_search(digits):
    X, y = digits
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MulticlassSVMSGD(max_iter=10, random_state=0)),
        {
            "multiclasssvmsgd__margin": [0.5, 2.0],
            "multiclasssvmsgd__alpha": [1e-4, 1e-2],
        },
        cv=3,
    ).fit(X, y)
    assert search.best_score_ > 0.88
    assert set(search.cv_results_["param_multiclasssvmsgd__margin"]) == {0.5, 2.0}


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_input_raises_clear_errors(Estimator):
    X, y = _blobs()
    model = Estimator(max_iter=2)
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            model.fit(X_bad, y)
    with pytest.raises(ValueError, match="one class"):
        model.fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="Unknown label type"):
        model.fit(X, np.linspace(0, 1, len(y)))
    with pytest.raises(ValueError, match="Negative values in data passed to"):
        model.fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="non-zero"):
        model.fit(X, y, sample_weight=np.zeros(len(y)))
    model.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* expecting 5"):
        model.predict(X[:, :2])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"optimizer": "lbfgs"}, r"'optimizer' parameter .* must be a str among"),
        ({"penalty": "l3"}, r"'penalty' parameter"),
        ({"alpha": -1.0}, r"'alpha' parameter .* must be a float in the range \[0"),
        ({"batch_size": 0}, r"'batch_size' parameter"),
        ({"dropout": 1.0}, r"'dropout' parameter .* range \[0.0, 1.0\)"),
        ({"max_norm": 0.0}, r"'max_norm' parameter"),
        ({"learning_rate": "cosine"}, r"'learning_rate' parameter"),
    ],
)
def test_invalid_hyperparameters_name_the_parameter(params, message):
    X, y = _blobs()
    with pytest.raises(ValueError, match=message):
        SoftmaxSGD(**params).fit(X, y)


@pytest.mark.parametrize("Estimator", [MulticlassSVMSGD, SoftmaxSGD])
@pytest.mark.parametrize("sparse", [False, True])
def test_divergence_is_detected_and_names_the_learning_rate(Estimator, sparse):
    X, y = _blobs()
    X = X * 1e6
    X = sp.csr_matrix(X) if sparse else X
    model = Estimator(
        optimizer="sgd", learning_rate_init=1e30, max_iter=50, random_state=0
    )
    with pytest.raises(DivergenceError, match="Lower learning_rate_init"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_divergence_in_partial_fit_keeps_the_last_good_model():
    X, y = _blobs()
    X = X.astype(np.float32)
    model = SoftmaxSGD(optimizer="sgd", random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2])
    coef, params = model.coef_.copy(), model._params.copy()
    model.set_params(learning_rate_init=1e30)
    with pytest.raises(DivergenceError, match="epoch 2"):
        model.partial_fit(X * 1e6, y)
    np.testing.assert_array_equal(model._params, params)
    np.testing.assert_array_equal(model.coef_, coef)
    model.set_params(learning_rate_init=0.01).partial_fit(X, y)
    assert np.isfinite(model.coef_).all() and model.score(X, y) > 0.9


def test_margin_validation():
    X, y = _blobs()
    with pytest.raises(ValueError, match="'margin' parameter"):
        MulticlassSVMSGD(margin=-1).fit(X, y)
    with pytest.raises(ValueError, match="'multi_class' parameter"):
        MulticlassSVMSGD(multi_class="ovr").fit(X, y)


def test_random_search_records_the_same_objective_as_gradient_descent():
    X, y = _blobs()
    params = {
        "penalty": "elasticnet",
        "alpha": 0.05,
        "max_iter": 1,
        "random_state": 0,
        "batch_size": None,
    }
    search = MulticlassSVMSGD(optimizer="random_search", **params).fit(X, y)
    sgd = MulticlassSVMSGD(optimizer="sgd", **params).fit(X, y)
    # One full batch: the epoch objective is that of the shared initial weights.
    assert search.loss_curve_[0] == pytest.approx(sgd.loss_curve_[0], rel=1e-12)
