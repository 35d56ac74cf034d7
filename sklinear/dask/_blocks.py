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
from .._recipe import models_objective, models_optimizer


class BlockSpec:
    """How a worker rebuilds the objective and optimizer of a fit of ``K`` models.

    Parameters
    ----------
    models : list of sklinear._recipe.ModelSpec
        The hyperparameters of the models (one for a plain fit; a search's
        candidates times folds).
    n_classes : int
        Number of classes.
    offset : ndarray or None
        Center of the data (see :class:`sklinear._engine.LinearObjective`).
    dtype : dtype
        Dtype of the parameters.
    batch_size : int
        Rows per minibatch, as the plain fit chooses them for the whole
        training data (a block's part may hold fewer).
    weight_columns : ndarray of int, default=None
        The blocks' weight columns of these models, where they are some of
        the models the blocks were placed with (the running models of a
        search, :func:`sklinear._recipe.running_part`); None for all.
    """

    def __init__(
        self, models, n_classes, offset, dtype, batch_size, weight_columns=None
    ):
        self.models = list(models)
        self.n_classes = n_classes
        self.offset = offset
        self.dtype = np.dtype(dtype)
        self.batch_size = batch_size
        self.weight_columns = weight_columns

    @property
    def model(self):
        """The first model (that of a plain fit)."""
        return self.models[0]

    def objective(self, penalty=True):
        """The objective, as the recipe builds it; without the penalty for sums."""
        models = self.models
        if not penalty:
            models = [m.with_params(penalty=None, max_norm=None) for m in models]
        return models_objective(models, self.n_classes, self.offset, self.dtype)

    def optimizer(self):
        """The optimizer, as the recipe builds it."""
        return models_optimizer(self.models, self.n_classes, self.dtype)


def train_block(state, spec, lr, preconditioner, X, y_index, weight, rows, frozen):
    """One epoch of minibatch steps over the training ``rows`` of one block.

    Parameters
    ----------
    state : sklinear._engine.TrainState
        Where to start; updated (a copy on the worker) and returned.
    spec : BlockSpec
        The objective and optimizer.
    lr : ndarray
        Learning rate of this epoch (per column).
    preconditioner : sklinear._engine.Preconditioner or None
        Diagonal change of variables.
    X : ndarray of shape (n_rows, n_features)
        The block.
    y_index : ndarray of shape (n_rows,)
        Class indices of its rows.
    weight : ndarray of shape (n_rows,) or (n_rows, K)
        Sample weights of its rows (a column per model).
    rows : ndarray of int or None
        Its training rows (None: all).
    frozen : ndarray of bool of shape (K,)
        Models left unchanged (stopped).

    Returns
    -------
    state : TrainState
        After the epoch.
    objective_sum : ndarray of shape (K,)
        Each model's sum over minibatches of their objective times their
        weight (0 where the model had no weight here).
    weight_sum : ndarray of shape (K,)
        Each model's sum of training weights.
    diverged : ndarray of bool of shape (K,)
        Models whose objective stopped being finite (their columns are then
        those passed in).
    """
    n_models = len(spec.models)
    if spec.weight_columns is not None and weight.ndim == 2:
        weight = np.take(weight, spec.weight_columns, axis=1)
    weight_rows = weight if rows is None else weight[rows]
    total = np.broadcast_to(
        np.asarray(weight_rows, dtype=np.float64).sum(axis=0), (n_models,)
    ).copy()
    if len(weight_rows) == 0 or not total.max() > 0:
        return state, np.zeros(n_models), total, np.zeros(n_models, dtype=bool)
    source = BatchSource(
        X,
        y_index,
        weight,
        rows,
        batch_size=min(spec.batch_size, len(weight_rows)),
        shuffle=spec.model.shuffle,
        dropout=spec.model.dropout,
    )
    epoch = state.epoch
    value, diverged = run_epoch(
        state,
        spec.objective(),
        source,
        spec.optimizer(),
        lr,
        frozen=frozen,
        preconditioner=preconditioner,
    )
    # The driver counts epochs (rounds), not blocks.
    state.epoch = epoch
    sums = np.where(total > 0, np.nan_to_num(value) * total, 0.0)
    return state, sums, total, diverged


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
    """Each model's correct predictions among ``rows``: weighted, weight, count.

    Returns
    -------
    correct_weight, weight_sum, n_correct : ndarray of shape (K,)
    """
    n_models = len(spec.models)
    if len(rows) == 0:
        return np.zeros(n_models), np.zeros(n_models), np.zeros(n_models)
    scores = spec.objective().decision(params, X[rows])
    predicted = scores.reshape(len(rows), n_models, -1).argmax(axis=2)
    correct = predicted == y_index[rows, None]
    w = np.asarray(weight[rows], dtype=np.float64).reshape(len(rows), -1)
    return (
        (correct * w).sum(axis=0),
        np.broadcast_to(w.sum(axis=0), (n_models,)).copy(),
        correct.sum(axis=0).astype(np.float64),
    )


def scores_are_finite(params, spec, X):
    """Whether each model scores every row of the block finitely (with margin)."""
    objective = spec.objective()
    return finite_scores(objective, params, X, max_row_norm(X))


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


def statistics(X, weight, peak=None, mean=None):
    """Partial sums of :func:`sklinear._learning_rate.feature_scales` on rows ``X``.

    Three passes, as in the single-machine function: the largest magnitude
    of each column (``peak`` None), then with ``peak`` the sum of the scaled
    values weighted by ``weight`` (those of the rows ``X``, sent by the
    client), then with ``mean`` too the weighted sums of the absolute and
    squared deviations.
    """
    chunk = np.asarray(X, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)[:, None]
    if peak is None:
        return np.abs(chunk).max(axis=0, initial=0.0), float(w.sum())
    chunk /= peak
    if mean is None:
        return (chunk * w).sum(axis=0)
    chunk -= mean
    return (np.abs(chunk) * w).sum(axis=0), (chunk * chunk * w).sum(axis=0)
