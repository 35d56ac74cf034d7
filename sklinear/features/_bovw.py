"""Bag of visual words: dense patches encoded against a learned codebook.

The single-layer network of Coates, Lee & Ng (AISTATS 2011, "An Analysis of
Single-Layer Networks in Unsupervised Feature Learning"): dense patches,
per-patch brightness and contrast normalization, optional ZCA whitening, a
k-means codebook, hard or "triangle" encoding, and sum (or mean) pooling
over a spatial grid. Pure functions over batches, and the transformer
:class:`BagOfVisualWords` that learns the codebook in `fit`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import MiniBatchKMeans
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.random import sample_without_replacement

from ._hog import _as_pair
from ._image_input import (
    ImageTransformerMixin,
    as_image_batch,
    iter_chunks,
    run_in_threads,
)
from ._progress import ChunkProgress

__all__ = [
    "ENCODINGS",
    "BagOfVisualWords",
    "encode_patches",
    "extract_patches",
    "normalize_patches",
    "pool_activations",
    "zca_whitening",
]


#: Values of the (patches x words) array per chunk when chunk_size is None:
#: 2**22 float32 (16 MB) keeps it in cache between its passes.
_CHUNK_VALUES = 1 << 22


def _default_chunk_size(n_positions, n_words, patch_dim):
    """Images per chunk when chunk_size is None.

    As many as keep the (patches x words) codes of a chunk within
    ``_CHUNK_VALUES`` float32 values, and its three (patches x patch_dim)
    buffers too (they dominate for small codebooks): 3 CIFAR-10 images at
    1600 words, 1 at 4000, 17 at 16.
    """
    per_image = n_positions * max(n_words, 3 * (patch_dim + 1))
    return max(1, _CHUNK_VALUES // per_image)


def _patch_grid(image_shape, patch_size, stride):
    height, width = image_shape[:2]
    if patch_size > min(height, width):
        raise ValueError(
            f"Images of size {height}x{width} are too small for patch_size="
            f"{patch_size}."
        )
    return (height - patch_size) // stride + 1, (width - patch_size) // stride + 1


def extract_patches(images, *, patch_size=6, stride=1, image_shape=None):
    """Dense square patches of every image, flattened.

    Parameters
    ----------
    images : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
        Images, or flattened rows with `image_shape`.
    patch_size : int, default=6
        Side of the square patches.
    stride : int, default=1
        Step between patch positions, in both directions.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` to unflatten 2-D `images`.

    Returns
    -------
    patches : ndarray of shape (n, n_rows, n_cols, patch_size**2 * C), float32
        ``n_rows = (H - patch_size) // stride + 1``, likewise ``n_cols``;
        each patch flattened in (row, column, channel) order.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    >>> patches = extract_patches(images, patch_size=2, stride=2)
    >>> patches.shape
    (2, 2, 2, 4)
    >>> patches[0, 0, 1].tolist()
    [2.0, 3.0, 6.0, 7.0]
    """
    images = as_image_batch(images, image_shape=image_shape)
    n_rows, n_cols = _patch_grid(images.shape[1:], patch_size, stride)
    windows = np.lib.stride_tricks.sliding_window_view(
        images, (patch_size, patch_size), axis=(1, 2)
    )[:, : n_rows * stride : stride, : n_cols * stride : stride]
    # (n, n_rows, n_cols, C, p, p) -> (n, n_rows, n_cols, p, p, C)
    windows = np.moveaxis(windows, 3, -1)
    return windows.reshape(*windows.shape[:3], -1).astype(np.float32)


def normalize_patches(patches, *, eps=10.0):
    """Subtract each patch's mean and divide by ``sqrt(variance + eps)``.

    Parameters
    ----------
    patches : ndarray of shape (..., patch_dim)
        Flattened patches; normalized in place when float32.
    eps : float, default=10.0
        Added to the variance. 10 suits pixel values in [0, 255] (Coates et
        al.); use about ``10 / 255**2`` for values in [0, 1].

    Returns
    -------
    patches : ndarray of shape (..., patch_dim), float32

    Notes
    -----
    Any finite input gives a finite result. Values up to ``2**60`` in
    magnitude are normalized in float32. Beyond that (where float32 squares
    would overflow) each patch is first divided by its largest magnitude
    ``s``, in float64, and normalized with ``eps / s**2``, which is the same
    function: ``normalize(p, eps) == normalize(p / s, eps / s**2)``. So
    patches whose variance dwarfs `eps` come out independent of their scale,
    and patches whose variance is far below `eps` come out near zero.

    Examples
    --------
    >>> import numpy as np
    >>> normalize_patches(np.array([[1.0, 3.0], [5.0, 5.0]]), eps=1e-12)
    array([[-1.,  1.],
           [ 0.,  0.]], dtype=float32)
    >>> normalize_patches(np.array([[1e300, 3e300]]))
    array([[-1.,  1.]], dtype=float32)
    """
    patches = np.asarray(patches)
    if _needs_rescaling(patches):
        return _normalize_rescaled(patches, eps)
    patches = np.asarray(patches, dtype=np.float32)
    patches -= patches.mean(axis=-1, keepdims=True)
    scale = (patches * patches).mean(axis=-1, keepdims=True)
    scale += eps
    patches /= np.sqrt(scale, out=scale)
    return patches


#: Largest magnitude normalized in float32: the mean of squared deviations of
#: values up to 2**60 stays far below float32's overflow at about 2**128.
_FLOAT32_SAFE_MAGNITUDE = 2.0**60


def _needs_rescaling(values):
    return (
        values.dtype.kind == "f"
        and values.size > 0
        and float(np.abs(values).max()) > _FLOAT32_SAFE_MAGNITUDE
    )


def _normalize_rescaled(patches, eps):
    """normalize_patches in float64 with each patch divided by its max |value|."""
    patches = np.asarray(patches, dtype=np.float64)
    scale = np.abs(patches).max(axis=-1, keepdims=True)
    scale[scale == 0] = 1.0
    patches = patches / scale
    patches -= patches.mean(axis=-1, keepdims=True)
    variance = (patches * patches).mean(axis=-1, keepdims=True)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        # eps / s**2 underflows to 0 for huge s: the exact limit.
        variance += eps / scale**2
    patches /= np.sqrt(variance)
    return patches.astype(np.float32)


def zca_whitening(patches, *, eps=0.1):
    """Mean and ZCA whitening matrix of normalized patches.

    Parameters
    ----------
    patches : ndarray of shape (n_patches, patch_dim)
        Normalized patches.
    eps : float, default=0.1
        Added to the covariance eigenvalues (Coates et al.: 0.1 after
        normalization with eps=10 on [0, 255] pixels).

    Returns
    -------
    mean : ndarray of shape (patch_dim,), float32
    whitening : ndarray of shape (patch_dim, patch_dim), float32
        Symmetric; whitened patches are ``(patches - mean) @ whitening``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> patches = rng.normal(size=(5000, 3)) * [1.0, 2.0, 3.0]
    >>> mean, whitening = zca_whitening(patches, eps=1e-9)
    >>> cov = np.cov((patches - mean) @ whitening, rowvar=False)
    >>> bool(np.allclose(cov, np.eye(3), atol=1e-4))
    True
    """
    patches = np.asarray(patches, dtype=np.float64)
    mean = patches.mean(axis=0)
    values, vectors = np.linalg.eigh(np.cov(patches, rowvar=False))
    whitening = (vectors / np.sqrt(np.maximum(values, 0) + eps)) @ vectors.T
    return mean.astype(np.float32), whitening.astype(np.float32)


def _squared_distances(patches, codebook, codebook_sq):
    distances = patches @ codebook.T
    distances *= -2
    distances += codebook_sq
    distances += np.einsum("ij,ij->i", patches, patches)[:, None]
    return np.maximum(distances, 0, out=distances)


def _hard(patches, codebook, codebook_sq):
    nearest = _squared_distances(patches, codebook, codebook_sq).argmin(axis=1)
    codes = np.zeros((len(patches), len(codebook)), dtype=np.float32)
    codes[np.arange(len(patches)), nearest] = 1
    return codes


def _triangle(patches, codebook, codebook_sq):
    distances = np.sqrt(_squared_distances(patches, codebook, codebook_sq))
    mean = distances.mean(axis=1, keepdims=True)
    np.subtract(mean, distances, out=distances)
    return np.maximum(distances, 0, out=distances)


#: Encodings by name: ``(patches, codebook, codebook_sq_norms) -> codes``.
ENCODINGS = {"hard": _hard, "triangle": _triangle}


def encode_patches(patches, codebook, *, encoding="triangle"):
    """Encode flattened patches against a codebook.

    Parameters
    ----------
    patches : ndarray of shape (n_patches, patch_dim)
        Preprocessed patches.
    codebook : ndarray of shape (n_words, patch_dim)
        Visual words (k-means centroids).
    encoding : {"hard", "triangle"}, default="triangle"
        "hard": one-hot of the nearest word. "triangle" (Coates et al.):
        ``max(0, mean(z) - z_k)`` for the distances ``z_k`` to every word,
        non-zero for the words closer than average.

    Returns
    -------
    codes : ndarray of shape (n_patches, n_words), float32

    Examples
    --------
    >>> import numpy as np
    >>> codebook = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 8.0]])
    >>> encode_patches(np.array([[1.0, 0.0]]), codebook, encoding="hard")
    array([[1., 0., 0.]], dtype=float32)
    >>> encode_patches(np.array([[0.0, 0.0]]), codebook)
    array([[4., 0., 0.]], dtype=float32)
    """
    patches = np.asarray(patches, dtype=np.float32)
    codebook = np.asarray(codebook, dtype=np.float32)
    codebook_sq = np.einsum("ij,ij->i", codebook, codebook)
    return ENCODINGS[encoding](patches, codebook, codebook_sq)


def _region_starts(n, parts, what):
    if parts > n:
        raise ValueError(
            f"pooling_grid asks for {parts} {what} but the images have only "
            f"{n} patch {what}."
        )
    return np.array([part[0] for part in np.array_split(np.arange(n), parts)])


def pool_activations(codes, *, grid=(2, 2), method="sum"):
    """Pool patch codes over a grid of image regions.

    Parameters
    ----------
    codes : ndarray of shape (n, n_rows, n_cols, n_words)
        Codes of the patches at each position.
    grid : int or (int, int), default=(2, 2)
        Regions along rows and columns, split as :func:`numpy.array_split`
        splits the patch positions (first regions one larger). (1, 1) pools
        the whole image; (2, 2) the quadrants of Coates et al.
    method : {"sum", "mean"}, default="sum"
        Sum of the codes in a region, or their mean.

    Returns
    -------
    pooled : ndarray of shape (n, grid_rows * grid_cols * n_words)
        Region-major: all words of region (0, 0), then of region (0, 1), ...
        With hard encoding, each region's histogram sums to its number of
        patches ("sum") or to 1 ("mean").

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.ones((1, 3, 3, 2))
    >>> pool_activations(codes, grid=(2, 2)).tolist()
    [[4.0, 4.0, 2.0, 2.0, 2.0, 2.0, 1.0, 1.0]]
    """
    n, n_rows, n_cols, n_words = codes.shape
    grid = _as_pair(grid, "pooling_grid")
    rows = _region_starts(n_rows, grid[0], "rows")
    cols = _region_starts(n_cols, grid[1], "columns")
    pooled = np.add.reduceat(np.add.reduceat(codes, rows, axis=1), cols, axis=2)
    if method == "mean":
        sizes = np.diff(np.append(rows, n_rows))[:, None] * np.diff(
            np.append(cols, n_cols)
        )
        pooled = pooled / sizes[..., None]
    return pooled.reshape(n, -1)


class _ChunkEncoder:
    """Encode and pool chunks of `n_images` images, with buffers made once.

    Calling it on a chunk of shape (n_images, H, W, C) returns the pooled
    features, shape (n_images, n_features_out). The (patches x words) array
    is written once per chunk and then read while it is still in cache:

    - triangle: one matrix product gives the squared distances, with the
      whitening folded into the words. Rows ``[p, |z|**2, 1]`` (``p`` the
      normalized patch, ``z = (p - mean) @ W`` the whitened one) times
      columns ``[-2 W c, 1, |c|**2 + 2 mean @ W c]`` equal ``|z - c|**2``.
      Then square root, row mean, ``max(0, mean - distance)`` and the
      region sums. A squared distance that rounds below zero gives a NaN
      square root; it shows in the row mean, and is set to 0 there.
    - hard: the squared distances in the order of :func:`encode_patches`,
      their row argmin, and the region histograms by :func:`numpy.bincount`.
    """

    def __init__(self, n_images, image_shape, bovw):
        self.bovw = bovw
        self.n_images = n_images
        self.triangle = bovw.encoding == "triangle"
        size, stride = bovw.patch_size, bovw.stride
        self.n_rows, self.n_cols = _patch_grid(image_shape, size, stride)
        self.window = (n_images, self.n_rows, self.n_cols, size, size, image_shape[2])
        n_patches = n_images * self.n_rows * self.n_cols
        patch_dim = size * size * image_shape[2]
        self.ones = np.ones(patch_dim, dtype=np.float32)
        codebook = bovw.codebook_.astype(np.float64)
        n_words = len(codebook)
        codebook_sq = np.einsum("ij,ij->i", codebook, codebook)
        self.distances = np.empty((n_patches, n_words), dtype=np.float32)
        self.whitened = np.empty((n_patches, patch_dim), dtype=np.float32)
        if self.triangle:
            self.augmented = np.empty((n_patches, patch_dim + 2), dtype=np.float32)
            self.augmented[:, -1] = 1
            self.patches = self.augmented[:, :-2]
            self.centered = np.empty_like(self.whitened)
            words = codebook.T
            if bovw.whiten:
                words = bovw.whitening_.astype(np.float64) @ words
                codebook_sq = codebook_sq + 2 * (bovw.patch_mean_ @ words)
            self.words = np.vstack([-2 * words, np.ones(n_words), codebook_sq])
            self.words = self.words.astype(np.float32)
        else:
            self.patches = np.empty((n_patches, patch_dim), dtype=np.float32)
            self.codebook_sq = np.einsum("ij,ij->i", bovw.codebook_, bovw.codebook_)

        grid = _as_pair(bovw.pooling_grid, "pooling_grid")
        row_starts = _region_starts(self.n_rows, grid[0], "rows")
        col_starts = _region_starts(self.n_cols, grid[1], "columns")
        self.row_bounds = list(
            zip(row_starts, [*row_starts[1:], self.n_rows], strict=True)
        )
        self.col_bounds = list(
            zip(col_starts, [*col_starts[1:], self.n_cols], strict=True)
        )
        row_sizes = np.diff(np.append(row_starts, self.n_rows))
        col_sizes = np.diff(np.append(col_starts, self.n_cols))
        self.region_sizes = np.outer(row_sizes, col_sizes).ravel()
        self.n_regions = grid[0] * grid[1]
        if self.triangle:
            self.row_sums = np.empty((n_images, self.n_cols, n_words), np.float32)
            self.pooled = np.empty((n_images, *grid, n_words), dtype=np.float32)
        else:
            region = np.repeat(np.arange(grid[0]), row_sizes)[:, None] * grid[1]
            region = region + np.repeat(np.arange(grid[1]), col_sizes)
            image = np.arange(n_images)[:, None] * self.n_regions
            # Histogram bin of each patch's region, before adding its word.
            self.region_bins = ((image + region.ravel()) * n_words).ravel()

    def __call__(self, chunk):
        self._normalize(chunk)
        pooled = self._triangle() if self.triangle else self._hard()
        pooled = pooled.reshape(self.n_images, self.n_regions, -1)
        if self.bovw.pooling == "mean":
            pooled = pooled / self.region_sizes[:, None]
        return pooled.reshape(self.n_images, -1)

    def _normalize(self, chunk):
        """normalize_patches of the chunk's patches, into self.patches."""
        bovw = self.bovw
        windows = np.lib.stride_tricks.sliding_window_view(
            chunk, (bovw.patch_size, bovw.patch_size), axis=(1, 2)
        )[:, : self.n_rows * bovw.stride : bovw.stride, :: bovw.stride]
        windows = np.moveaxis(windows[:, :, : self.n_cols], 3, -1)
        patches = self.patches
        if _needs_rescaling(chunk):
            patches[...] = _normalize_rescaled(
                windows.reshape(len(patches), -1), bovw.contrast_eps
            )
            return
        view = patches.view()
        view.shape = self.window  # raises rather than copy
        np.copyto(view, windows, casting="unsafe")
        if not self.triangle:
            # The arithmetic of normalize_patches, to the bit: nearest words
            # of equal distance (duplicate words) must tie the same way.
            patches -= patches.mean(axis=1, keepdims=True)
            scale = np.multiply(patches, patches, out=self.whitened).mean(
                axis=1, keepdims=True
            )
            scale += bovw.contrast_eps
            patches /= np.sqrt(scale, out=scale)
            return
        patch_dim = patches.shape[1]
        patches -= (patches @ self.ones / patch_dim)[:, None]
        scale = np.einsum("ij,ij->i", patches, patches)
        scale /= patch_dim
        scale += bovw.contrast_eps
        patches /= np.sqrt(scale, out=scale)[:, None]

    def _triangle(self):
        bovw = self.bovw
        if bovw.whiten:
            np.subtract(self.patches, bovw.patch_mean_, out=self.centered)
            whitened = np.matmul(self.centered, bovw.whitening_, out=self.whitened)
        else:
            whitened = self.patches
        np.einsum("ij,ij->i", whitened, whitened, out=self.augmented[:, -2])
        distances = np.matmul(self.augmented, self.words, out=self.distances)
        with np.errstate(invalid="ignore"):
            np.sqrt(distances, out=distances)
        mean = distances.mean(axis=1, keepdims=True)
        rounded_below_zero = np.flatnonzero(np.isnan(mean))
        if len(rounded_below_zero):
            rows = distances[rounded_below_zero]
            rows[np.isnan(rows)] = 0
            distances[rounded_below_zero] = rows
            mean[rounded_below_zero] = rows.mean(axis=1, keepdims=True)
        codes = np.subtract(mean, distances, out=distances)
        np.maximum(codes, 0, out=codes)
        codes = codes.reshape(self.n_images, self.n_rows, self.n_cols, -1)
        for i, (top, bottom) in enumerate(self.row_bounds):
            row_sums = np.add.reduce(codes[:, top:bottom], axis=1, out=self.row_sums)
            for j, (left, right) in enumerate(self.col_bounds):
                np.add.reduce(row_sums[:, left:right], axis=1, out=self.pooled[:, i, j])
        return self.pooled

    def _hard(self):
        bovw = self.bovw
        patches = self.patches
        if bovw.whiten:
            patches -= bovw.patch_mean_
            patches = np.matmul(patches, bovw.whitening_, out=self.whitened)
        distances = np.matmul(patches, bovw.codebook_.T, out=self.distances)
        distances *= -2
        distances += self.codebook_sq
        distances += np.einsum("ij,ij->i", patches, patches)[:, None]
        np.maximum(distances, 0, out=distances)
        bins = self.region_bins + distances.argmin(axis=1)
        n_bins = self.n_images * self.n_regions * len(self.codebook_sq)
        return np.bincount(bins, minlength=n_bins).astype(np.float32)


class BagOfVisualWords(ImageTransformerMixin, TransformerMixin, BaseEstimator):
    """Bag-of-visual-words features with a k-means codebook learned in `fit`.

    `fit` draws up to `max_patches` random dense patches from the training
    images, normalizes each (brightness and contrast), learns the ZCA
    whitening, and clusters the patches with
    :class:`~sklearn.cluster.MiniBatchKMeans` into `n_words` visual words.
    `transform` encodes every dense patch of every image against the words
    and pools the codes over a grid of image regions, a few images at a time
    so that memory stays bounded.

    The defaults are the setting of Coates, Lee & Ng (AISTATS 2011) on
    CIFAR-10: 6x6 patches at stride 1, whitening, 1600 words, triangle
    encoding and sum pooling over the four quadrants (6400 features).

    Parameters
    ----------
    n_words : int, default=1600
        Codebook size (k-means clusters).
    patch_size : int, default=6
        Side of the square patches.
    stride : int, default=1
        Step between patch positions.
    whiten : bool, default=True
        ZCA-whiten the normalized patches.
    contrast_eps : float, default=10.0
        Added to each patch's variance before dividing by its square root;
        10 suits pixel values in [0, 255]; about ``10 / 255**2`` suits [0, 1].
    whiten_eps : float, default=0.1
        Added to the covariance eigenvalues in the whitening.
    encoding : {"hard", "triangle"}, default="triangle"
        One-hot nearest word, or ``max(0, mean(z) - z_k)`` over the
        distances ``z`` to the words (see :func:`encode_patches`).
    pooling_grid : int or (int, int), default=(2, 2)
        Pooling regions along rows and columns; (1, 1) for the whole image.
    pooling : {"sum", "mean"}, default="sum"
        Sum or mean of the codes in each region.
    max_patches : int, default=100_000
        Random patches drawn from the training images in `fit`.
    random_state : int, RandomState instance or None, default=None
        Seeds the patch sampling and k-means; pass an int for reproducible
        output.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the images in flattened 2-D input.
        When None, rows of ``s*s`` values are read as square grayscale
        images and rows of ``3*s*s`` values as square RGB images.
    chunk_size : int, default=None
        Images encoded at a time; None picks it so that the codes of a chunk
        (patches x words, float32) take at most about 16 MB, which stay in
        cache between the passes over them, and its patch buffers as well
        (3 CIFAR-10 images at the defaults, 1 at 4000 words). The working
        memory of `transform` is then a few tens of MB per thread, whatever
        the number of images; the output is float32.
    n_jobs : int, default=None
        Threads encoding separate chunks in `transform`; None means 1, -1
        all cores. With more than one, each thread's matrix products run on
        one BLAS thread; with one, the products use the BLAS threads (as
        set, e.g., with threadpoolctl) and the element-wise passes one core.
    verbose : int, default=0
        Print the progress of `fit` and `transform` (images done, images/s,
        time left): 1 every tenth of the images, 2 or more every chunk.

    Attributes
    ----------
    n_features_in_ : int
        Number of values per input image (``H * W * C``).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fit on a DataFrame with string column names.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in `fit`.
    n_features_out_ : int
        ``grid_rows * grid_cols * n_words``.
    patch_mean_ : ndarray of shape (patch_dim,)
        Mean of the normalized training patches (zero if not whitening).
    whitening_ : ndarray of shape (patch_dim, patch_dim) or None
        ZCA whitening matrix.
    codebook_ : ndarray of shape (n_words, patch_dim)
        The visual words, in the preprocessed patch space.
    kmeans_ : MiniBatchKMeans
        The fitted clustering.

    See Also
    --------
    extract_patches, normalize_patches, zca_whitening, encode_patches,
    pool_activations : The steps, as functions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.features import BagOfVisualWords
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(20, 12, 12, 3), dtype=np.uint8)
    >>> bovw = BagOfVisualWords(n_words=8, patch_size=4, stride=2,
    ...                         encoding="hard", random_state=0).fit(X)
    >>> features = bovw.transform(X)
    >>> features.shape
    (20, 32)
    >>> features[0].reshape(4, 8).sum(axis=1)  # 5x5 positions in quadrants
    array([9., 6., 6., 4.], dtype=float32)
    """

    _parameter_constraints: dict = {
        "n_words": [Interval(Integral, 1, None, closed="left")],
        "patch_size": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "whiten": ["boolean"],
        "contrast_eps": [Interval(Real, 0, None, closed="neither")],
        "whiten_eps": [Interval(Real, 0, None, closed="neither")],
        "encoding": [StrOptions(set(ENCODINGS))],
        "pooling_grid": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "pooling": [StrOptions({"sum", "mean"})],
        "max_patches": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "image_shape": [tuple, list, None],
        "chunk_size": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_words=1600,
        *,
        patch_size=6,
        stride=1,
        whiten=True,
        contrast_eps=10.0,
        whiten_eps=0.1,
        encoding="triangle",
        pooling_grid=(2, 2),
        pooling="sum",
        max_patches=100_000,
        random_state=None,
        image_shape=None,
        chunk_size=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_words = n_words
        self.patch_size = patch_size
        self.stride = stride
        self.whiten = whiten
        self.contrast_eps = contrast_eps
        self.whiten_eps = whiten_eps
        self.encoding = encoding
        self.pooling_grid = pooling_grid
        self.pooling = pooling
        self.max_patches = max_patches
        self.random_state = random_state
        self.image_shape = image_shape
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_layout(self, image_shape):
        n_rows, n_cols = _patch_grid(image_shape, self.patch_size, self.stride)
        grid = _as_pair(self.pooling_grid, "pooling_grid")
        _region_starts(n_rows, grid[0], "rows")
        _region_starts(n_cols, grid[1], "columns")
        return grid[0] * grid[1] * self.n_words

    def _fit_images(self, images):
        rng = check_random_state(self.random_state)
        progress = self._fit_progress("fit (patches)", "patches")
        patches = self._training_patches(images, rng)
        if self.whiten:
            self.patch_mean_, self.whitening_ = zca_whitening(
                patches, eps=self.whiten_eps
            )
            patches = self._whiten(patches)
        else:
            self.patch_mean_ = np.zeros(patches.shape[1], dtype=np.float32)
            self.whitening_ = None
        progress.total = len(patches)
        progress.update(len(patches))
        progress = self._fit_progress("fit (k-means)", "words")
        self._learn_codebook(patches, rng.randint(np.iinfo(np.int32).max))
        progress.total = len(self.codebook_)
        progress.update(len(self.codebook_))

    def _fit_progress(self, action, unit):
        """A one-line report of a stage of fit, printed when it ends."""
        return ChunkProgress(
            type(self).__name__, action, 0, verbose=self.verbose, unit=unit
        )

    def _training_patches(self, images, rng):
        """Normalized patches at up to max_patches random positions."""
        n_rows, n_cols = _patch_grid(images.shape[1:], self.patch_size, self.stride)
        n_positions = len(images) * n_rows * n_cols
        n_patches = min(self.max_patches, n_positions)
        if n_patches < self.n_words:
            raise ValueError(
                f"n_words={self.n_words} is more than the {n_patches} patches "
                "available to learn them from (see max_patches)."
            )
        drawn = np.sort(
            sample_without_replacement(n_positions, n_patches, random_state=rng)
        )
        image, position = np.divmod(drawn, n_rows * n_cols)
        row, col = np.divmod(position, n_cols)
        windows = np.lib.stride_tricks.sliding_window_view(
            images, (self.patch_size, self.patch_size), axis=(1, 2)
        )
        patches = windows[image, row * self.stride, col * self.stride]
        patches = np.moveaxis(patches, 1, -1).reshape(n_patches, -1)
        return normalize_patches(patches, eps=self.contrast_eps)

    def _learn_codebook(self, patches, seed):
        self.kmeans_ = MiniBatchKMeans(
            n_clusters=self.n_words,
            batch_size=2048,
            n_init=1,
            random_state=seed,
            verbose=max(0, self.verbose - 1),
        ).fit(patches)
        self.codebook_ = self.kmeans_.cluster_centers_.astype(np.float32)

    def _whiten(self, patches):
        patches -= self.patch_mean_
        return patches @ self.whitening_

    def _featurize(self, images):
        n_rows, n_cols = _patch_grid(images.shape[1:], self.patch_size, self.stride)
        chunk_size = self.chunk_size or _default_chunk_size(
            n_rows * n_cols, self.n_words, self.patch_size**2 * images.shape[3]
        )
        out = np.empty((len(images), self.n_features_out_), dtype=np.float32)
        progress = ChunkProgress(
            type(self).__name__, "transform", len(images), verbose=self.verbose
        )

        def featurize(chunks):
            encoders = {}  # by chunk length, for the buffers
            for rows in chunks:
                chunk = images[rows]
                if len(chunk) not in encoders:
                    # Only the last chunk is shorter: free the full-length
                    # buffers before making its own.
                    encoders.clear()
                    encoders[len(chunk)] = _ChunkEncoder(
                        len(chunk), images.shape[1:], self
                    )
                out[rows] = encoders[len(chunk)](chunk)
                progress.update(len(chunk))

        run_in_threads(
            featurize, list(iter_chunks(len(images), chunk_size)), self.n_jobs
        )
        return out

    def _feature_names(self):
        grid = _as_pair(self.pooling_grid, "pooling_grid")
        return [
            f"bovw_region{r}_{c}_word{w}" for r, c, w in np.ndindex(*grid, self.n_words)
        ]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
