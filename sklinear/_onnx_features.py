"""ONNX graphs of the image features, in standard ONNX operators.

Each function adds to a graph (see ``sklinear.onnx._Graph``: ``op`` adds a
node, ``const`` a constant) the computation of a fitted transformer of
:mod:`sklinear.features`, from a float tensor of flattened images to a
float64 tensor of features. They repeat the float operations of the NumPy
code, so that the results are equal, not merely close: a pixel on the other
side of a bin edge would move a whole count from one bin to the next.
"""

import numpy as np

from .features._hog import _EPS, _as_pair, hog_output_shape

# onnx.TensorProto element types, spelled out: this module imports without the
# onnx extra (pytest imports every module of the package for its doctests).
_FLOAT = 1
_INT64 = 7
_DOUBLE = 11


def _double(g, value):
    return g.const(value, np.float64)


def _int64(g, value):
    return g.const(value, np.int64)


def _cast(g, x, to):
    return g.op("Cast", x, to=to)


def _count(g, index, batch_size, n_bins):
    """Per row, how many entries of `index` (n, k) fall in each of `n_bins`."""
    ones = g.op("ConstantOfShape", g.op("Shape", index), value=_tensor(1.0))
    return _scatter_add(g, index, ones, batch_size, n_bins)


def _scatter_add(g, index, updates, batch_size, n_bins):
    """Per row, the sums of `updates` (n, k) by their bin in `index` (n, k)."""
    zeros = g.op(
        "ConstantOfShape",
        g.op("Concat", batch_size, _int64(g, [n_bins]), axis=0),
        value=_tensor(0.0),
    )
    return g.op("ScatterElements", zeros, index, updates, axis=1, reduction="add")


def _tensor(value):
    from onnx import numpy_helper

    return numpy_helper.from_array(np.array([value], dtype=np.float64))


def _batch_size(g, x):
    """The first dimension of `x`, as a one-element int64 tensor."""
    return g.op("Slice", g.op("Shape", x), _int64(g, [0]), _int64(g, [1]))


def bin_index(g, values, low, high, bins):
    """:func:`sklinear.features._color._bin_index` on a float64 tensor."""
    edges = np.linspace(low, high, bins + 1)
    scaled = g.op(
        "Mul",
        g.op("Div", g.op("Sub", values, _double(g, low)), _double(g, high - low)),
        _double(g, float(bins)),
    )
    index = _cast(g, g.op("Floor", scaled), _INT64)
    index = g.op("Min", g.op("Max", index, _int64(g, 0)), _int64(g, bins - 1))
    edges = _double(g, edges)
    below = g.op("Less", values, g.op("Gather", edges, index, axis=0))
    index = g.op("Sub", index, _cast(g, below, _INT64))
    above = g.op(
        "GreaterOrEqual",
        values,
        g.op("Gather", edges, g.op("Add", index, _int64(g, 1)), axis=0),
    )
    not_last = g.op("Not", g.op("Equal", index, _int64(g, bins - 1)))
    return g.op("Add", index, _cast(g, g.op("And", above, not_last), _INT64))


def rgb_to_hue(g, red, green, blue):
    """:func:`sklinear.features.rgb_to_hue` on float64 tensors."""
    high = g.op("Max", red, green, blue)
    delta = g.op("Sub", high, g.op("Min", red, green, blue))
    colored = g.op("Greater", delta, _double(g, 0.0))
    is_blue = g.op("And", g.op("Equal", blue, high), colored)
    is_green = g.op(
        "And",
        g.op("And", g.op("Equal", green, high), colored),
        g.op("Not", is_blue),
    )
    is_red = g.op("And", colored, g.op("Not", g.op("Or", is_blue, is_green)))
    zero = _double(g, 0.0)
    numerator = g.op(
        "Add",
        g.op(
            "Add",
            g.op("Where", is_red, g.op("Sub", green, blue), zero),
            g.op("Where", is_green, g.op("Sub", blue, red), zero),
        ),
        g.op("Where", is_blue, g.op("Sub", red, green), zero),
    )
    base = g.op(
        "Add",
        g.op("Mul", _double(g, 2.0), _cast(g, is_green, _DOUBLE)),
        g.op("Mul", _double(g, 4.0), _cast(g, is_blue, _DOUBLE)),
    )
    denominator = g.op("Add", delta, _cast(g, g.op("Not", colored), _DOUBLE))
    hue = g.op(
        "Div", g.op("Add", base, g.op("Div", numerator, denominator)), _double(g, 6.0)
    )
    negative = g.op("Less", hue, _double(g, 0.0))
    return g.op("Where", negative, g.op("Add", hue, _double(g, 1.0)), hue)


