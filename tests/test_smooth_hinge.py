"""loss="smooth_hinge": the quadratically smoothed (Huberized) multiclass hinge."""

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import InvalidParameterError

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV
from sklinear._cv import train_models
from sklinear.diagnostics import gradient_check, objective
from sklinear.losses import (
    LOSSES,
    expected_initial_loss,
    multiclass_hinge,
    smooth_multiclass_hinge,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

MULTI_CLASS = ["weston_watkins", "crammer_singer"]


def _huber(v, width):
    """The smoothed hinge term, written out case by case."""
    if v <= 0:
        return 0.0, 0.0
    if v <= width:
        return v * v / (2 * width), v / width
    return v - width / 2, 1.0


def naive_smooth_hinge(scores, y, weight, margin, smoothing, multi_class):
    """Per-sample loop: the reference the vectorized loss is checked against."""
    loss, grad = 0.0, np.zeros_like(scores)
    for i, row in enumerate(scores):
        violations = {
            j: row[j] - row[y[i]] + margin for j in range(len(row)) if j != y[i]
        }
        if multi_class == "crammer_singer":
            worst = max(violations, key=violations.get)
            violations = {worst: violations[worst]}
        for j, v in violations.items():
            value, slope = _huber(v, smoothing)
            loss += weight[i] * value
            grad[i, j] += weight[i] * slope
            grad[i, y[i]] -= weight[i] * slope
    return loss / weight.sum(), grad / weight.sum()


def _problem(seed, n=12, n_classes=5):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, n_classes)) * 1.5
    return scores, rng.integers(0, n_classes, n), rng.uniform(0.1, 3, n)


def _central_differences(function, scores, eps=1e-6):
    grad = np.zeros_like(scores)
    flat, out = scores.reshape(-1), grad.reshape(-1)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + eps
        plus = function(scores)
        flat[index] = original - eps
        minus = function(scores)
        flat[index] = original
        out[index] = (plus - minus) / (2 * eps)
    return grad


