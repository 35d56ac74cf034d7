"""
===================================================
Tuning the learning rate and the regularization
===================================================

The two hyperparameters CS231n tunes first, with the two plots it reads:
the loss curve of each learning rate, and the validation accuracy over a
grid of learning rates and regularization strengths. Both come from
:mod:`sklinear.inspection`, for :class:`sklinear.SoftmaxSGD` with plain
minibatch SGD on the standardized digits.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from sklinear import SoftmaxSGD
from sklinear.inspection import LossCurveDisplay, TuningHeatmapDisplay

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

# %%
# Loss curves
# -----------
#
# With early stopping, ``fit`` holds out 10% of the rows and records the
# validation accuracy of every epoch beside the training objective;
# :class:`~sklinear.inspection.LossCurveDisplay` draws the objective (solid,
# left axis) and the accuracy (dashed, right axis), with a dot at the epoch
# whose weights are kept. Drawn on the same axes, the curves of three
# learning rates show CS231n's picture: too small a rate decreases the
# objective slowly and almost linearly; too large a one makes it jump around
# a high value; a good one drops fast, then levels off.

fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
for rate in [1e-3, 1.0, 300.0]:
    clf = SoftmaxSGD(
        optimizer="sgd",
        learning_rate_init=rate,
        early_stopping=True,
        max_iter=30,
        tol=None,
        random_state=0,
    ).fit(X, y)
    display = LossCurveDisplay.from_estimator(clf, ax=ax, name=f"rate {rate:g}")
ax.set_yscale("log")
# One legend for the figure, below the axes, instead of the display's.
display.validation_ax_.get_legend().remove()
fig.legend(loc="outside lower center", ncols=2)
ax.set_title("SoftmaxSGD, plain SGD: too low, good and too high learning rates")

# %%
# The grid of learning rates and regularization strengths
# -------------------------------------------------------
#
# A cross-validated grid search over ``learning_rate_init`` and ``alpha``
# (L2), 10 epochs each, on a stratified third of the digits.
# :meth:`~sklinear.inspection.TuningHeatmapDisplay.from_estimator` finds the
# two parameters by their names and outlines the best cell. Small rates
# have not converged in 10 epochs, whatever the penalty. A strong penalty
# underfits, and more so with a large rate: the weight decay step ``w <- (1
# - learning_rate_init * alpha) w`` then overshoots zero, and beyond
# ``learning_rate_init * alpha = 2`` the weights blow up, flipping sign at
# every step. The good region is the large rates with a small penalty.

X_small, _, y_small, _ = train_test_split(
    X, y, train_size=600, stratify=y, random_state=0
)
grid = {
    "learning_rate_init": np.logspace(-3, 2, 6),
    "alpha": np.logspace(-4, 1, 6),
}
search = GridSearchCV(
    SoftmaxSGD(optimizer="sgd", max_iter=10, tol=None, random_state=0),
    grid,
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
).fit(X_small, y_small)
display = TuningHeatmapDisplay.from_estimator(search, score_name="3-fold CV accuracy")
display.ax_.set_title("SoftmaxSGD, plain SGD, 10 epochs")
print(f"best: {search.best_params_}, accuracy {search.best_score_:.3f}")
plt.show()
