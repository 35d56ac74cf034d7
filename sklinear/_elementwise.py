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
"""

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
