"""BagOfVisualWords: patches, encodings, pooling sums, determinism."""

import tracemalloc

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


# The transform encodes chunks with fused, in-place passes (_ChunkEncoder);
# the public step functions are the plain reference path it must reproduce.


def _reference_transform(bovw, images):
    """Today's transform before the fused encoder: the public steps in order."""
    patches = extract_patches(images, patch_size=bovw.patch_size, stride=bovw.stride)
    n, n_rows, n_cols, _ = patches.shape
    patches = normalize_patches(patches, eps=bovw.contrast_eps)
    patches = patches.reshape(n * n_rows * n_cols, -1)
    if bovw.whiten:
        patches = (patches - bovw.patch_mean_) @ bovw.whitening_
    codes = encode_patches(patches, bovw.codebook_, encoding=bovw.encoding)
    pooled = pool_activations(
        codes.reshape(n, n_rows, n_cols, -1),
        grid=bovw.pooling_grid,
        method=bovw.pooling,
    )
    return pooled.astype(np.float32)


def _assert_rows_close(actual, expected, rtol=1e-5):
    """|actual - expected| <= rtol * max|expected| within each image's row.

    float32 sums of many codes round at about 1e-7 of the row's largest
    feature, whatever the order of the operations; features near zero
    carry that absolute rounding, so they are compared at the row's scale.
    """
    scale = np.abs(expected).max(axis=1, keepdims=True)
    assert np.all(np.abs(actual - expected) <= rtol * scale)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pooling": "mean"},
        {"pooling_grid": 1},
        {"pooling_grid": (3, 2), "pooling": "mean"},
        {"whiten": False},
        {"stride": 2},
        {"stride": 3, "patch_size": 3, "whiten": False},
        {"contrast_eps": 1e-3, "whiten_eps": 1e-2},
        {"chunk_size": 3},
        {"chunk_size": 5, "n_jobs": 2},
    ],
)
@pytest.mark.parametrize("encoding", ["triangle", "hard"])
def test_transform_matches_reference_path(params, encoding):
    images = _images(n=13, size=12, seed=1)
    params = {"n_words": 7, "patch_size": 4, "random_state": 0, **params}
    bovw = BagOfVisualWords(encoding=encoding, **params).fit(images)
    expected = _reference_transform(bovw, images)
    features = bovw.transform(images)
    assert features.dtype == np.float32
    if encoding == "hard":
        np.testing.assert_array_equal(features, expected)
    else:
        _assert_rows_close(features, expected)


def test_transform_matches_reference_on_gray_and_float_images():
    rng = np.random.default_rng(3)
    gray = rng.uniform(0, 1, size=(9, 11, 10))
    bovw = BagOfVisualWords(
        n_words=6, patch_size=3, contrast_eps=10 / 255**2, random_state=0
    ).fit(gray)
    _assert_rows_close(bovw.transform(gray), _reference_transform(bovw, gray))


def test_threads_and_chunks_do_not_change_the_features():
    images = _images(n=20, size=10, seed=2)
    bovw = BagOfVisualWords(n_words=9, patch_size=3, random_state=0).fit(images)
    one = bovw.set_params(chunk_size=1, n_jobs=1).transform(images)
    threaded = bovw.set_params(chunk_size=3, n_jobs=2).transform(images)
    _assert_rows_close(threaded, one, rtol=1e-6)


def test_squared_distance_rounding_below_zero_encodes_as_zero_distance():
    """A patch equal to a word: its squared distance may round below 0.

    The encoder then takes the square root of a negative number, which it
    must read as distance 0. Find such a patch among the patches of a random
    image and compare with the distances computed in float64 (float32
    rounding of a zero squared distance, about 1e-6, becomes a distance of
    about 1e-3 after the square root, in any float32 implementation).

    The sign is read from the very matrix product the transform computes
    (same shapes, same output buffer): a vector dot product of the same row
    and column may round the other way, as BLAS kernels differ by shape.
    """
    from sklinear.features._bovw import _ChunkEncoder

    images = _images(n=6, size=8, seed=0)
    bovw = BagOfVisualWords(n_words=4, patch_size=4, whiten=False, random_state=0)
    bovw.fit(images)
    patches = normalize_patches(extract_patches(images[:1], patch_size=4))
    patches = patches.reshape(-1, patches.shape[-1])
    for i, patch in enumerate(patches):
        bovw.codebook_[0] = patch
        encoder = _ChunkEncoder(1, images.shape[1:], bovw)
        encoder._normalize(images[:1])
        np.einsum(
            "ij,ij->i", encoder.patches, encoder.patches, out=encoder.augmented[:, -2]
        )
        np.matmul(encoder.augmented, encoder.words, out=encoder.distances)
        if encoder.distances[i, 0] < 0:
            break
    else:
        pytest.fail("no patch whose squared distance to itself rounds below 0")
    features = bovw.transform(images[:1])
    assert np.isfinite(features).all()
    codebook = bovw.codebook_.astype(np.float64)
    distances = np.linalg.norm(patches[:, None] - codebook[None], axis=-1)
    assert distances[i, 0] == 0
    codes = np.maximum(distances.mean(axis=1, keepdims=True) - distances, 0)
    expected = pool_activations(codes.reshape(1, 5, 5, 4), grid=(2, 2))
    _assert_rows_close(features, expected)


