"""The learning rate derived from the data: ``learning_rate_init="auto"``.

The automatic rate comes with a diagonal preconditioner that makes training
the same whatever the offset and the scale of each feature, as if every
feature had been centered and rescaled to unit spread: raw pixels, pixels
divided by 255, standardized features and features of mixed units (or of
magnitude 1e-30 or 1e200) all train at the defaults. Nothing touches ``X``:

- centering is a reparametrization of the intercept (the engine's
  ``offset``, see :class:`sklinear._engine.LinearObjective`);
- rescaling feature ``j`` by its spread ``s_j`` means optimizing ``theta_j =
  s_j * w_j``: the optimizer sees the gradient ``g_j / s_j`` and its step is
  divided by ``s_j`` again before it is applied to ``w_j``
  (:class:`sklinear._engine.Preconditioner`). Adam's moments and epsilon
  then live on the scale of standardized features, so they neither overflow
  nor vanish.

In these units every feature has unit spread and the rate needs only the
number ``d`` of features that vary (plus one for the intercept).

**Gradient steps** (``sgd``, ``momentum``, ``nesterov``) are stable below
``2 / L`` for an objective whose gradient is ``L``-Lipschitz; scikit-learn's
SAG solver takes ``1 / L`` with ``L = curvature * (max ||x||^2 +
fit_intercept) + alpha`` (``get_auto_step_size``). A minibatch averages many
rows, so the mean squared row norm, ``d`` in these units, bounds the
curvature of the averaged loss (the largest row would make one outlier
decide the rate): ``rate = 1 / (curvature * d)``, the spread being the
standard deviation. The L2 term adds ``alpha / s_j**2`` to the curvature of
``theta_j``, which damps that coordinate's step; and since below a spread of
``sqrt(alpha)`` the penalty outweighs the data (the optimum of such a
coordinate is about zero), no feature is rescaled beyond that spread. The
curvature is that of the loss in the scores: 1/2 for the softmax
cross-entropy (the largest eigenvalue of ``diag(p) - p p^T``), twice the
number of terms for the squared hinge. The hinge is not smooth; its
subgradient has the squared hinge's scale at unit violation and the same
rate works. Momentum multiplies the effective step by ``1 / (1 -
momentum)``, which the rate divides out.

**Normalized steps** (``adam``, ``rmsprop``, ``adagrad``, and the
perturbations of ``random_search``) move every coordinate by about the rate
whatever the gradient's scale, so one step changes the score of a row by
about ``rate * sum_j |x_j| / s_j``, about ``rate * d`` with the mean
absolute deviation as the spread. The rate that moves the scores of a
typical row by about 1 per step is ``rate = 1 / d``: it shrinks as the
number of features grows (and, through ``s_j``, with their scale). AdaGrad's
steps shrink with the square root of the steps taken, so it starts ten times
larger.

The statistics come from up to 2000 evenly spaced rows, weighted by the
sample weights. What the rate needs of the loss (its curvature) and of the
optimizer (normalized steps, a factor such as momentum's) is read from their
registry records, so that a new loss or optimizer brings its own.
"""

import numpy as np
import scipy.sparse as sp

from ._namespace import device_of, namespace_of, take_rows, to_numpy
from ._optimizers import OPTIMIZERS
from .losses import LOSSES

# Score change of one normalized step (adam, rmsprop, random search).
_SCORE_STEP = 1.0
_STATISTICS_ROWS = 2000
_CHUNK_ROWS = 128


def statistics_rows(n_rows):
    """The evenly spaced rows (at most 2000) the statistics are computed on."""
    if n_rows > _STATISTICS_ROWS:
        return np.linspace(0, n_rows - 1, _STATISTICS_ROWS).astype(np.intp)
    return np.arange(n_rows)


