"""scikit-learn API compliance of the image transformers, and pipelines.

scikit-learn's common checks feed 2-D arrays whose widths (2, 5, 10, ...)
are rarely image sizes. Our transformers infer only square grayscale
(``s*s``) or RGB (``3*s*s``) images from 2-D input and otherwise raise a
ValueError asking for ``image_shape``, so the checks that fit on such
widths do not apply; they are declared below, each with its reason. Their
subject (fit returns self, idempotent fit, n_features_in_, dtypes, read-only
memmaps, parameters left untouched) is tested here on image-shaped input.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklinear.features import HOG, BagOfVisualWords, ColorHistogram

_NOT_AN_IMAGE = (
    "fits on 2-D data whose width (2, 5 or 10) is not s*s or 3*s*s: no image "
    "shape can be inferred, and a clear ValueError is raised instead"
)
_EXPECTED_FAILED = dict.fromkeys(
    [
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_readonly_memmap_input",
        "check_fit2d_1sample",
    ],
    _NOT_AN_IMAGE,
)

# Settings that featurize the tiny images (e.g. 2x2) the checks infer.
_SMALL = [
    HOG(orientations=4, pixels_per_cell=1, cells_per_block=1),
    HOG(pixels_per_cell=1, block_norm=None, color_mode="gray"),
    ColorHistogram(bins=4, color_space="rgb"),
    BagOfVisualWords(
        n_words=2, patch_size=1, whiten=False, pooling_grid=1, random_state=0
    ),
]


@parametrize_with_checks(_SMALL, expected_failed_checks=lambda est: _EXPECTED_FAILED)
def test_sklearn_compatible_transformer(estimator, check):
    check(estimator)


def _cifar_like(n=40, seed=0):
    """Two classes told apart by color and by edge orientation."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.integers(0, 120, size=(n, 32, 32, 3)).astype(np.uint8)
    X[y == 0, :, ::4, 0] = 250  # red vertical stripes
    X[y == 1, ::4, :, 2] = 250  # blue horizontal stripes
    return X.reshape(n, -1), y


_TRANSFORMERS = [
    HOG(),
    ColorHistogram(color_space="rgb_joint", bins=3),
    BagOfVisualWords(n_words=5, patch_size=5, stride=3, random_state=0),
]


@pytest.mark.parametrize("transformer", _TRANSFORMERS, ids=lambda t: type(t).__name__)
def test_image_input_api(transformer):
    X, _ = _cifar_like(n=10)
    images = X.reshape(10, 32, 32, 3)
    params = transformer.get_params()
    with pytest.raises(NotFittedError):
        transformer.transform(X)
    fitted = clone(transformer).fit(images)
    assert transformer.get_params() == params  # fit leaves parameters alone
    assert fitted.n_features_in_ == 3072 and fitted.image_shape_ == (32, 32, 3)
    features = fitted.transform(images)
    np.testing.assert_allclose(fitted.transform(X), features)  # flattened rows
    np.testing.assert_allclose(clone(transformer).fit(images).transform(X), features)
    np.testing.assert_allclose(fitted.fit_transform(images), features)
    np.testing.assert_allclose(
        pickle.loads(pickle.dumps(fitted)).transform(X), features
    )
    readonly = images.copy()
    readonly.flags.writeable = False
    np.testing.assert_allclose(fitted.transform(readonly), features)
    assert features.shape == (10, fitted.n_features_out_)
    assert len(fitted.get_feature_names_out()) == fitted.n_features_out_
    with pytest.raises(ValueError, match="features"):
        fitted.transform(X[:, :-3])


def test_feature_union_pipeline_with_sgd_classifier():
    X, y = _cifar_like()
    pipeline = Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        ("hog", HOG(color_mode="gray", block_norm=None)),
                        ("color", ColorHistogram()),
                    ]
                ),
            ),
            ("scale", StandardScaler()),
            ("clf", SGDClassifier(random_state=0)),
        ]
    )
    pipeline.fit(X, y)
    assert pipeline.score(X, y) == 1.0
    names = pipeline[:-1].get_feature_names_out()
    assert names[0] == "hog__hog_cell0_0_o0" and names[-1] == "color__colorhist_hue9"
    assert len(names) == 4 * 4 * 9 + 10


def test_grid_search_over_a_feature_parameter():
    X, y = _cifar_like()
    pipeline = Pipeline(
        [
            ("hog", HOG(block_norm=None)),
            ("scale", StandardScaler()),
            ("clf", SGDClassifier(random_state=0)),
        ]
    )
    search = GridSearchCV(
        pipeline, {"hog__pixels_per_cell": [(8, 8), (16, 16)]}, cv=2
    ).fit(X, y)
    assert search.best_params_["hog__pixels_per_cell"] in [(8, 8), (16, 16)]
    assert len(search.cv_results_["mean_test_score"]) == 2


def test_set_output_default_and_pandas():
    X, _ = _cifar_like(n=4)
    features = ColorHistogram().set_output(transform="default").fit_transform(X)
    assert isinstance(features, np.ndarray)
    pd = pytest.importorskip("pandas")
    frame = ColorHistogram().set_output(transform="pandas").fit_transform(X)
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns[0] == "colorhist_hue0"


_ONE_IMAGE = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    "transformer",
    [HOG(), ColorHistogram(), BagOfVisualWords(n_words=2, patch_size=6)],
    ids=lambda t: type(t).__name__,
)
def test_a_single_image_gets_the_batch_axis_hint(transformer):
    # (32, 32, 3) reads as 32 grayscale images of 32x3 pixels: too small
    # (HOG, bag of words) or without color (hue histogram).
    with pytest.raises(ValueError, match=r"images\[None\] \(shape \(1, 32, 32, 3\)\)"):
        clone(transformer).fit(_ONE_IMAGE)
    fitted = clone(transformer).fit(np.stack([_ONE_IMAGE] * 12))
    with pytest.raises(ValueError, match=r"does not match.*images\[None\]"):
        fitted.transform(_ONE_IMAGE)
    np.testing.assert_array_equal(
        fitted.transform(_ONE_IMAGE[None]), fitted.transform(np.stack([_ONE_IMAGE]))
    )


def test_single_image_hint_in_functions_and_not_for_grayscale_batches():
    from sklinear.features import color_histogram_batch, hog_batch

    with pytest.raises(ValueError, match=r"too small.*images\[None\]"):
        hog_batch(_ONE_IMAGE)
    with pytest.raises(ValueError, match=r"needs RGB.*images\[None\]"):
        color_histogram_batch(_ONE_IMAGE)
    # A grayscale batch too small for a block: no hint about single images.
    with pytest.raises(ValueError, match="too small") as error:
        hog_batch(np.zeros((4, 16, 16)))
    assert "images[None]" not in str(error.value)
    # Grayscale batches of 3-pixel-wide images that fit are featurized.
    narrow = np.random.default_rng(0).random((4, 8, 3))
    features = hog_batch(narrow, pixels_per_cell=1, cells_per_block=1)
    assert features.shape == (4, 8 * 3 * 9)
    assert color_histogram_batch(
        narrow, color_space="rgb", value_range=(0, 1)
    ).shape == (
        4,
        10,
    )
    # Bad parameters are reported as such, without the hint.
    with pytest.raises(ValueError, match="pixels_per_cell") as error:
        hog_batch(_ONE_IMAGE, pixels_per_cell=0)
    assert "images[None]" not in str(error.value)
