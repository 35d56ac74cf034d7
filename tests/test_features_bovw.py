"""BagOfVisualWords: patches, encodings, pooling sums, determinism."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklinear.features import (
    BagOfVisualWords,
    encode_patches,
    extract_patches,
    normalize_patches,
    pool_activations,
    zca_whitening,
)


def _images(n=16, size=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def test_extract_patches_equals_slicing():
    images = _images(n=3, size=9)
    patches = extract_patches(images, patch_size=4, stride=2)
    assert patches.shape == (3, 3, 3, 4 * 4 * 3)
    for i, r, c in np.ndindex(3, 3, 3):
        expected = images[i, 2 * r : 2 * r + 4, 2 * c : 2 * c + 4].ravel()
        np.testing.assert_array_equal(patches[i, r, c], expected)


def test_normalize_patches_zero_mean_and_scaled_variance():
    rng = np.random.default_rng(0)
    patches = rng.uniform(0, 255, size=(50, 27))
    out = normalize_patches(patches.copy(), eps=10.0)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-4)
    expected = patches.var(axis=1) / (patches.var(axis=1) + 10)
    np.testing.assert_allclose(out.var(axis=1), expected, rtol=1e-4)


def test_zca_whitening_gives_identity_covariance():
    rng = np.random.default_rng(0)
    patches = rng.normal(size=(20000, 4)) @ rng.normal(size=(4, 4))
    mean, whitening = zca_whitening(patches, eps=1e-8)
    np.testing.assert_allclose(whitening, whitening.T, atol=1e-5)
    covariance = np.cov((patches - mean) @ whitening, rowvar=False)
    np.testing.assert_allclose(covariance, np.eye(4), atol=1e-3)


def test_encodings_match_their_definitions():
    rng = np.random.default_rng(0)
    patches, codebook = rng.normal(size=(30, 5)), rng.normal(size=(7, 5))
    distances = np.linalg.norm(patches[:, None] - codebook[None], axis=-1)
    triangle = np.maximum(0, distances.mean(axis=1, keepdims=True) - distances)
    np.testing.assert_allclose(encode_patches(patches, codebook), triangle, atol=1e-4)
    hard = encode_patches(patches, codebook, encoding="hard")
    np.testing.assert_array_equal(hard.argmax(axis=1), distances.argmin(axis=1))
    np.testing.assert_array_equal(hard.sum(axis=1), 1)


def test_pooling_regions_follow_array_split():
    codes = np.random.default_rng(0).random((2, 5, 4, 3))
    pooled = pool_activations(codes, grid=(2, 3)).reshape(2, 2, 3, 3)
    for i, rows in enumerate(np.array_split(np.arange(5), 2)):
        for j, cols in enumerate(np.array_split(np.arange(4), 3)):
            expected = codes[:, rows][:, :, cols].sum(axis=(1, 2))
            np.testing.assert_allclose(pooled[:, i, j], expected)
    whole = pool_activations(codes, grid=1, method="mean")
    np.testing.assert_allclose(whole, codes.mean(axis=(1, 2)))


@pytest.mark.parametrize(
    "pooling, grid, expected",
    [
        ("sum", (2, 2), [16, 12, 12, 9]),  # 7x7 positions split 4 + 3
        ("sum", (1, 1), [49]),
        ("mean", (2, 2), [1, 1, 1, 1]),
    ],
)
def test_hard_encoded_histograms_have_documented_sums(pooling, grid, expected):
    images = _images()
    bovw = BagOfVisualWords(
        n_words=5,
        patch_size=4,
        encoding="hard",
        pooling_grid=grid,
        pooling=pooling,
        random_state=0,
    ).fit(images)
    features = bovw.transform(images).reshape(len(images), -1, 5)
    np.testing.assert_allclose(
        features.sum(axis=-1), np.tile(expected, (16, 1)), rtol=1e-6
    )


def test_deterministic_with_random_state():
    images = _images()
    params = {"n_words": 6, "patch_size": 3, "stride": 2, "max_patches": 300}
    first = BagOfVisualWords(random_state=0, **params).fit(images)
    second = BagOfVisualWords(random_state=0, **params).fit(images)
    np.testing.assert_array_equal(first.codebook_, second.codebook_)
    np.testing.assert_array_equal(first.transform(images), second.transform(images))
    other = BagOfVisualWords(random_state=1, **params).fit(images)
    assert not np.array_equal(first.codebook_, other.codebook_)


def test_transform_in_chunks_and_layouts_agree():
    images = _images()
    bovw = BagOfVisualWords(n_words=4, patch_size=3, random_state=0).fit(images)
    reference = bovw.transform(images)
    assert reference.shape == (16, 2 * 2 * 4) and reference.dtype == np.float32
    # float32 GEMMs over different chunk sizes round differently.
    np.testing.assert_allclose(
        bovw.set_params(chunk_size=3).transform(images), reference, rtol=1e-5
    )
    np.testing.assert_allclose(
        bovw.transform(images.reshape(16, -1)), reference, rtol=1e-5
    )
    np.testing.assert_allclose(bovw.transform(images[5:6]), reference[5:6], rtol=1e-5)
    names = bovw.get_feature_names_out()
    assert names[0] == "bovw_region0_0_word0" and names[-1] == "bovw_region1_1_word3"


def test_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        BagOfVisualWords().transform(_images())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"patch_size": 11}, "too small for patch_size"),
        ({"n_words": 50, "max_patches": 20}, "more than the 20 patches"),
        ({"patch_size": 9, "pooling_grid": 3}, "pooling_grid asks for 3 rows"),
    ],
)
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BagOfVisualWords(**kwargs).fit(_images())
