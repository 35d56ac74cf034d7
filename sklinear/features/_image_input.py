"""Input handling shared by the image feature functions and transformers.

Every feature function works on a batch of images laid out as
``(n_images, height, width, n_channels)``. Callers may pass grayscale batches
``(n, H, W)``, color batches ``(n, H, W, C)`` or the flattened rows
``(n, H*W*C)`` that loaders and pipelines pass around, together with an
``image_shape`` to unflatten them.
"""

import math
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import _fit_context
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

__all__ = [
    "ImageTransformerMixin",
    "as_image_batch",
    "infer_image_shape",
    "iter_chunks",
    "run_in_threads",
]


def infer_image_shape(n_features):
    """Guess ``(H, W)`` or ``(H, W, 3)`` from the length of a flattened image.

    Only square images are inferred: ``s * s`` values are read as an
    ``(s, s)`` grayscale image and ``3 * s * s`` values as an ``(s, s, 3)``
    RGB image. No integer is both, so the guess is never ambiguous.

    Parameters
    ----------
    n_features : int
        Number of values per flattened image.

    Returns
    -------
    image_shape : tuple of int
        ``(s, s)`` or ``(s, s, 3)``.

    Raises
    ------
    ValueError
        If `n_features` is neither a square nor three times a square.

    Examples
    --------
    >>> infer_image_shape(3072)
    (32, 32, 3)
    >>> infer_image_shape(784)
    (28, 28)
    """
    side = math.isqrt(n_features)
    if n_features > 0 and side * side == n_features:
        return (side, side)
    side = math.isqrt(n_features // 3)
    if n_features > 0 and n_features % 3 == 0 and 3 * side * side == n_features:
        return (side, side, 3)
    raise ValueError(
        f"Cannot infer the image shape from {n_features} features per row: "
        "only square grayscale (s*s) or RGB (3*s*s) images are inferred. "
        "Pass image_shape=(H, W) or (H, W, C)."
    )


def _check_image_shape(image_shape):
    if image_shape is None:
        return None
    if isinstance(image_shape, np.ndarray):
        image_shape = image_shape.tolist()
    if not (
        isinstance(image_shape, (tuple, list))
        and len(image_shape) in (2, 3)
        and all(isinstance(v, Integral) and v >= 1 for v in image_shape)
    ):
        raise ValueError(
            "image_shape must be (H, W) or (H, W, C) with positive integers, "
            f"got {image_shape!r}."
        )
    image_shape = tuple(int(v) for v in image_shape)
    return image_shape if len(image_shape) == 3 else (*image_shape, 1)


def as_image_batch(X, *, image_shape=None, estimator=None, reset=True):
    """Validate a batch of images and return it as ``(n, H, W, C)``.

    Parameters
    ----------
    X : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
        Images, grayscale, channels-last color, or flattened rows. Any real
        dtype; integer dtypes are kept, other inputs become float.
    image_shape : tuple of int, default=None
        ``(H, W)`` or ``(H, W, C)``. Needed to unflatten 2-D input unless the
        rows are square grayscale or RGB images (see
        :func:`infer_image_shape`); checked against the shape of 3-D and 4-D
        input.
    estimator : estimator instance, default=None
        When given, ``n_features_in_`` (and ``feature_names_in_`` for
        DataFrames) are set or checked on it through
        :func:`sklearn.utils.validation.validate_data`.
    reset : bool, default=True
        Passed to ``validate_data``: True in ``fit``, False in ``transform``.

    Returns
    -------
    images : ndarray of shape (n, H, W, C)
        A view of the input where possible, never a float copy of uint8 data.

    Raises
    ------
    ValueError
        For input of the wrong dimension, an `image_shape` that does not match
        the data, NaN or infinite values, or an empty batch.
    """
    image_shape = _check_image_shape(image_shape)
    if hasattr(X, "ndim") and not hasattr(X, "columns") and X.ndim in (3, 4):
        X = np.asarray(X)
        batch_shape = X.shape[1:] if X.ndim == 4 else (*X.shape[1:], 1)
        if image_shape is not None and image_shape != batch_shape:
            raise ValueError(
                f"image_shape={image_shape} does not match the images of "
                f"shape {batch_shape} (H, W, C) in X."
            )
        flat = X.reshape(X.shape[0], math.prod(X.shape[1:]))
        if estimator is not None:
            flat = validate_data(
                estimator, flat, reset=reset, dtype=None, ensure_min_features=1
            )
        else:
            flat = check_array(flat, dtype=None)
        return flat.reshape(X.shape[0], *batch_shape)

    if not hasattr(X, "ndim") and not hasattr(X, "columns"):
        X = np.asarray(X)  # lists; array-likes without the NumPy protocols
        if X.ndim in (3, 4):
            return as_image_batch(
                X, image_shape=image_shape, estimator=estimator, reset=reset
            )
    if X.ndim not in (2, 3, 4):
        raise ValueError(
            "Expected a batch of images of shape (n, H, W), (n, H, W, C) or "
            f"flattened (n, H*W*C); got an array with {X.ndim} dimension(s). "
            "Reshape your data, e.g. with X.reshape(1, -1) for a single "
            "flattened image."
        )
    if estimator is not None:
        X = validate_data(estimator, X, reset=reset, dtype=None)
    else:
        X = check_array(X, dtype=None)
    if X.ndim == 3 or X.ndim == 4:
        return as_image_batch(X, image_shape=image_shape)
    n_features = X.shape[1]
    if image_shape is None:
        image_shape = _check_image_shape(infer_image_shape(n_features))
    if math.prod(image_shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape} (H, W, C) holds {math.prod(image_shape)} "
            f"values but X has {n_features} features per row."
        )
    return X.reshape(X.shape[0], *image_shape)


