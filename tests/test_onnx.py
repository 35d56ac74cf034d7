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


@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("multi_class", ["weston_watkins", "crammer_singer"])
def test_smooth_hinge_model_matches(n_classes, multi_class):
    X, y = _data(n_classes)
    model = _fit(
        MulticlassSVMSGD,
        X,
        y,
        loss="smooth_hinge",
        smoothing=0.5,
        multi_class=multi_class,
    )
    _assert_no_near_ties(model, X)
    onnx_labels, proba = _run(model, X, {"zipmap": False})
    np.testing.assert_array_equal(onnx_labels, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=0, atol=1e-5)


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


# Image features -----------------------------------------------------------------


class _PlainGraph:
    """The graph interface of the converters, writing a bare ONNX graph."""

    def __init__(self):
        self.nodes, self.constants, self.count = [], [], 0

    def _name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value, dtype, name="const"):
        from onnx import numpy_helper

        name = self._name(name)
        self.constants.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def op(self, op_type, *inputs, output=None, outputs=1, **attributes):
        from onnx import helper

        names = [self._name(op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, **attributes))
        return names[0] if outputs == 1 else names

    def run(self, output, **inputs):
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            self.nodes,
            "test",
            [
                helper.make_tensor_value_info(name, TensorProto.DOUBLE, None)
                for name in inputs
            ],
            [helper.make_tensor_value_info(output, TensorProto.INT64, None)],
            self.constants,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        return session.run(None, inputs)[0]


def _gradient_pairs():
    """Gradients where float rounding decides the bin, and ordinary ones."""
    grid = np.arange(-30.0, 31.0)
    g_row, g_col = (a.ravel() for a in np.meshgrid(grid, grid))  # 0, 45, 90, ...
    rng = np.random.default_rng(0)
    tiny = np.geomspace(1e-320, 1e-9, 400)
    rows = [g_row, rng.normal(size=3000), rng.random(1000), tiny, -tiny, [0.0, -0.0]]
    cols = [g_col, rng.normal(size=3000), rng.random(1000), -np.ones(400)]
    cols += [np.ones(400), [-1.0, 1.0]]
    g_row, g_col = np.concatenate(rows), np.concatenate(cols)
    # Ratios within a few ulps of 1e-16, where 180 degrees rounds (or not).
    near = np.float64(1.2e-16) * (1 + np.arange(-300, 300) * 2.0**-52)
    g_row = np.concatenate([g_row, near, -near, near * 7.0])
    g_col = np.concatenate([g_col, -np.ones(600), np.ones(600), np.full(600, -7.0)])
    return g_row, g_col


@pytest.mark.parametrize("orientations", [1, 2, 3, 4, 5, 6, 8, 9, 12, 18])
def test_orientation_bins_equal_scikit_image(orientations):
    from sklinear._onnx_features import orientation_bins
    from sklinear.features._hog_cells import _exact_bins

    g_row, g_col = _gradient_pairs()
    graph = _PlainGraph()
    output = orientation_bins(graph, "g_row", "g_col", orientations)
    bins = graph.run(output, g_row=g_row, g_col=g_col)
    edges = (180.0 / orientations * np.arange(orientations + 1)).astype(np.float32)
    expected = _exact_bins(g_row, g_col, edges.astype(np.float64))
    # Zero gradients (no magnitude) may go to any bin: scikit-image's is 0.
    wrong = np.flatnonzero(bins != expected)
    assert not wrong.size, list(
        zip(g_row[wrong], g_col[wrong], bins[wrong], strict=True)
    )
    assert {0, orientations - 1} <= set(expected.tolist())


