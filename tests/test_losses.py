"""Losses against naive per-sample loops (the CS231n reference form)."""

import numpy as np
import pytest

from sklinear.losses import LOSSES, expected_initial_loss, log_softmax


def naive_hinge(scores, y, weight, margin, multi_class, squared):
    loss, grad = 0.0, np.zeros_like(scores)
    for i, row in enumerate(scores):
        terms = {j: max(0.0, row[j] - row[y[i]] + margin) for j in range(len(row))}
        del terms[y[i]]
        if multi_class == "crammer_singer":
            worst = max(terms, key=terms.get)
            terms = {worst: terms[worst]}
        for j, value in terms.items():
            loss += weight[i] * (value**2 if squared else value)
            slope = 2 * value if squared else float(value > 0)
            grad[i, j] += weight[i] * slope
            grad[i, y[i]] -= weight[i] * slope
    return loss / weight.sum(), grad / weight.sum()


def naive_softmax(scores, y, weight):
    loss, grad = 0.0, np.zeros_like(scores)
    for i, row in enumerate(scores):
        proba = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
        loss -= weight[i] * np.log(proba[y[i]])
        grad[i] = weight[i] * proba
        grad[i, y[i]] -= weight[i]
    return loss / weight.sum(), grad / weight.sum()


def naive_ovr_squared_hinge(scores, y, weight, margin):
    loss, grad = 0.0, np.zeros_like(scores)
    for i, row in enumerate(scores):
        for j, score in enumerate(row):
            sign = 1.0 if j == y[i] else -1.0
            violation = max(0.0, margin - sign * score)
            loss += weight[i] * violation**2
            grad[i, j] = -2.0 * weight[i] * sign * violation
    return loss / weight.sum(), grad / weight.sum()