def color_histogram(g, x, model):
    """Features of a fitted :class:`~sklinear.features.ColorHistogram`."""
    height, width, n_channels = model.image_shape_
    n_pixels = height * width
    low, high = (float(v) for v in model.value_range)
    bins = model.bins
    batch_size = _batch_size(g, x)
    pixels = g.op("Reshape", x, _int64(g, [-1, n_pixels, n_channels]))
    pixels = g.op("Clip", pixels, _double(g, low), _double(g, high))
    if model.color_space == "rgb":
        index = bin_index(g, pixels, low, high, bins)
        index = g.op("Add", index, _int64(g, np.arange(n_channels) * bins))
    else:
        channels = g.op("Split", pixels, _int64(g, [1, 1, 1]), axis=2, outputs=3)
        if model.color_space == "hsv":
            red, green, blue = (
                g.op("Div", g.op("Sub", c, _double(g, low)), _double(g, high - low))
                for c in channels
            )
            index = bin_index(g, rgb_to_hue(g, red, green, blue), 0.0, 1.0, bins)
        else:
            red, green, blue = (bin_index(g, c, low, high, bins) for c in channels)
            bins_ = _int64(g, bins)
            index = g.op(
                "Add",
                g.op("Mul", g.op("Add", g.op("Mul", red, bins_), green), bins_),
                blue,
            )
    index = g.op("Reshape", index, _int64(g, [-1, index_width(model)]))
    counts = _count(g, index, batch_size, model.n_features_out_)
    if model.normalize:
        counts = g.op("Div", counts, _double(g, float(n_pixels)))
    return counts


def index_width(model):
    """Bin indices per image: one per pixel, or per pixel and channel."""
    height, width, n_channels = model.image_shape_
    return height * width * (n_channels if model.color_space == "rgb" else 1)


# HOG ---------------------------------------------------------------------------
#
# ONNX has no arctan2. scikit-image bins the angle ``arctan2(g_row, g_col)``
# in degrees modulo 180 against float32 edges; here the gradient is folded into
# the upper half-plane and compared with each edge by the sign of a cross
# product, which decides like the angle except where float rounding decides:
# directions exactly on an edge (multiples of 45 degrees, whose angles are
# exact) and directions within rounding of 0 or 180 degrees. Those are
# decided by constants computed here with scikit-image's formula.


def _hog_edges(orientations):
    """scikit-image's bin edges in degrees (float32 values)."""
    return (180.0 / orientations * np.arange(orientations + 1)).astype(np.float32)


def _numpy_bin(g_row, g_col, orientations):
    edges = _hog_edges(orientations).astype(np.float64)
    orientation = np.arctan2(g_row, g_col) * (180 / np.pi) % 180
    return int(np.searchsorted(edges, orientation, side="right") - 1)


def _ratio_threshold(orientations, sign_row, sign_col, bin_):
    """The smallest ratio ``|g_row / g_col|`` whose bin is not `bin_`, for a
    gradient of these signs near the horizontal (bisection on the doubles).

    The bin of the smallest ratios (5e-324) is `bin_`.
    """
    low, high = 0.0, 1e-6  # low's bin is `bin_`, high's is not
    if _numpy_bin(sign_row * high, sign_col, orientations) == bin_:
        return np.inf  # one orientation bin: no edge to tell apart
    low_bits, high_bits = np.float64([low, high]).view(np.int64)
    while high_bits - low_bits > 1:
        middle = (low_bits + high_bits) // 2
        ratio = float(np.int64(middle).view(np.float64))
        if _numpy_bin(sign_row * ratio, sign_col, orientations) == bin_:
            low_bits = middle
        else:
            high_bits = middle
    return float(np.int64(high_bits).view(np.float64))


