"""Regularization of the weight matrix (never the intercept).

A penalty splits into a smooth L2 part, ``l2 / 2 * ||W||^2``, added to the
gradient, and an L1 part, ``l1 * ||W||_1``, applied after each update as a
proximal (soft-threshold) step so that coefficients become exactly zero.
``W`` has shape (n_features, n_classes): one column per class.
"""

import numpy as np

PENALTIES = {
    "l2": lambda alpha, l1_ratio: (alpha, 0.0),
    "l1": lambda alpha, l1_ratio: (0.0, alpha),
    "elasticnet": lambda alpha, l1_ratio: (alpha * (1.0 - l1_ratio), alpha * l1_ratio),
    None: lambda alpha, l1_ratio: (0.0, 0.0),
}
"""Registry: penalty name -> ``(alpha, l1_ratio) -> (l2_strength, l1_strength)``."""


def penalty_strengths(penalty, alpha, l1_ratio):
    """Split a named penalty into its L2 and L1 strengths.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", None}
        Penalty name.
    alpha : float
        Overall regularization strength.
    l1_ratio : float
        Share of L1 in ``"elasticnet"``.

    Returns
    -------
    l2 : float
        Coefficient of ``1/2 * ||W||^2``.
    l1 : float
        Coefficient of ``||W||_1``.

    Examples
    --------
    >>> from sklinear._penalties import penalty_strengths
    >>> penalty_strengths("elasticnet", 0.1, 0.25)
    (0.07500000000000001, 0.025)
    """
    return PENALTIES[penalty](alpha, l1_ratio)


def penalty_value(W, l2, l1):
    """Value of ``l2 / 2 * ||W||^2 + l1 * ||W||_1``.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
        Weights.
    l2, l1 : float
        Strengths from :func:`penalty_strengths`.

    Returns
    -------
    float
        The penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import penalty_value
    >>> float(penalty_value(np.array([[3.0], [-4.0]]), l2=1.0, l1=0.5))
    16.0
    """
    value = 0.0
    if l2:
        value += 0.5 * l2 * float(np.vdot(W, W))
    if l1:
        value += l1 * float(np.abs(W).sum())
    return value


def soft_threshold(W, threshold):
    """Proximal step of ``threshold * ||W||_1``, in place.

    Parameters
    ----------
    W : ndarray
        Weights, modified in place.
    threshold : float or ndarray broadcastable to ``W``
        Learning rate times the L1 strength; per coordinate for adaptive
        optimizers.

    Returns
    -------
    ndarray
        ``W``, with entries shrunk towards zero by ``threshold``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import soft_threshold
    >>> soft_threshold(np.array([0.3, -0.05, -2.0]), 0.1)
    array([ 0.2,  0. , -1.9])
    """
    W -= np.clip(W, -threshold, threshold)
    return W


def project_max_norm(W, max_norm):
    """Project each class's weight vector (column) onto the L2 ball, in place.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
        Weights, modified in place.
    max_norm : float
        Radius of the ball.

    Returns
    -------
    ndarray
        ``W``, whose columns have norm at most ``max_norm``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import project_max_norm
    >>> project_max_norm(np.array([[3.0, 0.1], [4.0, 0.2]]), 1.0)
    array([[0.6, 0.1],
           [0.8, 0.2]])
    """
    norms = np.sqrt(np.einsum("ij,ij->j", W, W))
    too_long = norms > max_norm
    if too_long.any():
        W[:, too_long] *= (max_norm / norms[too_long]).astype(W.dtype)
    return W
