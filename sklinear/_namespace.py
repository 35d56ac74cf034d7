"""Array namespaces: NumPy, or any array API library under scikit-learn's dispatch.

The engine is written once against a namespace ``xp``: NumPy itself for
NumPy data (so that its in-place fast paths stay where they are), or the
array API namespace of the data (PyTorch, CuPy, array-api-strict) when
scikit-learn's dispatch is on (``sklearn.set_config(array_api_dispatch=True)``),
as scikit-learn's own estimators do. The few primitives here are what the
engine, the losses and the recipe need beyond the standard: which namespace
an input asks for, moving small host arrays to the data's device and back,
and gathering rows by host indices.

Random numbers are always drawn by one NumPy generator on the host, so that
the same ``random_state`` gives the same initialization and minibatches on
every namespace.
"""

import numpy as np
import scipy.sparse as sp
from sklearn import get_config
from sklearn.externals import array_api_compat
from sklearn.utils._array_api import _convert_to_numpy, supported_float_dtypes


def input_namespace(*arrays):
    """The namespace an estimator computes in for these inputs.

    NumPy unless scikit-learn's array API dispatch is on and an input is an
    array of another library; then that library's namespace (wrapped by
    ``array_api_compat`` where needed). NumPy arrays, sparse matrices, data
    frames and lists are NumPy's.

    Parameters
    ----------
    *arrays : array-like or None
        Inputs (None entries are ignored).

    Returns
    -------
    module
        ``numpy`` or an array API namespace.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._namespace import input_namespace
    >>> input_namespace(np.zeros(3)) is np
    True
    """
    if not get_config().get("array_api_dispatch", False):
        return np
    others = [
        array
        for array in arrays
        if array is not None
        and not isinstance(array, np.ndarray)
        and not sp.issparse(array)
        and array_api_compat.is_array_api_obj(array)
    ]
    if not others:
        return np
    xp = array_api_compat.array_namespace(*others)
    return np if array_api_compat.is_numpy_namespace(xp) else xp


_NAMESPACE_OF_TYPE = {}


def namespace_of(array):
    """``numpy`` for NumPy arrays and scalars, else the array's namespace.

    The namespace depends on the array's type only, and is looked up once
    per type: the engine asks for it many times per minibatch.
    """
    if isinstance(array, (np.ndarray, np.generic, float, int)) or sp.issparse(array):
        return np
    kind = type(array)
    if kind not in _NAMESPACE_OF_TYPE:
        _NAMESPACE_OF_TYPE[kind] = array_api_compat.array_namespace(array)
    return _NAMESPACE_OF_TYPE[kind]


def device_of(array):
    """The device of an array (``"cpu"`` for NumPy)."""
    if isinstance(array, np.ndarray):
        return "cpu"
    return array_api_compat.device(array)


def to_numpy(array):
    """A NumPy copy of an array of any namespace (NumPy arrays unchanged)."""
    if array is None or isinstance(array, (np.ndarray, np.generic, float, int)):
        return array
    return _convert_to_numpy(array, namespace_of(array))


def to_namespace(array, xp, device, dtype=None):
    """``array`` (NumPy or of ``xp``) as an array of ``xp`` on ``device``.

    Python and NumPy scalars stay scalars, and None stays None.
    """
    if array is None or isinstance(array, (float, int, np.generic)):
        return array
    if xp is np:
        return np.asarray(to_numpy(array), dtype=dtype)
    if isinstance(array, np.ndarray):
        if dtype is None and array.dtype.kind in "fiub":
            dtype = getattr(xp, array.dtype.name)
        return xp.asarray(np.ascontiguousarray(array), dtype=dtype, device=device)
    return xp.asarray(array, dtype=dtype, device=device)


def numpy_dtype(dtype):
    """The NumPy dtype of a floating dtype of any namespace."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, type) and issubclass(dtype, np.generic):
        return np.dtype(dtype)
    return np.dtype(str(dtype).rsplit(".", 1)[-1])


def namespace_dtype(xp, dtype):
    """The dtype of ``xp`` with the name of a NumPy floating dtype."""
    return np.dtype(dtype) if xp is np else getattr(xp, np.dtype(dtype).name)


def widest_float(xp, device):
    """float64 where the device has it (not on Apple's MPS), else float32."""
    if xp is np:
        return np.float64
    return supported_float_dtypes(xp, device)[0]


def check_float64(xp, device, dtype, name):
    """Refuse float64 data on a device without float64, with what to do."""
    if xp is np or dtype != xp.float64:
        return
    if xp.float64 not in supported_float_dtypes(xp, device):
        raise ValueError(
            f"{name} got float64 data on device {device!r}, which has no float64. "
            "Convert X to float32 (e.g. X.to(torch.float32)) before fitting."
        )


def take_rows(array, rows, xp, device):
    """Rows ``rows`` (host integers) of ``array`` of namespace ``xp``."""
    if xp is np:
        return array[rows]
    return xp.take(array, to_namespace(np.asarray(rows), xp, device), axis=0)


def reject_device_sparse(name, X):
    """Sparse data is NumPy/SciPy only: a clear error for other sparse arrays.

    PyTorch's sparse tensors and CuPy's sparse matrices are refused, with
    what to do; ``scipy.sparse`` matrices train with NumPy as always.
    """
    layout = getattr(X, "layout", None)
    sparse_layout = layout is not None and "sparse" in str(layout)
    if sparse_layout or type(X).__module__.startswith("cupyx.scipy.sparse"):
        kind = f"{type(X).__module__}.{type(X).__qualname__} ({layout or 'sparse'})"
        raise TypeError(
            f"{name} trains on sparse data with NumPy/SciPy only (got {kind}). "
            "Pass a dense array of the library to train on its device (for "
            "torch: X.to_dense()), or a scipy.sparse matrix to train with SciPy."
        )
