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

from ._image_input import (
    ImageTransformerMixin,
    as_image_batch,
    iter_chunks,
    run_in_threads,
    single_image_hint,
)
from ._progress import ChunkProgress

__all__ = ["BLOCK_NORMS", "GRAY_WEIGHTS", "HOG", "hog_batch", "hog_output_shape"]

#: Luminance weights of :func:`skimage.color.rgb2gray`.
GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)

_EPS = 1e-5  # scikit-image's block-normalization epsilon


def _l1(blocks):
    return blocks / (np.abs(blocks).sum(axis=(-3, -2, -1), keepdims=True) + _EPS)


def _l1_sqrt(blocks):
    return np.sqrt(_l1(blocks))


def _l2(blocks):
    return blocks / np.sqrt((blocks**2).sum(axis=(-3, -2, -1), keepdims=True) + _EPS**2)


def _l2_hys(blocks):
    out = np.minimum(_l2(blocks), 0.2)
    return _l2(out)


#: Block normalizations by name; each maps blocks of shape
#: ``(..., cells_row, cells_col, orientations)`` to normalized blocks.
BLOCK_NORMS = {"L1": _l1, "L1-sqrt": _l1_sqrt, "L2": _l2, "L2-Hys": _l2_hys}


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


@functools.lru_cache(maxsize=32)
def _orientation_binner(orientations, small_ints, half_levels=2048, margin=1e-5):
    """Lookup table from the cosine of a gradient's angle to its bin.

    scikit-image bins ``o = arctan2(g_row, g_col) * (180 / pi) % 180`` in
    float64 against bin edges ``180 / orientations * i`` rounded to float32
    (C ``float`` in ``_hoghistogram.pyx``). ``arctan2`` costs 30 ns a pixel.
    Instead, with the gradient folded into the upper half-plane so that its
    angle is ``o``, ``p = g_col / magnitude = cos(o)`` is computed in float32
    and ``trunc(p * half_levels)`` indexes this table (negative indices
    wrapping around). Table entries within `margin` of a bin edge, or of the
    wrap-around at 180 degrees, are -1: those pixels are binned exactly as
    scikit-image bins them.

    ``p == -1`` exactly (``g_row == 0 > g_col``) is orientation 0 for
    scikit-image, but for float gradients it may also come from a tiny
    ``g_row`` and orientation just under 180. For integer gradients up to
    510 (`small_ints`), ``|g_row| >= 1`` keeps ``p > -1`` in float32, so the
    entry is bin 0 rather than -1.

    Returns
    -------
    edges : ndarray of shape (orientations + 1,)
        scikit-image's bin edges in degrees.
    table : ndarray of shape (2 * half_levels + 1,)
        Bin per truncated level, or -1.
    """
    edges = (180.0 / orientations * np.arange(orientations + 1)).astype(np.float32)
    edges = edges.astype(np.float64)
    cos_edges = np.cos(np.deg2rad(edges[1:-1]))[::-1]  # increasing
    level = np.arange(-half_levels, half_levels + 1)
    # trunc(p * half_levels) == level for p in (lower, upper) up to the ends.
    lower = (np.where(level > 0, level, level - 1)) / half_levels
    upper = (np.where(level < 0, level, level + 1)) / half_levels
    # The angle is at least edge k where cos(edge k) >= p.
    table = orientations - 1 - np.searchsorted(cos_edges, (lower + upper) / 2)
    guarded = np.append(-1.0, cos_edges)
    first = np.searchsorted(guarded, lower - margin, side="left")
    last = np.searchsorted(guarded, upper + margin, side="right")
    table[last > first] = -1
    table[level == -half_levels] = 0 if small_ints else -1
    return edges, np.roll(table, -half_levels).astype(np.intp)


def _exact_bins(g_row, g_col, edges):
    """scikit-image's orientation bin (or ``len(edges) - 1`` for 'no bin')."""
    orientation = np.arctan2(g_row, g_col) * (180 / np.pi) % 180
    return np.searchsorted(edges, orientation, side="right") - 1


