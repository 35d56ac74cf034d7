"""
=================================================
Grid search over ``alpha`` and ``margin``
=================================================

Cross-validated accuracy of :class:`sklinear.MulticlassSVMSGD` on the
standardized digits over a grid of L2 strengths ``alpha`` and margins,
found with scikit-learn's ``GridSearchCV``.

Only the product ``alpha * margin`` matters (see :ref:`margin_and_alpha`):
scaling the margin by ``c`` scales the best weights by ``c``. So does it
scale the steps the optimizer must take: with the learning rate scaled like
the margin (right), training follows the same path up to the factor ``c``,
and the accuracy is constant along the diagonals ``alpha * margin =
constant`` (except for the smallest margin, for which the small random
initial weights are no longer small). With one learning rate for every
margin (left), large margins need weights too large to reach in 10 epochs,
and small margins get steps too large for their tiny weights: the margin
then matters on its own.

Each panel is a :class:`sklinear.inspection.TuningHeatmapDisplay` built from
the search's ``cv_results_``, with the best cell outlined.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklinear import MulticlassSVMSGD
from sklinear.inspection import TuningHeatmapDisplay

X, y = load_digits(return_X_y=True)
# A stratified third of the digits keeps the 150 fits fast.
X, _, y, _ = train_test_split(X, y, train_size=600, stratify=y, random_state=0)
alphas = np.logspace(-3, 1, 5)
margins = np.logspace(-2, 2, 5)
base_rate = 0.01

pipe = make_pipeline(
    StandardScaler(), MulticlassSVMSGD(max_iter=10, tol=None, random_state=0)
)
grids = {
    "same learning rate for every margin": [
        {
            "multiclasssvmsgd__alpha": alphas,
            "multiclasssvmsgd__margin": margins,
            "multiclasssvmsgd__learning_rate_init": [base_rate],
        }
    ],
    "learning rate proportional to the margin": [
        {
            "multiclasssvmsgd__alpha": alphas,
            "multiclasssvmsgd__margin": [margin],
            "multiclasssvmsgd__learning_rate_init": [base_rate * margin],
        }
        for margin in margins
    ],
}

fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, (title, grid) in zip(axes, grids.items(), strict=True):
    search = GridSearchCV(
        pipe, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0)
    ).fit(X, y)
    display = TuningHeatmapDisplay.from_estimator(
        search,
        x="multiclasssvmsgd__alpha",
        y="multiclasssvmsgd__margin",
        ax=ax,
        colorbar=False,
        imshow_kw={"vmin": 0.5, "vmax": 1.0},
        text_kw={"fontsize": "small"},
    )
    ax.set(xlabel="alpha", ylabel="margin" if ax is axes[0] else "", title=title)
    best = search.best_params_
    print(
        f"{title}: best alpha={best['multiclasssvmsgd__alpha']:g}, "
        f"margin={best['multiclasssvmsgd__margin']:g}, "
        f"accuracy {search.best_score_:.3f}"
    )
fig.colorbar(display.im_, ax=axes, label="3-fold CV accuracy")
plt.show()
