"""DataFrame input and set_output of the image transformers (pandas, polars)."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklinear.features import HOG, BagOfVisualWords, ColorHistogram

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

_TRANSFORMERS = [
    HOG(pixels_per_cell=(2, 2), cells_per_block=(1, 1)),
    ColorHistogram(bins=4),
    BagOfVisualWords(
        n_words=3, patch_size=3, stride=2, max_patches=300, random_state=0
    ),
]
_IDS = ["HOG", "ColorHistogram", "BagOfVisualWords"]


def _images(n=6, size=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def _frame(library, rows):
    columns = [f"px{i}" for i in range(rows.shape[1])]
    if library == "pandas":
        return pd.DataFrame(rows, columns=columns)
    return pl.DataFrame(rows, schema=columns, orient="row")


def _frame_type(library):
    return pd.DataFrame if library == "pandas" else pl.DataFrame


def _values(frame):
    return frame.to_numpy()


@pytest.mark.parametrize("library", ["pandas", "polars"])
@pytest.mark.parametrize("transformer", _TRANSFORMERS, ids=_IDS)
def test_dataframe_input_equals_array_input(transformer, library):
    images = _images()
    rows = images.reshape(len(images), -1)
    expected = clone(transformer).fit(images).transform(images)
    frame = _frame(library, rows)
    fitted = clone(transformer).fit(frame)
    assert fitted.image_shape_ == (8, 8, 3) and fitted.n_features_in_ == 192
    assert fitted.feature_names_in_.tolist() == [f"px{i}" for i in range(192)]
    features = fitted.transform(frame)
    assert isinstance(features, np.ndarray)
    np.testing.assert_array_equal(features, expected)
    np.testing.assert_array_equal(clone(transformer).fit_transform(frame), expected)
    # Names are checked as for any scikit-learn transformer.
    renamed = _frame(library, rows)
    renamed = (
        renamed.rename(columns={"px0": "other"})
        if library == "pandas"
        else renamed.rename({"px0": "other"})
    )
    with pytest.raises(ValueError, match="feature names"):
        fitted.transform(renamed)


@pytest.mark.parametrize("library", ["pandas", "polars"])
@pytest.mark.parametrize("transformer", _TRANSFORMERS, ids=_IDS)
@pytest.mark.parametrize("how", ["set_output", "set_config"])
def test_set_output_wraps_transform(transformer, library, how):
    images = _images()
    reference = clone(transformer).fit(images)
    expected, names = reference.transform(images), reference.get_feature_names_out()
    for X in (
        images,
        images.reshape(len(images), -1),
        _frame(library, images.reshape(6, -1)),
    ):
        if how == "set_output":
            fitted = clone(transformer).set_output(transform=library).fit(X)
            outputs = [fitted.transform(X), clone(fitted).fit_transform(X)]
        else:
            with sklearn.config_context(transform_output=library):
                fitted = clone(transformer).fit(X)
                outputs = [fitted.transform(X), clone(transformer).fit_transform(X)]
        for output in outputs:
            assert isinstance(output, _frame_type(library))
            assert list(output.columns) == names.tolist()
            np.testing.assert_array_equal(_values(output), expected)
    # And back to arrays.
    fitted = clone(transformer).set_output(transform="default").fit(images)
    assert isinstance(fitted.transform(images), np.ndarray)


def test_set_output_pandas_keeps_the_index():
    images = _images()
    frame = _frame("pandas", images.reshape(6, -1))
    frame.index = [10, 11, 12, 13, 14, 15]
    output = HOG(pixels_per_cell=2, cells_per_block=1).set_output(transform="pandas")
    assert output.fit(frame).transform(frame).index.tolist() == frame.index.tolist()


@pytest.mark.parametrize("library", ["pandas", "polars"])
@pytest.mark.parametrize("transformer", _TRANSFORMERS, ids=_IDS)
def test_pipeline_set_output_without_feature_name_warning(transformer, library):
    images = _images(n=12)
    y = np.arange(12) % 2
    model = make_pipeline(
        clone(transformer), StandardScaler(), LogisticRegression()
    ).set_output(transform=library)
    with warnings.catch_warnings():
        # A step fit on named columns and then fed an array warns.
        warnings.simplefilter("error", UserWarning)
        model.fit(images, y)
        model.predict(images)
        model.predict_proba(images[:3])
    features = model[:-1].transform(images)
    assert isinstance(features, _frame_type(library))
    assert features.shape == (12, model[0].n_features_out_)


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_feature_union_column_transformer_and_pipeline_fed_dataframes(library):
    images = _images(n=12)
    rows = images.reshape(12, -1)
    y = np.arange(12) % 2
    frame = _frame(library, rows)
    union = FeatureUnion(
        [
            ("hog", HOG(pixels_per_cell=(2, 2), cells_per_block=(1, 1))),
            ("color", ColorHistogram(bins=4)),
            (
                "bovw",
                BagOfVisualWords(
                    n_words=3, patch_size=3, max_patches=300, random_state=0
                ),
            ),
        ]
    )
    expected = clone(union).fit_transform(rows)
    np.testing.assert_allclose(union.fit_transform(frame), expected)
    assert union.transformer_list[0][1].feature_names_in_[0] == "px0"
    # Pixel columns plus another column: the image transformers get theirs.
    if library == "pandas":
        extended = frame.assign(label_noise=np.linspace(0, 1, 12))
    else:
        extended = frame.with_columns(pl.Series("label_noise", np.linspace(0, 1, 12)))
    pixels = [f"px{i}" for i in range(192)]
    columns = ColumnTransformer(
        [
            ("hog", HOG(pixels_per_cell=(2, 2), cells_per_block=(1, 1)), pixels),
            ("color", ColorHistogram(bins=4), pixels),
            ("noise", "passthrough", ["label_noise"]),
        ]
    ).set_output(transform=library)
    output = columns.fit_transform(extended)
    assert isinstance(output, _frame_type(library))
    assert output.shape == (12, 4 * 4 * 9 + 4 + 1)
    assert list(output.columns)[:2] == [
        "hog__hog_block0_0_cell0_0_o0",
        "hog__hog_block0_0_cell0_0_o1",
    ]
    assert list(output.columns)[-1] == "noise__label_noise"
    model = Pipeline(
        [
            ("features", union),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression()),
        ]
    ).fit(frame, y)
    assert model.predict(frame).shape == (12,)
    np.testing.assert_array_equal(
        model.predict(frame), clone(model).fit(rows, y).predict(rows)
    )


def test_other_containers_and_their_errors():
    images = _images()
    rows = images.reshape(len(images), -1)
    expected = HOG(pixels_per_cell=2, cells_per_block=1).fit_transform(images)
    nullable = pd.DataFrame(rows).add_prefix("px").astype("UInt8")
    for X in (rows.tolist(), nullable):
        hog = HOG(pixels_per_cell=2, cells_per_block=1)
        np.testing.assert_array_equal(hog.fit(X).transform(X), expected)
    pa = pytest.importorskip("pyarrow")
    table = pa.table({f"px{i}": rows[:, i] for i in range(rows.shape[1])})
    hog = HOG(pixels_per_cell=2, cells_per_block=1).fit(table)
    assert hog.feature_names_in_[0] == "px0"
    np.testing.assert_array_equal(hog.transform(table), expected)
    # scikit-learn's own errors: missing values, sparse input.
    nullable.iloc[0, 0] = pd.NA
    with pytest.raises(ValueError, match="NaN"):
        HOG().fit(nullable)
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="dense data is required"):
        HOG().fit(scipy_sparse.csr_matrix(rows))