def orientation_bins(g, g_row, g_col, orientations):
    """scikit-image's orientation bin of each gradient (float64 tensors), or
    `orientations` for the gradients scikit-image leaves out."""
    zero = _double(g, 0.0)
    up, down = g.op("Greater", g_row, zero), g.op("Less", g_row, zero)
    right, left = g.op("Greater", g_col, zero), g.op("Less", g_col, zero)
    sign = g.op("Sub", _cast(g, up, _DOUBLE), _cast(g, down, _DOUBLE))
    folded_row = g.op("Unsqueeze", g.op("Abs", g_row), _int64(g, [-1]))
    folded_col = g.op("Unsqueeze", g.op("Mul", g_col, sign), _int64(g, [-1]))
    # Edge k is passed when sin(angle - edge) >= 0.
    angles = np.deg2rad(_hog_edges(orientations)[1:-1].astype(np.float64))
    if len(angles):
        passed = g.op(
            "GreaterOrEqual",
            g.op(
                "Sub",
                g.op("Mul", folded_row, _double(g, np.cos(angles))),
                g.op("Mul", folded_col, _double(g, np.sin(angles))),
            ),
            zero,
        )
        bins = g.op("ReduceSum", _cast(g, passed, _INT64), _int64(g, [-1]), keepdims=0)
    else:
        bins = g.op("Mul", _cast(g, up, _INT64), _int64(g, 0))

    def override(condition, value):
        return g.op("Where", condition, _int64(g, value), bins)

    vertical = g.op("Equal", g_col, zero)
    diagonal = g.op("Equal", g.op("Abs", g_row), g.op("Abs", g_col))
    for row_side, sign_row in ((up, 1.0), (down, -1.0)):
        bins = override(
            g.op("And", vertical, row_side), _numpy_bin(sign_row, 0.0, orientations)
        )
        for col_side, sign_col in ((right, 1.0), (left, -1.0)):
            both = g.op("And", g.op("And", diagonal, row_side), col_side)
            bins = override(both, _numpy_bin(sign_row, sign_col, orientations))
    ratio = g.op("Abs", g.op("Div", g_row, g_col))
    for row_side, col_side, sign_row, sign_col, bin_ in (
        (up, left, 1.0, -1.0, 0),  # rounded up to 180 degrees, that is 0
        (down, right, -1.0, 1.0, orientations),  # rounded to 180: left out
    ):
        threshold = _ratio_threshold(orientations, sign_row, sign_col, bin_)
        near = g.op("Less", ratio, _double(g, threshold))
        bins = override(g.op("And", g.op("And", row_side, col_side), near), bin_)
    return override(g.op("Equal", g_row, zero), 0)


def check_hog_is_exact(model):
    """Refuse the settings whose ONNX graph could not be exact.

    In both, float rounding that onnxruntime does not reproduce can put a
    pixel in another orientation bin: the dot product of the gray conversion
    (rounded differently by NumPy's BLAS and by onnxruntime) and the angles
    of square-root gradients, which can fall exactly on an edge of 30, 60,
    120 or 150 degrees where only the last bit of ``arctan2`` decides.
    """
    reasons = []
    if model.color_mode == "gray" and model.image_shape_[2] == 3:
        reasons.append("color_mode='gray' on RGB images")
    if model.transform_sqrt:
        reasons.append("transform_sqrt=True")
    if reasons:
        raise ValueError(
            f"HOG with {' and '.join(reasons)} has no exact ONNX conversion: float "
            "rounding that onnxruntime does not reproduce would put some pixels in "
            "another orientation bin. Compute these features before the exported "
            "model (export the rest of the pipeline), or convert the images to "
            "grayscale before HOG (HOG of one-channel images converts exactly)."
        )


