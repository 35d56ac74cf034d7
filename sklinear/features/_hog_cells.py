"""HOG cell histograms of chunks of images, equal to scikit-image's.

:class:`CellHistograms` computes, for a chunk of images at once, the
cell-averaged orientation histograms of ``skimage.feature.hog``; the block
normalization is in :mod:`._hog`. scikit-image's costly per-pixel steps are
replaced by cheaper ones that give the same result:

- 8-bit integer images (the common case) have integer gradients in
  [-255, 255]: their squared magnitudes are exact in float32, so the channel
  of largest magnitude is chosen exactly, and a table over all integer
  gradients gives scikit-image's orientation bin.
- Other images: the channel and the bin are chosen in float32 and the few
  pixels where float32 could disagree with scikit-image are redone exactly
  (see `_select_channel` and `_orientation_binner`). Images are first
  scaled by a power of two when their values are too large or too small for
  float32 squares; the scale is returned, and undone by the caller.
"""

import functools
import math

import numpy as np

#: Luminance weights of :func:`skimage.color.rgb2gray`.
GRAY_WEIGHTS = (0.2125, 0.7154, 0.0721)

# Images whose largest absolute value is within [2**-_SAFE_EXPONENT,
# 2**_SAFE_EXPONENT] are used as they are; others are scaled into it, so that
# float32 squares of gradients neither overflow nor underflow.
_SAFE_EXPONENT = 32
_INT_GRADIENT = 255  # largest |central difference| of 8-bit images
_INT_CODES = 2 * _INT_GRADIENT + 1
_TIE_FLAG = 1 << 14  # in the integer bin table: decide the channel exactly


@functools.lru_cache(maxsize=32)
def _orientation_binner(orientations, small_ints, half_levels=2048, margin=1e-5):
    """Lookup table from the cosine of a gradient's angle to its bin.

    scikit-image bins ``o = arctan2(g_row, g_col) * (180 / pi) % 180`` in
    float64 against bin edges ``180 / orientations * i`` rounded to float32
    (C ``float`` in ``_hoghistogram.pyx``). ``arctan2`` costs 30 ns a pixel.
    Instead, with the gradient folded into the upper half-plane so that its
    angle is ``o``, ``p = g_col / magnitude = cos(o)`` is computed in float32
    and ``trunc(p * half_levels) + half_levels`` indexes this table. Table
    entries within `margin` of a bin edge, or of the wrap-around at 180
    degrees, are -1: those pixels are binned exactly as scikit-image bins
    them.

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
        Bin per truncated level (shifted by `half_levels`), or -1.
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
    return edges, table.astype(np.intp)


def _exact_bins(g_row, g_col, edges):
    """scikit-image's orientation bin (or ``len(edges) - 1`` for 'no bin')."""
    orientation = np.arctan2(g_row, g_col) * (180 / np.pi) % 180
    return np.searchsorted(edges, orientation, side="right") - 1


@functools.cache
def _integer_gradients():
    """Every integer gradient in [-255, 255]**2 and facts about it.

    Returns ``g_row, g_col, squares, hypot`` as float64 arrays of shape
    (511 * 511,), indexed by ``(g_row + 255) * 511 + g_col + 255``, and
    whether ``np.hypot`` increases with the (exact) squared magnitude, as
    choosing the channel by the squares needs.
    """
    gradient = np.arange(-_INT_GRADIENT, _INT_GRADIENT + 1, dtype=np.float64)
    g_row = np.repeat(gradient, len(gradient))
    g_col = np.tile(gradient, len(gradient))
    squares = g_row * g_row + g_col * g_col
    hypot = np.hypot(g_row, g_col)
    order = np.argsort(squares, kind="stable")
    larger = np.diff(squares[order]) > 0
    increases = bool(np.all(np.diff(hypot[order])[larger] > 0))
    return g_row, g_col, squares, hypot, increases


@functools.lru_cache(maxsize=32)
def _integer_gradient_bins(orientations):
    """scikit-image's bin of every integer gradient, plus a tie flag.

    Indexed as in :func:`_integer_gradients`. The bin ``orientations``
    stands for scikit-image's 'no bin' (an orientation rounded up to 180
    degrees). `_TIE_FLAG` is added to the gradients whose squared magnitude
    is shared with a gradient of another ``np.hypot`` (which is not
    correctly rounded everywhere): there scikit-image's channel, the
    ``argmax`` of ``np.hypot``, may not be the first of largest square.
    """
    g_row, g_col, squares, hypot, _ = _integer_gradients()
    edges, _ = _orientation_binner(orientations, True)
    bins = _exact_bins(g_row, g_col, edges).astype(np.int16)
    order = np.argsort(squares, kind="stable")
    new_class = np.r_[True, np.diff(squares[order]) != 0]
    starts = np.flatnonzero(new_class)
    # A class of equal squares is flagged when its hypot values differ.
    sorted_hypot = hypot[order]
    differ = np.minimum.reduceat(sorted_hypot, starts) != np.maximum.reduceat(
        sorted_hypot, starts
    )
    bins[order[differ[np.cumsum(new_class) - 1]]] += _TIE_FLAG
    return bins


