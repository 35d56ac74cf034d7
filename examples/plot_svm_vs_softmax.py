"""
================================================
SVM against softmax: decision regions in 2-D
================================================

:class:`sklinear.MulticlassSVMSGD` and :class:`sklinear.SoftmaxSGD` on three
overlapping Gaussian blobs. Both are linear: their decision regions are
separated by straight lines, where two class scores are equal. The shading
shows the probability of the predicted class (``predict_proba``): for
softmax it is the model itself, for the SVM the softmax of its scores
divided by the fitted ``temperature_``.

The boundaries are close: the losses differ in which samples they care
about (the SVM only about the samples inside the margin, softmax about all)
much more than in the boundaries they find.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from sklinear import MulticlassSVMSGD, SoftmaxSGD

X, y = make_blobs(
    n_samples=300, centers=[[-2, 0], [2, 0], [0, 3]], cluster_std=1.3, random_state=0
)
models = {
    "MulticlassSVMSGD": MulticlassSVMSGD(alpha=1e-2, tol=1e-3, random_state=0),
    "SoftmaxSGD": SoftmaxSGD(alpha=1e-2, tol=1e-3, random_state=0),
}

xx, yy = np.meshgrid(np.linspace(-6, 6, 300), np.linspace(-4, 7, 300))
grid = np.column_stack([xx.ravel(), yy.ravel()])
colors = np.array(["tab:blue", "tab:orange", "tab:green"])

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
for ax, (name, clf) in zip(axes, models.items(), strict=True):
    clf.fit(X, y)
    proba = clf.predict_proba(grid)
    label = proba.argmax(axis=1).reshape(xx.shape)
    confidence = proba.max(axis=1).reshape(xx.shape)
    for k in range(3):
        ax.contourf(
            xx,
            yy,
            np.where(label == k, confidence, np.nan),
            levels=np.linspace(1 / 3, 1, 8),
            colors=[colors[k]],
            alpha=0.05,
        )
        ax.contourf(
            xx,
            yy,
            np.where(label == k, confidence, np.nan),
            levels=[0.9, 1.0],
            colors=[colors[k]],
            alpha=0.2,
        )
    ax.contour(xx, yy, label, levels=[0.5, 1.5], colors="k", linewidths=1)
    ax.scatter(X[:, 0], X[:, 1], c=colors[y], s=12, edgecolor="k", linewidth=0.3)
    title = f"{name}\ntraining accuracy {clf.score(X, y):.2f}"
    if hasattr(clf, "temperature_"):
        title += f", temperature {clf.temperature_:.2f}"
    ax.set(title=title, xlabel="feature 0")
axes[0].set_ylabel("feature 1")
fig.tight_layout()
plt.show()