def feature_scales(X, sample_weight=None):
    """Mean, mean absolute deviation and standard deviation of each feature.

    Computed in float64 on up to 2000 evenly spaced rows (all rows when
    fewer), weighted by ``sample_weight``: enough for a mean, no random
    numbers drawn, and a row of weight 2 counts as two rows (a row of weight
    0 not at all).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Data.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weights; None for ones.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        Weighted mean of ``x_j``.
    mean_abs : ndarray of shape (n_features,)
        Weighted mean of ``|x_j - mean_j|``.
    std : ndarray of shape (n_features,)
        Square root of the weighted mean of ``(x_j - mean_j)**2``.

    Examples
    --------
    >>> import numpy as np
    >>> feature_scales(np.array([[3.0, 1.0], [-1.0, 1.0]]))
    (array([1., 1.]), array([2., 0.]), array([2., 0.]))
    >>> feature_scales(np.array([[3.0], [-1.0], [5.0]]), np.array([1.0, 1.0, 0.0]))
    (array([1.]), array([2.]), array([2.]))
    """
    rows = statistics_rows(X.shape[0])
    xp = namespace_of(X)
    if xp is not np:
        # The statistics rows move to the host once (at most 2000): the
        # same statistics, and so the same rate, as for NumPy data.
        sample = to_numpy(take_rows(X, rows, xp, device_of(X)))
        weight = None if sample_weight is None else to_numpy(sample_weight)[rows]
        return feature_scales(sample, weight)
    weight = np.ones(len(rows))
    if sample_weight is not None:
        weight = np.asarray(sample_weight, dtype=np.float64)[rows]
        if weight.sum() > 0:
            rows, weight = rows[weight > 0], weight[weight > 0]
        else:
            weight = np.ones(len(rows))
    weight = weight / weight.sum() if len(rows) else weight

    def chunks():
        for start in range(0, len(rows), _CHUNK_ROWS):
            chunk = X[rows[start : start + _CHUNK_ROWS]]
            chunk = chunk.toarray() if sp.issparse(chunk) else chunk
            yield (
                np.asarray(chunk, dtype=np.float64),
                weight[start : start + _CHUNK_ROWS, None],
            )

    # Dividing by each column's largest magnitude keeps the squares finite;
    # chunks keep the memory small beside X.
    peak = np.zeros(X.shape[1])
    mean = np.zeros(X.shape[1])
    for chunk, _ in chunks():
        np.maximum(peak, np.abs(chunk).max(axis=0), out=peak)
    peak[peak == 0] = 1.0
    for chunk, w in chunks():
        mean += (chunk / peak * w).sum(axis=0)
    absolute = np.zeros(X.shape[1])
    squared = np.zeros(X.shape[1])
    for chunk, w in chunks():
        chunk /= peak
        chunk -= mean
        absolute += (np.abs(chunk) * w).sum(axis=0)
        squared += (chunk * chunk * w).sum(axis=0)
    return mean * peak, absolute * peak, np.sqrt(squared) * peak


def typical_row_norm(scales, alpha=0.0, fit_intercept=True):
    """Norm of a typical (centered, when there is an intercept) row.

    The root of the mean squared norm, from :func:`feature_scales`, with the
    spread of each feature floored at ``sqrt(alpha)`` as in
    :func:`auto_learning_rate`; overflow-free.

    Parameters
    ----------
    scales : tuple of ndarray
        The data's :func:`feature_scales`.
    alpha : float, default=0.0
        Penalty strength.
    fit_intercept : bool, default=True
        Whether rows are centered (the intercept absorbs the mean).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> float(typical_row_norm(feature_scales(np.array([[3.0, 4.0], [-3.0, -4.0]]))))
    5.0
    """
    spread, used = _spreads(scales, fit_intercept)
    return float(np.hypot.reduce(np.where(used, np.maximum(spread, np.sqrt(alpha)), 0)))


def constant_features(scales, fit_intercept=True):
    """Features that centering removes: constant, with a non-zero value.

    With an intercept such a feature adds nothing to the scores, ``(x_j -
    mean_j) * w_j = 0``, but the product ``x_j * w_j`` and its centering
    correction ``mean_j * w_j`` cancel only up to rounding, which is large
    for a large constant: its weights start at zero (and the automatic
    rate takes steps on the scale of its magnitude). Without an intercept
    there is no such feature: a constant column is the intercept.

    Parameters
    ----------
    scales : tuple of ndarray
        The data's :func:`feature_scales`.
    fit_intercept : bool, default=True
        Whether rows are centered.

    Returns
    -------
    ndarray of bool of shape (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 5.0, 0.0], [2.0, 5.0, 0.0]])
    >>> constant_features(feature_scales(X))
    array([False,  True, False])
    """
    mean, _, std = scales
    if not fit_intercept:
        return np.zeros(len(mean), dtype=bool)
    return ~_varies(std, mean) & (mean != 0)


