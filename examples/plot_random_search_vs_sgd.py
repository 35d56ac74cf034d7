"""
=============================
Random search against SGD
=============================

CS231n's first optimization strategy is random search: perturb the weights
at random and keep the perturbation if the loss goes down. Its second is to
follow the gradient. :class:`sklinear.SoftmaxSGD` does both:
``optimizer="random_search"`` tries, on each minibatch, the weights plus
Gaussian noise of scale ``learning_rate_init``; ``optimizer="sgd"`` steps
along the negative minibatch gradient.

Both see the same minibatches, for the same number of epochs. Whatever the
noise scale, random search improves slowly: in 64 + 1 dimensions per class,
a random direction is almost orthogonal to the gradient, so most proposals
are rejected and the accepted ones gain little.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklinear import SoftmaxSGD

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

runs = {
    f"random search, noise {noise}": {
        "optimizer": "random_search",
        "learning_rate_init": noise,
    }
    for noise in (0.003, 0.01, 0.03)
}
runs["SGD, learning rate 0.05"] = {"optimizer": "sgd", "learning_rate_init": 0.05}

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
for label, params in runs.items():
    clf = SoftmaxSGD(
        alpha=1e-3, batch_size=64, max_iter=30, tol=None, random_state=0, **params
    ).fit(X_train, y_train)
    style = "-" if params["optimizer"] == "sgd" else "--"
    ax_loss.plot(range(1, clf.n_iter_ + 1), clf.loss_curve_, style, label=label)
    accuracy = clf.score(X_test, y_test)
    ax_acc.barh(label, accuracy)
    ax_acc.text(accuracy, label, f" {accuracy:.2f}", va="center")
    print(f"{label:>27}: test accuracy {accuracy:.3f}")

ax_loss.set(xlabel="epoch", ylabel="training objective", title="Training objective")
ax_loss.legend(fontsize="small")
ax_acc.set(xlim=(0, 1.1), xlabel="test accuracy", title="After 30 epochs")
fig.tight_layout()
plt.show()
