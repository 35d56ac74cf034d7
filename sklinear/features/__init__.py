"""Hand-crafted image features for linear classifiers.

Pure functions over a batch of images (:func:`hog_batch`,
:func:`color_histogram_batch`, :func:`extract_patches`, ...) and thin
scikit-learn transformers around them (:class:`HOG`, :class:`ColorHistogram`,
:class:`BagOfVisualWords`). Inputs are ``(n, H, W)`` grayscale or
``(n, H, W, C)`` color batches, or flattened ``(n, H*W*C)`` rows with an
``image_shape``.
"""

from ._bovw import (
    ENCODINGS,
    BagOfVisualWords,
    encode_patches,
    extract_patches,
    normalize_patches,
    pool_activations,
    zca_whitening,
)
from ._color import COLOR_SPACES, ColorHistogram, color_histogram_batch, rgb_to_hue
from ._hog import BLOCK_NORMS, GRAY_WEIGHTS, HOG, hog_batch, hog_output_shape
from ._image_input import as_image_batch, infer_image_shape

__all__ = [
    "BLOCK_NORMS",
    "COLOR_SPACES",
    "ENCODINGS",
    "GRAY_WEIGHTS",
    "HOG",
    "BagOfVisualWords",
    "ColorHistogram",
    "as_image_batch",
    "color_histogram_batch",
    "encode_patches",
    "extract_patches",
    "hog_batch",
    "hog_output_shape",
    "infer_image_shape",
    "normalize_patches",
    "pool_activations",
    "rgb_to_hue",
    "zca_whitening",
]
