"""
===========================================
HOG features of a photograph
===========================================

The Histogram of Oriented Gradients divides an image into cells and, in each
cell, histograms the orientation of the image gradient, weighted by its
magnitude. Here :func:`sklinear.features.hog_batch` computes the cell
histograms (``block_norm=None``) of one of scikit-learn's sample images, and
each cell is drawn as a star of line segments, one per orientation bin,
along the edge direction (perpendicular to the gradient), as bright as the
bin is heavy. Roof edges, the pagoda's columns and the branches stand out;
the flat sky is empty.

The features of :class:`sklinear.features.HOG` are these histograms
normalized over overlapping blocks of cells; they equal
``skimage.feature.hog`` to within 1e-6, which the last lines check.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from sklearn.datasets import load_sample_image

from sklinear.features import HOG, hog_batch

image = load_sample_image("china.jpg")  # (427, 640, 3) uint8, bundled
cell = 16
orientations = 9

# Cell histograms: shape (n_images, cell_rows, cell_cols, orientations).
histograms = hog_batch(
    image[None],
    orientations=orientations,
    pixels_per_cell=cell,
    block_norm=None,
    feature_vector=False,
)[0]
n_rows, n_cols, _ = histograms.shape
print(f"{n_rows} x {n_cols} cells of {cell} x {cell} pixels, {orientations} bins")

# One segment per cell and orientation bin, centred on the cell, along the
# edge: perpendicular to the bin's gradient direction.
theta = np.pi * (np.arange(orientations) + 0.5) / orientations
row_c, col_c = np.meshgrid(
    (np.arange(n_rows) + 0.5) * cell, (np.arange(n_cols) + 0.5) * cell, indexing="ij"
)
half = 0.45 * cell
d_col = (half * np.sin(theta))[None, None, :]
d_row = (-half * np.cos(theta))[None, None, :]
starts = np.stack([col_c[..., None] + d_col, row_c[..., None] + d_row], axis=-1)
ends = np.stack([col_c[..., None] - d_col, row_c[..., None] - d_row], axis=-1)
segments = np.stack([starts, ends], axis=-2).reshape(-1, 2, 2)
# Square root to show the weaker cells too.
strength = np.sqrt(histograms / histograms.max()).ravel()

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].imshow(image)
axes[0].set_title("china.jpg")
lines = LineCollection(segments, array=strength, cmap="gray", linewidths=1.2)
lines.set_clim(0, 0.8)
axes[1].add_collection(lines)
axes[1].set_facecolor("black")
axes[1].set_xlim(0, image.shape[1])
axes[1].set_ylim(image.shape[0], 0)
axes[1].set_aspect("equal")
axes[1].set_title(f"HOG cell histograms ({cell} x {cell} pixel cells)")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# The transformer, as used in a pipeline, flattens the block-normalized
# descriptor to one row per image. It agrees with scikit-image:

from skimage.feature import hog as skimage_hog  # noqa: E402

hog = HOG(pixels_per_cell=cell, cells_per_block=2).fit(image[None])
features = hog.transform(image[None])
reference = skimage_hog(
    image,
    orientations=9,
    pixels_per_cell=(cell, cell),
    cells_per_block=(2, 2),
    channel_axis=-1,
)
difference = np.abs(features[0] - reference).max()
print(
    f"{features.shape[1]} features; largest difference from scikit-image: "
    f"{difference:.1e}"
)
plt.show()