def _problem(seed, n=30, k=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, k)) * 2, rng.integers(0, k, n), rng.uniform(0.1, 3, n)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("multi_class", ["weston_watkins", "crammer_singer"])
@pytest.mark.parametrize("margin", [0.0, 1.0, 2.5])
def test_hinge_matches_naive_loop(seed, loss, multi_class, margin):
    scores, y, weight = _problem(seed)
    value, grad = LOSSES[loss](
        scores, y, weight, margin=margin, multi_class=multi_class
    )
    ref_value, ref_grad = naive_hinge(
        scores, y, weight, margin, multi_class, loss == "squared_hinge"
    )
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("margin", [0.0, 1.0, 2.5])
def test_ovr_squared_hinge_matches_naive_loop(seed, margin):
    scores, y, weight = _problem(seed)
    value, grad = LOSSES["ovr_squared_hinge"](scores, y, weight, margin=margin)
    ref_value, ref_grad = naive_ovr_squared_hinge(scores, y, weight, margin)
    assert value == pytest.approx(ref_value, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


def test_ovr_squared_hinge_is_linear_svc_objective():
    # LinearSVC (one-vs-rest, squared hinge, primal) minimizes
    # ||w||^2 / 2 + C * sum of the squared hinges: ours with the mean loss
    # and alpha = 1 / (n C), trained to convergence, is the same optimum.
    from sklearn.datasets import make_classification
    from sklearn.svm import LinearSVC

    from sklinear import MulticlassSVMSGD

    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=6, n_classes=3, random_state=0
    )
    C = 0.05
    reference = LinearSVC(C=C, dual=False, fit_intercept=False, tol=1e-10).fit(X, y)
    ours = MulticlassSVMSGD(
        loss="ovr_squared_hinge",
        alpha=1 / (len(X) * C),
        optimizer="sgd",
        batch_size=None,
        average=False,
        fit_intercept=False,
        learning_rate_init=0.05,
        max_iter=5000,
        tol=None,
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(ours.coef_, reference.coef_, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_softmax_matches_naive_loop(seed):
    scores, y, weight = _problem(seed)
    value, grad = LOSSES["log_loss"](scores, y, weight)
    ref_value, ref_grad = naive_softmax(scores, y, weight)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-15)


def test_cs231n_worked_example():
    # CS231n notes: scores [13, -7, 11], correct class 0, margin 10 -> loss 8.
    loss, _ = LOSSES["hinge"](
        np.array([[13.0, -7.0, 11.0]]), np.array([0]), [1.0], margin=10.0
    )
    assert loss == pytest.approx(8.0)


def test_softmax_is_stable_for_huge_scores():
    scores = np.array([[1e4, 0.0, -1e4]])
    loss, grad = LOSSES["log_loss"](scores, np.array([1]), [1.0])
    assert loss == pytest.approx(1e4)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(np.exp(log_softmax(scores)).sum(), 1.0)


def test_weighted_mean_equals_repeated_rows():
    scores, y, _ = _problem(0, n=4)
    weight = np.array([1.0, 2.0, 0.0, 3.0])
    repeat = np.repeat(np.arange(4), weight.astype(int))
    for name in LOSSES:
        value, grad = LOSSES[name](scores, y, weight)
        rep_value, rep_grad = LOSSES[name](scores[repeat], y[repeat], np.ones(6))
        assert value == pytest.approx(rep_value, rel=1e-12)
        np.testing.assert_allclose(
            grad.sum(axis=0), rep_grad.sum(axis=0), rtol=1e-12, atol=1e-15
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_keep_dtype(dtype):
    scores, y, weight = _problem(1)
    for name in LOSSES:
        _, grad = LOSSES[name](scores.astype(dtype), y, weight)
        assert grad.dtype == dtype


@pytest.mark.parametrize(
    "loss, multi_class, expected",
    [
        ("hinge", "weston_watkins", 18.0),
        ("squared_hinge", "weston_watkins", 36.0),
        ("hinge", "crammer_singer", 2.0),
        ("smooth_hinge", "weston_watkins", 13.5),  # 9 * (2 - 1 / 2)
        ("smooth_hinge", "crammer_singer", 1.5),
        ("log_loss", "weston_watkins", np.log(10)),
        ("ovr_squared_hinge", "weston_watkins", 40.0),  # 10 classes * 2**2
    ],
)
def test_expected_initial_loss_equals_loss_at_zero_scores(loss, multi_class, expected):
    margin = 2.0
    value = expected_initial_loss(loss, 10, margin=margin, multi_class=multi_class)
    assert value == pytest.approx(expected)
    params = LOSSES[loss].used_params({"margin": margin, "multi_class": multi_class})
    at_zero, _ = LOSSES[loss](np.zeros((7, 10)), np.arange(7), np.ones(7), **params)
    assert at_zero == pytest.approx(value)


# Non-default values of every loss parameter; each loss takes its own.
_PARAMS = {"margin": 1.5, "smoothing": 0.7}


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


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("multi_class", ["weston_watkins", "crammer_singer"])
@pytest.mark.parametrize("n_models", [None, 3])
def test_gradient_matches_central_differences(seed, name, multi_class, n_models):
    # Every registered loss, one model (n, C) or three side by side (n, K, C)
    # with a weight column each. Random scores keep the hinges away from
    # their kinks.
    record = LOSSES[name]
    rng = np.random.default_rng(seed)
    shape = (8, 4) if n_models is None else (8, n_models, 4)
    scores = rng.normal(size=shape) * 2
    y = rng.integers(0, 4, 8)
    weight = rng.uniform(0.1, 3, shape[:-1])
    params = record.used_params({**_PARAMS, "multi_class": multi_class})
    _, grad = record(scores, y, weight, **params)
    assert grad.shape == scores.shape
    numerical = _central_differences(
        lambda s: float(np.sum(record(s, y, weight, **params)[0])), scores
    )
    np.testing.assert_allclose(grad, numerical, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", [n for n in sorted(LOSSES) if LOSSES[n].smooth])
@pytest.mark.parametrize("multi_class", ["weston_watkins", "crammer_singer"])
def test_curvature_bounds_the_hessian_in_the_scores(seed, name, multi_class):
    # The automatic rate of gradient steps is 1 / (curvature d): the record's
    # curvature must bound the largest eigenvalue of one sample's Hessian.
    record = LOSSES[name]
    n_classes = 5
    params = record.used_params({**_PARAMS, "multi_class": multi_class})
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(1, n_classes))
    y = np.array([seed % n_classes])
    eps = 1e-6
    hessian = np.empty((n_classes, n_classes))
    for j in range(n_classes):
        step = np.zeros_like(scores)
        step[0, j] = eps
        plus = record(scores + step, y, np.ones(1), **params)[1]
        minus = record(scores - step, y, np.ones(1), **params)[1]
        hessian[:, j] = (plus - minus)[0] / (2 * eps)
    largest = np.linalg.eigvalsh((hessian + hessian.T) / 2).max()
    assert largest <= record.scores_curvature(n_classes, **params) * (1 + 1e-6)
