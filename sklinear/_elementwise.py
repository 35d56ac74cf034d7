"""Elementwise work on large parameter arrays, block of rows by block.

After the two matrix products of a step, the rest (the centering and penalty
terms of the gradient, the optimizer's update, the running average) is a
chain of elementwise operations on arrays of the shape of the parameters.
For one model these arrays are small and stay in the cache. For the many
models of a one-pass grid search they are not (3,073 x 480 float32 is 6 MB),
and each operation of the chain would stream them from memory again.
Running the chain block of rows by block of rows keeps a block's arrays in
the cache for the whole chain. Every element goes through the same
operations as without blocks, so the results are bitwise identical.

(Sharing the blocks between threads was measured too: no faster on two
cores, where the BLAS threads of the products still hold them.)

The sums over one axis of a minibatch's small arrays (a softmax's row
totals, the intercepts' gradient) are products with a vector of ones: NumPy
reduces a short axis one row at a time (12 us for 256 x 10 float32, against
2 us for the product).
"""

import functools

import numpy as np

from ._namespace import device_of

BLOCK_ELEMENTS = 1 << 16
"""Elements of a row block: its few arrays fit in a core's L2 cache."""

MIN_ELEMENTS = 1 << 18
"""Arrays with fewer elements are processed whole."""


def row_blocks(shape):
    """Row slices of arrays of ``shape`` to work on in turn, or None if small.

    Parameters
    ----------
    shape : tuple of (int, int)
        Shape of the parameters.

    Returns
    -------
    list of slice or None
        Consecutive slices covering every row, or None below
        :data:`MIN_ELEMENTS` elements.
    """
    n_rows, n_columns = shape
    if n_rows * n_columns < MIN_ELEMENTS:
        return None
    step = max(1, BLOCK_ELEMENTS // n_columns)
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


@functools.lru_cache(maxsize=32)
def _ones(n, dtype):
    ones = np.ones(n, dtype=dtype)
    ones.flags.writeable = False
    return ones


def sums_per_row(array):
    """Sums over the last axis of a 2-D NumPy array, as a product with ones.

    Parameters
    ----------
    array : ndarray of shape (n, m), floating
        The array.

    Returns
    -------
    ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._elementwise import sums_per_row
    >>> sums_per_row(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([3., 7.])
    """
    return array @ _ones(array.shape[1], array.dtype)


def sums_per_column(array, out=None, xp=np):
    """Sums over the first axis of a 2-D NumPy array, as a product with ones.

    Parameters
    ----------
    array : ndarray of shape (n, m), floating
        The array.
    out : ndarray of shape (m,), default=None
        C-contiguous, of the dtype of ``array``: receives the sums (NumPy).
    xp : module, default=numpy
        The array's namespace: the same product in any of them, so that
        their results agree with NumPy's.

    Returns
    -------
    ndarray of shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._elementwise import sums_per_column
    >>> sums_per_column(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([4., 6.])
    """
    if xp is not np:
        ones = xp.ones(array.shape[0], dtype=array.dtype, device=device_of(array))
        return ones @ array
    return np.dot(_ones(array.shape[0], array.dtype), array, out=out)