def _hog_images(kind, n=12, shape=(32, 32, 3), seed=0):
    rng = np.random.default_rng(seed)
    if kind == "uint8":
        return rng.integers(0, 256, (n, *shape)).astype(np.float32)
    if kind == "unit":
        return rng.random((n, *shape))
    # Flat areas, stripes and diagonal ramps: zero gradients and gradients at
    # 0, 45, 90 and 135 degrees, where rounding decides the bin.
    y, x = np.mgrid[: shape[0], : shape[1]]
    patterns = [x * 0, y * 3, x * 5, x + y, x - y, (x + y) % 7, (x // 4 + y // 4) % 2]
    images = np.stack(
        [np.broadcast_to(p[..., None], shape) for p in patterns] * 2
    ).astype(np.float32)
    images[len(patterns) :] *= rng.integers(1, 20, (len(patterns), 1, 1, shape[2]))
    return images


def _run_transformer(transformer, images, dtype=np.float32):
    X = images.reshape(len(images), -1).astype(dtype)
    transformer.fit(X)
    (features,) = _run(transformer, X, input_dtype=dtype)
    assert features.dtype == dtype
    return features, transformer.transform(X)


@pytest.mark.parametrize("kind", ["uint8", "unit", "patterns"])
@pytest.mark.parametrize(
    "params",
    [
        {},  # 8x8 cells, 3x3 blocks, L2-Hys
        {"block_norm": None},
        {
            "orientations": 4,
            "pixels_per_cell": 4,
            "cells_per_block": 2,
            "block_norm": "L1",
        },
        {
            "orientations": 8,
            "pixels_per_cell": (4, 6),
            "cells_per_block": (1, 2),
            "block_norm": "L2",
        },
        {"orientations": 6, "pixels_per_cell": 5, "block_norm": "L1-sqrt"},
        {"orientations": 1, "pixels_per_cell": 16, "block_norm": None},
    ],
)
def test_hog_features_equal_transform(kind, params):
    from sklinear.features import HOG

    images = _hog_images(kind)
    for dtype in (np.float32, np.float64):
        features, expected = _run_transformer(HOG(**params), images, dtype)
        tolerance = 1e-6 * np.abs(expected).max()
        np.testing.assert_allclose(features, expected, rtol=1e-6, atol=tolerance)


@pytest.mark.parametrize(
    "shape", [(17, 18, 3), (16, 16, 1), (16, 16), (2, 9, 3), (9, 2)]
)
def test_hog_of_other_image_shapes(shape):
    from sklinear.features import HOG

    images = _hog_images("uint8", shape=shape)
    hog = HOG(pixels_per_cell=(2, 2), cells_per_block=1, image_shape=shape)
    features, expected = _run_transformer(hog, images)
    np.testing.assert_allclose(features, expected, rtol=1e-6, atol=1e-6)
    if len(shape) == 3 and shape[2] == 1:  # one channel: gray mode is the same
        hog = HOG(color_mode="gray", pixels_per_cell=4, image_shape=shape)
        features, expected = _run_transformer(hog, images)
        np.testing.assert_allclose(features, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"color_mode": "gray"}, "color_mode='gray' on RGB images"),
        ({"transform_sqrt": True}, "transform_sqrt=True"),
    ],
)
def test_hog_settings_without_exact_conversion_are_refused(params, message):
    from sklinear.features import HOG

    X = _hog_images("uint8", n=2).reshape(2, -1)
    hog = HOG(**params).fit(X)
    with pytest.raises(ValueError, match=f"{message} has no exact ONNX conversion"):
        skl2onnx.to_onnx(hog, X[:1])


@pytest.mark.parametrize("color_space", ["hsv", "rgb", "rgb_joint"])
@pytest.mark.parametrize("bins", [1, 3, 10])
@pytest.mark.parametrize("kind", ["uint8", "unit", "patterns"])
def test_color_histogram_equals_transform(color_space, bins, kind):
    from sklinear.features import ColorHistogram

    images = _hog_images(kind, shape=(9, 10, 3))
    scale = 1.0 if kind == "unit" else 255.0
    # The six pure hues, gray pixels (hue 0) and values on bin edges.
    pure = [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]]
    images[0, 0, :6] = np.array(pure) * scale
    images[1, :, :5] = 0.5 * scale
    images[2, :, :5] = np.linspace(0, scale, 11)[:5, None]
    value_range = (0.0, 1.0) if kind == "unit" else (0.0, 255.0)
    for normalize in (True, False):
        histogram = ColorHistogram(
            bins,
            color_space=color_space,
            value_range=value_range,
            normalize=normalize,
            image_shape=(9, 10, 3),
        )
        for dtype in (np.float32, np.float64):
            features, expected = _run_transformer(histogram, images, dtype)
            np.testing.assert_array_equal(features, expected.astype(dtype))


def test_color_histogram_clips_values_out_of_range():
    from sklinear.features import ColorHistogram

    images = _hog_images("unit", shape=(6, 6, 3)) * 3 - 1  # in [-1, 2]
    for color_space in ("hsv", "rgb", "rgb_joint"):
        histogram = ColorHistogram(4, color_space=color_space, value_range=(0, 1))
        histogram.set_params(image_shape=(6, 6, 3))
        features, expected = _run_transformer(histogram, images, np.float64)
        np.testing.assert_array_equal(features, expected)


def test_feature_union_pipeline_converts_end_to_end():
    from sklearn.pipeline import make_union

    from sklinear.features import HOG, ColorHistogram

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (60, 32, 32, 3)).astype(np.float32)
    images[::2, :16] //= 4  # something to learn
    y = np.arange(60) % 2
    X = images.reshape(60, -1)
    pipe = make_pipeline(
        make_union(HOG(block_norm=None), ColorHistogram(bins=10)),
        StandardScaler(),
        _fit(SoftmaxSGD, np.zeros((2, 1)), [0, 1]),
    ).fit(X, y)
    labels, proba = _run(pipe, X, {id(pipe[-1]): {"zipmap": False}})
    np.testing.assert_array_equal(labels, pipe.predict(X))
    np.testing.assert_allclose(proba, pipe.predict_proba(X), atol=1e-5)


