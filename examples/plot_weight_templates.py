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

# %%
# Digits
# ------

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
    limit = np.abs(clf.coef_).max()
    for digit, ax in zip(clf.classes_, row, strict=True):
        ax.imshow(
            clf.coef_[digit].reshape(8, 8), cmap="RdBu_r", vmin=-limit, vmax=limit
        )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(digit), fontsize="small")
    row[0].set_ylabel(name.replace("SGD", ""), fontsize="small")
fig.suptitle("Weights of each class on the digits")
fig.tight_layout()

# %%
# CIFAR-10
# --------
#
# Trained on 5,000 random training images, centered and scaled to about
# [-0.5, 0.5]; each template is rescaled to the full color range for display.

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
    fig, axes = plt.subplots(1, 10, figsize=(10, 1.8))
    for k, ax in enumerate(axes):
        template = svm.coef_[k].reshape(32, 32, 3)
        template = (template - template.min()) / np.ptp(template)
        ax.imshow(template)
        ax.set_axis_off()
        ax.set_title(cifar.target_names[k], fontsize="small")
    fig.suptitle(f"MulticlassSVMSGD templates, CIFAR-10 ({n} training images)")
    fig.tight_layout()
else:
    print("SKLINEAR_CIFAR10 is not set: the CIFAR-10 templates are skipped.")

plt.show()
