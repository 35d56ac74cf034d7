"""Color histograms over a batch of images.

:func:`color_histogram_batch` bins every pixel of every image at once, with
the bin of each value decided exactly as :func:`numpy.histogram` decides it
(uniform edges from :func:`numpy.linspace`, the last bin closed).
:class:`ColorHistogram` is the scikit-learn transformer around it.
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
    single_image_hint,
)
from ._progress import ChunkProgress

__all__ = ["COLOR_SPACES", "ColorHistogram", "color_histogram_batch", "rgb_to_hue"]

_SAFE_RANGE_EXPONENT = 1000

#: Supported color spaces and the number of features per bin setting.
COLOR_SPACES = {
    "hsv": lambda bins, n_channels: bins,
    "rgb": lambda bins, n_channels: n_channels * bins,
    "rgb_joint": lambda bins, n_channels: bins**3,
}


def rgb_to_hue(red, green, blue):
    """Hue in [0, 1) of RGB values in [0, 1], as :func:`matplotlib.colors.rgb_to_hsv`.

    The same float operations in the same order, so the result is equal,
    not merely close. Gray pixels (all channels equal) get hue 0.

    Parameters
    ----------
    red, green, blue : ndarray of float, all of the same shape
        Channel values in [0, 1].

    Returns
    -------
    hue : ndarray of the same shape
        Hue as a fraction of a turn.

    Examples
    --------
    >>> import numpy as np
    >>> rgb_to_hue(np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.5]),
    ...            np.array([0.0, 0.0, 0.5]))
    array([0.        , 0.33333333, 0.5       ])
    """
    high = np.maximum(np.maximum(red, green), blue)
    delta = high - np.minimum(np.minimum(red, green), blue)
    colored = delta > 0
    # matplotlib assigns where red, then green, then blue is the maximum:
    # the last match wins. Exclusive 0/1 masks select without branches.
    is_blue = (blue == high) & colored
    is_green = (green == high) & colored & ~is_blue
    is_red = colored & ~(is_blue | is_green)
    numerator = (green - blue) * is_red
    numerator += (blue - red) * is_green
    numerator += (red - green) * is_blue
    hue = 2.0 * is_green + 4.0 * is_blue
    hue += numerator / (delta + ~colored)
    hue /= 6.0
    return np.mod(hue, 1.0, out=hue)


def _bin_index(values, low, high, bins):
    """Bin of each value in [low, high] as :func:`numpy.histogram` assigns it."""
    edges = np.linspace(low, high, bins + 1)
    index = ((values - low) / (high - low) * bins).astype(np.intp)
    np.clip(index, 0, bins - 1, out=index)
    # The division may be off by one near an edge; numpy corrects the same way.
    index -= values < edges[index]
    index += (values >= edges[index + 1]) & (index != bins - 1)
    return index


def _range_exponent(low, high):
    """``e`` such that the range scaled by ``2**-e`` is safe, 0 if it is.

    Ranges beyond about 1e301 overflow in ``high - low`` and in the bin
    edges, and ranges below about 1e-301 lose precision in subnormals;
    scaling values and range by a power of two leaves every value's bin
    unchanged.
    """
    exponent = math.frexp(max(abs(low), abs(high)))[1]
    return exponent if abs(exponent) > _SAFE_RANGE_EXPONENT else 0


def _clipped(values, low, high, exponent):
    """`values` clipped to [low, high], in float64, scaled by ``2**-exponent``."""
    out = np.clip(values, low, high, dtype=np.float64)
    return np.ldexp(out, -exponent, out=out) if exponent else out


def _channel_bins(chunk, low, high, bins, exponent):
    """Per-channel bin indices, shape (C, n, H, W), values clipped to range."""
    planes = np.moveaxis(chunk, -1, 0)
    low_s, high_s = math.ldexp(low, -exponent), math.ldexp(high, -exponent)
    if chunk.dtype == np.uint8:
        values = _clipped(np.arange(256.0), low, high, exponent)
        return _bin_index(values, low_s, high_s, bins).take(planes)
    return _bin_index(_clipped(planes, low, high, exponent), low_s, high_s, bins)


def _hue(chunk, low, high, exponent):
    """Hue of RGB images whose values span [low, high]."""
    low_s, high_s = math.ldexp(low, -exponent), math.ldexp(high, -exponent)
    if chunk.dtype == np.uint8:
        table = (_clipped(np.arange(256.0), low, high, exponent) - low_s) / (
            high_s - low_s
        )
        red, green, blue = (table.take(chunk[..., c]) for c in range(3))
    else:
        planes = _clipped(chunk, low, high, exponent)
        red, green, blue = (
            (planes[..., c] - low_s) / (high_s - low_s) for c in range(3)
        )
    return rgb_to_hue(red, green, blue)


def color_histogram_batch(
    images,
    *,
    bins=10,
    color_space="hsv",
    value_range=(0.0, 255.0),
    normalize=True,
    image_shape=None,
    chunk_size=32,
    verbose=0,
):
    """Color histogram of every image in a batch.

    Parameters
    ----------
    images : array-like of shape (n, H, W, C), (n, H, W) or (n, H*W*C)
        Images, or flattened rows with `image_shape`.
    bins : int, default=10
        Bins per histogram axis, uniform over the range.
    color_space : {"hsv", "rgb", "rgb_joint"}, default="hsv"
        "hsv": histogram of the hue (CS231n's color feature), equal to the
        hue of :func:`matplotlib.colors.rgb_to_hsv`, over [0, 1]; gray
        pixels have hue 0. "rgb": one histogram per channel (any number of
        channels), concatenated. "rgb_joint": a 3-D histogram of
        ``bins**3`` joint RGB bins, flattened red-major.
    value_range : (float, float), default=(0.0, 255.0)
        Range of the pixel values; values outside are clipped into it. Use
        ``(0.0, 1.0)`` for float images in [0, 1]. Any finite range: values
        are binned exactly as :func:`numpy.histogram` bins them, also beyond
        its own limit (ranges wider than about 1e308).
    normalize : bool, default=True
        Return fractions of the pixels (each histogram sums to 1) instead of
        counts.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` to unflatten 2-D `images`.
    chunk_size : int, default=32
        Images processed at a time; bounds the working memory.
    verbose : int, default=0
        Print progress over the chunks (images done, images/s, time left):
        1 at every tenth of the images, 2 after every chunk.

    Returns
    -------
    features : ndarray of shape (n, n_features), float64
        ``bins`` features for "hsv", ``C * bins`` for "rgb" and ``bins**3``
        for "rgb_joint".

    Raises
    ------
    ValueError
        For malformed input (see :func:`as_image_batch`), a bad
        `value_range`, or "hsv" and "rgb_joint" without 3 channels.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    >>> images[0, ..., 0] = 255  # red: hue 0
    >>> images[1, :2, :, 2] = 255  # half blue: hue 2/3, half black: hue 0
    >>> color_histogram_batch(images, bins=3)
    array([[1. , 0. , 0. ],
           [0.5, 0. , 0.5]])
    >>> color_histogram_batch(images, bins=2, color_space="rgb", normalize=False)
    array([[ 0., 16., 16.,  0., 16.,  0.],
           [16.,  0., 16.,  0.,  8.,  8.]])
    """
    return _color_histogram_batch(
        images,
        bins=bins,
        color_space=color_space,
        value_range=value_range,
        normalize=normalize,
        image_shape=image_shape,
        chunk_size=chunk_size,
        progress=functools.partial(
            ChunkProgress, "color_histogram_batch", "", verbose=verbose
        ),
    )


def _color_histogram_batch(
    images,
    *,
    bins,
    color_space,
    value_range,
    normalize,
    image_shape,
    chunk_size,
    progress,
):
    """:func:`color_histogram_batch`, reporting to ``progress(n_images)``."""
    images = as_image_batch(images, image_shape=image_shape)
    n, height, width, n_channels = images.shape
    low, high = _check_value_range(value_range)
    exponent = _range_exponent(low, high)
    _n_features(bins, color_space, 3)  # the parameters, before the layout
    with single_image_hint(images):
        n_features = _n_features(bins, color_space, n_channels)
    out = np.empty((n, n_features))
    progress = progress(n)
    for rows in iter_chunks(n, chunk_size):
        chunk = images[rows]
        m = len(chunk)
        if color_space == "hsv":
            index = _bin_index(_hue(chunk, low, high, exponent), 0.0, 1.0, bins)
        elif color_space == "rgb":
            index = _channel_bins(chunk, low, high, bins, exponent)
            index += (np.arange(n_channels) * bins)[:, None, None, None]
            index = np.moveaxis(index, 0, -1)
        else:
            red, green, blue = _channel_bins(chunk, low, high, bins, exponent)
            index = (red * bins + green) * bins + blue
        index = index.reshape(m, -1) + (np.arange(m) * n_features)[:, None]
        counts = np.bincount(index.ravel(), minlength=m * n_features)
        out[rows] = counts.reshape(m, n_features)
        progress.update(m)
    if normalize:
        out /= height * width
    return out


def _check_value_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_range must be a pair of numbers, got {value_range!r}."
        ) from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(
            f"value_range must be finite with low < high, got {value_range!r}."
        )
    return low, high


def _n_features(bins, color_space, n_channels):
    if not isinstance(bins, Integral) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}.")
    if color_space not in COLOR_SPACES:
        raise ValueError(
            f"color_space must be one of {sorted(COLOR_SPACES)}, got {color_space!r}."
        )
    if color_space != "rgb" and n_channels != 3:
        raise ValueError(
            f"color_space={color_space!r} needs RGB images (3 channels), got "
            f"{n_channels} channel(s); use color_space='rgb' for per-channel "
            "histograms."
        )
    return COLOR_SPACES[color_space](bins, n_channels)


class ColorHistogram(ImageTransformerMixin, TransformerMixin, BaseEstimator):
    """Color histogram features, as a scikit-learn transformer.

    See :func:`color_histogram_batch`, which does the work. The transformer
    learns nothing: `fit` only records the input layout.

    Parameters
    ----------
    bins : int, default=10
        Bins per histogram axis.
    color_space : {"hsv", "rgb", "rgb_joint"}, default="hsv"
        Hue histogram (CS231n's color feature), per-channel histograms, or a
        joint 3-D RGB histogram.
    value_range : (float, float), default=(0.0, 255.0)
        Range of the pixel values; values outside are clipped into it.
    normalize : bool, default=True
        Fractions of the pixels instead of counts.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)`` of the images in flattened 2-D input.
        When None, rows of ``s*s`` values are read as square grayscale
        images and rows of ``3*s*s`` values as square RGB images.
    chunk_size : int, default=32
        Images featurized at a time, bounding the working memory.
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
        Number of histogram bins in the output.

    See Also
    --------
    color_histogram_batch : The function behind this transformer.
    HOG : Gradient features, often concatenated with color histograms.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.features import ColorHistogram
    >>> X = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    >>> X[1, ..., 1] = 255  # green
    >>> ColorHistogram(bins=3).fit_transform(X)
    array([[1., 0., 0.],
           [0., 1., 0.]])
    >>> ColorHistogram(bins=3).fit(X).get_feature_names_out().tolist()
    ['colorhist_hue0', 'colorhist_hue1', 'colorhist_hue2']
    """

    _parameter_constraints: dict = {
        "bins": [Interval(Integral, 1, None, closed="left")],
        "color_space": [StrOptions(set(COLOR_SPACES))],
        "value_range": [tuple, list],
        "normalize": ["boolean"],
        "image_shape": [tuple, list, None],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        bins=10,
        *,
        color_space="hsv",
        value_range=(0.0, 255.0),
        normalize=True,
        image_shape=None,
        chunk_size=32,
        verbose=0,
    ):
        self.bins = bins
        self.color_space = color_space
        self.value_range = value_range
        self.normalize = normalize
        self.image_shape = image_shape
        self.chunk_size = chunk_size
        self.verbose = verbose

    def _check_layout(self, image_shape):
        _check_value_range(self.value_range)
        return _n_features(self.bins, self.color_space, image_shape[2])

    def _featurize(self, images):
        return _color_histogram_batch(
            images,
            bins=self.bins,
            color_space=self.color_space,
            value_range=self.value_range,
            normalize=self.normalize,
            image_shape=None,
            chunk_size=self.chunk_size,
            progress=functools.partial(
                ChunkProgress, "ColorHistogram", "transform", verbose=self.verbose
            ),
        )

    def _feature_names(self):
        bins, n_channels = self.bins, self.image_shape_[2]
        if self.color_space == "hsv":
            return [f"colorhist_hue{b}" for b in range(bins)]
        if self.color_space == "rgb_joint":
            return [f"colorhist_rgb{r}_{g}_{b}" for r, g, b in np.ndindex(3 * (bins,))]
        names = "rgb" if n_channels == 3 else [f"c{c}_" for c in range(n_channels)]
        return [
            f"colorhist_{names[c]}{b}" for c in range(n_channels) for b in range(bins)
        ]
