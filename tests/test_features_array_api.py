"""Array API dispatch: the image transformers return their input's namespace.

Under ``sklearn.set_config(array_api_dispatch=True)`` a transformer fed an
array of another array API library (array-api-strict, torch) computes with
NumPy and returns the features in the input's namespace, on its device.
scikit-learn refuses to enable dispatch unless scipy's ``SCIPY_ARRAY_API=1``
was set before scipy was imported, so the tests run in a subprocess with it
when this process was started without.
"""

import numpy as np
import pytest
import sklearn
from _dispatch import IN_DISPATCH_PROCESS, assert_dispatch_tests_pass, needs_dispatch
from sklearn.base import clone

from sklinear.features import HOG, BagOfVisualWords, ColorHistogram, hog_batch

xp = pytest.importorskip("array_api_strict")


_TRANSFORMERS = [
    HOG(pixels_per_cell=(2, 2), cells_per_block=(2, 2)),
    ColorHistogram(bins=5, value_range=(0.0, 1.0)),
    BagOfVisualWords(n_words=3, patch_size=3, max_patches=300, random_state=0),
]
_IDS = ["HOG", "ColorHistogram", "BagOfVisualWords"]


def _images(dtype=np.float64):
    return np.random.default_rng(0).random((5, 8, 8, 3)).astype(dtype)


def _namespaces():
    yield pytest.param(xp, xp.Device("CPU_DEVICE"), id="strict-cpu")
    yield pytest.param(xp, xp.Device("device1"), id="strict-device1")
    try:
        import torch
    except ImportError:
        return
    yield pytest.param(torch, torch.device("cpu"), id="torch-cpu")


def _to_numpy(array):
    if hasattr(array, "cpu"):
        return array.cpu().numpy()
    return np.asarray(xp.asarray(array, device=xp.Device("CPU_DEVICE")))


@pytest.mark.slow
@pytest.mark.skipif(IN_DISPATCH_PROCESS, reason="this is the subprocess")
def test_dispatch_tests_pass_with_scipy_array_api():
    # One dispatch test per namespace available here (torch only where it
    # is installed), transformer and layout, plus the two tests that take
    # no namespace.
    expected = len(list(_namespaces())) * len(_TRANSFORMERS) * 2 + 2
    assert_dispatch_tests_pass(__file__, expected, timeout=300)


@needs_dispatch
@pytest.mark.parametrize("flatten", [False, True], ids=["4d", "flat"])
@pytest.mark.parametrize("transformer", _TRANSFORMERS, ids=_IDS)
@pytest.mark.parametrize("namespace, device", _namespaces())
def test_transform_returns_the_input_namespace_and_device(
    namespace, device, transformer, flatten
):
    images = _images()
    expected = clone(transformer).fit(images).transform(images)
    X = images.reshape(len(images), -1) if flatten else images
    X = namespace.asarray(X, device=device)
    with sklearn.config_context(array_api_dispatch=True):
        fitted = clone(transformer).fit(X)
        outputs = [fitted.transform(X), clone(transformer).fit_transform(X)]
    assert fitted.n_features_in_ == 192 and fitted.image_shape_ == (8, 8, 3)
    for output in outputs:
        assert type(output) is type(X)
        assert output.device == X.device
        assert _to_numpy(output).dtype == expected.dtype
        np.testing.assert_array_equal(_to_numpy(output), expected)


@needs_dispatch
def test_set_output_and_functions_under_dispatch_give_numpy_containers():
    pd = pytest.importorskip("pandas")
    images = _images()
    X = xp.asarray(images)
    with sklearn.config_context(array_api_dispatch=True):
        frame = HOG(pixels_per_cell=2).set_output(transform="pandas").fit(X)
        frame = frame.transform(X)
        features = hog_batch(X, pixels_per_cell=2)
    assert isinstance(frame, pd.DataFrame)
    assert isinstance(features, np.ndarray)
    np.testing.assert_array_equal(
        frame.to_numpy(), hog_batch(images, pixels_per_cell=2)
    )
    np.testing.assert_array_equal(features, frame.to_numpy())


@needs_dispatch
def test_without_dispatch_arrays_become_numpy():
    images = _images(np.float32)
    transformer = HOG(pixels_per_cell=2)
    features = transformer.fit_transform(xp.asarray(images))
    assert isinstance(features, np.ndarray) and features.dtype == np.float32
    np.testing.assert_array_equal(features, transformer.fit_transform(images))