def _scale_exponents(chunk, even):
    """Per image, ``k`` such that ``chunk * 2**-k`` is within the safe range.

    ``k`` is 0 for images already within it, so that they are computed as
    they are; `even` makes ``k`` even, for an exact square root.
    """
    axes = tuple(range(1, chunk.ndim))
    high = np.maximum(
        np.abs(chunk.max(axis=axes).astype(np.float64)),
        np.abs(chunk.min(axis=axes).astype(np.float64)),
    )
    exponent = np.frexp(high)[1]
    exponent[np.abs(exponent) <= _SAFE_EXPONENT] = 0
    if even:
        exponent += exponent % 2
    return exponent


def _select_where(mask, selected, candidate, tmp_u, mask_u):
    """``selected[mask] = candidate[mask]`` for float32 arrays, branch-free.

    Bit selects on the uint32 views: a masked copy costs 7 ns a pixel on
    random masks, these four passes less than 1.
    """
    np.negative(mask.view(np.uint8), out=mask_u, dtype=np.uint32)
    selected_u = selected.view(np.uint32)
    np.bitwise_xor(selected_u, candidate.view(np.uint32), out=tmp_u)
    tmp_u &= mask_u
    selected_u ^= tmp_u


class CellHistograms:
    """Cell-averaged orientation histograms of chunks of ``n`` images.

    Calling it on a chunk of shape (n, H, W, C) returns ``(hist, scale)``:
    `hist` of shape (n, n_cells_row, n_cells_col, orientations), float64 and
    C-contiguous, and `scale`, None or per image the exponent ``s`` such that
    the histograms of the image as given are ``hist * 2**s`` (images scaled
    into the float32-safe range). The work buffers are allocated once: fresh
    multi-megabyte temporaries on every chunk cost more in page faults than
    the arithmetic itself.

    The result equals scikit-image's to float32 rounding of the magnitudes.
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
        self.integer_codes = (
            self.small_ints and orientations < _TIE_FLAG and _integer_gradients()[-1]
        )
        # Up to 32-bit integers, squares of differences fit in float32.
        self.rescale = not (dtype.kind in "biu" and dtype.itemsize <= 4)
        self.grad_dtype = np.float32 if self.small_ints else self.float_dtype
        n_planes = 1 if self.gray else n_channels
        rows, cols = self.rows, self.cols
        if self.gray:
            self.rgb = np.empty((n, height, width, n_channels), self.float_dtype)
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
        self.tmp_u = np.empty(pixel, np.uint32)
        self.mask_u = np.empty(pixel, np.uint32)
        self.mask = np.empty(pixel, bool)
        self.best = np.empty(pixel, np.float32)
        self.magnitude = np.empty(pixel, np.float64)
        self.bins = np.empty(pixel, np.intp)
        if self.integer_codes:
            self.codes = np.empty((1, n, rows, cols), np.float32)
            self.code = np.empty(pixel, np.float32)
            self.code_index = np.empty(pixel, np.int32)
            self.code_bins = np.empty(pixel, np.int16)
            self.tie = np.empty(pixel, bool)
        else:
            self.mask2 = np.empty(pixel, bool)
            self.ambiguous = np.empty(pixel, bool)
            self.sel_row = np.empty(pixel, np.float32)
            self.sel_col = np.empty(pixel, np.float32)
            self.mag32 = np.empty(pixel, np.float32)
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
        scale = self._gradients(chunk)
        if self.integer_codes:
            self._select_integer_codes()
            self._integer_bins()
        else:
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
        return np.divide(hist, self.c_row * self.c_col), scale  # contiguous

    def _gradients(self, chunk):
        """Central differences, zero on the border, cropped to whole cells.

        Returns the per-image exponents of the scale of the gradients
        (None when no image is scaled).
        """
        planes = self.planes
        exponents = None
        if self.rescale:
            exponents = _scale_exponents(chunk, even=self.sqrt)
            if exponents.any():
                chunk = np.ldexp(
                    chunk,
                    -exponents.reshape(-1, *(1,) * (chunk.ndim - 1)),
                    dtype=self.float_dtype,
                )
            else:
                exponents = None
        if self.gray:
            weights = np.array(GRAY_WEIGHTS, dtype=self.float_dtype)
            if chunk.dtype != self.float_dtype:
                np.copyto(self.rgb, chunk)
                chunk = self.rgb
            np.matmul(chunk, weights, out=planes[0])
        else:
            np.copyto(planes, np.moveaxis(chunk, -1, 0))
        if self.sqrt:
            np.sqrt(planes, out=planes)
            if exponents is not None:
                exponents //= 2
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
        return exponents

    def _select_integer_codes(self):
        """Squared magnitude and gradient code of the channel of largest
        magnitude, for integer gradients.

        The code ``511 * g_row + g_col`` (exact in float32) identifies the
        gradient. Squares are exact too, so the first channel of largest
        square is scikit-image's choice, but for the ties that
        :func:`_integer_gradient_bins` flags.
        """
        f_row, f_col, best, code = self.f_row, self.f_col, self.best, self.code
        tmp, sq_c, code_c = self.tmp, self.sq[0], self.codes[0]
        for c in range(len(f_row)):
            first = c == 0
            np.square(f_row[c], out=best if first else sq_c)
            np.square(f_col[c], out=tmp)
            np.add(best if first else sq_c, tmp, out=best if first else sq_c)
            np.multiply(f_row[c], np.float32(_INT_CODES), out=code if first else code_c)
            np.add(code if first else code_c, f_col[c], out=code if first else code_c)
            if not first:
                np.greater(sq_c, best, out=self.mask)
                _select_where(self.mask, code, code_c, self.tmp_u, self.mask_u)
                if c == 1:
                    np.equal(sq_c, best, out=self.tie)
                else:
                    np.equal(sq_c, best, out=self.mask)
                    self.tie |= self.mask
                np.maximum(best, sq_c, out=best)

    def _integer_bins(self):
        """Magnitudes and histogram indices from the selected codes."""
        np.sqrt(self.best, out=self.tmp)
        np.copyto(self.magnitude, self.tmp)
        self.code += np.float32(_INT_GRADIENT * _INT_CODES + _INT_GRADIENT)
        np.copyto(self.code_index, self.code, casting="unsafe")
        table = _integer_gradient_bins(self.orientations)
        table.take(self.code_index, out=self.code_bins, mode="clip")
        if len(self.planes) > 1:
            # Redo the pixels of flagged gradients where the squares tie.
            np.greater_equal(self.code_bins, _TIE_FLAG, out=self.mask)
            self.mask &= self.tie
            if self.mask.any():
                self._choose_tied_channels(np.flatnonzero(self.mask), table)
        self.code_bins &= _TIE_FLAG - 1
        np.add(self.offsets, self.code_bins, out=self.bins)

    def _choose_tied_channels(self, where, table):
        """scikit-image's channel (``argmax`` of ``np.hypot``) at `where`."""
        n_planes = len(self.planes)
        rows = self.f_row.reshape(n_planes, -1)[:, where].astype(np.float64)
        cols = self.f_col.reshape(n_planes, -1)[:, where].astype(np.float64)
        hypot = np.hypot(rows, cols)
        choice = hypot.argmax(axis=0)
        pick = np.arange(len(where))
        g_row, g_col = rows[choice, pick], cols[choice, pick]
        index = (g_row + _INT_GRADIENT) * _INT_CODES + g_col + _INT_GRADIENT
        self.code_bins.ravel()[where] = table[index.astype(np.intp)] & (_TIE_FLAG - 1)
        # As the other pixels (and the float path): float32 square roots.
        square = (g_row * g_row + g_col * g_col).astype(np.float32)
        self.magnitude.ravel()[where] = np.sqrt(square)

    def _select_channel(self):
        """Per pixel, the gradient of the channel with the largest magnitude.

        scikit-image takes the ``argmax`` of ``np.hypot`` over channels. Here
        the first maximum of float32 squared magnitudes is kept; pixels where
        another channel with a different gradient comes within 1e-5 of the
        maximum are decided again with ``np.hypot``.
        """
        sq, f_row, f_col = self.sq, self.f_row, self.f_col
        np.square(f_row, out=sq)
        for c in range(len(sq)):
            np.square(f_col[c], out=self.tmp)
            sq[c] += self.tmp
        best = self.best
        np.copyto(best, sq[0])
        np.copyto(self.sel_row, f_row[0])
        np.copyto(self.sel_col, f_col[0])
        for c in range(1, len(sq)):
            np.greater(sq[c], best, out=self.mask)
            for selected, candidate in (
                (self.sel_row, f_row[c]),
                (self.sel_col, f_col[c]),
            ):
                _select_where(self.mask, selected, candidate, self.tmp_u, self.mask_u)
            np.maximum(best, sq[c], out=best)
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
        if n_planes == 1:
            return self.g_row.ravel()[where], self.g_col.ravel()[where]
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
        x_u = self.tmp.view(np.uint32)
        np.bitwise_and(self.sel_row.view(np.uint32), np.uint32(1 << 31), out=x_u)
        x_u ^= self.sel_col.view(np.uint32)
        x = self.tmp
        denom = np.multiply(self.mag32, np.float32(1 / half_levels), out=self.best)
        np.maximum(denom, np.finfo(np.float32).tiny, out=denom)
        x /= denom
        # |x| <= half_levels for finite gradients; "clip" bounds any other
        # value (an index is never taken from a non-finite one unchecked).
        np.copyto(self.bins, x, casting="unsafe")
        self.bins += half_levels
        table.take(self.bins, out=self.bins, mode="clip")
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
