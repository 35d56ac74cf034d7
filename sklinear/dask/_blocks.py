"""What runs on the workers: the engine applied to one block of rows.

Every function takes a block (a NumPy array of rows of ``X``, with the
class indices, sample weights and the block's training rows) and small
arguments (parameters, the plain estimator that defines the objective), and
returns small results: parameters, sums of shape (n_features + 1, n_classes)
or less, scores of a few rows. Nothing here imports dask, so the functions
can be unit-tested on their own.
"""

import numpy as np

from .._base import max_row_norm
from .._engine import BatchSource, finite_scores, run_epoch


class BlockSpec:
    """How a worker rebuilds the objective and optimizer of a fit.

    Parameters
    ----------
    model : sklinear._recipe.ModelSpec
        The hyperparameters of the model.
    n_classes : int
        Number of classes.
    offset : ndarray of shape (n_features,) or None
        Center of the data (see :class:`sklinear._engine.LinearObjective`).
    """

    def __init__(self, model, n_classes, offset):
        self.model = model
        self.n_classes = n_classes
        self.offset = offset

    def objective(self, penalty=True):
        """The objective; without the penalty for per-block sums."""
        model = self.model if penalty else self.model.with_params(penalty=None)
        if not penalty:
            model = model.with_params(max_norm=None)
        return model.objective(self.n_classes, self.offset)

    def optimizer(self):
        """The optimizer."""
        return self.model.make_optimizer()


def train_block(state, spec, lr, preconditioner, X, y_index, weight, rows):
    """One epoch of minibatch steps over the training ``rows`` of one block.

    Parameters
    ----------
    state : sklinear._engine.TrainState
        Where to start; updated (a copy on the worker) and returned.
    spec : BlockSpec
        The objective and optimizer.
    lr : float
        Learning rate of this epoch.
    preconditioner : sklinear._engine.Preconditioner or None
        Diagonal change of variables.
    X : ndarray of shape (n_rows, n_features)
        The block.
    y_index, weight : ndarray of shape (n_rows,)
        Class indices and sample weights of its rows.
    rows : ndarray of int or None
        Its training rows (None: all).

    Returns
    -------
    state : TrainState
        After the epoch.
    objective_sum : float
        Sum over minibatches of their objective times their weight.
    weight_sum : float
        Sum of the training weights.
    diverged : bool
        Whether the objective stopped being finite (the state is then the
        one passed in).
    """
    model = spec.model
    n_rows = X.shape[0] if rows is None else len(rows)
    if n_rows == 0 or not weight[rows if rows is not None else slice(None)].sum() > 0:
        return state, 0.0, 0.0, False
    source = BatchSource(
        X,
        y_index,
        weight,
        rows,
        batch_size=model.rows_per_batch(n_rows),
        shuffle=model.shuffle,
        dropout=model.dropout,
    )
    epoch = state.epoch
    value, diverged = run_epoch(
        state,
        spec.objective(),
        source,
        spec.optimizer(),
        lr,
        preconditioner=preconditioner,
    )
    # The driver counts epochs (rounds), not blocks.
    state.epoch = epoch
    total = float(
        weight[rows if rows is not None else slice(None)].sum(dtype=np.float64)
    )
    return state, float(value[0]) * total, total, bool(diverged[0])


def gradient_sums(params, spec, X, y_index, weight, rows):
    """Weighted sums of the data loss and its gradient over the training rows.

    Returns
    -------
    loss_sum : float
        ``sum(w_i * L_i)``.
    grad_sum : ndarray of the shape of ``params``
        Its gradient.
    weight_sum : float
        ``sum(w_i)``.
    """
    if rows is not None:
        X, y_index, weight = X[rows], y_index[rows], weight[rows]
    total = float(weight.sum(dtype=np.float64))
    grad = np.zeros_like(params)
    if not total > 0:
        return 0.0, grad, 0.0
    value = spec.objective(penalty=False).value_and_grad(
        params, X, y_index, weight, out=grad
    )
    grad *= params.dtype.type(total)
    return float(value[0]) * total, grad, total


def scores(params, spec, X, rows):
    """Scores of ``X[rows]``."""
    return spec.objective().decision(params, X[rows])


def accuracy_sums(params, spec, X, y_index, weight, rows):
    """Weighted count of correct predictions among ``rows``, and their weight."""
    if len(rows) == 0:
        return 0.0, 0.0, 0
    predicted = spec.objective().decision(params, X[rows]).argmax(axis=1)
    correct = predicted == y_index[rows]
    w = weight[rows].astype(np.float64)
    return float(w @ correct), float(w.sum()), int(correct.sum())


def scores_are_finite(params, spec, X):
    """Whether every row of the block scores finitely (with margin)."""
    objective = spec.objective()
    return bool(finite_scores(objective, params, X, max_row_norm(X))[0])


def block_problem(X):
    """Why the block cannot be trained on, or None: its type, NaN or infinity.

    Returns
    -------
    None or tuple
        ``("type", class)`` for a block that is not a NumPy array (a sparse
        matrix, ...), ``("nan", row)`` or ``("inf", row)`` with the first
        local row holding such a value.
    """
    if not isinstance(X, np.ndarray):
        return "type", type(X)
    if X.dtype.kind not in "fc":
        return None
    with np.errstate(over="ignore"):
        if np.isfinite(X.sum()):  # the fast path, as scikit-learn's check
            return None
    nan_rows = np.flatnonzero(np.isnan(X).any(axis=1))
    if len(nan_rows):
        return "nan", int(nan_rows[0])
    inf_rows = np.flatnonzero(np.isinf(X).any(axis=1))
    if len(inf_rows):
        return "inf", int(inf_rows[0])
    return None  # a sum that overflowed


def sparse_message(kind):
    """The error message for blocks of X of the type ``kind`` (not NumPy arrays)."""
    name = f"{kind.__module__}.{kind.__qualname__}"
    if "sparse" not in kind.__module__:
        return (
            f"X has blocks of type {name}: DaskSGD trains on NumPy blocks only. "
            "Convert the blocks, X.map_blocks(numpy.asarray, dtype=X.dtype), "
            "before fit."
        )
    return (
        f"X has blocks of type {name}: DaskSGD trains on dense NumPy blocks "
        "only, sparse chunks are not supported. Densify the blocks, "
        "X.map_blocks(lambda block: block.toarray(), dtype=X.dtype), if "
        "they fit in the workers' memory; or fit the estimator itself, which "
        "accepts a scipy.sparse matrix, on the data gathered in one machine."
    )


def statistics(X, weight, rows, peak=None, mean=None):
    """Partial sums of :func:`sklinear._learning_rate.feature_scales` on ``rows``.

    Three passes, as in the single-machine function: the largest magnitude
    of each column (``peak`` None), then with ``peak`` the weighted sum of
    the scaled values, then with ``mean`` too the weighted sums of the
    absolute and squared deviations.
    """
    chunk = np.asarray(X[rows], dtype=np.float64)
    w = np.asarray(weight[rows], dtype=np.float64)[:, None]
    if peak is None:
        return np.abs(chunk).max(axis=0, initial=0.0), float(w.sum())
    chunk /= peak
    if mean is None:
        return (chunk * w).sum(axis=0)
    chunk -= mean
    return (np.abs(chunk) * w).sum(axis=0), (chunk * chunk * w).sum(axis=0)
