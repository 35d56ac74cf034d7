"""Array API dispatch: the classifiers train and predict in their input's namespace.

Under ``sklearn.set_config(array_api_dispatch=True)`` an estimator fed arrays
of another array API library trains in that library, on the input's device,
and returns arrays of it; ``coef_`` and ``intercept_`` live there too. The
reference is the NumPy fit with the same ``random_state``: the same
initialization and minibatches, so the same model up to rounding.

Namespaces, devices and dtypes in the style of scikit-learn's
``yield_namespace_device_dtype_combinations``: array-api-strict (in the test
extra) on its two devices always, PyTorch on the CPU when it is importable,
CUDA or MPS and CuPy where present. scikit-learn refuses to enable dispatch
unless scipy's ``SCIPY_ARRAY_API=1`` was set before scipy was imported, so
the tests run in a subprocess with it when this process was started without.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse
import sklearn
from _dispatch import IN_DISPATCH_PROCESS, assert_dispatch_tests_pass, needs_dispatch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sklinear import (
    MulticlassSVMSGD,
    MulticlassSVMSGDCV,
    SoftmaxSGD,
    SoftmaxSGDCV,
)
from sklinear.features import ColorHistogram

strict = pytest.importorskip("array_api_strict")


def _namespace_devices():
    """(name, namespace, device) of every library and device available here."""
    yield "strict-cpu", strict, strict.Device("CPU_DEVICE")
    yield "strict-device1", strict, strict.Device("device1")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        yield "torch-cpu", torch, torch.device("cpu")
        if torch.cuda.is_available():
            yield "torch-cuda", torch, torch.device("cuda")
        if torch.backends.mps.is_available():
            yield "torch-mps", torch, torch.device("mps")
    try:
        import cupy
    except ImportError:
        cupy = None
    if cupy is not None:
        yield "cupy", cupy, cupy.cuda.Device(0)


def _combinations():
    """Namespace, device and dtype, as pytest parameters."""
    for name, xp, device in _namespace_devices():
        for dtype in ("float64", "float32"):
            if name == "torch-mps" and dtype == "float64":
                continue  # refused: see test_float64_refused_without_it
            yield pytest.param(xp, device, dtype, id=f"{name}-{dtype}")


COMBINATIONS = list(_combinations())


def _to_xp(array, xp, device, dtype=None):
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype)
    if xp.__name__ == "torch":
        return xp.asarray(array, device=device)
    if xp.__name__ == "cupy":
        with device:
            return xp.asarray(array)
    return xp.asarray(array, device=device)


def _to_numpy(array):
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "get"):  # cupy
        return array.get()
    if hasattr(array, "cpu"):  # torch
        return array.cpu().numpy()
    return np.asarray(strict.asarray(array, device=strict.Device("CPU_DEVICE")))


def _device(array):
    from sklearn.externals import array_api_compat

    return array_api_compat.device(array)


def _namespace_name(array):
    return type(array).__module__.split(".")[0]


def _data(n_samples=240, n_features=6, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % n_classes
    centers = rng.standard_normal((n_classes, n_features)) * 1.5
    X = centers[y] + rng.standard_normal((n_samples, n_features))
    X[:, 0] += 3.0  # uncentered: the center of the data takes part
    return X, y


def _rtol(dtype):
    return 1e-5 if dtype == "float64" else 1e-4


# Configurations whose float32 trajectories amplify rounding: adaptive
# per-coordinate steps on near-zero gradients, and a best epoch chosen by a
# validation score that ties. Against a library with another BLAS (another
# summation order in every product) they drift apart by about 1e-3; against
# array-api-strict, which shares NumPy's BLAS, they hold 1e-4 like the rest.
# In float64 every configuration holds 1e-5.
_FLOAT32_SENSITIVE = {"adagrad-maxnorm", "rmsprop-average", "svm-early-stopping"}


def _assert_close(actual, expected, dtype, what, rtol=None):
    actual, expected = _to_numpy(actual), np.asarray(expected)
    scale = max(float(np.max(np.abs(expected))), 1e-12)
    error = float(np.max(np.abs(actual - expected))) / scale
    rtol = _rtol(dtype) if rtol is None else rtol
    assert error <= rtol, f"{what}: relative error {error:.3g}"


def _fit_both(estimator, X, y, xp, device, dtype, sample_weight=None, **fit_params):
    """The NumPy fit and the fit in ``xp``, from the same data and seed."""
    X = np.asarray(X, dtype=dtype)
    if estimator.random_state is None:
        estimator = clone(estimator).set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference = clone(estimator).fit(X, y, sample_weight=sample_weight)
        X_xp, y_xp = _to_xp(X, xp, device), _to_xp(y, xp, device)
        w_xp = None if sample_weight is None else _to_xp(sample_weight, xp, device)
        with sklearn.config_context(array_api_dispatch=True):
            model = clone(estimator).fit(X_xp, y_xp, sample_weight=w_xp, **fit_params)
    return reference, model, X, X_xp, y_xp


def _check_outputs(reference, model, X, X_xp, xp, device, dtype, rtol=None):
    """Every output in the input's namespace and device, equal to NumPy's."""
    _assert_close(model.coef_, reference.coef_, dtype, "coef_", rtol)
    _assert_close(model.intercept_, reference.intercept_, dtype, "intercept_", rtol)
    with sklearn.config_context(array_api_dispatch=True):
        outputs = {
            "coef_": model.coef_,
            "intercept_": model.intercept_,
            "predict": model.predict(X_xp),
            "decision_function": model.decision_function(X_xp),
            "predict_proba": model.predict_proba(X_xp),
            "predict_log_proba": model.predict_log_proba(X_xp),
        }
    for name, output in outputs.items():
        assert _namespace_name(output) == _namespace_name(X_xp), name
        assert str(_device(output)) == str(device), name
    assert outputs["coef_"].dtype == X_xp.dtype
    np.testing.assert_array_equal(_to_numpy(outputs["predict"]), reference.predict(X))
    proba = _to_numpy(outputs["predict_proba"])
    assert proba.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(proba))
    rtol = _rtol(dtype) if rtol is None else rtol
    np.testing.assert_allclose(proba, reference.predict_proba(X), atol=100 * rtol)
    decision = reference.decision_function(X)
    np.testing.assert_allclose(
        _to_numpy(outputs["decision_function"]),
        decision,
        atol=10 * rtol * np.max(np.abs(decision)),
    )


# ----------------------------------------------------------------- plain fits

_CONFIGURATIONS = {
    "softmax-defaults": SoftmaxSGD(max_iter=4, tol=None, random_state=0),
    "svm-defaults": MulticlassSVMSGD(max_iter=4, tol=None, random_state=0),
    "sgd": SoftmaxSGD(optimizer="sgd", max_iter=3, tol=None, random_state=1),
    "momentum-hinge": MulticlassSVMSGD(
        optimizer="momentum", average=False, max_iter=3, tol=None
    ),
    "nesterov-l1": SoftmaxSGD(
        optimizer="nesterov", penalty="l1", alpha=1e-2, max_iter=3, tol=None
    ),
    "adam-elasticnet": SoftmaxSGD(
        optimizer="adam", penalty="elasticnet", alpha=1e-3, max_iter=3, tol=None
    ),
    "adamw": SoftmaxSGD(optimizer="adamw", alpha=1e-2, max_iter=3, tol=None),
    "adagrad-maxnorm": SoftmaxSGD(
        optimizer="adagrad", max_norm=0.5, penalty=None, max_iter=3, tol=None
    ),
    "rmsprop-average": SoftmaxSGD(
        optimizer="rmsprop", average=True, max_iter=3, tol=None, random_state=2
    ),
    "random-search": SoftmaxSGD(
        optimizer="random_search", learning_rate_init=0.05, max_iter=2, tol=None
    ),
    "squared-hinge-crammer": MulticlassSVMSGD(
        loss="squared_hinge", multi_class="crammer_singer", max_iter=3, tol=None
    ),
    "smooth-hinge-margin": MulticlassSVMSGD(
        loss="smooth_hinge", margin=2.0, smoothing=0.5, max_iter=3, tol=None
    ),
    "early-stopping": SoftmaxSGD(early_stopping=True, max_iter=6, random_state=3),
    "svm-early-stopping": MulticlassSVMSGD(early_stopping=True, random_state=3),
    "class-weight-dropout": SoftmaxSGD(
        class_weight="balanced", dropout=0.3, max_iter=3, tol=None
    ),
    "no-intercept-no-shuffle": MulticlassSVMSGD(
        fit_intercept=False, shuffle=False, batch_size=50, max_iter=3, tol=None
    ),
    "full-batch-schedule": SoftmaxSGD(
        batch_size=None, learning_rate="step", max_iter=5, tol=None
    ),
    "stopped-by-tol": SoftmaxSGD(random_state=4),
}


@needs_dispatch
@pytest.mark.parametrize("xp, device, dtype", COMBINATIONS)
@pytest.mark.parametrize("name", list(_CONFIGURATIONS))
def test_fit_equals_numpy_fit(name, xp, device, dtype):
    X, y = _data()
    if name == "class-weight-dropout":
        y = np.where(np.arange(len(y)) % 7 == 0, 0, y)  # unbalanced
    estimator = _CONFIGURATIONS[name]
    reference, model, X, X_xp, _ = _fit_both(estimator, X, y, xp, device, dtype)
    assert model.n_iter_ == reference.n_iter_
    rtol = None
    if dtype == "float32" and xp is not strict and name in _FLOAT32_SENSITIVE:
        rtol = 5e-3
    _check_outputs(reference, model, X, X_xp, xp, device, dtype, rtol)
    if hasattr(reference, "temperature_"):
        assert model.temperature_ == pytest.approx(reference.temperature_, rel=1e-3)
    np.testing.assert_allclose(
        model.loss_curve_, reference.loss_curve_, rtol=10 * _rtol(dtype)
    )


@needs_dispatch
@pytest.mark.parametrize("xp, device, dtype", COMBINATIONS)
def test_sample_weight_and_two_classes(xp, device, dtype):
    X, y = _data(n_classes=2, seed=5)
    weight = np.random.default_rng(5).uniform(0.0, 3.0, len(y))
    estimator = MulticlassSVMSGD(average=True, max_iter=4, tol=None, random_state=5)
    reference, model, X, X_xp, y_xp = _fit_both(
        estimator, X, y, xp, device, dtype, sample_weight=weight
    )
    assert model.coef_.shape == (1, X.shape[1])
    _check_outputs(reference, model, X, X_xp, xp, device, dtype)
    with sklearn.config_context(array_api_dispatch=True):
        assert model.decision_function(X_xp).shape == (X.shape[0],)
        score = model.score(X_xp, y_xp)
    assert float(score) == pytest.approx(reference.score(X, y))


@needs_dispatch
@pytest.mark.parametrize("xp, device, dtype", COMBINATIONS)
def test_partial_fit_and_warm_start_continue_in_the_namespace(xp, device, dtype):
    X, y = _data(seed=6)
    X = X.astype(dtype)
    reference = SoftmaxSGD(random_state=6, warm_start=True, max_iter=2, tol=None)
    model = clone(reference)
    X_xp, y_xp = _to_xp(X, xp, device), _to_xp(y, xp, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for half in (slice(0, 120), slice(120, None)):
            reference.partial_fit(X[half], y[half], classes=[0, 1, 2])
        reference.fit(X, y)
        with sklearn.config_context(array_api_dispatch=True):
            for half in (slice(0, 120), slice(120, None)):
                model.partial_fit(X_xp[half, ...], y_xp[half], classes=[0, 1, 2])
            model.fit(X_xp, y_xp)  # warm start continues
    assert model.n_iter_ == reference.n_iter_
    _check_outputs(reference, model, X, X_xp, xp, device, dtype)


# --------------------------------------------------------- one-pass search


@needs_dispatch
@pytest.mark.parametrize("xp, device, dtype", COMBINATIONS)
@pytest.mark.parametrize(
    "search",
    [
        SoftmaxSGDCV(alphas=[1e-4, 1e-2, 1.0], cv=3, max_iter=3, tol=None),
        MulticlassSVMSGDCV(
            alphas=[1e-4, 1e-1], margins=[0.5, 2.0], cv=2, max_iter=4, tol=None
        ),
        SoftmaxSGDCV(alphas=[1e-4, 1e-2], cv=2, early_stopping=True),
    ],
    ids=["SoftmaxSGDCV", "MulticlassSVMSGDCV", "SoftmaxSGDCV-early-stopping"],
)
def test_search_equals_numpy_search(search, xp, device, dtype):
    X, y = _data(seed=7)
    reference, model, X, X_xp, _ = _fit_both(search, X, y, xp, device, dtype)
    for key, value in reference.cv_results_.items():
        if key.endswith("_time"):
            continue
        if key.startswith(("split", "mean_test", "std_test")):
            # Equal accuracies; a scorer may return them in float32.
            np.testing.assert_allclose(model.cv_results_[key], value, atol=1e-6)
        else:
            np.testing.assert_array_equal(model.cv_results_[key], value)
    assert model.best_params_ == reference.best_params_
    _check_outputs(reference, model, X, X_xp, xp, device, dtype)


# ------------------------------------------------------ pipelines, errors


@needs_dispatch
@pytest.mark.parametrize("xp, device, dtype", COMBINATIONS)
def test_pipeline_after_a_feature_transformer(xp, device, dtype):
    rng = np.random.default_rng(8)
    images = rng.random((90, 8, 8, 3)).astype(dtype)
    y = np.arange(90) % 3
    images[y == 1, ..., 0] += 0.5
    pipeline = make_pipeline(
        ColorHistogram(bins=4, value_range=(0.0, 1.5)),
        SoftmaxSGD(max_iter=3, tol=None, random_state=8),
    )
    reference = clone(pipeline).fit(images, y)
    images_xp = _to_xp(images, xp, device)
    with sklearn.config_context(array_api_dispatch=True):
        model = clone(pipeline).fit(images_xp, _to_xp(y, xp, device))
        predicted = model.predict(images_xp)
    assert _namespace_name(predicted) == _namespace_name(images_xp)
    np.testing.assert_array_equal(_to_numpy(predicted), reference.predict(images))


@needs_dispatch
def test_float64_refused_without_it(monkeypatch):
    from sklinear import _namespace

    monkeypatch.setattr(
        _namespace, "supported_float_dtypes", lambda xp, device: (xp.float32,)
    )
    X, y = _data()
    device = strict.Device("CPU_DEVICE")
    with sklearn.config_context(array_api_dispatch=True):
        with pytest.raises(ValueError, match="no float64.*Convert X to float32"):
            SoftmaxSGD().fit(_to_xp(X, strict, device), _to_xp(y, strict, device))
        model = SoftmaxSGD(max_iter=2, tol=None).fit(
            _to_xp(X, strict, device, "float32"), _to_xp(y, strict, device)
        )
        with pytest.raises(ValueError, match="no float64.*Convert X to float32"):
            model.predict(_to_xp(X, strict, device))
        # Integers (pixels) become the device's widest float: float32 here.
        pixels = _to_xp(np.rint(X * 10 + 50).astype("uint8"), strict, device)
        from_pixels = SoftmaxSGD(max_iter=2, tol=None).fit(
            pixels, _to_xp(y, strict, device)
        )
    assert model.coef_.dtype == strict.float32
    assert from_pixels.coef_.dtype == strict.float32


@needs_dispatch
def test_sparse_stays_numpy_and_device_sparse_is_refused():
    X, y = _data()
    with sklearn.config_context(array_api_dispatch=True):
        model = SoftmaxSGD(max_iter=2, tol=None, random_state=0)
        model.fit(scipy.sparse.csr_matrix(X), y)
        assert isinstance(model.coef_, np.ndarray)
        try:
            import torch
        except ImportError:  # counted as passed by the runner's tally
            return
        sparse = torch.asarray(X).to_sparse()
        with pytest.raises(TypeError, match="NumPy/SciPy only.*to_dense"):
            SoftmaxSGD().fit(sparse, torch.asarray(y))
        with pytest.raises(TypeError, match="NumPy/SciPy only.*to_dense"):
            model.predict(sparse)


@needs_dispatch
def test_without_dispatch_nothing_changes():
    X, y = _data()
    model = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(X, y)
    assert isinstance(model.coef_, np.ndarray)
    with sklearn.config_context(array_api_dispatch=True):
        same = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(X, y)
    assert isinstance(same.coef_, np.ndarray)
    np.testing.assert_array_equal(same.coef_, model.coef_)


@needs_dispatch
def test_a_device_model_pickles_and_predicts_numpy():
    X, y = _data()
    device = strict.Device("device1")
    with sklearn.config_context(array_api_dispatch=True):
        model = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(
            _to_xp(X, strict, device), _to_xp(y, strict, device)
        )
    restored = pickle.loads(pickle.dumps(model))
    reference = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(restored.predict(X), reference.predict(X))


# ------------------------------------------------------------- the runner


@pytest.mark.slow
@pytest.mark.skipif(IN_DISPATCH_PROCESS, reason="this is the subprocess")
def test_dispatch_tests_pass_with_scipy_array_api():
    # One test per combination available here (torch only where it is
    # installed) and test, plus the four that take no combination.
    per_combination = len(_CONFIGURATIONS) + 2 + 3 + 1
    expected = len(COMBINATIONS) * per_combination + 4
    assert_dispatch_tests_pass(__file__, expected, timeout=900)