def test_any_finite_magnitude_is_normalized_not_reported_as_nan():
    """Patch normalization is scale-invariant up to contrast_eps.

    Images of pixel values times 1e4 or more have patch variances far above
    contrast_eps=10: their features equal those of any larger scale, up to
    1e300 (where float32, and float64 squares, overflow). Images times 1e-4
    or less have variances far below it: their patches normalize to about
    0, as for a blank image.
    """
    images = _images(n=8, size=9, seed=4).astype(np.float64)
    bovw = BagOfVisualWords(n_words=5, patch_size=3, random_state=0).fit(images)
    large = bovw.transform(images * 1e4)
    blank = bovw.transform(np.zeros_like(images))
    for exponent in range(-30, 301, 10):
        scaled = images * 10.0**exponent
        features = bovw.transform(scaled)
        assert np.isfinite(features).all(), exponent
        if exponent >= 4:
            _assert_rows_close(features, large, rtol=1e-4)
        elif exponent <= -4:
            _assert_rows_close(features, blank, rtol=1e-4)
        if exponent in (-30, 0, 150, 300):
            refit = BagOfVisualWords(n_words=5, patch_size=3, random_state=0)
            assert np.isfinite(refit.fit(scaled).codebook_).all(), exponent


def test_normalize_patches_is_exact_beyond_float32_range():
    rng = np.random.default_rng(0)
    patches = rng.uniform(-1, 1, size=(20, 12))
    expected = normalize_patches(patches * 1e6, eps=1e9)
    # normalize(p * s, eps * s**2) == normalize(p, eps)
    for scale in [1e20, 1e100, 1e150]:
        got = normalize_patches(patches * scale, eps=1e9 * (scale / 1e6) ** 2)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # Far beyond eps, the result is the patch divided by its standard deviation.
    standardized = (patches - patches.mean(axis=1, keepdims=True)) / patches.std(
        axis=1, keepdims=True
    )
    for scale in [1e20, 1e300, np.finfo(np.float64).max / 2]:
        got = normalize_patches(patches * scale)
        np.testing.assert_allclose(got, standardized, rtol=1e-5, atol=1e-6)
    mixed = np.vstack([patches[:1] * 1e300, patches[1:]])
    np.testing.assert_allclose(
        normalize_patches(mixed, eps=1e-3)[1:],
        normalize_patches(patches[1:], eps=1e-3),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_transform_verbose_reports_every_chunk(capsys, n_jobs):
    images = _images(n=10)
    bovw = BagOfVisualWords(n_words=5, patch_size=4, random_state=0).fit(images)
    expected = bovw.transform(images)
    capsys.readouterr()
    bovw.set_params(chunk_size=3, n_jobs=n_jobs, verbose=2)
    features = bovw.transform(images)
    lines = capsys.readouterr().out.splitlines()
    # Chunks of 3, 3, 3, 1 in whatever order the threads finish them.
    assert len(lines) == 4
    done = [int(line.split()[2].split("/")[0]) for line in lines]
    assert done == sorted(done) and done[-1] == 10
    assert all(line.startswith("[BagOfVisualWords] transform: ") for line in lines)
    assert "images/s" in lines[0] and "left" in lines[0]
    assert lines[-1].split(", ")[-1].startswith("done in ")
    _assert_rows_close(features, expected)
    bovw.set_params(verbose=0).transform(images)
    assert capsys.readouterr().out == ""


def test_fit_verbose_reports_patches_and_codebook(capsys):
    images = _images(n=10)
    BagOfVisualWords(
        n_words=5, patch_size=4, max_patches=300, random_state=0, verbose=1
    ).fit(images)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        "[BagOfVisualWords] fit (patches)",
        "[BagOfVisualWords] fit (k-means)",
    ]
    assert lines[0].split(": ")[1].startswith("300/300 patches (100%)")
    assert lines[1].split(": ")[1].startswith("5/5 words (100%)")
    BagOfVisualWords(n_words=5, patch_size=4, random_state=0).fit(images)
    assert capsys.readouterr().out == ""


def _working_memory(bovw, images):
    """Peak traced bytes of transform beyond its output, and the output."""
    tracemalloc.start()
    try:
        features = bovw.transform(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak - features.nbytes, features


def test_transform_streams_chunks_without_full_size_temporaries():
    # 16 times the images, the same working memory: nothing of the size of
    # the batch (a float64 copy of the output would alone be twice it).
    images = _images(n=512, size=12)
    bovw = BagOfVisualWords(
        n_words=64, patch_size=4, max_patches=2000, chunk_size=8, random_state=0
    ).fit(images)
    small, _ = _working_memory(bovw, images[:32])
    large, features = _working_memory(bovw, images)
    assert features.dtype == np.float32
    assert features.nbytes == 512 * 4 * 64 * 4
    assert large - small < 0.1 * features.nbytes


def test_default_chunks_bound_the_patch_buffers_of_small_codebooks():
    # At 16 words the patch buffers (3 x 108 values a patch) outweigh the
    # codes: the default chunk is sized on both, 17 CIFAR-10 images, about
    # 17 MB of buffers (sizing on the codes alone took every image at once).
    images = _images(n=100, size=32)
    bovw = BagOfVisualWords(n_words=16, max_patches=2000, random_state=0).fit(images)
    working, features = _working_memory(bovw, images)
    assert features.dtype == np.float32
    assert working < 24 * 2**20
    _assert_rows_close(features, bovw.set_params(chunk_size=5).transform(images))
