"""sklinear: CS231n linear image classifiers as scikit-learn estimators."""

from ._recipe import DivergenceError
from .linear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

__version__ = "0.1.0"

__all__ = [
    "DivergenceError",
    "MulticlassSVMSGD",
    "MulticlassSVMSGDCV",
    "SoftmaxSGD",
    "SoftmaxSGDCV",
    "__version__",
]
