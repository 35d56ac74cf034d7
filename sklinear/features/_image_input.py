"""Input handling shared by the image feature functions and transformers.

Every feature function works on a batch of images laid out as
``(n_images, height, width, n_channels)``. Callers may pass grayscale batches
``(n, H, W)``, color batches ``(n, H, W, C)`` or the flattened rows
``(n, H*W*C)`` that loaders and pipelines pass around, together with an
``image_shape`` to unflatten them.
"""

import contextlib
import math
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
from joblib import effective_n_jobs
from sklearn import get_config
from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils._array_api import get_namespace_and_device
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import threadpool_limits

try:
    from sklearn.utils._array_api import move_to
except ImportError:  # scikit-learn < 1.8
    from sklearn.utils._array_api import _convert_to_numpy, get_namespace

    def move_to(array, *, xp, device):
        if xp is np:
            return _convert_to_numpy(array, get_namespace(array)[0])
        return xp.asarray(array, device=device)


__all__ = [
    "ImageTransformerMixin",
    "as_image_batch",
    "infer_image_shape",
    "iter_chunks",
    "input_namespace",
    "run_in_threads",
    "single_image_hint",
    "to_namespace",
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


def _single_image_hint(shape):
    """Advice for a batch that may be one color image read as grayscale."""
    if len(shape) == 4 and shape[3] == 1 and shape[2] in (3, 4):
        shape = shape[:3]
    if len(shape) != 3 or shape[2] not in (3, 4):
        return ""
    n, width, channels = shape
    return (
        f"X of shape {tuple(shape)} is read as a batch of {n} grayscale images of "
        f"{width}x{channels} pixels; if it is one image of {n}x{width} pixels "
        f"with {channels} channels, add the batch axis: images[None] (shape "
        f"{(1, *shape)})."
    )


@contextlib.contextmanager
def single_image_hint(images):
    """Add :func:`_single_image_hint` to the ValueErrors raised in the block.

    Wrap the checks of an image layout with it: they fail on a single
    ``(H, W, 3)`` image, which reads as ``H`` grayscale images of ``W x 3``
    pixels, and the error then says to pass ``images[None]``. Batches that
    pass the checks are never questioned.
    """
    try:
        yield
    except ValueError as exc:
        hint = _single_image_hint(np.shape(images))
        if not hint:
            raise
        raise ValueError(f"{exc} {hint}") from exc


def input_namespace(X):
    """``(namespace, device)`` of `X` if it is an array of another array API
    library than NumPy, under ``sklearn.set_config(array_api_dispatch=True)``
    (scikit-learn treats such arrays only then); None otherwise."""
    if isinstance(X, np.ndarray) or not get_config()["array_api_dispatch"]:
        return None
    try:
        xp, is_array_api, device = get_namespace_and_device(X)
    except TypeError:  # not an array: DataFrames, ...
        return None
    if not is_array_api or xp.__name__ in ("numpy", "array_api_compat.numpy"):
        return None
    return xp, device


def to_namespace(features, namespace):
    """`features` (NumPy) moved to the ``(namespace, device)`` of
    :func:`input_namespace`; float64 becomes float32 on devices without it."""
    if namespace is None:
        return features
    xp, device = namespace
    return move_to(features, xp=xp, device=device)


def as_image_batch(X, *, image_shape=None, estimator=None, reset=True):
    """Validate a batch of images and return it as ``(n, H, W, C)``.

    Parameters
    ----------
    X : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
        Images, grayscale, channels-last color, or flattened rows: NumPy
        arrays, nested lists, or any 2-D container that
        :func:`sklearn.utils.check_array` takes (pandas and polars
        DataFrames, pyarrow Tables, ...). Under
        ``sklearn.set_config(array_api_dispatch=True)``, arrays of other array
        API libraries are copied to NumPy. Any real dtype; numeric dtypes are
        kept (object becomes float64).
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
        the data, NaN or infinite values, non-numeric values, or an empty
        batch.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.features import as_image_batch
    >>> as_image_batch(np.zeros((2, 3072), dtype=np.uint8)).shape  # RGB rows
    (2, 32, 32, 3)
    >>> as_image_batch(np.zeros((2, 6, 4)), image_shape=(6, 4)).shape
    (2, 6, 4, 1)
    """
    image_shape = _check_image_shape(image_shape)
    if input_namespace(X) is not None:
        X = move_to(X, xp=np, device="cpu")
    if not hasattr(X, "shape"):
        X = np.asarray(X)  # lists, and array-likes with only __array__
    ndim = len(X.shape)
    if ndim in (3, 4):
        X = np.asarray(X)
        batch_shape = X.shape[1:] if ndim == 4 else (*X.shape[1:], 1)
        if image_shape is not None and image_shape != batch_shape:
            hint = ""
            if ndim == 3 and X.shape == image_shape:
                hint = " " + _single_image_hint(X.shape)
            raise ValueError(
                f"image_shape={image_shape} does not match the images of "
                f"shape {batch_shape} (H, W, C) in X.{hint}"
            )
        flat = X.reshape(X.shape[0], math.prod(X.shape[1:]))
        flat = _validate_2d(flat, estimator, reset)
        return flat.reshape(X.shape[0], *batch_shape)
    if ndim != 2:
        raise ValueError(
            "Expected a batch of images of shape (n, H, W), (n, H, W, C) or "
            f"flattened (n, H*W*C); got an array with {ndim} dimension(s). "
            "Reshape your data, e.g. with X.reshape(1, -1) for a single "
            "flattened image or images[None] for a single image."
        )
    X = _validate_2d(X, estimator, reset)
    n_features = X.shape[1]
    if image_shape is None:
        image_shape = _check_image_shape(infer_image_shape(n_features))
    if math.prod(image_shape) != n_features:
        raise ValueError(
            f"image_shape={image_shape} (H, W, C) holds {math.prod(image_shape)} "
            f"values but X has {n_features} features per row."
        )
    return X.reshape(X.shape[0], *image_shape)


def _validate_2d(X, estimator, reset):
    """scikit-learn's validation of 2-D input: dtype, finiteness, names."""
    # Its finiteness check starts with a sum, which overflows (with a
    # RuntimeWarning) for finite values near the float range.
    with np.errstate(over="ignore", invalid="ignore"):
        if estimator is not None:
            return validate_data(estimator, X, reset=reset, dtype="numeric")
        return check_array(X, dtype="numeric")


def iter_chunks(n, chunk_size):
    """Yield slices ``[start, stop)`` covering ``range(n)`` in chunks."""
    if not isinstance(chunk_size, Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}.")
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def run_in_threads(work, chunks, n_jobs):
    """Call ``work(part)`` on `n_jobs` interleaved parts of `chunks`.

    NumPy releases the GIL inside its loops, so threads working on separate
    chunks of images (each with its own buffers) run in parallel. With more
    than one thread, BLAS gets one thread per worker: the workers already
    use the cores.
    """
    n_threads = min(effective_n_jobs(n_jobs), len(chunks))
    if n_threads <= 1:
        work(chunks)
        return
    with (
        threadpool_limits(limits=1, user_api="blas"),
        ThreadPoolExecutor(n_threads) as pool,
    ):
        for result in [
            pool.submit(work, chunks[i::n_threads]) for i in range(n_threads)
        ]:
            result.result()


class ImageTransformerMixin(TransformerMixin):
    """`fit`, `transform` and feature names shared by the image transformers.

    A subclass has an ``image_shape`` parameter and defines
    ``_check_layout(image_shape) -> n_features_out`` (raising ValueError for
    images it cannot featurize), ``_featurize(images) -> features`` and
    ``_feature_names() -> list of str``; it may define
    ``_fit_images(images)`` to learn from the images.

    Deriving from :class:`~sklearn.base.TransformerMixin` makes scikit-learn
    wrap the `transform` defined here for ``set_output`` (it wraps only the
    methods a class defines itself). Under array API dispatch, `transform`
    returns the features in the namespace and on the device of its input,
    unless ``set_output`` asks for a DataFrame.
    """

    def _fit_images(self, images):
        pass

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the image layout (and learn, for learned features).

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
            Training images, or their flattened rows in an array or a
            DataFrame (see :func:`~sklinear.features.as_image_batch`).
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
        with single_image_hint(images):
            self.n_features_out_ = self._check_layout(self.image_shape_)
        self._fit_images(images)
        return self

    def transform(self, X):
        """Featurize images of the layout seen in `fit`.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, H*W*C)
            Images, or their flattened rows in an array or a DataFrame.

        Returns
        -------
        features : ndarray or DataFrame of shape (n, n_features_out_)
            One row of features per image; a DataFrame as configured with
            ``set_output``.
        """
        check_is_fitted(self)
        namespace = None
        if _get_output_config("transform", self)["dense"] == "default":
            namespace = input_namespace(X)
        images = as_image_batch(
            X, image_shape=self.image_shape_, estimator=self, reset=False
        )
        return to_namespace(self._featurize(images), namespace)

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
