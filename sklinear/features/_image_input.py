"""Input handling shared by the image feature functions and transformers.

Every feature function works on a batch of images laid out as
``(n_images, height, width, n_channels)``. Callers may pass grayscale batches
``(n, H, W)``, color batches ``(n, H, W, C)`` or the flattened rows
``(n, H*W*C)`` that loaders and pipelines pass around, together with an
``image_shape`` to unflatten them.
"""

import math
from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_array, validate_data

__all__ = ["as_image_batch", "infer_image_shape", "iter_chunks"]


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

    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "columns"):
        ndim = np.ndim(X)
    if ndim is not None and ndim not in (2, 3, 4):
        raise ValueError(
            "Expected a batch of images of shape (n, H, W), (n, H, W, C) or "
            f"flattened (n, H*W*C); got an array with {ndim} dimension(s)."
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
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))
