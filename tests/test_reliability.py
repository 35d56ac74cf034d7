"""No silent failure: extreme input gives a correct model or a clear error.

A fitted model never returns non-finite scores or probabilities on the
finite data it was trained on, and a failed ``fit`` or ``partial_fit`` leaves
the estimator exactly as it was.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from sklinear import DivergenceError, MulticlassSVMSGD, SoftmaxSGD
from sklinear._optimizers import OPTIMIZERS

ESTIMATORS = [MulticlassSVMSGD, SoftmaxSGD]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _three_classes(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    return X, y


def _fitted_state(model):
    """Everything an estimator holds, comparable with ``==`` after pickling."""
    return pickle.dumps(vars(model))


def _assert_finite_outputs(model, X):
    assert np.isfinite(model.decision_function(X)).all()
    proba = model.predict_proba(X)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(model.predict_log_proba(X)).all()


# ------------------------------------------------------- the last step


@pytest.mark.parametrize("method", ["partial_fit", "fit"])
def test_a_diverging_last_step_raises_instead_of_returning_nan(method):
    X, y = _three_classes()
    X = (X * 1e18).astype(np.float32)
    model = SoftmaxSGD(
        optimizer="sgd", learning_rate_init=1e10, max_iter=1, random_state=0
    )
    with pytest.raises(DivergenceError, match="Lower learning_rate_init"):
        if method == "fit":
            model.fit(X, y)
        else:
            model.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(NotFittedError):
        model.predict_proba(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("scale", [1e-30, 1e18, 1e30])
def test_finite_input_never_gives_non_finite_output(
    Estimator, optimizer, method, scale
):
    """Every optimizer, both estimators: a finite model or DivergenceError."""
    X, y = _three_classes(n=120)
    X = (X * scale).astype(np.float32)
    model = Estimator(
        optimizer=optimizer,
        learning_rate_init=1e10,
        max_iter=2,
        batch_size=16,
        random_state=0,
    )
    # A rate suited to the scale: steps in weight units for the adaptive
    # optimizers, in gradient units (one more factor of the scale) otherwise.
    adaptive = optimizer in ("adam", "adagrad", "rmsprop", "random_search")
    good = clone(model).set_params(
        learning_rate_init=1e-3 / scale if adaptive else 1e-3 / scale**2
    )
    if scale < 1:
        good = None  # the L2 penalty alone forbids such rates
    elif method == "fit":
        good.fit(X, y)
    else:
        good.partial_fit(X, y, classes=[0, 1, 2])
    try:
        if method == "fit":
            model.fit(X, y)
        else:
            model.partial_fit(X, y, classes=[0, 1, 2])
    except DivergenceError:
        assert not hasattr(model, "coef_")
    else:
        _assert_finite_outputs(model, X)
    if good is None:
        return
    # A diverging call on a fitted model leaves it as it was.
    good.set_params(learning_rate_init=1e10, warm_start=True)
    before = _fitted_state(good)
    try:
        if method == "fit":
            good.fit(X, y)
        else:
            good.partial_fit(X, y)
    except DivergenceError:
        assert _fitted_state(good) == before
    _assert_finite_outputs(good, X)


# ------------------------------------------------------- the temperature


@pytest.mark.parametrize("scale", [1e-200, 1e-20, 1.0, 1e20, 1e200])
def test_svm_temperature_fits_data_of_any_scale(scale):
    X, y = _three_classes()
    model = MulticlassSVMSGD(random_state=0).fit(X * scale, y)
    assert 0 < model.temperature_ < np.inf
    _assert_finite_outputs(model, X * scale)


# ------------------------------------------------------- atomic fit


def test_a_failed_refit_leaves_the_previous_model():
    X, y = _three_classes()
    model = SoftmaxSGD(random_state=0).fit(X, y)
    before = _fitted_state(model)
    predictions = model.predict(X)
    labels = np.array(["a", "b", "c"])[y]
    with pytest.raises(ValueError, match="Negative values"):
        model.fit(X[:, :3], labels, sample_weight=-np.ones(len(y)))
    assert _fitted_state(model) == before
    np.testing.assert_array_equal(model.predict(X), predictions)


def test_a_diverging_refit_leaves_the_previous_model():
    X, y = _three_classes()
    model = SoftmaxSGD(optimizer="sgd", random_state=0).fit(X, y)
    model.set_params(learning_rate_init=1e30)
    before = _fitted_state(model)
    with pytest.raises(DivergenceError):
        model.fit((X * 1e18).astype(np.float32), (y > 0).astype(int))
    assert _fitted_state(model) == before
    assert set(model.predict(X)) <= {0, 1, 2}


def test_a_diverging_warm_start_keeps_loss_curve_and_n_iter():
    X, y = _three_classes()
    model = SoftmaxSGD(optimizer="sgd", max_iter=5, warm_start=True, random_state=0)
    model.fit(X, y)
    curve, n_iter = list(model.loss_curve_), model.n_iter_
    model.set_params(learning_rate_init=1e30)
    before = _fitted_state(model)
    with pytest.raises(DivergenceError):
        model.fit((X * 1e18).astype(np.float32), y)
    assert model.loss_curve_ == curve and model.n_iter_ == n_iter
    assert _fitted_state(model) == before


def test_a_failed_first_fit_leaves_the_estimator_unfitted():
    X, y = _three_classes()
    model = SoftmaxSGD(optimizer="sgd", learning_rate_init=1e30)
    with pytest.raises(DivergenceError):
        model.fit((X * 1e18).astype(np.float32), y)
    assert vars(model) == vars(SoftmaxSGD(optimizer="sgd", learning_rate_init=1e30))


def test_a_failed_partial_fit_leaves_the_model():
    X, y = _three_classes()
    model = SoftmaxSGD(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    before = _fitted_state(model)
    with pytest.raises(ValueError, match="not in classes_"):
        model.partial_fit(X, y + 5)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :2], y)
    assert _fitted_state(model) == before


# ------------------------------------------------------- messages


@pytest.mark.parametrize("bad", [np.inf, np.nan, -1.0])
def test_class_weight_must_be_finite_and_non_negative(bad):
    X, y = _three_classes()
    with pytest.raises(ValueError, match="class_weight must map classes to finite"):
        SoftmaxSGD(class_weight={0: 1.0, 1: bad}).fit(X, y)


def test_a_too_large_validation_fraction_is_named():
    X, y = _three_classes()
    with pytest.raises(ValueError, match="validation_fraction=0.99 is too large"):
        SoftmaxSGD(early_stopping=True, validation_fraction=0.99).fit(X, y)


def test_partial_fit_verbose_prints_the_epoch(capsys):
    X, y = _three_classes()
    model = SoftmaxSGD(verbose=1, random_state=0)
    model.partial_fit(X, y, classes=[0, 1, 2])
    model.partial_fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Learning rate")
    assert lines[1].startswith("Initial loss")
    assert lines[2].startswith("Epoch 1: objective")
    assert lines[3].startswith("Epoch 2: objective")