def hog(g, x, model):
    """Features of a fitted :class:`~sklinear.features.HOG`.

    `x` holds the images in the float dtype NumPy computes the gradients in:
    float32 for float32 images, else float64.
    """
    check_hog_is_exact(model)
    height, width, n_channels = model.image_shape_
    orientations = model.orientations
    c_row, c_col = _as_pair(model.pixels_per_cell, "pixels_per_cell")
    n_cells = (height // c_row, width // c_col)
    rows, cols = n_cells[0] * c_row, n_cells[1] * c_col
    images = g.op("Reshape", x, _int64(g, [-1, height, width, n_channels]))
    # Channels first: (n, C, H, W).
    planes = g.op("Transpose", images, perm=[0, 3, 1, 2])
    g_row = _central_difference(g, planes, 2, height, rows, (3, cols))
    g_col = _central_difference(g, planes, 3, width, cols, (2, rows))
    # float32 squared magnitudes, as NumPy computes them
    f_row, f_col = _cast(g, g_row, _FLOAT), _cast(g, g_col, _FLOAT)
    squares = g.op("Add", g.op("Mul", f_row, f_row), g.op("Mul", f_col, f_col))
    if n_channels > 1:
        # The channel of the largest exact magnitude, the first one on ties.
        exact_row, exact_col = _cast(g, g_row, _DOUBLE), _cast(g, g_col, _DOUBLE)
        exact = g.op(
            "Add", g.op("Mul", exact_row, exact_row), g.op("Mul", exact_col, exact_col)
        )
        channel = g.op("ArgMax", exact, axis=1, keepdims=1)
        g_row = g.op("GatherElements", g_row, channel, axis=1)
        g_col = g.op("GatherElements", g_col, channel, axis=1)
        squares = g.op("GatherElements", squares, channel, axis=1)
    magnitude = _cast(g, g.op("Sqrt", squares), _DOUBLE)  # (n, 1, rows, cols)
    bins = orientation_bins(
        g, _cast(g, g_row, _DOUBLE), _cast(g, g_col, _DOUBLE), orientations
    )
    # One extra bin per cell collects the gradients scikit-image leaves out.
    n_bins = orientations + 1
    offsets = (
        np.arange(rows)[:, None] // c_row * n_cells[1] + np.arange(cols) // c_col
    ) * n_bins
    index = g.op("Add", bins, _int64(g, offsets[None, None]))
    flat = _int64(g, [-1, rows * cols])
    hist = _scatter_add(
        g,
        g.op("Reshape", index, flat),
        g.op("Reshape", magnitude, flat),
        _batch_size(g, x),
        n_cells[0] * n_cells[1] * n_bins,
    )
    hist = g.op("Reshape", hist, _int64(g, [-1, n_cells[0], n_cells[1], n_bins]))
    hist = g.op(
        "Slice", hist, _int64(g, [0]), _int64(g, [orientations]), _int64(g, [3])
    )
    hist = g.op("Div", hist, _double(g, float(c_row * c_col)))
    if model.block_norm is not None:
        hist = _normalized_blocks(g, hist, model)
    return g.op("Reshape", hist, _int64(g, [-1, model.n_features_out_]))


def _central_difference(g, planes, axis, length, keep, other):
    """``p[i + 1] - p[i - 1]`` along `axis`, zero on the border, first `keep`
    entries along `axis` and `other` = (axis, size) cropped to size."""
    other_axis, other_size = other

    def part(start, stop, along=axis):
        return g.op(
            "Slice", planes, _int64(g, [start]), _int64(g, [stop]), _int64(g, [along])
        )

    planes = part(0, other_size, other_axis)
    if length < 3:  # no pixel has two neighbours
        kept = part(0, keep)
        return g.op("Sub", kept, kept)
    pads = [0] * 8
    pads[axis] = pads[axis + 4] = 1
    padded = g.op(
        "Pad", g.op("Sub", part(2, length), part(0, length - 2)), _int64(g, pads)
    )
    return g.op("Slice", padded, _int64(g, [0]), _int64(g, [keep]), _int64(g, [axis]))


def _normalized_blocks(g, hist, model):
    """Overlapping blocks of cells, normalized as ``BLOCK_NORMS``."""
    n_blocks_row, n_blocks_col, b_row, b_col, orientations = hog_output_shape(
        model.image_shape_,
        orientations=model.orientations,
        pixels_per_cell=model.pixels_per_cell,
        cells_per_block=model.cells_per_block,
        block_norm=model.block_norm,
    )
    windows = [
        g.op(
            "Unsqueeze",
            g.op(
                "Slice",
                hist,
                _int64(g, [i, j]),
                _int64(g, [i + n_blocks_row, j + n_blocks_col]),
                _int64(g, [1, 2]),
            ),
            _int64(g, [3]),
        )
        for i in range(b_row)
        for j in range(b_col)
    ]
    blocks = g.op("Concat", *windows, axis=3) if len(windows) > 1 else windows[0]
    blocks = g.op(
        "Reshape",
        blocks,
        _int64(g, [-1, n_blocks_row, n_blocks_col, b_row * b_col * orientations]),
    )

    def total(values):
        return g.op("ReduceSum", values, _int64(g, [-1]), keepdims=1)

    def l2(values):
        norm = g.op(
            "Sqrt", g.op("Add", total(g.op("Mul", values, values)), _double(g, _EPS**2))
        )
        return g.op("Div", values, norm)

    if model.block_norm.startswith("L1"):
        blocks = g.op(
            "Div", blocks, g.op("Add", total(g.op("Abs", blocks)), _double(g, _EPS))
        )
        if model.block_norm == "L1-sqrt":
            blocks = g.op("Sqrt", blocks)
        return blocks
    blocks = l2(blocks)
    if model.block_norm == "L2-Hys":
        blocks = l2(g.op("Min", blocks, _double(g, 0.2)))
    return blocks
