"""ColorHistogram: equality with per-image numpy.histogram and matplotlib hue."""

import math

import numpy as np
import pytest
from matplotlib.colors import rgb_to_hsv

from sklinear.features import ColorHistogram, color_histogram_batch, rgb_to_hue


def _images(n=12, size=9, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    images[0] = images[0, :, :, :1]  # gray pixels: hue 0
    images[1, :, :, 1] = images[1, :, :, 0]  # red = green ties
    images[2, :, :, 2] = images[2, :, :, 1]  # green = blue ties
    images[3] = [[0, 255, 0], [0, 0, 255], [255, 0, 255]][1]  # hue exactly 2/3
    images[4, :, :, 0] = np.arange(size) * 255 // (size - 1)  # values on edges
    return images


@pytest.mark.parametrize("bins", [1, 3, 6, 10, 12])
def test_hsv_histogram_equals_numpy_histogram_of_matplotlib_hue(bins):
    images = _images()
    expected = np.stack(
        [
            np.histogram(rgb_to_hsv(image / 255.0)[..., 0], bins=bins, range=(0, 1))[0]
            for image in images
        ]
    ) / (9 * 9)
    np.testing.assert_array_equal(color_histogram_batch(images, bins=bins), expected)
    np.testing.assert_array_equal(
        ColorHistogram(bins=bins).fit_transform(images.astype(np.float64)), expected
    )
    np.testing.assert_array_equal(
        color_histogram_batch(images / 255.0, bins=bins, value_range=(0, 1)), expected
    )


def test_rgb_to_hue_equals_matplotlib():
    values = _images(n=6) / 255.0
    np.testing.assert_array_equal(
        rgb_to_hue(values[..., 0], values[..., 1], values[..., 2]),
        rgb_to_hsv(values)[..., 0],
    )


@pytest.mark.parametrize("value_range", [(0, 255), (10, 200)])
@pytest.mark.parametrize("bins", [2, 7, 16])
def test_rgb_histograms_equal_numpy_histogram(bins, value_range):
    images = _images()
    clipped = np.clip(images, *value_range)  # out-of-range values are clipped
    expected = np.stack(
        [
            np.concatenate(
                [
                    np.histogram(image[..., c], bins=bins, range=value_range)[0]
                    for c in range(3)
                ]
            )
            for image in clipped
        ]
    )
    for X in (images, images.astype(np.float64)):
        ours = color_histogram_batch(
            X, bins=bins, color_space="rgb", value_range=value_range, normalize=False
        )
        np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("bins", [1, 4, 5])
def test_joint_histogram_equals_numpy_histogramdd(bins):
    images = _images()
    expected = np.stack(
        [
            np.histogramdd(image.reshape(-1, 3), bins=bins, range=[(0, 255)] * 3)[0]
            for image in images
        ]
    ).reshape(len(images), -1)
    ours = color_histogram_batch(images, bins=bins, color_space="rgb_joint")
    np.testing.assert_array_equal(ours, expected / 81)


def test_normalized_histograms_sum_to_one_per_histogram():
    images = _images()
    for color_space, n_histograms in [("hsv", 1), ("rgb", 3), ("rgb_joint", 1)]:
        features = color_histogram_batch(images, bins=4, color_space=color_space)
        sums = features.reshape(len(images), n_histograms, -1).sum(axis=-1)
        np.testing.assert_allclose(sums, 1.0)


def test_per_channel_histogram_of_grayscale_images():
    images = _images()[..., 0]
    features = ColorHistogram(bins=5, color_space="rgb").fit(images)
    expected = [np.histogram(image, bins=5, range=(0, 255))[0] / 81 for image in images]
    np.testing.assert_array_equal(features.transform(images), expected)
    assert features.get_feature_names_out().tolist() == [
        f"colorhist_c0_{b}" for b in range(5)
    ]


def test_flattened_input_and_feature_names():
    images = _images()
    histogram = ColorHistogram(bins=3, color_space="rgb").fit(images.reshape(12, -1))
    assert histogram.image_shape_ == (9, 9, 3)
    np.testing.assert_array_equal(
        histogram.transform(images.reshape(12, -1)), histogram.transform(images)
    )
    assert histogram.get_feature_names_out().tolist()[:4] == [
        "colorhist_r0",
        "colorhist_r1",
        "colorhist_r2",
        "colorhist_g0",
    ]
    joint = ColorHistogram(bins=2, color_space="rgb_joint").fit(images)
    assert joint.get_feature_names_out()[-1] == "colorhist_rgb1_1_1"


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        ({}, np.zeros((2, 8, 8)), "needs RGB images"),
        ({"color_space": "rgb_joint"}, np.zeros((2, 8, 8, 4)), "needs RGB images"),
        ({"value_range": (1, 1)}, np.zeros((2, 8, 8, 3)), "low < high"),
        ({"value_range": (0, np.inf)}, np.zeros((2, 8, 8, 3)), "finite"),
        ({"value_range": "full"}, np.zeros((2, 8, 8, 3)), "value_range"),
        ({}, np.full((2, 8, 8, 3), np.nan), "NaN"),
        ({}, np.zeros((2, 7, 8, 3)).reshape(2, -1), "Cannot infer"),
    ],
)
def test_bad_input_raises(kwargs, X, match):
    with pytest.raises(ValueError, match=match):
        color_histogram_batch(X, **kwargs)
    with pytest.raises(ValueError, match=match):
        ColorHistogram(**kwargs).fit(X)


@pytest.mark.parametrize("exponent", [-1074, -1040, -500, 500, 1000, 1016])
@pytest.mark.parametrize("color_space", ["hsv", "rgb", "rgb_joint"])
def test_histograms_of_any_magnitude_equal_the_rescaled_ones(color_space, exponent):
    # Scaling values and range by a power of two moves no value across an
    # edge; beyond about 1e301, high - low overflowed (NaN bins), and below
    # 1e-301 subnormals lost the edges.
    images = _images().astype(np.float64)
    expected = color_histogram_batch(images, bins=7, color_space=color_space)
    scaled = color_histogram_batch(
        np.ldexp(images, exponent),
        bins=7,
        color_space=color_space,
        value_range=(0.0, math.ldexp(255.0, exponent)),
    )
    np.testing.assert_array_equal(scaled, expected)


def test_full_float_range_equals_numpy_histogram_of_the_rescaled_values():
    largest = np.finfo(np.float64).max
    values = (_images().astype(np.float64) - 127.5) / 127.5 * largest
    ours = color_histogram_batch(
        values,
        bins=6,
        color_space="rgb",
        value_range=(-largest, largest),
        normalize=False,
    )
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="finite-sized"):
        np.histogram(values[0, ..., 0], 6, (-largest, largest))  # numpy's limit
    # The same values and range divided by 2**1024: the same bins, exactly.
    rescaled, edge = np.ldexp(values, -1024), math.ldexp(largest, -1024)
    expected = [
        np.concatenate(
            [np.histogram(image[..., c], 6, (-edge, edge))[0] for c in range(3)]
        )
        for image in rescaled
    ]
    np.testing.assert_array_equal(ours, expected)


def test_uint8_images_with_a_huge_value_range():
    images = _images()
    ours = color_histogram_batch(
        images, bins=4, color_space="rgb", value_range=(-(2.0**1020), 2.0**1020)
    )
    # Every value sits just above the middle edge, 0.
    expected = np.zeros((len(images), 12))
    expected[:, [2, 6, 10]] = 1.0
    np.testing.assert_array_equal(ours, expected)
