"""
====================================
How calibrated is ``predict_proba``?
====================================

A classifier is *calibrated* when, among the predictions it makes with
confidence ``p``, a fraction ``p`` is right. This reliability diagram bins
the test predictions of each model by the probability of the predicted
class and plots the accuracy in each bin against the mean confidence.

* :class:`sklinear.SoftmaxSGD` models the probabilities directly, and with
  light regularization it is close to the diagonal.
* :class:`sklinear.MulticlassSVMSGD` has no probabilistic model: its raw
  scores, passed through a softmax as they are, are far off (the hinge
  cares only about a margin, so the scale of the scores is arbitrary). Its
  ``predict_proba`` divides them by the fitted ``temperature_`` first, which
  fixes most of it when the temperature is fitted on enough rows.
* With ``early_stopping=True`` the temperature is fitted on the held-out
  validation rows only: scores the model was not trained on, but few of
  them on a small data set, so the fit is noisier.

The expected calibration error (ECE, the sample-weighted mean gap between
accuracy and confidence over the bins) and the log-loss summarize each curve.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear.losses import log_softmax

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.5, stratify=y, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

softmax = SoftmaxSGD(alpha=1e-3, max_iter=50, tol=None, random_state=0)
softmax.fit(X_train, y_train)
svm = MulticlassSVMSGD(alpha=1e-3, max_iter=50, tol=None, random_state=0)
svm.fit(X_train, y_train)
# With early stopping the temperature is fitted on the held-out 10 %: here
# only 90 rows, 9 per class.
svm_es = MulticlassSVMSGD(alpha=1e-3, early_stopping=True, random_state=0)
svm_es.fit(X_train, y_train)

probabilities = {
    "SoftmaxSGD": softmax.predict_proba(X_test),
    "MulticlassSVMSGD, softmax of the raw scores": np.exp(
        log_softmax(svm.decision_function(X_test))
    ),
    f"MulticlassSVMSGD, T={svm.temperature_:.2f} fitted on training rows": (
        svm.predict_proba(X_test)
    ),
    f"MulticlassSVMSGD, T={svm_es.temperature_:.2f} fitted on 90 held-out rows": (
        svm_es.predict_proba(X_test)
    ),
}


def reliability(proba, y_true, n_bins=10):
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges) - 1, 0, n_bins - 1)
    mean_conf, accuracy, counts = [], [], []
    for b in range(n_bins):
        in_bin = which == b
        if in_bin.any():
            mean_conf.append(confidence[in_bin].mean())
            accuracy.append(correct[in_bin].mean())
            counts.append(in_bin.sum())
    mean_conf, accuracy, counts = map(np.array, (mean_conf, accuracy, counts))
    ece = np.sum(counts * np.abs(accuracy - mean_conf)) / counts.sum()
    return mean_conf, accuracy, ece


fig, ax = plt.subplots(figsize=(6, 5))
ax.plot([0, 1], [0, 1], ":", color="gray", label="perfectly calibrated")
for label, proba in probabilities.items():
    mean_conf, accuracy, ece = reliability(proba, y_test)
    loss = log_loss(y_test, proba, labels=softmax.classes_)
    ax.plot(
        mean_conf, accuracy, "o-", label=f"{label}\nECE {ece:.3f}, log-loss {loss:.3f}"
    )
    print(f"{label}: ECE {ece:.3f}, log-loss {loss:.3f}")
ax.set(
    xlabel="confidence (probability of the predicted class)",
    ylabel="accuracy",
    xlim=(0, 1.02),
    ylim=(0, 1.02),
    title="Reliability on the test half of the digits",
)
ax.legend(fontsize="x-small", loc="upper left")
fig.tight_layout()
plt.show()
