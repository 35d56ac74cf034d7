"""
=============================
Loss curves of the optimizers
=============================

The training objective (data loss plus L2 penalty, averaged over each epoch's
minibatches: ``loss_curve_``) of :class:`sklinear.SoftmaxSGD` on the
standardized digits, for every optimizer, with minibatches of 64 rows and
the same learning rate, plus full-batch gradient descent (``batch_size=None``).

Plain SGD at this rate is slow; momentum and Nesterov accelerate it;
the adaptive methods (AdaGrad, RMSProp, Adam) scale each coordinate's step
and get down fastest. Full-batch gradient descent takes one step per epoch,
so per epoch it is the slowest, but its curve is smooth. Random search,
which uses no gradient, lags far behind every gradient method.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from sklinear import SoftmaxSGD

X, y = load_digits(return_X_y=True)
X = StandardScaler().fit_transform(X)

runs = {
    name: {"optimizer": name}
    for name in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
}
runs["random_search"] = {"optimizer": "random_search"}
runs["full-batch sgd"] = {"optimizer": "sgd", "batch_size": None}

fig, ax = plt.subplots(figsize=(7, 4.5))
for label, params in runs.items():
    params = {"batch_size": 64, **params}
    clf = SoftmaxSGD(
        alpha=1e-3, learning_rate_init=0.01, max_iter=30, tol=None, random_state=0
    )
    clf.set_params(**params).fit(X, y)
    ax.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_, label=label)
    print(f"{label:>15}: final objective {clf.loss_curve_[-1]:.3f}")

ax.set(
    xlabel="epoch",
    ylabel="training objective",
    yscale="log",
    title="SoftmaxSGD on the digits, learning rate 0.01",
)
ax.legend(ncols=2, fontsize="small")
fig.tight_layout()
plt.show()
