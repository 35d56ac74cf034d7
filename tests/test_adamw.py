"""optimizer="adamw": Adam with the L2 penalty as decoupled weight decay.

The registry entry alone brings it to every estimator (plain, one-pass
search, Dask); the tests that run over every optimizer cover it too
(convergence on a quadratic, extreme inputs, the automatic rate).
"""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification

from sklinear import MulticlassSVMSGD, SoftmaxSGD, SoftmaxSGDCV
from sklinear._cv import train_models
from sklinear._optimizers import OPTIMIZERS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _problem(n_samples=240, seed=0):
    return make_classification(
        n_samples=n_samples,
        n_features=8,
        n_informative=5,
        n_classes=3,
        random_state=seed,
    )


def test_the_step_is_adams_minus_the_decay_of_the_weights():
    rng = np.random.default_rng(0)
    params = rng.normal(size=(5, 3))
    grad = rng.normal(size=(5, 3))
    adam = OPTIMIZERS["adam"]()
    adamw = OPTIMIZERS["adamw"](weight_decay=0.3)
    assert adamw.decays_weights and adamw.normalized
    adam_step, _ = adam.update(grad, adam.init(params), 0.01, params=params)
    step, state = adamw.update(grad, adamw.init(params), 0.01, params=params)
    expected = adam_step - 0.01 * 0.3 * params
    expected[-1] = adam_step[-1]  # the intercepts are not decayed
    np.testing.assert_allclose(step, expected, rtol=1e-12)
    # Per-column decay, as for several models side by side.
    per_column = OPTIMIZERS["adamw"](weight_decay=np.array([0.0, 0.1, 1.0]))
    step, _ = per_column.update(grad, per_column.init(params), 0.01, params=params)
    np.testing.assert_allclose(step[:-1, 0], adam_step[:-1, 0], rtol=1e-12)
    np.testing.assert_allclose(
        step[:-1, 2], adam_step[:-1, 2] - 0.01 * params[:-1, 2], rtol=1e-12
    )


@pytest.mark.parametrize("learning_rate_init", [0.01, "auto"])
@pytest.mark.parametrize("Estimator", [SoftmaxSGD, MulticlassSVMSGD])
def test_the_l2_term_leaves_the_gradient_and_decays_the_weights(
    Estimator, learning_rate_init
):
    """One full-batch step: Adam on the data loss, minus lr * alpha * W."""
    X, y = _problem()
    params = {
        "learning_rate_init": learning_rate_init,
        "batch_size": None,
        "average": False,
        "max_iter": 1,
        "tol": None,
        "random_state": 0,
    }
    alpha = 0.5
    start = Estimator(optimizer="adamw", alpha=alpha, **params)
    start.set_params(learning_rate_init=1e-300).fit(X, y)  # about the start
    adamw = Estimator(optimizer="adamw", alpha=alpha, **params).fit(X, y)
    adam = Estimator(optimizer="adam", penalty=None, **params).fit(X, y)
    lr = adamw.learning_rate_
    assert lr == adam.learning_rate_ or learning_rate_init == "auto"
    W0 = start.coef_
    np.testing.assert_allclose(
        adamw.coef_, adam.coef_ - lr * alpha * W0, rtol=1e-6, atol=1e-12
    )
    # The L2 term still counts in the objective reported.
    penalty = 0.5 * alpha * np.sum(W0**2)
    assert adamw.loss_curve_[0] == pytest.approx(adam.loss_curve_[0] + penalty)


def test_more_decay_gives_smaller_weights():
    X, y = _problem()
    norms = [
        np.linalg.norm(
            SoftmaxSGD(optimizer="adamw", alpha=alpha, random_state=0).fit(X, y).coef_
        )
        for alpha in (1e-4, 1e-2, 1e-1)
    ]
    assert norms[0] > norms[1] > norms[2]


def test_each_search_model_equals_its_plain_fit():
    """Per-model decay in the one-pass search: model k is its plain fit."""
    X, y = _problem()
    template = SoftmaxSGD(optimizer="adamw", max_iter=5, tol=None, random_state=0)
    folds = [np.arange(0, 160), np.arange(80, 240)]
    models, weights = [], []
    for alpha in (1e-4, 1e-1):
        for rows in folds:
            models.append(clone(template).set_params(alpha=alpha))
            weight = np.zeros(len(y))
            weight[rows] = 1.0
            weights.append(weight)
    y_index = np.searchsorted(np.unique(y), y)
    params, diverged, _, _ = train_models(
        models, X, y_index, np.column_stack(weights), 3
    )
    assert not diverged.any()
    for model, weight, trained in zip(models, weights, params, strict=True):
        plain = clone(model).fit(X, y, sample_weight=weight)
        np.testing.assert_allclose(trained[:-1].T, plain.coef_, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(trained[-1], plain.intercept_, rtol=1e-6, atol=1e-9)


def test_the_search_and_early_stopping_run_with_adamw():
    X, y = _problem()
    search = SoftmaxSGDCV(
        optimizer="adamw", alphas=[1e-4, 1e-1], cv=3, random_state=0
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.score(X, y) > 0.7
    model = SoftmaxSGD(optimizer="adamw", early_stopping=True, random_state=0)
    assert model.fit(X, y).best_validation_score_ > 0.6


def test_onnx_export_of_an_adamw_model():
    onnxruntime = pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    import sklinear.onnx  # noqa: F401 (registers the converters)

    X, y = _problem()
    model = SoftmaxSGD(optimizer="adamw", random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = skl2onnx.to_onnx(model, X[:1].astype(np.float32))
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels = session.run(None, {session.get_inputs()[0].name: X.astype(np.float32)})[0]
    # Compare where float32 rounding cannot swap the two best classes.
    top = np.sort(model.decision_function(X), axis=1)
    clear = top[:, -1] - top[:, -2] > 1e-3
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(labels[clear], model.predict(X)[clear])
