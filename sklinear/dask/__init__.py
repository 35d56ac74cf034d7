"""Scale-out on Dask: train sklinear's classifiers on dask arrays.

:class:`DaskSGD` trains ``MulticlassSVMSGD`` or ``SoftmaxSGD`` on a dask
array spread over a ``distributed`` cluster, by iterative parameter mixing
of local minibatch epochs or by exact full-batch gradients summed over the
workers, and predicts on dask arrays block by block. Only this subpackage
imports dask: install it with ``pip install "sklinear[dask]"``.
"""

try:
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        "sklinear.dask needs dask and distributed: pip install 'sklinear[dask]'"
    ) from error

import sys

from ._train import DistributedTrainingError
from ._wrapper import DaskSGD

__all__ = ["DaskSGD", "DistributedTrainingError"]

if "sklinear.onnx" in sys.modules:
    # sklinear.onnx was imported first: have skl2onnx refuse DaskSGD with a
    # message saying to export estimator_ (sklinear.onnx does it otherwise).
    sys.modules["sklinear.onnx"].register_dask_refusal()
