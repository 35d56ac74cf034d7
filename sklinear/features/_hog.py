"""Histogram of Oriented Gradients (HOG) over a batch of images.

:func:`hog_batch` computes, for every image of a batch at once, the same
descriptor as :func:`skimage.feature.hog`: central-difference gradients (zero
on the image border), per-pixel choice of the channel with the largest
gradient magnitude for color images, unsigned orientations in [0, 180) binned
exactly as scikit-image bins them, cell averages of the gradient magnitude
per orientation bin, and block normalization. :class:`HOG` is the
scikit-learn transformer around it.
"""

import functools
import math
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from ._hog_cells import GRAY_WEIGHTS, CellHistograms
from ._image_input import (
    ImageTransformerMixin,
    as_image_batch,
    iter_chunks,
    run_in_threads,
    single_image_hint,
)
from ._progress import ChunkProgress

__all__ = ["BLOCK_NORMS", "GRAY_WEIGHTS", "HOG", "hog_batch", "hog_output_shape"]

_EPS = 1e-5  # scikit-image's block-normalization epsilon
# Bound on the exponent of the scale of the blocks relative to eps: beyond
# it, eps**2 would overflow, while the results stay below 1e-140 either way.
_MAX_EPS_EXPONENT = 500


def _l1(blocks, eps=_EPS):
    return blocks / (np.abs(blocks).sum(axis=(-3, -2, -1), keepdims=True) + eps)


def _l1_sqrt(blocks, eps=_EPS):
    return np.sqrt(_l1(blocks, eps))


def _l2(blocks, eps=_EPS):
    return blocks / np.sqrt((blocks**2).sum(axis=(-3, -2, -1), keepdims=True) + eps**2)


def _l2_hys(blocks, eps=_EPS):
    out = np.minimum(_l2(blocks, eps), 0.2)
    return _l2(out)


#: Block normalizations by name; each maps blocks of shape
#: ``(..., cells_row, cells_col, orientations)`` to normalized blocks, with
#: an optional ``eps`` (default 1e-5, scikit-image's).
BLOCK_NORMS = {"L1": _l1, "L1-sqrt": _l1_sqrt, "L2": _l2, "L2-Hys": _l2_hys}


def _normalize_blocks(hist, block, block_norm, scale, out):
    """`BLOCK_NORMS` of all blocks of cell histograms, written to `out`.

    `hist` has shape (n, rows, cols, orientations) and `out` (n,
    n_features), float64 or float32. The block sums are added up from
    per-cell sums instead of over every overlapping block. `scale` (None, or
    per image ``s`` such that the true histograms are ``hist * 2**s``) goes
    into eps, which applies at the true scale: ``b / (|b| + eps) ==
    b' / (|b'| + eps * 2**-s)`` for ``b = b' * 2**s``.
    """
    hist = np.ascontiguousarray(hist)
    n, rows, cols, orientations = hist.shape
    b_row, b_col = block
    n_row, n_col = rows - b_row + 1, cols - b_col + 1
    eps = _EPS
    if scale is not None:
        exponent = np.minimum(-scale, _MAX_EPS_EXPONENT)
        eps = np.ldexp(_EPS, exponent).reshape(-1, 1, 1)
    l1 = block_norm in ("L1", "L1-sqrt")
    per_cell = hist.sum(axis=-1) if l1 else np.einsum("ijkl,ijkl->ijk", hist, hist)
    sums = per_cell[:, :n_row, :n_col].copy()
    for i, j in np.ndindex(b_row, b_col):
        if i or j:
            sums += per_cell[:, i : i + n_row, j : j + n_col]
    # hypot: eps * eps underflows to 0 for huge images, and 0 / 0 on flat blocks.
    sums = sums + eps if l1 else np.hypot(np.sqrt(sums), eps)
    # Blocks as (n, n_row, n_col, b_row, b_col * orientations): the cells of
    # a block row are contiguous in hist.
    s_img, s_row, s_col, s_bin = hist.strides
    blocks = np.lib.stride_tricks.as_strided(
        hist,
        (n, n_row, n_col, b_row, b_col * orientations),
        (s_img, s_row, s_col, s_row, s_bin),
        writeable=False,
    )
    in_place = out.dtype == np.float64
    result = out.reshape(blocks.shape) if in_place else np.empty(blocks.shape)
    np.divide(blocks, sums[..., None, None], out=result)
    if block_norm == "L1-sqrt":
        np.sqrt(result, out=result)
    elif block_norm == "L2-Hys":
        np.minimum(result, 0.2, out=result)
        flat = result.reshape(n, n_row, n_col, -1)
        norm = np.einsum("ijkl,ijkl->ijk", flat, flat)
        norm += _EPS**2
        flat /= np.sqrt(norm, out=norm)[..., None]
    if not in_place:
        out[...] = result.reshape(out.shape)


