"""The learning rate derived from the data: ``learning_rate_init="auto"``.

The automatic rate is per feature: a diagonal preconditioner that makes the
optimization path the same whatever the scale of each feature (as if every
feature had been rescaled to unit size), so that raw pixels, pixels divided
by 255, standardized features and features of mixed units all train at the
defaults. The rate of feature ``j`` is ``learning_rate_ * row_scale[j]``.

**Gradient steps** (``sgd``, ``momentum``, ``nesterov``) move the weights by
the rate times the gradient. Gradient descent is stable below ``2 / L``,
where ``L`` is the Lipschitz constant of the gradient; scikit-learn's SAG
solver takes ``1 / L`` with ``L = curvature * (max ||x||^2 +
fit_intercept) + alpha`` (``get_auto_step_size``). Here a minibatch averages
many rows, so the mean (not the largest) squared norm bounds the curvature
of the averaged loss, and after rescaling feature ``j`` by its root mean
square ``q_j`` every row has squared norm about ``d``, the number of
non-constant-zero features (plus one for the intercept). Hence ``rate_j =
1 / (curvature * d * q_j**2 + alpha)``. The curvature is that of the loss in
the scores: 1/2 for the softmax cross-entropy (the largest eigenvalue of
``diag(p) - p p^T``), twice the number of terms for the squared hinge. The
hinge is not smooth; its subgradient has the squared hinge's scale at unit
violation, and the same rate works. Momentum multiplies the effective step
by ``1 / (1 - momentum)``, which the rate divides out.

**Normalized steps** (``adam``, ``rmsprop``, ``adagrad``, and the
perturbations of ``random_search``) move every weight by about the rate
whatever the gradient's scale, so one step changes the score of a row by
about ``sum_j rate_j |x_j|``. The rate that moves scores by a fixed amount
(0.1) is ``rate_j = 0.1 / (d * m_j)`` with ``m_j`` the mean absolute value of
feature ``j``: it shrinks as the number and the scale of the features grow.
AdaGrad's steps shrink with the square root of the steps taken, so it
starts ten times larger.

Both use the statistics of up to 2000 evenly spaced rows.
"""

import numpy as np
import scipy.sparse as sp

# Score change of one normalized step (adam, rmsprop, random search).
_SCORE_STEP = 0.1
_ADAGRAD_FACTOR = 10.0
_STATISTICS_ROWS = 2000
_CHUNK_ROWS = 128
_NORMALIZED = ("adam", "rmsprop", "adagrad", "random_search")


def _sample_rows(n_rows):
    if n_rows > _STATISTICS_ROWS:
        return np.linspace(0, n_rows - 1, _STATISTICS_ROWS).astype(np.intp)
    return np.arange(n_rows)


def feature_scales(X):
    """Mean, mean absolute deviation and standard deviation of each feature.

    Computed in float64 on up to 2000 evenly spaced rows (all rows when
    fewer): enough for a mean, and no random numbers are drawn.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Data.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        Mean of ``x_j``.
    mean_abs : ndarray of shape (n_features,)
        Mean of ``|x_j - mean_j|``.
    std : ndarray of shape (n_features,)
        Square root of the mean of ``(x_j - mean_j)**2``.

    Examples
    --------
    >>> import numpy as np
    >>> feature_scales(np.array([[3.0, 1.0], [-1.0, 1.0]]))
    (array([1., 1.]), array([2., 0.]), array([2., 0.]))
    """
    rows = _sample_rows(X.shape[0])
    n_rows = len(rows)

    def chunks():
        for start in range(0, n_rows, _CHUNK_ROWS):
            chunk = X[rows[start : start + _CHUNK_ROWS]]
            chunk = chunk.toarray() if sp.issparse(chunk) else chunk
            yield np.asarray(chunk, dtype=np.float64)

    # Dividing by each column's largest magnitude keeps the squares finite;
    # chunks keep the memory small beside X.
    peak = np.zeros(X.shape[1])
    total = np.zeros(X.shape[1])
    for chunk in chunks():
        np.maximum(peak, np.abs(chunk).max(axis=0), out=peak)
    peak[peak == 0] = 1.0
    for chunk in chunks():
        total += (chunk / peak).sum(axis=0)
    mean = total / max(n_rows, 1)
    absolute = np.zeros(X.shape[1])
    squared = np.zeros(X.shape[1])
    for chunk in chunks():
        chunk /= peak
        chunk -= mean
        absolute += np.abs(chunk).sum(axis=0)
        squared += np.einsum("ij,ij->j", chunk, chunk)
    n = max(n_rows, 1)
    return mean * peak, absolute / n * peak, np.sqrt(squared / n) * peak


def auto_learning_rate(
    scales,
    *,
    optimizer,
    loss,
    n_classes,
    alpha=0.0,
    fit_intercept=True,
    momentum=0.9,
    multi_class="weston_watkins",
):
    """The rates ``learning_rate_init="auto"`` stands for.

    Parameters
    ----------
    scales : tuple of ndarray
        The data's :func:`feature_scales`.
    optimizer : str
        Name in :data:`sklinear._optimizers.OPTIMIZERS`.
    loss : str
        Name in :data:`sklinear.losses.LOSSES`.
    n_classes : int
        Number of classes.
    alpha : float, default=0.0
        L2 strength (adds to the curvature).
    fit_intercept : bool, default=True
        Whether the intercept counts as a feature of value 1.
    momentum : float, default=0.9
        Momentum of ``"momentum"`` and ``"nesterov"``.
    multi_class : str, default="weston_watkins"
        Hinge form: Weston–Watkins sums up to ``n_classes - 1`` terms.

    Returns
    -------
    rate : float
        The rate of a feature of unit scale.
    row_scale : ndarray of shape (n_features + 1,)
        Factor of each feature's rate, the intercept's last (1).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((500, 99))
    >>> X[:, -1] = 0.0
    >>> rate, row_scale = auto_learning_rate(
    ...     feature_scales(X), optimizer="sgd", loss="log_loss", n_classes=3
    ... )
    >>> round(1 / rate)  # curvature 1/2 times 98 features plus the intercept
    50
    """
    _, mean_abs, std = scales
    scale = mean_abs if optimizer in _NORMALIZED else std
    used = scale > 0
    n_used = int(used.sum()) + int(fit_intercept)
    n_used = max(n_used, 1)
    safe = np.where(used, scale, 1.0)
    if optimizer in _NORMALIZED:
        rate = _SCORE_STEP / n_used
        if optimizer == "adagrad":
            rate *= _ADAGRAD_FACTOR
        return rate, np.append(1.0 / safe, 1.0)
    if loss == "log_loss":
        curvature = 0.5
    else:
        n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
        curvature = 2.0 * (n_terms + 1)
    rate = 1.0 / (curvature * n_used)
    if optimizer in ("momentum", "nesterov"):
        rate *= 1.0 - momentum
    # rate * row_scale_j = 1 / (curvature * d * q_j**2 + alpha), for momentum
    # scaled as the rate.
    row_scale = 1.0 / (safe**2 + alpha * rate)
    return rate, np.append(row_scale, 1.0 / (1.0 + alpha * rate))
