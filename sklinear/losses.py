"""Multiclass data losses working on scores only.

Public so that they can be studied and compared with one's own
implementation (the CS231n assignments ask for exactly these functions).

Every loss has the signature ``loss(scores, y, sample_weight, **params) ->
(loss, dscores)`` where ``scores`` has shape (n_samples, n_classes), ``y``
holds class indices 0..n_classes-1 and ``sample_weight`` is positive with a
positive sum. The returned loss is the sample-weighted mean
``sum(w_i * L_i) / sum(w_i)`` and ``dscores`` its gradient with respect to
``scores``, in the dtype of ``scores``. No data matrix is involved, so the
linear algebra ``X @ W`` and ``X.T @ dscores`` is written once, in the
training loop.
"""

from functools import partial

import numpy as np

__all__ = [
    "LOSSES",
    "expected_initial_loss",
    "log_softmax",
    "multiclass_hinge",
    "softmax_cross_entropy",
]


def _normalized_weights(sample_weight, dtype):
    weight = np.asarray(sample_weight, dtype=dtype)
    return weight / weight.sum()


def multiclass_hinge(
    scores, y, sample_weight, *, margin=1.0, multi_class="weston_watkins", squared=False
):
    """Multiclass hinge loss and its gradient with respect to the scores.

    Weston–Watkins (the CS231n form) sums over the wrong classes,
    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``; Crammer–Singer
    keeps only the largest term. ``squared=True`` squares each term.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Class scores.
    y : ndarray of shape (n_samples,)
        Index of the correct class of each sample.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights with a positive sum.
    margin : float, default=1.0
        Required gap between the correct score and every other score.
    multi_class : {"weston_watkins", "crammer_singer"}, default="weston_watkins"
        Sum over the wrong classes or take the largest violation only.
    squared : bool, default=False
        Square each hinge term.

    Returns
    -------
    loss : float
        Sample-weighted mean loss.
    dscores : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss`` with respect to ``scores``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import multiclass_hinge
    >>> scores = np.array([[3.2, 5.1, -1.7]])
    >>> loss, dscores = multiclass_hinge(scores, np.array([0]), np.ones(1))
    >>> round(float(loss), 2)
    2.9
    """
    n_samples = scores.shape[0]
    rows = np.arange(n_samples)
    with np.errstate(invalid="ignore", over="ignore"):
        violation = scores - scores[rows, y][:, None]
        violation += margin
        violation[rows, y] = 0.0
        np.maximum(violation, 0.0, out=violation)
        if multi_class == "crammer_singer":
            worst = violation.argmax(axis=1)
            largest = violation[rows, worst]
            violation.fill(0.0)
            violation[rows, worst] = largest
        per_sample = (violation**2 if squared else violation).sum(axis=1)
        dscores = 2.0 * violation if squared else (violation > 0).astype(scores.dtype)
    dscores[rows, y] = -dscores.sum(axis=1)
    weight = _normalized_weights(sample_weight, scores.dtype)
    dscores *= weight[:, None]
    return weight @ per_sample, dscores


def softmax_cross_entropy(scores, y, sample_weight):
    """Softmax cross-entropy loss and its gradient with respect to the scores.

    ``L_i = -log(exp(s_{y_i}) / sum_j exp(s_j))``, computed through the
    log-sum-exp of the shifted scores so that large scores cannot overflow.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Class scores.
    y : ndarray of shape (n_samples,)
        Index of the correct class of each sample.
    sample_weight : ndarray of shape (n_samples,)
        Non-negative weights with a positive sum.

    Returns
    -------
    loss : float
        Sample-weighted mean loss.
    dscores : ndarray of shape (n_samples, n_classes)
        Gradient of ``loss`` with respect to ``scores``: softmax minus one-hot.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import softmax_cross_entropy
    >>> loss, dscores = softmax_cross_entropy(np.zeros((1, 4)), np.array([2]), [1.0])
    >>> bool(np.isclose(loss, np.log(4)))
    True
    """
    rows = np.arange(scores.shape[0])
    log_proba = log_softmax(scores)
    dscores = np.exp(log_proba)
    dscores[rows, y] -= 1.0
    weight = _normalized_weights(sample_weight, scores.dtype)
    dscores *= weight[:, None]
    return -(weight @ log_proba[rows, y]), dscores


def log_softmax(scores):
    """Row-wise log-softmax of ``scores``, stable for large values.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Class scores.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        ``scores - logsumexp(scores, axis=1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import log_softmax
    >>> np.exp(log_softmax(np.array([[1000.0, 1000.0]])))
    array([[0.5, 0.5]])
    """
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = scores - scores.max(axis=1, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


LOSSES = {
    "hinge": partial(multiclass_hinge, squared=False),
    "squared_hinge": partial(multiclass_hinge, squared=True),
    "log_loss": softmax_cross_entropy,
}
"""Registry of data losses by name; each entry follows the module's signature."""


def expected_initial_loss(loss, n_classes, *, margin=1.0, multi_class="weston_watkins"):
    """Loss expected when all scores are close to zero (small random weights).

    Every wrong class then violates the margin by about ``margin``: the
    Weston–Watkins hinge is about ``(C - 1) * margin`` (squared: ``(C - 1) *
    margin**2``), the Crammer–Singer hinge about ``margin``, and softmax
    cross-entropy about ``log(C)``.

    Parameters
    ----------
    loss : {"hinge", "squared_hinge", "log_loss"}
        Loss name.
    n_classes : int
        Number of classes C.
    margin : float, default=1.0
        Hinge margin; ignored for ``"log_loss"``.
    multi_class : {"weston_watkins", "crammer_singer"}, default="weston_watkins"
        Hinge form; ignored for ``"log_loss"``.

    Returns
    -------
    float
        The expected initial data loss.

    Examples
    --------
    >>> from sklinear.losses import expected_initial_loss
    >>> expected_initial_loss("hinge", 10)
    9.0
    >>> round(expected_initial_loss("log_loss", 10), 4)
    2.3026
    """
    if loss == "log_loss":
        return float(np.log(n_classes))
    term = margin**2 if loss == "squared_hinge" else margin
    n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
    return float(n_terms * term)