def _as_pair(value, name):
    if isinstance(value, Integral) and not isinstance(value, bool):
        value = (value, value)
    if (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, Integral) and not isinstance(v, bool) for v in value)
        and min(value) >= 1
    ):
        return int(value[0]), int(value[1])
    raise ValueError(
        f"{name} must be a positive int or a pair of positive ints, got {value!r}."
    )


def hog_output_shape(
    image_shape,
    *,
    orientations=9,
    pixels_per_cell=(8, 8),
    cells_per_block=(3, 3),
    block_norm="L2-Hys",
):
    """Shape of the HOG descriptor of one image.

    Parameters
    ----------
    image_shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``.
    orientations, pixels_per_cell, cells_per_block, block_norm
        As in :func:`hog_batch`.

    Returns
    -------
    shape : tuple of int
        ``(n_blocks_row, n_blocks_col, cells_row, cells_col, orientations)``,
        or ``(n_cells_row, n_cells_col, orientations)`` when `block_norm` is
        None.

    Raises
    ------
    ValueError
        If the image holds less than one cell (one block when `block_norm`
        is set).

    Examples
    --------
    >>> hog_output_shape((32, 32, 3))
    (2, 2, 3, 3, 9)
    >>> hog_output_shape((32, 32), block_norm=None)
    (4, 4, 9)
    """
    c_row, c_col = _as_pair(pixels_per_cell, "pixels_per_cell")
    b_row, b_col = _as_pair(cells_per_block, "cells_per_block")
    if block_norm is None:
        b_row = b_col = 1
    height, width = image_shape[:2]
    n_cells_row, n_cells_col = height // c_row, width // c_col
    n_blocks_row, n_blocks_col = n_cells_row - b_row + 1, n_cells_col - b_col + 1
    if n_blocks_row <= 0 or n_blocks_col <= 0:
        what = "a cell" if block_norm is None else "a block"
        raise ValueError(
            f"Images of size {height}x{width} are too small for {what}: with "
            f"pixels_per_cell={(c_row, c_col)} and cells_per_block="
            f"{(b_row, b_col)} they need at least {b_row * c_row} rows and "
            f"{b_col * c_col} columns."
        )
    if block_norm is None:
        return (n_cells_row, n_cells_col, orientations)
    return (n_blocks_row, n_blocks_col, b_row, b_col, orientations)


def hog_batch(
    images,
    *,
    orientations=9,
    pixels_per_cell=(8, 8),
    cells_per_block=(3, 3),
    block_norm="L2-Hys",
    transform_sqrt=False,
    color_mode="max_gradient",
    image_shape=None,
    feature_vector=True,
    chunk_size=64,
    n_jobs=None,
    verbose=0,
):
    """Histogram of Oriented Gradients of every image in a batch.

    For each image this equals ``skimage.feature.hog(image, orientations,
    pixels_per_cell, cells_per_block, block_norm, transform_sqrt=...,
    channel_axis=-1)`` (``channel_axis=None`` for grayscale) to within 1e-6,
    without a Python loop over images.

    Parameters
    ----------
    images : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
        Grayscale or channels-last color images, or flattened rows with
        `image_shape`. uint8 or float; not rescaled.
    orientations : int, default=9
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : int or (int, int), default=(8, 8)
        Cell size (rows, columns). Pixels beyond the last whole cell are
        ignored, as in scikit-image.
    cells_per_block : int or (int, int), default=(3, 3)
        Block size in cells. Ignored when `block_norm` is None.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"} or None, default="L2-Hys"
        Block normalization (see :data:`BLOCK_NORMS`). None returns the cell
        histograms without blocks or normalization, which scikit-image does
        not offer.
    transform_sqrt : bool, default=False
        Take the square root of the (non-negative) image first.
    color_mode : {"max_gradient", "gray"}, default="max_gradient"
        For color images: "max_gradient" uses, per pixel, the gradient of the
        channel with the largest gradient magnitude (scikit-image with
        ``channel_axis=-1``); "gray" first converts RGB to gray with the
        weights of :func:`skimage.color.rgb2gray`, without rescaling.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` to unflatten 2-D `images`.
    feature_vector : bool, default=True
        Flatten each descriptor to one row.
    chunk_size : int, default=64
        Images processed at a time; bounds the working memory.
    n_jobs : int, default=None
        Threads working on separate chunks; None means 1, -1 all cores.
    verbose : int, default=0
        Print progress over the chunks (images done, images/s, time left):
        1 at every tenth of the images, 2 after every chunk.

    Returns
    -------
    features : ndarray of shape (n, n_features) or (n, \\*hog_output_shape)
        float32 for float16 and float32 images, float64 otherwise (the dtype
        scikit-image returns).

    Raises
    ------
    ValueError
        For malformed input (see :func:`as_image_batch`), images smaller
        than a block (a cell when `block_norm` is None), negative values with
        `transform_sqrt`, or "gray" with neither 1 nor 3 channels.

    Notes
    -----
    CS231n's ``hog_feature`` is the setting ``color_mode="gray",
    pixels_per_cell=(8, 8), orientations=9, block_norm=None``: cell
    histograms of the gradient magnitude divided by the cell area, which is
    scikit-image's cell average. CS231n's own code differs in details that
    are not reproduced here: forward instead of central differences, gray
    weights ``(0.299, 0.587, 0.144)`` and orientations shifted by 90 degrees.

    Float images of any finite magnitude are accepted. Where scikit-image
    overflows (values above about 1e38), the result is that of the image
    rescaled into its range: block-normalized HOG does not depend on the
    scale of the image, up to the normalization's eps of 1e-5, which applies
    at the image's own scale. Without blocks, the cell averages of images
    near the largest float may overflow to inf.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    >>> hog_batch(images).shape
    (5, 324)
    >>> hog_batch(images, color_mode="gray", block_norm=None).shape
    (5, 144)
    """
    return _hog_batch(
        images,
        orientations=orientations,
        pixels_per_cell=pixels_per_cell,
        cells_per_block=cells_per_block,
        block_norm=block_norm,
        transform_sqrt=transform_sqrt,
        color_mode=color_mode,
        image_shape=image_shape,
        feature_vector=feature_vector,
        chunk_size=chunk_size,
        n_jobs=n_jobs,
        progress=functools.partial(ChunkProgress, "hog_batch", "", verbose=verbose),
    )