def iter_chunks(n, chunk_size):
    """Yield slices ``[start, stop)`` covering ``range(n)`` in chunks."""
    if not isinstance(chunk_size, Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}.")
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def run_in_threads(work, chunks, n_jobs):
    """Call ``work(part)`` on `n_jobs` interleaved parts of `chunks`.

    NumPy releases the GIL inside its loops, so threads working on separate
    chunks of images (each with its own buffers) run in parallel.
    """
    n_threads = min(effective_n_jobs(n_jobs), len(chunks))
    if n_threads <= 1:
        work(chunks)
        return
    with ThreadPoolExecutor(n_threads) as pool:
        for result in [
            pool.submit(work, chunks[i::n_threads]) for i in range(n_threads)
        ]:
            result.result()


class ImageTransformerMixin:
    """`fit`, `transform` and feature names shared by the image transformers.

    A subclass has an ``image_shape`` parameter and defines
    ``_check_layout(image_shape) -> n_features_out`` (raising ValueError for
    images it cannot featurize), ``_featurize(images) -> features`` and
    ``_feature_names() -> list of str``; it may define
    ``_fit_images(images)`` to learn from the images.
    """

    def _fit_images(self, images):
        pass

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the image layout (and learn, for learned features).

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
            Training images.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        images = as_image_batch(
            X, image_shape=self.image_shape, estimator=self, reset=True
        )
        self.image_shape_ = images.shape[1:]
        self.n_features_out_ = self._check_layout(self.image_shape_)
        self._fit_images(images)
        return self

    def transform(self, X):
        """Featurize images of the layout seen in `fit`.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
            Images.

        Returns
        -------
        features : ndarray of shape (n, n_features_out_)
            One row of features per image.
        """
        check_is_fitted(self)
        images = as_image_batch(
            X, image_shape=self.image_shape_, estimator=self, reset=False
        )
        return self._featurize(images)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the input seen in `fit`: output features do
            not derive from single input features.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output feature.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return np.asarray(self._feature_names(), dtype=object)
