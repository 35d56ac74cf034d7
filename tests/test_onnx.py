"""ONNX export: onnxruntime reproduces predict and predict_proba."""

import inspect

import numpy as np
import pytest
from sklearn.base import ClassifierMixin
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklinear
from sklinear import MulticlassSVMSGD, SoftmaxSGD

onnxruntime = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
sklinear_onnx = pytest.importorskip("sklinear.onnx")

ESTIMATORS = [MulticlassSVMSGD, SoftmaxSGD]


def _data(n_classes, labels="int", n=120, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(n_classes, n_features))
    y_index = np.arange(n) % n_classes
    X = (centers[y_index] + rng.normal(size=(n, n_features))).astype(np.float32)
    names = {
        "int": np.array([3, 7, 11, 20])[:n_classes],
        "str": np.array(["cat", "dog", "ship", "truck"])[:n_classes],
        "float": np.array([0.0, 1.0, 2.0, 5.0])[:n_classes],
        "bool": np.array([False, True]),
    }[labels]
    return X, names[y_index]


def _fit(estimator, X, y, **params):
    params = {"max_iter": 20, "tol": None, "random_state": 0, **params}
    return estimator(**params).fit(X, y)


def _run(model, X, options=None, input_dtype=np.float32):
    X = X.astype(input_dtype)
    onx = skl2onnx.to_onnx(model, X[:1], options=options)
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _assert_no_near_ties(model, X):
    # Labels may only be compared exactly where float32 rounding cannot
    # change the argmax.
    scores = np.sort(model._scores(X), axis=1)
    assert (scores[:, -1] - scores[:, -2]).min() > 1e-4


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("labels", ["int", "str"])
def test_labels_and_probabilities_match(estimator, n_classes, labels):
    X, y = _data(n_classes, labels)
    model = _fit(estimator, X, y)
    _assert_no_near_ties(model, X)
    onnx_labels, proba = _run(model, X, {"zipmap": False})
    np.testing.assert_array_equal(onnx_labels, model.predict(X))
    assert proba.shape == (len(X), n_classes) and proba.dtype == np.float32
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_svm_temperature_is_exported(n_classes):
    X, y = _data(n_classes)
    model = _fit(MulticlassSVMSGD, X, y)
    assert abs(model.temperature_ - 1.0) > 0.1  # otherwise the test shows nothing
    _, proba = _run(model, X, {"zipmap": False})
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)
    if n_classes == 2:
        # sigmoid(s / T), not the sigmoid(2 s) of skl2onnx's linear classifiers
        s = model.decision_function(X)
        np.testing.assert_allclose(
            proba[:, 1], 1 / (1 + np.exp(-s / model.temperature_)), atol=1e-5
        )
        assert np.abs(proba[:, 1] - 1 / (1 + np.exp(-2 * s))).max() > 1e-2


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_double_input_is_computed_in_double(estimator, n_classes):
    X, y = _data(n_classes)
    model = _fit(estimator, X.astype(np.float64), y)
    labels, proba = _run(model, X, {"zipmap": False}, input_dtype=np.float64)
    assert proba.dtype == np.float64
    np.testing.assert_array_equal(labels, model.predict(X.astype(np.float64)))
    np.testing.assert_allclose(
        proba, model.predict_proba(X.astype(np.float64)), atol=1e-12
    )


@pytest.mark.parametrize("estimator", ESTIMATORS)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_raw_scores_are_the_decision_function(estimator, n_classes):
    X, y = _data(n_classes)
    model = _fit(estimator, X, y)
    labels, scores = _run(model, X, {"zipmap": False, "raw_scores": True})
    decision = model.decision_function(X)
    # Two classes: the columns -s and s, as skl2onnx's linear classifiers.
    expected = np.column_stack([-decision, decision]) if n_classes == 2 else decision
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(labels, model.predict(X))


def test_zipmap_options():
    X, y = _data(3, "str")
    model = _fit(SoftmaxSGD, X, y)
    expected = model.predict_proba(X)
    labels, dicts = _run(model, X)  # zipmap=True, the default
    assert [sorted(row) for row in dicts[:2]] == [["cat", "dog", "ship"]] * 2
    np.testing.assert_allclose(
        [[row[c] for c in model.classes_] for row in dicts], expected, atol=1e-5
    )
    outputs = _run(model, X, {"zipmap": "columns"})
    np.testing.assert_array_equal(outputs[0], model.predict(X))
    for k in range(3):
        np.testing.assert_allclose(outputs[1 + k], expected[:, k], atol=1e-5)


def test_nocl_and_output_class_labels():
    X, y = _data(3, "str")
    model = _fit(MulticlassSVMSGD, X, y)
    labels, _ = _run(model, X, {"zipmap": False, "nocl": True})
    np.testing.assert_array_equal(
        labels, np.searchsorted(model.classes_, model.predict(X))
    )
    labels, _, classes = _run(model, X, {"zipmap": False, "output_class_labels": True})
    assert classes.tolist() == model.classes_.tolist()


@pytest.mark.parametrize("labels", ["float", "bool"])
def test_integral_float_and_bool_labels_are_int64(labels):
    X, y = _data(2 if labels == "bool" else 4, labels)
    model = _fit(SoftmaxSGD, X, y)
    onnx_labels, _ = _run(model, X, {"zipmap": False})
    assert onnx_labels.dtype == np.int64
    np.testing.assert_array_equal(onnx_labels, model.predict(X).astype(np.int64))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_ties_go_to_the_first_class(n_classes):
    X, y = _data(n_classes)
    model = _fit(SoftmaxSGD, X, y, fit_intercept=False)
    zeros = np.zeros((3, X.shape[1]), dtype=np.float32)  # every score is 0
    labels, proba = _run(model, zeros, {"zipmap": False})
    assert (model.predict(zeros) == model.classes_[0]).all()
    np.testing.assert_array_equal(labels, model.predict(zeros))
    np.testing.assert_allclose(proba, 1 / n_classes, atol=1e-6)


def test_pipeline_with_scaler():
    X, y = _data(4, "str")
    pipe = make_pipeline(StandardScaler(), _fit(MulticlassSVMSGD, X, y))
    pipe.fit(X, y)
    labels, proba = _run(pipe, X, {id(pipe[-1]): {"zipmap": False}})
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)


def test_every_public_classifier_is_registered():
    # A new classifier must be added to sklinear.onnx.CLASSIFIERS.
    public = {
        obj
        for name in sklinear.__all__
        if inspect.isclass(obj := getattr(sklinear, name))
        and issubclass(obj, ClassifierMixin)
    }
    assert public <= set(sklinear_onnx.CLASSIFIERS)
    X, y = _data(3)
    for estimator in sklinear_onnx.CLASSIFIERS:
        model = _fit(estimator, X, y)
        labels, _ = _run(model, X, {"zipmap": False})
        np.testing.assert_array_equal(labels, model.predict(X))


def test_register_converters_returns_the_classes():
    assert sklinear_onnx.register_converters() == sklinear_onnx.CLASSIFIERS