def _hog_batch(
    images,
    *,
    orientations,
    pixels_per_cell,
    cells_per_block,
    block_norm,
    transform_sqrt,
    color_mode,
    image_shape,
    feature_vector,
    chunk_size,
    n_jobs,
    progress,
):
    """:func:`hog_batch`, reporting to ``progress(n_images)``."""
    images = as_image_batch(images, image_shape=image_shape)
    n, height, width, n_channels = images.shape
    if not isinstance(orientations, Integral) or orientations < 1:
        raise ValueError(f"orientations must be a positive int, got {orientations!r}.")
    if block_norm is not None and block_norm not in BLOCK_NORMS:
        raise ValueError(
            f"block_norm must be one of {sorted(BLOCK_NORMS)} or None, "
            f"got {block_norm!r}."
        )
    if color_mode not in ("max_gradient", "gray"):
        raise ValueError(
            f"color_mode must be 'max_gradient' or 'gray', got {color_mode!r}."
        )
    if color_mode == "gray" and n_channels not in (1, 3):
        raise ValueError(
            f"color_mode='gray' needs RGB or grayscale images, got {n_channels} "
            "channels."
        )
    cell = _as_pair(pixels_per_cell, "pixels_per_cell")
    _as_pair(cells_per_block, "cells_per_block")
    with single_image_hint(images):
        out_shape = hog_output_shape(
            (height, width),
            orientations=orientations,
            pixels_per_cell=pixels_per_cell,
            cells_per_block=cells_per_block,
            block_norm=block_norm,
        )
    n_cells = (height // cell[0], width // cell[1])
    if transform_sqrt and images.dtype.kind in "if" and images.min() < 0:
        raise ValueError("transform_sqrt=True needs non-negative images.")
    float_dtype = np.float32 if images.dtype in (np.float16, np.float32) else np.float64
    out = np.empty((n, math.prod(out_shape)), dtype=float_dtype)
    progress = progress(n)

    def featurize(chunks):
        kernels = {}  # one per chunk length, for the buffers
        for rows in chunks:
            chunk = images[rows]
            if len(chunk) not in kernels:
                kernels[len(chunk)] = CellHistograms(
                    len(chunk),
                    images.shape[1:],
                    images.dtype,
                    cell,
                    n_cells,
                    orientations,
                    color_mode == "gray",
                    transform_sqrt,
                )
            hist, scale = kernels[len(chunk)](chunk)
            if block_norm is not None:
                _normalize_blocks(hist, out_shape[2:4], block_norm, scale, out[rows])
            elif scale is None:
                out[rows] = hist.reshape(len(hist), -1)
            else:
                # The cell averages of images beyond the float range overflow.
                with np.errstate(over="ignore"):
                    hist = np.ldexp(hist, scale.reshape(-1, 1, 1, 1))
                    out[rows] = hist.reshape(len(hist), -1)
            progress.update(len(hist))

    run_in_threads(featurize, list(iter_chunks(n, chunk_size)), n_jobs)
    return out if feature_vector else out.reshape(n, *out_shape)


class HOG(ImageTransformerMixin, TransformerMixin, BaseEstimator):
    """Histogram of Oriented Gradients features, as a scikit-learn transformer.

    Each image's descriptor equals :func:`skimage.feature.hog` with the same
    parameters to within 1e-6 (see :func:`hog_batch`, which does the work).
    The transformer learns nothing: `fit` only records the input layout.

    Parameters
    ----------
    orientations : int, default=9
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : int or (int, int), default=(8, 8)
        Cell size in pixels (rows, columns).
    cells_per_block : int or (int, int), default=(3, 3)
        Block size in cells; ignored when `block_norm` is None.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"} or None, default="L2-Hys"
        Block normalization; None returns the cell histograms.
    transform_sqrt : bool, default=False
        Square root of the (non-negative) image first.
    color_mode : {"max_gradient", "gray"}, default="max_gradient"
        Per pixel gradient of the channel with the largest magnitude
        (scikit-image), or conversion to gray with the weights of
        :func:`skimage.color.rgb2gray`.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the images in flattened 2-D input.
        When None, rows of ``s*s`` values are read as square grayscale
        images and rows of ``3*s*s`` values as square RGB images.
    chunk_size : int, default=64
        Images featurized at a time, bounding the working memory.
    n_jobs : int, default=None
        Threads; None means 1, -1 all cores.
    verbose : int, default=0
        Print the progress of `transform` over the chunks (images done,
        images/s, time left): 1 at every tenth of the images, 2 after every
        chunk.

    Attributes
    ----------
    n_features_in_ : int
        Number of values per input image (``H * W * C``).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fit on a DataFrame with string column names.
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in `fit`.
    n_features_out_ : int
        Length of each descriptor.

    See Also
    --------
    hog_batch : The function behind this transformer.
    ColorHistogram : Color features, often concatenated with HOG.

    Notes
    -----
    CS231n's HOG feature is ``HOG(color_mode="gray", block_norm=None)``
    (8x8 cells, 9 orientations; see :func:`hog_batch` for the differences
    in detail).

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.features import HOG
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(4, 32 * 32 * 3), dtype=np.uint8)
    >>> hog = HOG(color_mode="gray", block_norm=None).fit(X)
    >>> hog.image_shape_
    (32, 32, 3)
    >>> hog.transform(X).shape
    (4, 144)
    >>> hog.get_feature_names_out()[:2].tolist()
    ['hog_cell0_0_o0', 'hog_cell0_0_o1']
    """

    _parameter_constraints: dict = {
        "orientations": [Interval(Integral, 1, None, closed="left")],
        "pixels_per_cell": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "cells_per_block": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "block_norm": [StrOptions(set(BLOCK_NORMS)), None],
        "transform_sqrt": ["boolean"],
        "color_mode": [StrOptions({"max_gradient", "gray"})],
        "image_shape": [tuple, list, None],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        orientations=9,
        *,
        pixels_per_cell=(8, 8),
        cells_per_block=(3, 3),
        block_norm="L2-Hys",
        transform_sqrt=False,
        color_mode="max_gradient",
        image_shape=None,
        chunk_size=64,
        n_jobs=None,
        verbose=0,
    ):
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.transform_sqrt = transform_sqrt
        self.color_mode = color_mode
        self.image_shape = image_shape
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _output_shape(self, image_shape):
        return hog_output_shape(
            image_shape,
            orientations=self.orientations,
            pixels_per_cell=self.pixels_per_cell,
            cells_per_block=self.cells_per_block,
            block_norm=self.block_norm,
        )

    def _check_layout(self, image_shape):
        if self.color_mode == "gray" and image_shape[2] not in (1, 3):
            raise ValueError(
                "color_mode='gray' needs RGB or grayscale images, got "
                f"{image_shape[2]} channels."
            )
        return math.prod(self._output_shape(image_shape))

    def _featurize(self, images):
        return _hog_batch(
            images,
            orientations=self.orientations,
            pixels_per_cell=self.pixels_per_cell,
            cells_per_block=self.cells_per_block,
            block_norm=self.block_norm,
            transform_sqrt=self.transform_sqrt,
            color_mode=self.color_mode,
            image_shape=None,
            feature_vector=True,
            chunk_size=self.chunk_size,
            n_jobs=self.n_jobs,
            progress=functools.partial(
                ChunkProgress, "HOG", "transform", verbose=self.verbose
            ),
        )

    def _feature_names(self):
        shape = self._output_shape(self.image_shape_)
        if self.block_norm is None:
            return [f"hog_cell{r}_{c}_o{o}" for r, c, o in np.ndindex(*shape)]
        return [
            f"hog_block{r}_{c}_cell{i}_{j}_o{o}" for r, c, i, j, o in np.ndindex(*shape)
        ]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