def _varies(spread, mean):
    """A constant feature computes as a spread of rounding errors."""
    return spread > 1e-12 * np.abs(mean)


def _spreads(scales, fit_intercept, mean_absolute=False):
    """Each feature's spread in the automatic rate, and which features count.

    With an intercept the rows are centered and the spread is around the
    mean; only features that vary count. Without one a feature's own
    magnitude matters (a constant column acts as an intercept): the spread
    is around zero, and every non-zero feature counts. A constant feature
    with an intercept keeps its magnitude as its scale, so that the steps
    of its (useless) weight stay on the scale of rounding errors.
    """
    mean, mean_abs, std = scales
    around_mean = mean_abs if mean_absolute else std
    magnitude = np.hypot(mean, around_mean)
    if not fit_intercept:
        return magnitude, magnitude > 0
    used = _varies(around_mean, mean)
    return np.where(used, around_mean, magnitude), used


def auto_learning_rate(
    scales,
    *,
    optimizer,
    loss,
    n_classes,
    alpha=0.0,
    fit_intercept=True,
    momentum=0.9,
    loss_params=None,
):
    """The rate and preconditioner ``learning_rate_init="auto"`` stands for.

    What it needs of the optimizer and of the loss it reads from their
    registry records: whether the optimizer's steps are normalized and its
    ``rate_scale`` (:class:`sklinear._optimizers.Optimizer`), the loss's
    curvature in the scores (:class:`sklinear.losses.Loss`).

    Parameters
    ----------
    scales : tuple of ndarray
        The data's :func:`feature_scales`.
    optimizer : str or Optimizer
        A record, or a name in :data:`sklinear._optimizers.OPTIMIZERS`
        (built with ``momentum``).
    loss : str or Loss
        A record, or a name in :data:`sklinear.losses.LOSSES`.
    n_classes : int
        Number of classes.
    alpha : float, default=0.0
        Penalty strength: features are not rescaled beyond a spread of
        ``sqrt(alpha)``, and for gradient steps it damps the step of
        features of small spread.
    fit_intercept : bool, default=True
        Whether the intercept counts as a feature of value 1.
    momentum : float, default=0.9
        Momentum of an optimizer given by name.
    loss_params : dict, default=None
        The loss's parameters (the hinge's ``multi_class`` sets how many
        terms it sums).

    Returns
    -------
    rate : float
        The rate in units of the rescaled features.
    gradient_scale : ndarray of shape (n_features + 1,)
        ``1 / s_j`` per feature, 1 for the intercept: multiplies the gradient.
    update_scale : ndarray of shape (n_features + 1,)
        Multiplies the optimizer's step: ``1 / s_j`` (damped by the L2 term
        for gradient steps).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((500, 99))
    >>> X[:, -1] = 0.0
    >>> rate, gradient_scale, update_scale = auto_learning_rate(
    ...     feature_scales(X), optimizer="sgd", loss="log_loss", n_classes=3
    ... )
    >>> round(1 / rate, 1)  # curvature 1/2 times 98 features and the intercept
    49.5
    >>> bool(np.allclose(gradient_scale[:98], 1 / X[:, :98].std(axis=0)))
    True
    """
    if isinstance(optimizer, str):
        optimizer = OPTIMIZERS[optimizer](momentum=momentum)
    if isinstance(loss, str):
        loss = LOSSES[loss]
    normalized = optimizer.normalized
    spread, used = _spreads(scales, fit_intercept, mean_absolute=normalized)
    # Below sqrt(alpha) the penalty outweighs the data in the rescaled
    # coordinates (their optimum is about zero): rescaling stops there.
    scaled = spread > 0
    spread = np.where(scaled, np.maximum(spread, np.sqrt(alpha)), 1.0)
    n_used = max(int(used.sum()) + int(fit_intercept), 1)
    inverse = np.append(np.where(scaled, 1.0 / spread, 1.0), 1.0)
    if normalized:
        rate = _SCORE_STEP / n_used * optimizer.rate_scale
        return rate, inverse, inverse.copy()
    curvature = loss.scores_curvature(n_classes, **(loss_params or {}))
    rate = 1.0 / (curvature * n_used) * optimizer.rate_scale
    with np.errstate(over="ignore"):
        damping = 1.0 / (1.0 + alpha * rate * inverse**2)
    damping[-1] = 1.0  # the intercept is not penalized
    return rate, inverse, inverse * damping
