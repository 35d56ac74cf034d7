"""The automatic learning rate, averaging and the defaults on any data scale."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning

from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear._base import model_spec
from sklinear._learning_rate import auto_learning_rate, feature_scales
from sklinear._optimizers import OPTIMIZERS
from sklinear._recipe import initial_state
from sklinear.diagnostics import objective

ESTIMATORS = [MulticlassSVMSGD, SoftmaxSGD]
GRADIENT_OPTIMIZERS = [name for name in OPTIMIZERS if name != "random_search"]


def _problem(n_samples=600, seed=0, n_classes=3):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=20,
        n_informative=8,
        n_classes=n_classes,
        flip_y=0.1,
        random_state=seed,
    )
    return X, y


# ------------------------------------------------------------ the automatic rate


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("scale", [1e-4, 1e-3, 1.0, 255.0, 1e3, 1e4])
def test_defaults_train_on_every_scale_of_the_same_data(Estimator, scale):
    X, y = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "reached max_iter", ConvergenceWarning)
        model = Estimator(random_state=0).fit(X * scale, y)
    assert np.isfinite(model.coef_).all()
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    # Without the penalty (whose alpha acts on weights of another size), the
    # training path is the same at every scale, up to rounding.
    free = Estimator(penalty=None, random_state=0)
    unit = Estimator(penalty=None, random_state=0).fit(X, y)
    agreement = np.mean(free.fit(X * scale, y).predict(X * scale) == unit.predict(X))
    assert agreement > 0.95
    assert unit.score(X, y) > 0.7


@pytest.mark.parametrize("optimizer", GRADIENT_OPTIMIZERS)
def test_every_optimizer_trains_at_its_automatic_rate(optimizer):
    X, y = _problem()
    for scale in (1e-3, 1e3):
        model = SoftmaxSGD(
            optimizer=optimizer, penalty=None, max_iter=30, random_state=0
        )
        model.fit(X * scale + 5 * scale, y)
        assert model.score(X * scale + 5 * scale, y) > 0.7, scale


def test_the_rate_is_per_feature_and_follows_its_scale():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 3)) * [1.0, 10.0, 0.0] + [0.0, 5.0, 3.0]
    rate, gradient_scale, update_scale = auto_learning_rate(
        feature_scales(X), optimizer="adam", loss="log_loss", n_classes=3
    )
    # Two features vary; with the intercept they share a score step of 1.
    assert rate == pytest.approx(1 / 3)
    mean_abs = np.abs(X[:, :2] - X[:, :2].mean(axis=0)).mean(axis=0)
    np.testing.assert_allclose(gradient_scale[:2], 1 / mean_abs)
    np.testing.assert_allclose(update_scale, gradient_scale)
    assert gradient_scale[-1] == 1.0
    rate, gradient_scale, update_scale = auto_learning_rate(
        feature_scales(X), optimizer="sgd", loss="log_loss", n_classes=3, alpha=0.1
    )
    assert rate == pytest.approx(1 / (0.5 * 3))
    np.testing.assert_allclose(gradient_scale[:2], 1 / X[:, :2].std(axis=0))
    # The L2 term damps the step of the feature of small spread most.
    damping = update_scale[:2] / gradient_scale[:2]
    np.testing.assert_allclose(damping, 1 / (1 + 0.1 * rate / X[:, :2].std(0) ** 2))
    assert update_scale[-1] == 1.0


def test_tiny_features_are_not_rescaled_beyond_the_penalty():
    X = np.random.default_rng(0).standard_normal((100, 2)) * [1e-30, 1.0]
    _, gradient_scale, _ = auto_learning_rate(
        feature_scales(X), optimizer="adam", loss="log_loss", n_classes=2, alpha=1e-4
    )
    assert gradient_scale[0] == pytest.approx(1 / np.sqrt(1e-4))


def test_learning_rate_is_recorded_and_printed(capsys):
    X, y = _problem()
    model = SoftmaxSGD(verbose=1, max_iter=2, random_state=0).fit(X, y)
    assert model.learning_rate_ > 0
    assert f"Learning rate {model.learning_rate_:.3g}" in capsys.readouterr().out
    fixed = SoftmaxSGD(learning_rate_init=0.05, max_iter=2).fit(X, y)
    assert fixed.learning_rate_ == 0.05


def test_partial_fit_keeps_the_rate_of_its_first_call():
    X, y = _problem()
    model = SoftmaxSGD(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    rate = model.learning_rate_
    model.partial_fit(X * 100, y)
    assert model.learning_rate_ == rate


def test_centering_reparametrizes_the_intercept_only():
    """The training objective does not depend on the data's offset."""
    X, y = _problem()
    shifted = SoftmaxSGD(max_iter=20, tol=None, random_state=0).fit(X + 50, y)
    plain = SoftmaxSGD(max_iter=20, tol=None, random_state=0).fit(X, y)
    np.testing.assert_allclose(shifted.coef_, plain.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        shifted.intercept_, plain.intercept_ - 50 * plain.coef_.sum(axis=1), rtol=1e-6
    )
    assert objective(shifted, X + 50, y) == pytest.approx(objective(plain, X, y))


