"""
====================================
Learned weights as image templates
====================================

A linear classifier scores an image by the dot product of its pixels with
one weight vector per class: each weight vector is a *template* that the
image is matched against. Reshaped to the image's shape, the templates of a
classifier trained on raw pixels show what each class "looks like" to it
(CS231n, linear classification).

First the 8x8 digits, with :class:`sklinear.MulticlassSVMSGD` and
:class:`sklinear.SoftmaxSGD` trained on the centered pixels: red where
ink raises the class score, blue where it lowers it.

Then CIFAR-10, if the environment variable ``SKLINEAR_CIFAR10`` holds the
path of a copy (the ``cifar-10-batches-py`` directory, the official archive
or an ``.npz``; see :func:`sklinear.datasets.load_cifar10`): the famous
blurry templates, a horse with two heads, a car of the most common color.
Without it, that part is skipped.
"""

import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear.inspection import WeightTemplatesDisplay

# %%
# Digits
# ------
#
# :class:`~sklinear.inspection.WeightTemplatesDisplay` reshapes each row of
# ``coef_`` to the image shape. ``rescale="symmetric"`` maps a zero weight to
# the middle of the diverging colormap, with one scale for every class.

X, y = load_digits(return_X_y=True)
X = X / 16.0
X -= X.mean(axis=0)  # the "mean image" subtraction of CS231n

models = {
    "MulticlassSVMSGD": MulticlassSVMSGD(alpha=1e-2, tol=1e-3, random_state=0),
    "SoftmaxSGD": SoftmaxSGD(alpha=1e-2, tol=1e-3, random_state=0),
}
fig, axes = plt.subplots(2, 10, figsize=(10, 2.6))
for row, (name, clf) in zip(axes, models.items(), strict=True):
    clf.fit(X, y)
    WeightTemplatesDisplay.from_estimator(
        clf, image_shape=(8, 8), ax=row, rescale="symmetric"
    )
    row[0].set_ylabel(name.replace("SGD", ""), fontsize="small")
fig.suptitle("Weights of each class on the digits")
fig.tight_layout()

# %%
# CIFAR-10
# --------
#
# Trained on 5,000 random training images, centered and scaled to about
# [-0.5, 0.5]; each template is rescaled to the full color range for display
# (the default ``rescale="template"``, as in CS231n).

cifar_path = os.environ.get("SKLINEAR_CIFAR10")
if cifar_path:
    from sklinear.datasets import load_cifar10

    cifar = load_cifar10(cifar_path, subset="train")
    # A random subset keeps the example fast (some copies are sorted by class).
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(cifar.target))[:5000]
    X_cifar = cifar.data[rows].astype(np.float32) / 255.0
    X_cifar -= X_cifar.mean(axis=0)
    n = len(rows)
    # Plain SGD with a small step and strong L2 gives the smooth templates;
    # Adam's per-pixel steps make them noisier.
    svm = MulticlassSVMSGD(
        alpha=1.0,
        optimizer="sgd",
        learning_rate_init=1e-3,
        max_iter=10,
        tol=None,
        random_state=0,
    )
    svm.fit(X_cifar, cifar.target[rows])
    display = WeightTemplatesDisplay.from_estimator(
        svm, image_shape=(32, 32, 3), display_labels=cifar.target_names
    )
    display.figure_.suptitle(
        f"MulticlassSVMSGD templates, CIFAR-10 ({n} training images)"
    )
    display.figure_.tight_layout()
else:
    print("SKLINEAR_CIFAR10 is not set: the CIFAR-10 templates are skipped.")

plt.show()