def test_bag_of_visual_words_has_no_converter():
    from sklinear.features import BagOfVisualWords

    # Refused for its type, fitted or not, alone or in a pipeline.
    message = (
        r"BagOfVisualWords does not convert to ONNX.*transform.*export the "
        r"classifier alone"
    )
    with pytest.raises(TypeError, match=message):
        skl2onnx.to_onnx(BagOfVisualWords(), np.zeros((1, 768), np.float32))
    pipe = make_pipeline(BagOfVisualWords(), SoftmaxSGD())
    with pytest.raises(TypeError, match=message):
        skl2onnx.to_onnx(pipe, np.zeros((1, 768), np.float32))


def test_feature_converters_need_opset_16():
    from sklinear.features import HOG

    X = _hog_images("uint8", n=2).reshape(2, -1)
    hog = HOG().fit(X)
    with pytest.raises(ValueError, match="opset 16 or later.*target_opset=15"):
        skl2onnx.to_onnx(hog, X[:1], target_opset=15)


def test_classifier_converts_with_opset_13():
    X, y = _data(3)
    model = _fit(SoftmaxSGD, X, y)
    onx = skl2onnx.to_onnx(model, X[:1], options={"zipmap": False}, target_opset=13)
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, proba = session.run(None, {"X": X})
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(proba, model.predict_proba(X), atol=1e-5)


# ---------------------------------------------------------- what is refused


@pytest.mark.parametrize(
    "model",
    [SoftmaxSGD(), MulticlassSVMSGD(), sklinear.SoftmaxSGDCV(), "hog"],
    ids=["softmax", "svm", "softmax-cv", "hog"],
)
def test_an_unfitted_model_raises_not_fitted(model):
    from sklearn.exceptions import NotFittedError

    from sklinear.features import HOG

    model = HOG() if model == "hog" else model
    with pytest.raises(NotFittedError, match="not fitted yet: call 'fit' before"):
        skl2onnx.to_onnx(model, np.zeros((1, 64), np.float32))


@pytest.mark.parametrize("search", [sklinear.SoftmaxSGDCV, sklinear.MulticlassSVMSGDCV])
def test_a_search_fitted_with_refit_false_says_to_refit(search):
    from sklearn.exceptions import NotFittedError

    X, y = _data(3)
    model = search(alphas=[1e-3], cv=3, refit=False, max_iter=5).fit(X, y)
    with pytest.raises(NotFittedError, match=r"refit=False.*Set refit=True"):
        skl2onnx.to_onnx(model, X[:1])


@pytest.mark.parametrize("zipmap", [True, False])
def test_labels_beyond_int64_are_refused(zipmap):
    X, y = _data(3)
    y = np.uint64(2**63) + y.astype(np.uint64)  # uint64 labels >= 2**63
    model = _fit(SoftmaxSGD, X, y)
    message = r"dtype uint64 .*Supported labels are strings, booleans and integers"
    with pytest.raises(ValueError, match=message):
        skl2onnx.to_onnx(model, X[:1], options={"zipmap": zipmap})
    # Below 2**63 they fit in int64 and convert.
    small = _fit(SoftmaxSGD, X, (y - np.uint64(2**63)) * np.uint64(2**59))
    labels, _ = _run(small, X, {"zipmap": False})
    np.testing.assert_array_equal(labels, small.predict(X))


def test_a_dataframe_input_says_to_pass_a_numpy_array():
    pd = pytest.importorskip("pandas")
    X, y = _data(3)
    frame = pd.DataFrame(X, columns=[f"pixel{k}" for k in range(X.shape[1])])
    model = _fit(SoftmaxSGD, frame, y)
    message = r"one input.*got 6 inputs.*DataFrame.*to_numpy.*\(\[None, 6\]\)"
    with pytest.raises(ValueError, match=message):
        skl2onnx.to_onnx(model, frame[:1])
    labels, _ = _run(model, frame.to_numpy(np.float32), {"zipmap": False})
    np.testing.assert_array_equal(labels, model.predict(frame))


def test_dask_sgd_says_to_export_its_estimator():
    import subprocess
    import sys

    pytest.importorskip("distributed")
    # sklinear.onnx refuses DaskSGD if sklinear.dask was imported first,
    # sklinear.dask does if it comes second: test both orders.
    dask_first = "sklinear.dask" in sys.modules
    from sklinear.dask import DaskSGD

    with pytest.raises(TypeError, match=r"DaskSGD does not convert.*model\.estimator_"):
        skl2onnx.to_onnx(DaskSGD(SoftmaxSGD()), np.zeros((1, 4), np.float32))
    imports = ["import sklinear.onnx", "import sklinear.dask"]
    code = "; ".join(
        [
            *(imports if dask_first else imports[::-1]),
            "import numpy as np, skl2onnx",
            "from sklinear import SoftmaxSGD",
            "from sklinear.dask import DaskSGD",
            "skl2onnx.to_onnx(DaskSGD(SoftmaxSGD()), np.zeros((1, 4), np.float32))",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert "TypeError: DaskSGD does not convert" in result.stderr, result.stderr
