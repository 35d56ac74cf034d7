"""The learning rate derived from the data: ``learning_rate_init="auto"``.

Two families of optimizers need two kinds of step.

**Gradient steps** (``sgd``, ``momentum``, ``nesterov``) move the weights by
``lr`` times the gradient. Gradient descent is stable for ``lr < 2 / L``,
where ``L`` is the Lipschitz constant of the gradient; scikit-learn's SAG
solver uses ``1 / L`` with ``L = curvature * (max ||x||^2 + fit_intercept) +
alpha`` (``get_auto_step_size``). A minibatch averages ``batch_size`` rows, so
the mean squared row norm (and not the largest, which one outlying row can
make arbitrarily large) bounds the curvature of the averaged loss:
``lr = 1 / (curvature * (mean ||x||^2 + fit_intercept) + alpha)``. The
curvature is that of the loss in the scores: 1/2 for the softmax
cross-entropy (the largest eigenvalue of ``diag(p) - p p^T``), 2 per
squared-hinge term. The hinge is not smooth; its subgradient has the
scale of the squared hinge's at unit violation, so it gets the squared
hinge's step. Momentum multiplies the effective step by ``1 / (1 -
momentum)``, which the rate divides out.

**Normalized steps** (``adam``, ``rmsprop``, ``adagrad``, and the
perturbations of ``random_search``) move every coordinate by about ``lr``
whatever the gradient's scale, so a step changes the score of a row by
about ``lr * ||x||_1``. The rate is the one that moves scores by a fixed
amount: ``lr = scale / mean(||x||_1 + fit_intercept)``. It shrinks as the
number and the scale of the features grow. AdaGrad's steps shrink with the
square root of the steps taken, so it starts ten times larger.
"""

import numpy as np
import scipy.sparse as sp

# Score change of one normalized step (adam, rmsprop, random search).
_SCORE_STEP = 0.1
_ADAGRAD_FACTOR = 10.0
_STATISTICS_ROWS = 2000


def row_scales(X):
    """Mean squared Euclidean norm and mean L1 norm of the rows of ``X``.

    Both are computed in float64 on up to 2000 evenly spaced rows (all rows
    when fewer), which is enough for a mean and draws no random numbers.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Data.

    Returns
    -------
    mean_squared_norm : float
        Mean of ``||x||_2^2``.
    mean_l1_norm : float
        Mean of ``||x||_1``.

    Examples
    --------
    >>> import numpy as np
    >>> row_scales(np.array([[3.0, 4.0], [0.0, 0.0]]))
    (12.5, 3.5)
    """
    n_rows = X.shape[0]
    if n_rows > _STATISTICS_ROWS:
        X = X[np.linspace(0, n_rows - 1, _STATISTICS_ROWS).astype(np.intp)]
    if sp.issparse(X):
        values = np.abs(X.data.astype(np.float64))
        X = sp.csr_matrix((values, X.indices, X.indptr), shape=X.shape)
        squared = np.asarray(X.multiply(X).sum(axis=1)).ravel()
        l1 = np.asarray(X.sum(axis=1)).ravel()
    else:
        X = np.abs(np.asarray(X, dtype=np.float64))
        # Dividing by the largest value keeps the squares from overflowing.
        peak = X.max(initial=0.0)
        if peak > 0:
            X = X / peak
        squared = np.einsum("ij,ij->i", X, X) * peak**2
        l1 = X.sum(axis=1) * peak
    return float(squared.mean()), float(l1.mean())


def auto_learning_rate(
    X,
    *,
    optimizer,
    loss,
    n_classes,
    alpha=0.0,
    fit_intercept=True,
    momentum=0.9,
    multi_class="weston_watkins",
):
    """The learning rate ``learning_rate_init="auto"`` stands for.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data.
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
    float

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((500, 100))
    >>> lr = auto_learning_rate(X, optimizer="sgd", loss="log_loss", n_classes=3)
    >>> round(1 / lr, -1)  # 1/2 * (E||x||^2 + 1), E||x||^2 = 100
    50.0
    """
    mean_squared_norm, mean_l1_norm = row_scales(X)
    intercept = float(fit_intercept)
    if optimizer in ("adam", "rmsprop", "adagrad", "random_search"):
        scale = mean_l1_norm + intercept
        lr = _SCORE_STEP / scale if scale > 0 else _SCORE_STEP
        return lr * _ADAGRAD_FACTOR if optimizer == "adagrad" else lr
    if loss == "log_loss":
        curvature = 0.5
    else:
        n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
        curvature = 2.0 * (n_terms + 1)
    lipschitz = curvature * (mean_squared_norm + intercept) + alpha
    lr = 1.0 / lipschitz if lipschitz > 0 else 1.0
    if optimizer in ("momentum", "nesterov"):
        lr *= 1.0 - momentum
    return lr
