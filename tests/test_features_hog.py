"""HOG: equality with scikit-image, invariances and input errors."""

import numpy as np
import pytest
from skimage.color import rgb2gray
from skimage.feature import _hoghistogram, hog
from skimage.feature._hog import _hog_channel_gradient

from sklinear.features import HOG, hog_batch


def _images(n=8, height=26, width=27, seed=0):
    """uint8 RGB images with the ties and flat areas real images have."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(max(n, 5), height, width, 3), dtype=np.uint8)
    images[0] = images[0, :, :, :1]  # gray: all channels tie
    images[1, :, :, 1] = images[1, :, :, 0]  # two channels tie
    images[2, 1::2] = images[2, : height // 2 * 2 : 2]  # repeated rows
    images[3, :, :10] = 128  # flat area
    images[4, :, ::3] = 0  # stripes
    return images[:n]


def _skimage_hog(images, color_mode, **params):
    if color_mode == "gray":
        gray = [rgb2gray(np.asarray(image, dtype=np.float64)) for image in images]
        if images.dtype == np.float32:
            gray = [rgb2gray(image) for image in images]
        return np.stack([hog(image, **params) for image in gray])
    return np.stack([hog(image, channel_axis=-1, **params) for image in images])


@pytest.mark.parametrize("block_norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
@pytest.mark.parametrize(
    "orientations, pixels_per_cell, cells_per_block",
    [
        (9, (8, 8), (3, 3)),
        (8, (4, 4), (2, 2)),
        (4, (5, 7), (2, 1)),
        (6, (6, 6), (1, 1)),
    ],
)
@pytest.mark.parametrize("color_mode", ["max_gradient", "gray"])
def test_hog_equals_skimage(
    block_norm, orientations, pixels_per_cell, cells_per_block, color_mode
):
    images = _images()
    params = {
        "orientations": orientations,
        "pixels_per_cell": pixels_per_cell,
        "cells_per_block": cells_per_block,
        "block_norm": block_norm,
    }
    ours = hog_batch(images, color_mode=color_mode, **params)
    expected = _skimage_hog(images, color_mode, **params)
    assert ours.dtype == expected.dtype == np.float64
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("transform_sqrt", [False, True])
@pytest.mark.parametrize("color_mode", ["max_gradient", "gray"])
def test_hog_equals_skimage_float_input(dtype, transform_sqrt, color_mode):
    images = (_images(n=5) / 255.0).astype(dtype)
    params = {"orientations": 9, "pixels_per_cell": (6, 5), "cells_per_block": (2, 2)}
    ours = hog_batch(
        images, color_mode=color_mode, transform_sqrt=transform_sqrt, **params
    )
    expected = _skimage_hog(images, color_mode, transform_sqrt=transform_sqrt, **params)
    assert ours.dtype == expected.dtype == dtype
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


def test_hog_grayscale_batch_equals_skimage():
    images = _images(n=4)[..., 0]  # (n, H, W)
    ours = hog_batch(images, pixels_per_cell=(4, 4), cells_per_block=(2, 2))
    expected = np.stack(
        [hog(image, pixels_per_cell=(4, 4), cells_per_block=(2, 2)) for image in images]
    )
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


def test_hog_exact_angle_ties_equal_skimage():
    # Integer gradients at 0, 45, 90 and 135 degrees hit 4-bin edges exactly.
    image = np.zeros((16, 16), dtype=np.uint8)
    image[4:12, 4:12] = 200
    image[np.arange(16), np.arange(16)] = 90
    image[np.arange(16), 15 - np.arange(16)] = 30
    ours = hog_batch(image[None], orientations=4, pixels_per_cell=4, cells_per_block=1)
    expected = hog(
        image, orientations=4, pixels_per_cell=(4, 4), cells_per_block=(1, 1)
    )
    np.testing.assert_allclose(ours[0], expected, rtol=0, atol=1e-6)


def test_hog_without_block_norm_is_the_cell_average_histogram():
    # scikit-image has no un-normalized output; compare with its cell
    # histogram routine (magnitude summed per bin, divided by the cell area).
    images = _images(n=3, height=24, width=20)[..., 1].astype(np.float64)
    ours = hog_batch(
        images, pixels_per_cell=(8, 5), block_norm=None, feature_vector=False
    )
    for image, cells in zip(images, ours, strict=True):
        g_row, g_col = _hog_channel_gradient(image)
        expected = np.zeros((3, 4, 9))
        _hoghistogram.hog_histograms(g_col, g_row, 5, 8, 20, 24, 4, 3, 9, expected)
        np.testing.assert_allclose(cells, expected, rtol=1e-6, atol=1e-6)


def test_hog_cs231n_setting_shape_and_l1_relation():
    images = _images(n=4, height=32, width=32)
    cells = HOG(color_mode="gray", block_norm=None).fit_transform(images)
    assert cells.shape == (4, 4 * 4 * 9)
    # One-cell L1 blocks are the cell histograms divided by their sums.
    l1 = hog_batch(images, color_mode="gray", cells_per_block=1, block_norm="L1")
    cells = cells.reshape(4, 16, 9)
    np.testing.assert_allclose(
        l1.reshape(4, 16, 9), cells / (cells.sum(-1, keepdims=True) + 1e-5), atol=1e-9
    )


def test_hog_input_layouts_and_dtypes_agree():
    images = _images(n=5)
    reference = hog_batch(images)
    flat = images.reshape(5, -1)
    np.testing.assert_array_equal(hog_batch(flat, image_shape=(26, 27, 3)), reference)
    np.testing.assert_array_equal(hog_batch(images.astype(np.float64)), reference)
    np.testing.assert_array_equal(hog_batch(list(images)), reference)
    # HOG with block normalization ignores the intensity scale (up to eps).
    np.testing.assert_allclose(hog_batch(images / 255.0), reference, atol=1e-4)
    np.testing.assert_array_equal(hog_batch(images, chunk_size=2, n_jobs=2), reference)
    # Per-image result: it does not depend on the other images of the batch.
    np.testing.assert_array_equal(hog_batch(images[2:3]), reference[2:3])


def test_hog_drops_partial_cells_like_skimage():
    images = _images(n=2, height=19, width=23)
    ours = hog_batch(images, pixels_per_cell=(6, 7), cells_per_block=(2, 2))
    expected = _skimage_hog(
        images, "max_gradient", pixels_per_cell=(6, 7), cells_per_block=(2, 2)
    )
    np.testing.assert_allclose(ours, expected, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        ({}, np.zeros((2, 16, 16, 3)), "too small for a block"),
        ({"block_norm": None}, np.zeros((2, 7, 16)), "too small for a cell"),
        ({"image_shape": (8, 8)}, np.zeros((2, 32, 32, 3)), "does not match"),
        ({"image_shape": (10, 10, 3)}, np.zeros((2, 3072)), "holds 300 values"),
        ({}, np.zeros((2, 1000)), "Cannot infer the image shape"),
        ({}, np.zeros((2, 3, 32, 32, 3)), "5 dimension"),
        ({}, np.zeros(1024), "1 dimension"),
        ({"image_shape": (8, 0)}, np.zeros((2, 64)), "image_shape must be"),
        ({"color_mode": "gray"}, np.zeros((2, 32, 32, 4)), "4 channels"),
        ({"transform_sqrt": True}, -np.ones((2, 32, 32)), "non-negative"),
        ({"pixels_per_cell": (8, 0)}, np.zeros((2, 32, 32)), "pixels_per_cell"),
    ],
)
def test_hog_bad_input_raises(kwargs, X, match):
    with pytest.raises(ValueError, match=match):
        hog_batch(X, **kwargs)


def test_hog_nan_raises():
    X = np.zeros((2, 32, 32))
    X[1, 3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        hog_batch(X)
    with pytest.raises(ValueError, match="NaN"):
        HOG().fit(X)


def test_hog_transformer_layout_and_names():
    images = _images(n=4, height=32, width=32)
    hog_ = HOG(pixels_per_cell=8, cells_per_block=2).fit(images.reshape(4, -1))
    assert hog_.image_shape_ == (32, 32, 3)
    assert hog_.n_features_in_ == 32 * 32 * 3
    names = hog_.get_feature_names_out()
    assert len(names) == hog_.n_features_out_ == 3 * 3 * 2 * 2 * 9
    assert names[0] == "hog_block0_0_cell0_0_o0"
    assert names[-1] == "hog_block2_2_cell1_1_o8"
    # transform takes the shaped or flattened layout seen in fit.
    np.testing.assert_array_equal(
        hog_.transform(images), hog_.transform(images.reshape(4, -1))
    )
    with pytest.raises(ValueError, match="does not match"):
        hog_.transform(images.reshape(4, 64, 16, 3))
    with pytest.raises(ValueError, match="features"):
        hog_.transform(images[..., :2].reshape(4, -1))


# About 1e-300, 1e-30, 1e-5, 1e5, 1e19, 1e30, 1e40, 1e150 and 1e300: powers
# of two rescale exactly (other factors round pixel values, which may move a
# gradient lying exactly on a bin edge, as in scikit-image).
_MAGNITUDES = [2.0**e for e in (-997, -100, -17, 17, 63, 100, 133, 498, 997)]


def _skimage_finite_or_rescaled(images, magnitude, color_mode, **params):
    """scikit-image on the images where its output is finite, else on the
    images divided by `magnitude` (block-normalized HOG is scale-invariant
    up to eps, negligible for these blocks of norm > 100)."""
    with np.errstate(all="ignore"):
        expected = _skimage_hog(images * magnitude, color_mode, **params)
    finite = np.isfinite(expected).all(axis=1)
    if not finite.all():
        expected[~finite] = _skimage_hog(images[~finite], color_mode, **params)
    return expected, finite


@pytest.mark.parametrize("color_mode", ["max_gradient", "gray"])
@pytest.mark.parametrize("block_norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
def test_hog_of_any_magnitude_equals_skimage_or_the_rescaled_image(
    block_norm, color_mode
):
    # Above about 2.5e19 float32 squares overflowed (all-NaN features) and
    # above 1e38 NaN became an index that looped forever.
    images = _images(n=5, height=16, width=16).astype(np.float64)
    params = {"pixels_per_cell": (4, 4), "cells_per_block": (2, 2)}
    finite_somewhere = []
    for magnitude in _MAGNITUDES:
        ours = hog_batch(
            images * magnitude, color_mode=color_mode, block_norm=block_norm, **params
        )
        expected, finite = _skimage_finite_or_rescaled(
            images, magnitude, color_mode, block_norm=block_norm, **params
        )
        finite_somewhere.append(finite.all())
        np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    # Both cases were tested: scikit-image is finite up to 1e30 here.
    assert finite_somewhere[:6] == [True] * 6 and not any(finite_somewhere[6:])


def test_hog_cell_histograms_scale_with_the_image():
    images = _images(n=4, height=16, width=16).astype(np.float64)
    reference = hog_batch(images, pixels_per_cell=4, block_norm=None)
    for magnitude in _MAGNITUDES:
        ours = hog_batch(images * magnitude, pixels_per_cell=4, block_norm=None)
        np.testing.assert_allclose(ours, reference * magnitude, rtol=1e-6)


def test_hog_at_the_ends_of_the_float_range():
    images = _images(n=4, height=16, width=16).astype(np.float64) - 127.5
    params = {"pixels_per_cell": 4, "cells_per_block": 2}
    reference = hog_batch(images, **params)
    # Differences of +-max overflow unless the images are scaled first.
    largest = images / 127.5 * np.finfo(np.float64).max
    np.testing.assert_allclose(hog_batch(largest, **params), reference, atol=1e-6)
    gray = hog_batch(largest, color_mode="gray", **params)
    np.testing.assert_allclose(
        gray, hog_batch(images, color_mode="gray", **params), atol=1e-6
    )
    # Subnormal images: exact multiples of the smallest float.
    smallest = (images + 127.5) * 2.0**-1074
    np.testing.assert_array_equal(
        hog_batch(smallest, pixels_per_cell=4, block_norm=None),
        np.ldexp(hog_batch(images + 127.5, pixels_per_cell=4, block_norm=None), -1074),
    )
    # float32, int64 and transform_sqrt near their ranges.
    f32 = (images * 2.0**118).astype(np.float32)
    np.testing.assert_allclose(
        hog_batch(f32, **params),
        hog_batch(images.astype(np.float32), **params),
        atol=1e-6,
    )
    int64 = (images * 2.0**55).astype(np.int64)
    np.testing.assert_allclose(hog_batch(int64, **params), reference, atol=1e-6)
    sqrt = hog_batch((images + 127.5) * 1e300, transform_sqrt=True, **params)
    np.testing.assert_allclose(
        sqrt, hog_batch(images + 127.5, transform_sqrt=True, **params), atol=1e-6
    )


def test_hog_result_per_image_does_not_depend_on_the_batch_scale():
    # Images are scaled one by one: a huge image leaves the others alone.
    images = _images(n=4, height=16, width=16).astype(np.float64)
    mixed = images.copy()
    mixed[1] *= 1e200
    mixed[2] *= 1e-200
    alone = np.concatenate(
        [hog_batch(image[None], pixels_per_cell=4) for image in mixed]
    )
    np.testing.assert_array_equal(hog_batch(mixed, pixels_per_cell=4), alone)
    np.testing.assert_array_equal(
        alone[[0, 3]], hog_batch(images[[0, 3]], pixels_per_cell=4)
    )


def test_hog_channel_ties_follow_skimage_hypot():
    # Channels 0 and 1 have gradients (1, 189) and (161, 99) at pixel (5, 5):
    # equal squares (35722), but np.hypot is an ulp larger for the second, so
    # scikit-image takes channel 1 (orientation bin 1 of 4, not bin 0).
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    image[6, 5, :2] = 1, 161
    image[5, 6, :2] = 189, 99
    image[7, 6, 0] = 50  # no tie at (6, 6), which sees these values too
    assert np.hypot(1.0, 189.0) < np.hypot(161.0, 99.0)
    params = {
        "orientations": 4,
        "pixels_per_cell": (4, 4),
        "cells_per_block": (1, 1),
        "block_norm": "L1",
    }
    expected = hog(image, channel_axis=-1, **params)
    np.testing.assert_allclose(hog_batch(image[None], **params)[0], expected, atol=1e-6)
    np.testing.assert_allclose(
        hog_batch(image[None].astype(np.float64), **params)[0], expected, atol=1e-6
    )
