"""Regularization of the weight matrix (never the intercept), as a chain of terms.

A penalty is a list of terms, each with a ``value(W)`` per column and a
place in the optimizer step:

- a smooth term (:class:`L2`, ``strength / 2 * ||W||^2``) adds its gradient
  to the data gradient, ``add_gradient(W, grad, scratch=None)`` (``scratch``,
  an array of ``W``'s shape on NumPy, holds the term before it is added);
- a proximal term (:class:`L1`, ``strength * ||W||_1``) is applied after each
  update, ``after_step(W, step_size)``, as its proximal operator (the
  soft-threshold), so that coefficients become exactly zero;
- a projection (:class:`MaxNorm`) is applied after each update too.

``W`` has shape (n_features, n_columns): one column per class, and with
``K`` models trained side by side ``K * n_classes`` columns, so strengths may
be scalars or per-column arrays. :data:`PENALTIES` maps each name of the
``penalty`` parameter to its terms: a new penalty is a term class and a
registry entry.
"""

import numpy as np

from ._namespace import namespace_of, to_numpy


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
    W -= namespace_of(W).clip(W, -threshold, threshold)
    return W


def project_max_norm(W, max_norm):
    """Project each column (class weight vector) onto the L2 ball, in place.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_columns)
        Weights, modified in place.
    max_norm : float or ndarray of shape (n_columns,)
        Radius of the ball (per column).

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
    xp = namespace_of(W)
    norms = xp.sqrt(_column_squares(W))
    if xp is not np:
        # Without a scatter or a host check: scale every column by at most 1.
        W *= xp.astype(xp.where(norms > max_norm, max_norm / norms, 1.0), W.dtype)
        return W
    radius = np.broadcast_to(max_norm, norms.shape)
    too_long = norms > radius
    if too_long.any():
        W[:, too_long] *= (radius[too_long] / norms[too_long]).astype(W.dtype)
    return W


def _column_squares(W):
    """The squared norm of each column of ``W``."""
    if isinstance(W, np.ndarray):
        return np.einsum("ij,ij->j", W, W)
    return namespace_of(W).sum(W * W, axis=0)


def _is_scalar(strength):
    """A strength shared by every column (a Python or NumPy scalar)."""
    return getattr(strength, "ndim", 0) == 0


class L2:
    """Smooth term ``strength / 2 * ||W||^2``, added to the gradient.

    Parameters
    ----------
    strength : float or ndarray of shape (n_columns,)
        Coefficient (per column).

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import L2
    >>> L2(2.0).value(np.array([[1.0, -2.0], [0.5, 0.0]]))
    array([1.25, 4.  ])
    """

    smooth = True

    def __init__(self, strength):
        self.strength = strength

    @property
    def rate_strength(self):
        """Its strength where the automatic rate counts the penalty."""
        return self.strength

    def value(self, W):
        """Per-column value."""
        return 0.5 * self.strength * _column_squares(W)

    def total(self, W):
        """Value summed over the columns (a float for NumPy, else a 0-d array)."""
        if not isinstance(W, np.ndarray):
            return namespace_of(W).sum(self.value(W))
        if not _is_scalar(self.strength):
            return float(self.value(W).sum())
        return 0.5 * self.strength * float(np.vdot(W, W))

    def add_gradient(self, W, grad, scratch=None):
        """Add ``strength * W`` to ``grad`` in place.

        ``scratch`` (NumPy, of the shape of ``W``) receives the product, so
        that nothing is allocated.
        """
        if scratch is None:
            grad += self.strength * W
        else:
            grad += np.multiply(W, self.strength, out=scratch)

    def after_step(self, W, step_size):
        """Nothing: the term acts through the gradient."""


class L1:
    """``strength * ||W||_1``, applied after each update as a soft-threshold.

    The threshold of each coordinate is ``strength`` times the optimizer's
    effective step on it (``step_size``), so that it is the proximal step of
    the update just taken, for adaptive optimizers too.

    Parameters
    ----------
    strength : float or ndarray of shape (n_columns,)
        Coefficient (per column).

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import L1
    >>> W = np.array([[0.3, -2.0]])
    >>> L1(0.5).after_step(W, step_size=0.2)
    >>> W
    array([[ 0.2, -1.9]])
    """

    smooth = False
    sparse = True

    def __init__(self, strength):
        self.strength = strength

    @property
    def rate_strength(self):
        """Its strength where the automatic rate counts the penalty."""
        return self.strength

    def value(self, W):
        """Per-column value."""
        xp = namespace_of(W)
        return self.strength * xp.sum(xp.abs(W), axis=0)

    def total(self, W):
        """Value summed over the columns (a float for NumPy, else a 0-d array)."""
        if not isinstance(W, np.ndarray):
            return namespace_of(W).sum(self.value(W))
        if not _is_scalar(self.strength):
            return float(self.value(W).sum())
        return self.strength * float(np.abs(W).sum())

    def add_gradient(self, W, grad, scratch=None):
        """Nothing: the term is not differentiable; see :meth:`after_step`."""

    def after_step(self, W, step_size):
        """Soft-threshold ``W`` in place by ``strength * step_size``."""
        soft_threshold(W, self.strength * step_size)


class MaxNorm:
    """Constraint ``||W[:, j]|| <= radius``, a projection after each update.

    Parameters
    ----------
    radius : float or ndarray of shape (n_columns,)
        Largest allowed norm of a column (per column).

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import MaxNorm
    >>> W = np.array([[3.0], [4.0]])
    >>> MaxNorm(1.0).after_step(W, step_size=0.1)
    >>> W.ravel()
    array([0.6, 0.8])
    """

    smooth = False

    rate_strength = 0.0  # a constraint, not a term of the objective

    def __init__(self, radius):
        self.radius = radius

    def value(self, W):
        """Zero: a constraint adds nothing to the objective where it holds."""
        return namespace_of(W).zeros_like(W[0, ...])

    def total(self, W):
        """Zero."""
        return 0.0

    def add_gradient(self, W, grad, scratch=None):
        """Nothing: a constraint has no gradient."""

    def after_step(self, W, step_size):
        """Project the columns of ``W`` onto the ball, in place."""
        project_max_norm(W, self.radius)


class ValueOnly:
    """A smooth term that counts in the objective's value, not in its gradient.

    For an optimizer that applies the term itself, as decoupled weight
    decay (AdamW decays the weights by its L2 strength): the objective that
    is reported and stopped on is unchanged.

    Parameters
    ----------
    term : L2
        The term.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear._penalties import L2, ValueOnly
    >>> W, grad = np.ones((2, 1)), np.zeros((2, 1))
    >>> term = ValueOnly(L2(3.0))
    >>> term.total(W), term.add_gradient(W, grad), float(grad.sum())
    (3.0, None, 0.0)
    """

    smooth = True

    def __init__(self, term):
        self.term = term
        self.strength = term.strength

    @property
    def rate_strength(self):
        """Its strength where the automatic rate counts the penalty."""
        return self.term.rate_strength

    def value(self, W):
        """Per-column value."""
        return self.term.value(W)

    def total(self, W):
        """Value summed over the columns."""
        return self.term.total(W)

    def add_gradient(self, W, grad, scratch=None):
        """Nothing: the optimizer applies the term."""

    def after_step(self, W, step_size):
        """Nothing."""


PENALTIES = {
    "l2": lambda alpha, l1_ratio: [L2(alpha)],
    "l1": lambda alpha, l1_ratio: [L1(alpha)],
    "elasticnet": lambda alpha, l1_ratio: [
        L2(alpha * (1.0 - l1_ratio)),
        L1(alpha * l1_ratio),
    ],
    None: lambda alpha, l1_ratio: [],
}
"""Registry: penalty name -> ``(alpha, l1_ratio) -> list of terms``."""


def penalty_terms(penalty, alpha, l1_ratio, max_norm=None):
    """The terms of a named penalty, without those of zero strength.

    Parameters
    ----------
    penalty : {"l2", "l1", "elasticnet", None}
        Penalty name.
    alpha, l1_ratio : float or ndarray of shape (n_columns,)
        Strength and share of L1 (per column).
    max_norm : float, ndarray of shape (n_columns,) or None, default=None
        Radius of the max-norm constraint, appended last.

    Returns
    -------
    list
        Terms in the order they apply.

    Examples
    --------
    >>> from sklinear._penalties import penalty_terms
    >>> [type(term).__name__ for term in penalty_terms("elasticnet", 0.1, 0.5, 3.0)]
    ['L2', 'L1', 'MaxNorm']
    """
    terms = [
        term
        for term in PENALTIES[penalty](alpha, l1_ratio)
        if np.any(np.asarray(to_numpy(term.strength)) != 0)
    ]
    if max_norm is not None:
        terms.append(MaxNorm(max_norm))
    return terms


def penalty_strength(penalty, alpha, l1_ratio):
    """The strength of a named penalty as the automatic rate counts it.

    The sum of its terms' ``rate_strength``: the L2 and L1 coefficients (a
    max-norm constraint counts for nothing). Below a feature spread of
    ``sqrt(strength)`` the penalty outweighs the data.

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
    float

    Examples
    --------
    >>> from sklinear._penalties import penalty_strength
    >>> penalty_strength("elasticnet", 0.1, 0.25)
    0.1
    """
    return float(
        sum(term.rate_strength for term in PENALTIES[penalty](alpha, l1_ratio))
    )


def penalty_value(W, l2, l1):
    """Value of ``l2 / 2 * ||W||^2 + l1 * ||W||_1``.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
        Weights.
    l2, l1 : float
        The L2 and L1 coefficients.

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
    return L2(l2).total(W) + L1(l1).total(W)
