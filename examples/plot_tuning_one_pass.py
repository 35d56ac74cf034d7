"""
==============================================
Tuning in one pass: learning rate x ``alpha``
==============================================

CS231n tunes a linear classifier over a grid of learning rates and
regularization strengths, scoring each on held-out data.
:class:`sklinear.SoftmaxSGDCV` trains every candidate of the grid and every
cross-validation fold side by side, one matrix product per minibatch for
all of them, and refits the best on all the data (see :ref:`tuning`).

The data: the CIFAR-10 development subset if the environment variable
``SKLINEAR_CIFAR10`` holds the path of a copy (the ``cifar-10-batches-py``
directory, the official archive or an ``.npz``; 3,000 standardized images
keep the example quick), else scikit-learn's digits.
"""

import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklinear import SoftmaxSGDCV
from sklinear.inspection import LossCurveDisplay, TuningHeatmapDisplay

cifar_path = os.environ.get("SKLINEAR_CIFAR10")
if cifar_path:
    from sklinear.datasets import load_cifar10

    cifar = load_cifar10(cifar_path, subset="train")
    rows = np.random.default_rng(0).permutation(len(cifar.target))[:3000]
    X, y = cifar.data[rows].astype(np.float32), cifar.target[rows]
    learning_rates = [1e-5, 1e-4, 1e-3, 1e-2]
    source = "CIFAR-10, 3,000 images"
else:
    X, y = load_digits(return_X_y=True)
    learning_rates = [1e-3, 1e-2, 1e-1, 1.0]
    source = "digits"
X = StandardScaler().fit_transform(X).astype(np.float32)

# %%
# One pass over the grid
# ----------------------
#
# 4 learning rates x 4 values of ``alpha`` x 3 folds: 48 models trained
# together for 10 epochs. ``cv_results_`` has ``GridSearchCV``'s layout.

search = SoftmaxSGDCV(
    alphas=[1e-5, 1e-4, 1e-3, 1e-2],
    learning_rates=learning_rates,
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
    max_iter=10,
    tol=None,
    random_state=0,
)
start = time.perf_counter()
search.fit(X, y)
print(f"{source}: 48 models in {time.perf_counter() - start:.1f} s")
print(f"best: {search.best_params_}, CV accuracy {search.best_score_:.3f}")

# %%
# The tuning heatmap and the refitted model
# -----------------------------------------
#
# Left, CS231n's tuning plot: the cross-validated accuracy over the grid,
# the best cell outlined. The rates span four decades so that both failures
# show: the smallest rate has not learned much in 10 epochs, and past the
# best rate the accuracy falls again, as Adam's steps overshoot (printed
# below: the best score at each rate). Right, the training curve of the
# best candidate refitted on all the data.

rates = np.asarray(search.cv_results_["param_learning_rate_init"], dtype=float)
scores = search.cv_results_["mean_test_score"]
for rate in learning_rates:
    print(f"learning rate {rate:g}: best CV accuracy {scores[rates == rate].max():.3f}")

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
TuningHeatmapDisplay.from_estimator(search, ax=left)
LossCurveDisplay.from_estimator(search, ax=right)
right.set_title("Refitted best candidate")
fig.tight_layout()
plt.show()