# --------------------------------------------------------------- the loss


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("multi_class", MULTI_CLASS)
@pytest.mark.parametrize("margin, smoothing", [(1.0, 1.0), (0.0, 0.3), (2.5, 0.7)])
def test_matches_the_naive_loop(seed, multi_class, margin, smoothing):
    scores, y, weight = _problem(seed, n=30)
    value, grad = LOSSES["smooth_hinge"](
        scores, y, weight, margin=margin, smoothing=smoothing, multi_class=multi_class
    )
    ref_value, ref_grad = naive_smooth_hinge(
        scores, y, weight, margin, smoothing, multi_class
    )
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("multi_class", MULTI_CLASS)
@pytest.mark.parametrize("smoothing", [0.2, 1.0, 5.0])
def test_gradient_matches_central_differences(seed, multi_class, smoothing):
    scores, y, weight = _problem(seed)
    params = {"margin": 1.0, "smoothing": smoothing, "multi_class": multi_class}
    _, grad = smooth_multiclass_hinge(scores, y, weight, **params)
    numerical = _central_differences(
        lambda s: float(smooth_multiclass_hinge(s, y, weight, **params)[0]), scores
    )
    np.testing.assert_allclose(grad, numerical, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("multi_class", MULTI_CLASS)
def test_gradient_of_several_models_matches_central_differences(seed, multi_class):
    # K = 3 models side by side: scores (n, K, C), a weight column each (one
    # of them zero on some rows), a margin and a width each.
    n, n_models, n_classes = 10, 3, 4
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, n_models, n_classes)) * 1.5
    y = rng.integers(0, n_classes, n)
    weight = rng.uniform(0.1, 3, (n, n_models))
    weight[: n // 2, 1] = 0.0
    margin = np.array([1.0, 0.5, 2.0])
    smoothing = np.array([1.0, 0.25, 3.0])
    params = {"margin": margin, "smoothing": smoothing, "multi_class": multi_class}
    loss, grad = smooth_multiclass_hinge(scores, y, weight, **params)
    assert loss.shape == (n_models,) and grad.shape == scores.shape
    numerical = _central_differences(
        lambda s: float(smooth_multiclass_hinge(s, y, weight, **params)[0].sum()),
        scores,
    )
    np.testing.assert_allclose(grad, numerical, rtol=1e-6, atol=1e-8)
    for k in range(n_models):  # each model alone gives the same
        alone, alone_grad = smooth_multiclass_hinge(
            scores[:, k],
            y,
            weight[:, k],
            margin=margin[k],
            smoothing=smoothing[k],
            multi_class=multi_class,
        )
        np.testing.assert_allclose(loss[k], alone, rtol=1e-12)
        np.testing.assert_allclose(grad[:, k], alone_grad, rtol=1e-12, atol=1e-15)


def test_values_by_hand():
    # Row 0: violations 1.5 and 3 (linear zone, h = v - 1/2) and -2 (zero).
    # Row 1: violations 0.6, 0.2 and 1.0 (quadratic zone, h = v**2 / 2).
    scores = np.array([[0.0, 0.5, 2.0, -1.0], [1.0, 0.6, 0.2, 1.0]])
    y = np.array([0, 0])
    weight = np.array([1.0, 3.0])
    loss, grad = smooth_multiclass_hinge(scores, y, weight)
    assert loss == pytest.approx((1.0 + 2.5 + 3 * (0.18 + 0.02 + 0.5)) / 4)
    expected = np.array([[-2.0, 1.0, 1.0, 0.0], [-1.8, 0.6, 0.2, 1.0]])
    expected *= weight[:, None] / weight.sum()
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)
    # Crammer–Singer: the largest violation of each row only.
    loss, grad = smooth_multiclass_hinge(
        scores, y, weight, multi_class="crammer_singer"
    )
    assert loss == pytest.approx((2.5 + 3 * 0.5) / 4)
    expected = np.array([[-1.0, 0.0, 1.0, 0.0], [-1.0, 0.0, 0.0, 1.0]])
    expected *= weight[:, None] / weight.sum()
    np.testing.assert_allclose(grad, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("multi_class", MULTI_CLASS)
def test_tends_to_the_hinge_as_the_width_vanishes(multi_class):
    scores, y, weight = _problem(0, n=40)
    hinge, hinge_grad = multiclass_hinge(scores, y, weight, multi_class=multi_class)
    n_terms = 1 if multi_class == "crammer_singer" else scores.shape[1] - 1
    for smoothing in (1.0, 0.1, 1e-3, 1e-9):
        value, grad = smooth_multiclass_hinge(
            scores, y, weight, smoothing=smoothing, multi_class=multi_class
        )
        # hinge - smoothing / 2 <= h <= hinge, term by term
        assert hinge - n_terms * smoothing / 2 - 1e-12 <= value <= hinge + 1e-12
    np.testing.assert_allclose(value, hinge, rtol=1e-8)
    np.testing.assert_allclose(grad, hinge_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("multi_class", MULTI_CLASS)
def test_wide_smoothing_is_the_scaled_squared_hinge(multi_class):
    # With every violation within the quadratic zone, h(v) = v**2 / (2 width).
    scores, y, weight = _problem(1, n=40)
    smoothing = 50.0
    value, grad = smooth_multiclass_hinge(
        scores, y, weight, smoothing=smoothing, multi_class=multi_class
    )
    squared, squared_grad = LOSSES["squared_hinge"](
        scores, y, weight, multi_class=multi_class
    )
    np.testing.assert_allclose(value, squared / (2 * smoothing), rtol=1e-12)
    np.testing.assert_allclose(grad, squared_grad / (2 * smoothing), rtol=1e-12)


@pytest.mark.parametrize("multi_class", MULTI_CLASS)
@pytest.mark.parametrize("margin, smoothing", [(1.0, 1.0), (2.0, 0.5), (0.5, 2.0)])
def test_initial_loss_is_the_loss_of_zero_scores(multi_class, margin, smoothing):
    params = {"margin": margin, "smoothing": smoothing, "multi_class": multi_class}
    expected = expected_initial_loss("smooth_hinge", 10, **params)
    at_zero, _ = smooth_multiclass_hinge(
        np.zeros((7, 10)), np.arange(7), np.ones(7), **params
    )
    assert at_zero == pytest.approx(expected)
    term = (
        margin**2 / (2 * smoothing) if margin <= smoothing else margin - smoothing / 2
    )
    assert expected == pytest.approx(
        term * (1 if multi_class == "crammer_singer" else 9)
    )


@pytest.mark.parametrize("multi_class", MULTI_CLASS)
@pytest.mark.parametrize("smoothing", [0.5, 2.0])
def test_curvature_is_the_largest_hessian_eigenvalue(multi_class, smoothing):
    # One sample whose wrong classes all violate the margin by less than the
    # width: the Hessian is (1 / width) times the star Laplacian (Weston-
    # Watkins) or one rank-one term (Crammer-Singer), and its largest
    # eigenvalue reaches the bound the automatic rate uses.
    n_classes = 5
    record = LOSSES["smooth_hinge"]
    params = {"smoothing": smoothing, "multi_class": multi_class}
    scores = np.array([[0.0, -0.9, -0.8, -0.7, -0.95]]) * smoothing
    y = np.array([0])
    hessian = np.empty((n_classes, n_classes))
    eps = 1e-6 * smoothing
    for j in range(n_classes):
        step = np.zeros_like(scores)
        step[0, j] = eps
        plus = record(scores + step, y, np.ones(1), margin=1.0 * smoothing, **params)
        minus = record(scores - step, y, np.ones(1), margin=1.0 * smoothing, **params)
        hessian[:, j] = (plus[1] - minus[1])[0] / (2 * eps)
    largest = np.linalg.eigvalsh((hessian + hessian.T) / 2).max()
    bound = record.scores_curvature(n_classes, **params)
    n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
    assert bound == pytest.approx((n_terms + 1) / smoothing)
    assert largest == pytest.approx(bound, rel=1e-6)


def test_record():
    record = LOSSES["smooth_hinge"]
    assert record.params == ("margin", "multi_class", "smoothing")
    assert record.needs_temperature and record.smooth
    assert record.scores_curvature(10) == 10.0
    assert record.scores_curvature(10, smoothing=0.5, alpha=3.0) == 20.0
    assert record.scores_curvature(10, multi_class="crammer_singer") == 2.0


# -------------------------------------------------------------- estimator


def _data(n_samples=90, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=5,
        n_informative=4,
        n_redundant=0,
        n_classes=n_classes,
        n_clusters_per_class=1,
        class_sep=0.8,
        random_state=seed,
    )
    return X, y


def test_smoothing_is_validated():
    X, y = _data()
    for bad in (0.0, -1.0):
        with pytest.raises(InvalidParameterError, match="smoothing"):
            MulticlassSVMSGD(loss="smooth_hinge", smoothing=bad).fit(X, y)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
def test_smoothing_only_matters_for_the_smooth_hinge(loss):
    X, y = _data()
    fits = [
        MulticlassSVMSGD(loss=loss, smoothing=s, max_iter=5, random_state=0).fit(X, y)
        for s in (0.1, 1.0)
    ]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    smooth = [
        MulticlassSVMSGD(
            loss="smooth_hinge", smoothing=s, max_iter=5, random_state=0
        ).fit(X, y)
        for s in (0.1, 1.0)
    ]
    assert not np.allclose(smooth[0].coef_, smooth[1].coef_)


@pytest.mark.parametrize("smoothing", [0.25, 1.0])
def test_automatic_sgd_rate_uses_the_smooth_curvature(smoothing):
    # rate = 1 / (curvature d): the hinge's curvature is 2 C, the smooth
    # hinge's C / smoothing.
    X, y = _data()
    common = {"optimizer": "sgd", "max_iter": 2, "random_state": 0}
    hinge = MulticlassSVMSGD(**common).fit(X, y)
    smooth = MulticlassSVMSGD(loss="smooth_hinge", smoothing=smoothing, **common)
    smooth.fit(X, y)
    assert smooth.learning_rate_ == pytest.approx(
        hinge.learning_rate_ * 2 * smoothing, rel=1e-12
    )


@pytest.mark.parametrize("multi_class", MULTI_CLASS)
def test_initial_loss_sanity_check_and_gradient_check(multi_class):
    X, y = _data(n_classes=4)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    clf = MulticlassSVMSGD(
        loss="smooth_hinge", smoothing=0.5, multi_class=multi_class, random_state=0
    )
    clf.fit(X, y)
    expected = 3 * 0.75 if multi_class == "weston_watkins" else 0.75
    assert clf.expected_initial_loss_ == pytest.approx(expected)
    assert clf.initial_loss_ == pytest.approx(expected, rel=0.1)
    errors = gradient_check(clf, X, y, n_checks=20, random_state=0)
    assert errors.max() < 1e-6


def _reference_objective(flat, X, y, alpha, margin, smoothing, multi_class):
    """Mean smooth hinge plus alpha / 2 ||W||^2 (intercept free), and its gradient."""
    n_classes = int(y.max()) + 1
    params = flat.reshape(X.shape[1] + 1, n_classes)
    W, b = params[:-1], params[-1]
    loss, dscores = naive_smooth_hinge(
        X @ W + b, y, np.ones(len(y)), margin, smoothing, multi_class
    )
    value = loss + 0.5 * alpha * np.sum(W**2)
    grad = np.vstack([X.T @ dscores + alpha * W, dscores.sum(axis=0)])
    return value, grad.ravel()


@pytest.mark.parametrize(
    "multi_class, smoothing, rtol",
    [
        ("weston_watkins", 1.0, 1e-6),
        ("weston_watkins", 0.3, 1e-6),
        # Crammer-Singer takes the largest of smooth terms, which has a kink
        # where two wrong classes tie; a constant step then ends within
        # about 2e-5 of the optimum instead of converging.
        ("crammer_singer", 0.5, 1e-4),
    ],
)
def test_full_batch_sgd_reaches_the_lbfgs_optimum(multi_class, smoothing, rtol):
    X, y = _data(n_samples=60)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    alpha, margin = 0.05, 1.0
    args = (X, y, alpha, margin, smoothing, multi_class)
    reference = minimize(
        _reference_objective,
        np.zeros((X.shape[1] + 1) * 3),
        args=args,
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
    )
    optimum = reference.fun
    clf = MulticlassSVMSGD(
        loss="smooth_hinge",
        smoothing=smoothing,
        multi_class=multi_class,
        margin=margin,
        alpha=alpha,
        optimizer="sgd",
        batch_size=None,
        average=False,
        shuffle=False,
        max_iter=3000,
        tol=None,
        random_state=0,
    ).fit(X, y)
    value = objective(clf, X, y)
    assert optimum - 1e-12 <= value <= optimum * (1 + rtol)
    # The same objective: evaluating it at the SGD solution agrees.
    params = np.vstack([clf.coef_.T, clf.intercept_])
    assert _reference_objective(params.ravel(), *args)[0] == pytest.approx(
        value, rel=1e-10
    )
    W_opt = reference.x.reshape(-1, 3)[:-1]
    np.testing.assert_allclose(clf.coef_.T, W_opt, atol=2e-3 * np.abs(W_opt).max())


# ------------------------------------------------------- one-pass search


def _plain_fit(model, X, y, train_rows):
    weight = np.zeros(len(y))
    weight[train_rows] = 1.0
    return clone(model).fit(X, y, sample_weight=weight)


def _params_of(fitted):
    W = fitted._model_params[:-1]
    return np.vstack([W, fitted._model_params[-1] - fitted._offset @ W])


@pytest.mark.parametrize(
    "template",
    [
        MulticlassSVMSGD(loss="smooth_hinge", smoothing=0.5, max_iter=5, tol=None),
        MulticlassSVMSGD(
            loss="smooth_hinge",
            multi_class="crammer_singer",
            optimizer="sgd",
            smoothing=2.0,
            max_iter=6,
        ),
    ],
    ids=["adam-ww", "sgd-cs"],
)
def test_each_search_model_equals_the_plain_fit(template):
    X, y = make_classification(
        n_samples=300, n_features=12, n_informative=6, n_classes=3, random_state=0
    )
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    grid = [
        {"alpha": 1e-4, "learning_rate_init": "auto", "margin": 1.0},
        {"alpha": 1e-2, "learning_rate_init": "auto", "margin": 2.0},
    ]
    models, weights = [], []
    for candidate in grid:
        for train_rows, _ in folds:
            models.append(clone(template).set_params(random_state=0, **candidate))
            weight = np.zeros(len(y))
            weight[train_rows] = 1.0
            weights.append(weight)
    y_index = np.searchsorted(np.unique(y), y)
    params, diverged, _, n_iter = train_models(
        models, X, y_index, np.column_stack(weights), 3
    )
    assert not diverged.any()
    for k, model in enumerate(models):
        plain = _plain_fit(model, X, y, folds[k % len(folds)][0])
        np.testing.assert_allclose(params[k], _params_of(plain), rtol=1e-6, atol=1e-9)
        assert n_iter[k] == plain.n_iter_


def test_search_refits_the_plain_smooth_hinge():
    X, y = _data(n_samples=150)
    search = MulticlassSVMSGDCV(
        loss="smooth_hinge",
        smoothing=0.5,
        alphas=[1e-4, 1e-2],
        margins=[0.5, 1.0],
        cv=3,
        max_iter=10,
        random_state=0,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    plain = MulticlassSVMSGD(
        loss="smooth_hinge", smoothing=0.5, max_iter=10, random_state=0
    ).set_params(**search.best_params_)
    plain.fit(X, y)
    np.testing.assert_array_equal(search.coef_, plain.coef_)
    assert search.expected_initial_loss_ == plain.expected_initial_loss_
    np.testing.assert_array_equal(search.predict_proba(X), plain.predict_proba(X))
