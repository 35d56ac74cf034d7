"""
===================================
The hinge and the softmax loss
===================================

The loss of one sample as a function of the gap ``s_y - s_j`` between the
correct class's score and the score of one other class, for a problem with
two classes: the multiclass hinge (with ``margin=1``), its square, and the
softmax cross-entropy. The values come from the library's own losses,
``sklinear.losses.LOSSES``.

The hinge is exactly zero once the gap exceeds the margin: the SVM is then
satisfied. The softmax loss only tends to zero: it keeps asking for a larger
gap.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklinear.losses import LOSSES

gap = np.linspace(-3, 4, 701)
# Two classes: the correct one (index 0) scores `gap`, the other scores 0.
scores = np.column_stack([gap, np.zeros_like(gap)])
y = np.zeros(1, dtype=int)
one = np.ones(1)


def per_sample(name, **params):
    return [float(LOSSES[name](s[None], y, one, **params)[0]) for s in scores]


fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(gap, per_sample("hinge", margin=1.0), label="hinge (margin 1)")
ax.plot(gap, per_sample("squared_hinge", margin=1.0), label="squared hinge")
ax.plot(gap, per_sample("log_loss"), label="softmax cross-entropy")
ax.axvline(1.0, color="gray", linestyle=":", linewidth=1)
ax.annotate("margin", (1.0, 3.5), xytext=(1.2, 3.5))
ax.set(
    xlabel="score of the correct class minus the other score",
    ylabel="loss of the sample",
    ylim=(-0.1, 4),
    title="Per-sample losses",
)
ax.legend()
fig.tight_layout()
plt.show()