class _CellHistograms:
    """Cell-averaged orientation histograms of chunks of ``n`` images.

    Calling it on a chunk of shape (n, H, W, C) returns an array of shape
    (n, n_cells_row, n_cells_col, orientations). The work buffers are
    allocated once: fresh multi-megabyte temporaries on every chunk cost
    more in page faults than the arithmetic itself.

    The result equals scikit-image's to float32 rounding of the magnitudes.
    Two costly steps of scikit-image are replaced by cheaper float32 ones
    that agree with it except on a few pixels, which are detected and redone
    exactly: the per-pixel channel choice (``argmax`` of ``np.hypot``, see
    `_select_channel`) and the orientation binning (``np.arctan2``, see
    `_orientation_binner`).
    """

    def __init__(self, n, shape, dtype, cell, n_cells, orientations, gray, sqrt):
        height, width, n_channels = shape
        (self.c_row, self.c_col), self.orientations = cell, orientations
        self.rows, self.cols = n_cells[0] * cell[0], n_cells[1] * cell[1]
        self.float_dtype = (
            np.float32 if dtype in (np.float16, np.float32) else np.float64
        )
        self.gray = gray and n_channels == 3
        self.sqrt = sqrt
        # Differences of integer images up to 8 bits are exact in float32.
        exact_ints = dtype.kind in "biu" and dtype.itemsize == 1
        self.small_ints = exact_ints and not (self.gray or sqrt)
        self.grad_dtype = np.float32 if self.small_ints else self.float_dtype
        n_planes = 1 if self.gray else n_channels
        rows, cols = self.rows, self.cols
        self.planes = np.empty((n_planes, n, height, width), self.grad_dtype)
        self.g_row = np.zeros((n_planes, n, rows, cols), self.grad_dtype)
        self.g_col = np.zeros((n_planes, n, rows, cols), self.grad_dtype)
        if self.grad_dtype == np.float32:
            self.f_row, self.f_col = self.g_row, self.g_col
        else:
            self.f_row = np.empty((n_planes, n, rows, cols), np.float32)
            self.f_col = np.empty((n_planes, n, rows, cols), np.float32)
        self.sq = np.empty((n_planes, n, rows, cols), np.float32)
        pixel = (n, rows, cols)
        self.tmp = np.empty(pixel, np.float32)
        self.tmp_u = self.tmp.view(np.uint32)
        self.mask = np.empty(pixel, bool)
        self.mask2 = np.empty(pixel, bool)
        self.ambiguous = np.empty(pixel, bool)
        self.mask_u = np.empty(pixel, np.uint32)
        self.best = np.empty(pixel, np.float32)
        self.sel_row = np.empty(pixel, np.float32)
        self.sel_col = np.empty(pixel, np.float32)
        self.mag32 = np.empty(pixel, np.float32)
        self.magnitude = np.empty(pixel, np.float64)
        self.bins = np.empty(pixel, np.intp)
        # One extra bin per cell collects the pixels that scikit-image leaves
        # out (an orientation rounded up to 180 degrees).
        self.n_bins = orientations + 1
        cells = n_cells[0] * n_cells[1] * self.n_bins
        self.offsets = (
            np.arange(rows)[:, None] // cell[0] * n_cells[1]
            + np.arange(cols) // cell[1]
        ) * self.n_bins + (np.arange(n) * cells)[:, None, None]
        self.shape_out = (n, *n_cells, self.n_bins)

    def __call__(self, chunk):
        self._gradients(chunk)
        if len(self.planes) > 1:
            self._select_channel()
        else:
            np.multiply(self.f_row[0], self.f_row[0], out=self.best)
            np.multiply(self.f_col[0], self.f_col[0], out=self.tmp)
            self.best += self.tmp
            np.copyto(self.sel_row, self.f_row[0])
            np.copyto(self.sel_col, self.f_col[0])
        np.sqrt(self.best, out=self.mag32)
        np.copyto(self.magnitude, self.mag32)
        self._orientation_bins()
        self.bins += self.offsets
        hist = np.bincount(
            self.bins.ravel(),
            weights=self.magnitude.ravel(),
            minlength=math.prod(self.shape_out),
        )
        hist = hist.reshape(self.shape_out)[..., : self.orientations]
        hist /= self.c_row * self.c_col
        return hist

    def _gradients(self, chunk):
        """Central differences, zero on the border, cropped to whole cells."""
        planes = self.planes
        if self.gray:
            weights = np.array(GRAY_WEIGHTS, dtype=self.float_dtype)
            planes[0] = chunk.astype(self.float_dtype, copy=False) @ weights
        else:
            np.copyto(planes, np.moveaxis(chunk, -1, 0))
        if self.sqrt:
            np.sqrt(planes, out=planes)
        height, width = planes.shape[2:]
        rows, cols = self.rows, self.cols
        if (rows, cols) == (height, width) and min(rows, cols) > 2:
            # Differences along the flattened batch are faster than on 2-D
            # slices; the values that wrap across rows or images are on the
            # border and set back to zero.
            flat, g_row, g_col = planes.ravel(), self.g_row, self.g_col
            np.subtract(
                flat[2 * width :], flat[: -2 * width], out=g_row.ravel()[width:-width]
            )
            g_row[:, :, 0] = g_row[:, :, -1] = 0
            np.subtract(flat[2:], flat[:-2], out=g_col.ravel()[1:-1])
            g_col[..., 0] = g_col[..., -1] = 0
        else:
            hi = min(rows, height - 1)
            if hi > 1:
                np.subtract(
                    planes[:, :, 2 : hi + 1, :cols],
                    planes[:, :, : hi - 1, :cols],
                    out=self.g_row[:, :, 1:hi],
                )
            hi = min(cols, width - 1)
            if hi > 1:
                np.subtract(
                    planes[:, :, :rows, 2 : hi + 1],
                    planes[:, :, :rows, : hi - 1],
                    out=self.g_col[:, :, :, 1:hi],
                )
        if self.f_row is not self.g_row:
            np.copyto(self.f_row, self.g_row, casting="same_kind")
            np.copyto(self.f_col, self.g_col, casting="same_kind")

    def _select_channel(self):
        """Per pixel, the gradient of the channel with the largest magnitude.

        scikit-image takes the ``argmax`` of ``np.hypot`` over channels. Here
        the first maximum of float32 squared magnitudes is kept, with
        branch-free bit selects (masked copies cost 7 ns a pixel); pixels
        where another channel with a different gradient comes within 1e-5 of
        the maximum are decided again with ``np.hypot``.
        """
        sq, f_row, f_col = self.sq, self.f_row, self.f_col
        np.multiply(f_row, f_row, out=sq)
        for c in range(len(sq)):
            np.multiply(f_col[c], f_col[c], out=self.tmp)
            sq[c] += self.tmp
        best, tmp_u, mask_u = self.best, self.tmp_u, self.mask_u
        for c in range(1, len(sq)):
            previous = sq[0] if c == 1 else best
            np.greater(sq[c], previous, out=self.mask)
            np.negative(self.mask.view(np.uint8), out=mask_u, dtype=np.uint32)
            np.maximum(previous, sq[c], out=best)
            for sel, old, new in (
                (self.sel_row, f_row[0], f_row[c]),
                (self.sel_col, f_col[0], f_col[c]),
            ):
                sel_u = sel.view(np.uint32)
                old_u = old.view(np.uint32) if c == 1 else sel_u
                np.bitwise_xor(old_u, new.view(np.uint32), out=tmp_u)
                tmp_u &= mask_u
                np.bitwise_xor(old_u, tmp_u, out=sel_u)
        near = np.multiply(best, np.float32(1 - 1e-5), out=self.tmp)
        ambiguous, differs = self.ambiguous, self.mask
        ambiguous.fill(False)
        for c in range(len(sq)):
            np.not_equal(f_row[c], self.sel_row, out=differs)
            np.not_equal(f_col[c], self.sel_col, out=self.mask2)
            differs |= self.mask2
            np.greater_equal(sq[c], near, out=self.mask2)
            differs &= self.mask2
            ambiguous |= differs
        if not ambiguous.any():
            return
        where = np.flatnonzero(ambiguous)
        rows = self.g_row.reshape(len(sq), -1)[:, where].astype(self.float_dtype)
        cols = self.g_col.reshape(len(sq), -1)[:, where].astype(self.float_dtype)
        choice = np.hypot(rows, cols).argmax(axis=0)
        pick = np.arange(choice.size)
        self.sel_row.ravel()[where] = rows[choice, pick]
        self.sel_col.ravel()[where] = cols[choice, pick]
        self.best.ravel()[where] = sq.reshape(len(sq), -1)[choice, where]

    def _exact_selected(self, where):
        """The selected gradient at flat pixel indices, in its exact dtype."""
        if self.grad_dtype == np.float32:
            return self.sel_row.ravel()[where], self.sel_col.ravel()[where]
        n_planes = len(self.planes)
        f_row = self.f_row.reshape(n_planes, -1)[:, where]
        f_col = self.f_col.reshape(n_planes, -1)[:, where]
        match = (f_row == self.sel_row.ravel()[where]) & (
            f_col == self.sel_col.ravel()[where]
        )
        channel = match.argmax(axis=0)
        return (
            self.g_row.reshape(n_planes, -1)[channel, where],
            self.g_col.reshape(n_planes, -1)[channel, where],
        )

    def _orientation_bins(self):
        edges, table = _orientation_binner(self.orientations, self.small_ints)
        half_levels = len(table) // 2
        # Fold into the upper half-plane, keeping the angle mod 180: negate
        # the column gradient where the row gradient's sign bit is set.
        x_u = self.tmp_u
        np.bitwise_and(self.sel_row.view(np.uint32), np.uint32(1 << 31), out=x_u)
        x_u ^= self.sel_col.view(np.uint32)
        x = self.tmp
        denom = np.multiply(self.mag32, np.float32(1 / half_levels), out=self.best)
        np.maximum(denom, np.finfo(np.float32).tiny, out=denom)
        x /= denom
        np.copyto(self.bins, x, casting="unsafe")
        table.take(self.bins, out=self.bins, mode="wrap")
        np.less(self.bins, 0, out=self.mask)
        if not self.mask.any():
            return
        bins = self.bins.ravel()
        where = np.flatnonzero(self.mask)
        bins[where] = self.orientations  # zero magnitude: any bin will do
        where = where[self.mag32.ravel()[where] > 0]
        g_row, g_col = self._exact_selected(where)
        bins[where] = _exact_bins(
            g_row.astype(np.float64), g_col.astype(np.float64), edges
        )


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
                kernels[len(chunk)] = _CellHistograms(
                    len(chunk),
                    images.shape[1:],
                    images.dtype,
                    cell,
                    n_cells,
                    orientations,
                    color_mode == "gray",
                    transform_sqrt,
                )
            hist = kernels[len(chunk)](chunk)
            if block_norm is not None:
                blocks = np.lib.stride_tricks.sliding_window_view(
                    hist, out_shape[2:4], axis=(1, 2)
                )
                hist = BLOCK_NORMS[block_norm](np.moveaxis(blocks, 3, -1))
            out[rows] = hist.reshape(hist.shape[0], -1)
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