# ------------------------------------------------------------ averaging


def _naive_average(X, y, lr, n_epochs, W, b):
    """Minibatch SGD on the softmax loss, as a loop, with the running mean."""
    from sklinear.losses import softmax_cross_entropy

    mean_W, mean_b, count = np.zeros_like(W), np.zeros_like(b), 0
    for _ in range(n_epochs):
        for start in range(0, len(y), 8):
            rows = slice(start, start + 8)
            _, dscores = softmax_cross_entropy(
                X[rows] @ W + b, y[rows], np.ones(len(y[rows]))
            )
            W = W - lr * X[rows].T @ dscores
            b = b - lr * dscores.sum(axis=0)
            count += 1
            mean_W += (W - mean_W) / count
            mean_b += (b - mean_b) / count
    return mean_W, mean_b


def test_averaged_coef_is_the_running_mean_of_the_iterates():
    X, y = _problem(n_samples=40)
    X = (X - X.mean(axis=0)) / 4  # centered: the engine's offset is zero
    model = SoftmaxSGD(
        optimizer="sgd",
        learning_rate_init=0.1,
        penalty=None,
        average=True,
        batch_size=8,
        shuffle=False,
        max_iter=3,
        tol=None,
        random_state=0,
    )
    model.fit(X, y)
    start = initial_state(
        model_spec(model),
        X.shape[1],
        3,
        X.dtype,
        float(np.hypot.reduce(feature_scales(X)[2])),
    ).params
    mean_W, mean_b = _naive_average(X, y, 0.1, 3, start[:-1], start[-1])
    np.testing.assert_allclose(model.coef_, mean_W.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, mean_b, rtol=1e-10, atol=1e-12)


def test_average_starts_after_the_given_number_of_samples():
    X, y = _problem(n_samples=80)
    params = {
        "optimizer": "sgd",
        "learning_rate_init": 0.05,
        "batch_size": 8,
        "shuffle": False,
        "max_iter": 2,
        "tol": None,
        "random_state": 0,
    }
    late = SoftmaxSGD(average=160, **params).fit(X, y)
    plain = SoftmaxSGD(average=False, **params).fit(X, y)
    # Averaging from sample 160 on, i.e. after the last step: the last iterate.
    np.testing.assert_allclose(late.coef_, plain.coef_, rtol=1e-10)
    early = SoftmaxSGD(average=80, **params).fit(X, y)
    assert not np.allclose(early.coef_, plain.coef_)


def test_averaging_lowers_the_objective_at_a_constant_step():
    X, y = _problem(n_samples=2000, seed=1)
    params = {
        "optimizer": "sgd",
        "learning_rate_init": 0.5,
        "alpha": 1e-3,
        "batch_size": 16,
        "max_iter": 20,
        "tol": None,
        "random_state": 0,
    }
    averaged = SoftmaxSGD(average=len(y), **params).fit(X, y)
    last = SoftmaxSGD(average=False, **params).fit(X, y)
    assert objective(averaged, X, y) < objective(last, X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("optimizer", GRADIENT_OPTIMIZERS)
def test_partial_fit_with_averaging_equals_fit(Estimator, optimizer):
    X, y = _problem()
    params = {"optimizer": optimizer, "average": 100, "random_state": 0}
    fitted = Estimator(max_iter=3, tol=None, **params).fit(X, y)
    incremental = Estimator(**params)
    for _ in range(3):
        incremental.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_allclose(incremental.coef_, fitted.coef_, rtol=1e-10)
    np.testing.assert_allclose(incremental.intercept_, fitted.intercept_, rtol=1e-10)


def test_averaging_keeps_max_norm_and_warm_start():
    X, y = _problem()
    model = MulticlassSVMSGD(
        average=True, max_norm=0.5, max_iter=5, warm_start=True, random_state=0
    )
    model.fit(X, y)
    assert np.linalg.norm(model._model_params[:-1], axis=0).max() <= 0.5 * (1 + 1e-6)
    first = model.coef_.copy()
    model.fit(X, y)
    assert not np.allclose(model.coef_, first)
    assert model.score(X, y) > 0.7


def test_averaged_l1_weights_keep_the_zeros_of_the_last_iterate():
    X, y = _problem()
    model = SoftmaxSGD(penalty="l1", alpha=0.02, average=True, random_state=0)
    model.fit(X, y)
    last = model._params[:-1]
    assert np.mean(last == 0) > 0.2
    np.testing.assert_array_equal(model._model_params[:-1][last == 0], 0.0)


def test_random_search_cannot_average():
    X, y = _problem()
    with pytest.raises(ValueError, match="average is not supported"):
        MulticlassSVMSGD(optimizer="random_search", average=True).fit(X, y)
