"""The training engine: objective, batches, training state and the epoch loop.

Nothing here knows about scikit-learn estimators. The parameters of ``K``
linear models over ``C`` classes live side by side in one array ``params``
of shape (n_features + 1, K * C): the weights ``W = params[:-1]`` and, in the
last row, the intercepts ``b``. Model ``k`` owns the columns ``k * C`` to
``(k + 1) * C``. One matrix product ``X_b @ W`` then scores a minibatch for
every model, and the loss, penalties and optimizer work per column, so that
per-model hyperparameters are per-column arrays. A plain estimator is the
case ``K = 1``.

One epoch (:func:`run_epoch`), for each minibatch of a :class:`BatchSource`:
``S = X_b @ W + b``; ``loss, dS = loss(S, y_b, w_b)``; ``G = X_b.T @ dS``
plus the smooth penalty's gradient (:class:`LinearObjective`); the
optimizer's update; then the penalty's proximal and projection steps. A
model whose objective stops being finite is restored to its parameters at
the start of the epoch and frozen; the others go on. :func:`train` runs
epochs until ``max_iter`` or until every model has met its stopping
criterion.

Every array of a run lives in one namespace, ``objective.xp``: NumPy, or an
array API library (PyTorch, CuPy, array-api-strict) on the data's device
(:mod:`sklinear._namespace`). The code is the same; NumPy keeps its
in-place fast paths inside the primitives (``out=`` products, gathers into
a reused buffer, scatter by index, row blocks). On NumPy the objective of
each minibatch is checked as it comes; on other namespaces the batch loop
never waits for the device: the minibatch objectives are read back and
checked once per epoch, where a model that diverged is restored alike.

On NumPy a step allocates nothing of the size of the scores or of the
parameters: the scores go into a buffer of the epoch's :class:`Workspace`,
where the loss turns them into their gradient (``Loss.in_place``), and the
elementwise work after the products runs block of rows by block (one block
for small parameters) through one scratch block.
"""

import copy
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ._elementwise import row_blocks, sums_per_column
from ._namespace import (
    device_of,
    namespace_of,
    numpy_dtype,
    to_namespace,
    to_numpy,
    widest_float,
)
from ._schedules import SCHEDULES

# Rows scored at a time where all rows of the data are scored.
SCORE_CHUNK = 512


def per_column(values, n_classes, dtype=None):
    """Per-model values repeated for each class column; scalars stay scalars.

    Parameters
    ----------
    values : float or array-like of shape (K,)
        One value per model.
    n_classes : int
        Columns per model.
    dtype : dtype, default=None
        Dtype of the returned array.

    Returns
    -------
    float or ndarray of shape (K * n_classes,)

    Examples
    --------
    >>> per_column([0.1, 0.2], 2)
    array([0.1, 0.1, 0.2, 0.2])
    >>> per_column(0.5, 3)
    0.5
    """
    if np.ndim(values) == 0:
        return values
    return np.repeat(np.asarray(values, dtype=dtype), n_classes)


class LinearObjective:
    """Data loss plus penalty of ``K`` linear models, and its gradient.

    In the spirit of scikit-learn's ``LinearModelLoss``: it owns ``X @ W +
    b``, the loss on the scores and the smooth part of the penalty.

    Parameters
    ----------
    loss : sklinear.losses.Loss
        The data loss record.
    n_classes : int
        Classes ``C`` per model.
    n_models : int, default=1
        Models ``K`` side by side.
    loss_params : dict, default=None
        Keyword arguments of the loss; values may be per-model arrays.
    penalty : list, default=()
        Penalty terms (see :mod:`sklinear._penalties`); strengths per column.
    fit_intercept : bool, default=True
        Whether the intercept row is trained (its gradient is zero if not).
    offset : ndarray of shape (n_features,) or (n_features, K * C), default=None
        Center of the data (per column): the scores are ``(X - offset) @ W +
        b``. This reparametrizes the intercept (the public one is ``b -
        offset @ W``) and leaves the objective unchanged, but makes it far
        better conditioned when the features are not centered (a direction
        along the mean no longer dwarfs the others). ``X`` is never
        centered: the correction is a product with ``offset``, a rank-one
        term.
    """

    def __init__(
        self,
        loss,
        n_classes,
        *,
        n_models=1,
        loss_params=None,
        penalty=(),
        fit_intercept=True,
        offset=None,
    ):
        self.loss = loss
        self.n_classes = n_classes
        self.n_models = n_models
        self.loss_params = loss_params or {}
        self.penalty = list(penalty)
        self.smooth_terms = [term for term in self.penalty if term.smooth]
        self.step_terms = [term for term in self.penalty if not term.smooth]
        self.fit_intercept = fit_intercept
        self.offset = offset
        self.xp = np
        self.device = "cpu"

    def place(self, xp, device, dtype):
        """Move the objective's arrays (center, strengths, margins) to ``xp``.

        Parameters
        ----------
        xp : module
            The namespace of the data (``numpy`` leaves everything as is).
        device : object
            The data's device.
        dtype : dtype of ``xp``
            The data's floating dtype.
        """
        self.xp, self.device = xp, device
        if xp is np:
            return
        self.offset = self.on_device(self.offset, dtype)
        self.loss_params = {
            name: self.on_device(value, dtype)
            if isinstance(value, np.ndarray)
            else value
            for name, value in self.loss_params.items()
        }
        for term in self.penalty:
            for name in ("strength", "radius"):
                value = getattr(term, name, None)
                if isinstance(value, np.ndarray):
                    setattr(term, name, self.on_device(value, dtype))

    def on_device(self, array, dtype=None):
        """A NumPy (or already placed) array in the objective's namespace."""
        return to_namespace(array, self.xp, self.device, dtype)

    def row_blocks(self, shape):
        """Row slices of the step's elementwise work on NumPy; None elsewhere.

        :func:`sklinear._elementwise.row_blocks` for large parameters, else
        one block of every row: on NumPy the step always runs block by
        block, with one scratch block (:meth:`scratch`), so that it
        allocates nothing and every element goes through the same
        operations whatever the blocks.
        """
        if self.xp is not np:
            return None
        return row_blocks(shape) or [slice(0, shape[0])]

    def scratch(self, shape, dtype):
        """A scratch array for the largest block of :meth:`row_blocks`, or None.

        The rows of a block ``rows`` are ``scratch[: rows.stop -
        rows.start]``. None off NumPy, where the step works on whole arrays.
        """
        blocks = self.row_blocks(shape)
        if blocks is None:
            return None
        n_rows = max(block.stop - block.start for block in blocks)
        return np.empty((n_rows, shape[1]), dtype=dtype)

    @property
    def n_columns(self):
        """``K * C``, the columns of the parameters."""
        return self.n_models * self.n_classes

    def per_model(self, column_values):
        """Sum per-column values over each model's columns: shape (K,)."""
        xp = self.xp
        if xp is np:
            values = np.asarray(column_values, dtype=np.float64)
            return values.reshape(self.n_models, self.n_classes).sum(axis=1)
        return xp.sum(
            xp.reshape(column_values, (self.n_models, self.n_classes)), axis=1
        )

    def decision(self, params, X, out=None):
        """Scores ``(X - offset) @ W + b`` of shape (n_samples, K * C).

        ``out`` (NumPy, dense ``X``): a C-contiguous array of at least
        ``n_samples`` rows and ``K * C`` columns whose first rows receive
        the scores (a buffer reused from batch to batch).
        """
        if out is not None and self.xp is np and not sp.issparse(X):
            scores = np.dot(X, params[:-1, ...], out=out[: X.shape[0]])
        else:
            scores = X @ params[:-1, ...]
            if self.xp is np:
                scores = np.asarray(scores)  # a sparse X gives np.matrix
        scores += self.intercept(params)
        return scores

    def intercept(self, params):
        """The intercepts of the uncentered data: ``b - offset @ W``."""
        if self.offset is None:
            return params[-1, ...]
        if self.offset.ndim == 2:
            if self.xp is np:
                return params[-1, ...] - np.einsum(
                    "ij,ij->j", self.offset, params[:-1, ...]
                )
            return params[-1, ...] - self.xp.sum(self.offset * params[:-1, ...], axis=0)
        return params[-1, ...] - self.offset @ params[:-1, ...]

    def value_and_grad(self, params, X, y, weight, out=None):
        """Smooth objective per model and, if ``out`` is given, its gradient.

        Parameters
        ----------
        params : ndarray of shape (n_features + 1, K * C)
            Weights and, in the last row, intercepts.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            A batch.
        y : ndarray of shape (n_samples,)
            Class indices.
        weight : ndarray of shape (n_samples,) or (n_samples, K)
            Sample weights (per model).
        out : ndarray of the shape of ``params``, default=None
            Receives the gradient with respect to the weights and, in its
            last row, the intercepts.

        Returns
        -------
        ndarray of shape (K,)
            Weighted mean data loss plus the smooth penalty, in float64.
        """
        value, column_sums = self.data_value_and_grad(params, X, y, weight, out)
        if out is None:
            return value
        blocks = self.row_blocks(params.shape)
        if blocks is None:
            W = params[:-1, ...]
            if self.offset is not None:
                self._subtract_offset_term(out[:-1, ...], column_sums)
            for term in self.smooth_terms:
                term.add_gradient(W, out[:-1, ...])
        else:
            for rows in blocks:
                self.add_terms(out, params, column_sums, rows)
        return value

    def data_value_and_grad(self, params, X, y, weight, out=None, scores_buffer=None):
        """:meth:`value_and_grad` without the centering and penalty gradients.

        Those are elementwise and are added row by row by :meth:`add_terms`
        (the engine does it while each block of rows is in cache for the
        optimizer's update). The value is complete.

        ``scores_buffer`` (NumPy): a buffer for :meth:`decision`'s ``out``;
        the loss then turns the scores into their gradient in place when its
        record allows it (``Loss.in_place``), so that the batch x classes
        work of a step runs in that one array.

        Returns
        -------
        value : ndarray of shape (K,)
            As :meth:`value_and_grad`.
        column_sums : ndarray of shape (K * C,) or None
            The sums of the score gradients over the batch (None without
            ``out``), which :meth:`add_terms` needs.
        """
        xp = self.xp
        scores = self.decision(params, X, out=scores_buffer)
        n_rows = scores.shape[0]
        if self.n_models > 1:
            scores = xp.reshape(scores, (n_rows, self.n_models, self.n_classes))
        loss, dscores = self.loss(
            scores,
            y,
            weight,
            overwrite_scores=scores_buffer is not None,
            **self.loss_params,
        )
        value = self._penalty_value(self.smooth_terms, params[:-1, ...], loss)
        if out is None:
            return value, None
        dscores = xp.reshape(dscores, (n_rows, -1))
        if xp is np and not sp.issparse(X):
            np.dot(X.T, dscores, out=out[:-1, ...])
        else:
            out[:-1, ...] = X.T @ dscores
        if xp is np and self.fit_intercept and dscores.flags.c_contiguous:
            sums = sums_per_column(dscores, out=out[-1, ...])
        else:
            sums = sums_per_column(dscores, xp=xp)
            out[-1, ...] = sums if self.fit_intercept else 0.0
        return value, sums

    def add_terms(self, grad, params, column_sums, rows, scratch=None):
        """Add the centering and smooth penalty gradients to rows ``rows``.

        Parameters
        ----------
        grad : ndarray of the shape of ``params``
            The data gradient of :meth:`data_value_and_grad`; updated in place.
        params : ndarray of shape (n_features + 1, K * C)
            The parameters it was computed at.
        column_sums : ndarray of shape (K * C,)
            From :meth:`data_value_and_grad`.
        rows : slice
            Rows of ``params`` (the intercept row, the last, takes no term).
        scratch : ndarray, default=None
            NumPy: an array of at least the block's rows and the columns of
            ``params``, which receives the terms before they are added.
        """
        rows = slice(rows.start, min(rows.stop, len(params) - 1))
        if rows.start >= rows.stop:
            return
        block = grad[rows]
        if scratch is not None:
            scratch = scratch[: rows.stop - rows.start]
        if self.offset is not None:
            offset = self.offset[rows]
            offset = offset[:, None] if offset.ndim == 1 else offset
            if scratch is None:
                block -= offset * column_sums
            elif offset.shape[1] == 1:
                # A product with an inner dimension of one: the same
                # products as broadcasting, without NumPy's buffered loop.
                block -= np.dot(offset, column_sums[None, :], out=scratch)
            else:
                block -= np.multiply(offset, column_sums, out=scratch)
        for term in self.smooth_terms:
            term.add_gradient(params[rows, ...], block, scratch=scratch)

    def _subtract_offset_term(self, grad_W, column_sums):
        """``grad_W -= offset (outer) column_sums``: the gradient of centering.

        Off NumPy, on whole arrays (NumPy adds it block by block,
        :meth:`add_terms`).
        """
        offset = self.offset if self.offset.ndim == 2 else self.offset[:, None]
        grad_W -= offset * column_sums[None, :]

    def _penalty_value(self, terms, W, start=0.0):
        """``start`` plus the terms' values, per model, as float64 of shape (K,).

        On NumPy a host array; elsewhere an array on the device (float64
        where the device has it), read back once per epoch.
        """
        xp = self.xp
        if xp is not np:
            dtype = widest_float(xp, self.device)
            value = xp.zeros(self.n_models, dtype=dtype, device=self.device)
            if not isinstance(start, (int, float)):
                start = xp.astype(xp.reshape(start, (-1,)), dtype)
            value = value + start
            for term in terms:
                value = value + xp.astype(self.per_model(term.value(W)), dtype)
            return value
        if self.n_models == 1:
            return np.array([float(start) + sum(term.total(W) for term in terms)])
        value = np.asarray(start, dtype=np.float64)
        for term in terms:
            value = value + self.per_model(term.value(W))
        return np.broadcast_to(value, (self.n_models,)).copy()

    def smooth_penalty(self, params, grad=None):
        """The smooth penalty's value per model, and its gradient added to ``grad``.

        For drivers that compute the data loss and its gradient elsewhere
        (summed over a cluster): the penalty's value and gradient exist
        here once. With ``grad`` (of the shape of ``params``), the
        penalty's gradient is added to its weight rows in place and, without
        an intercept, its intercept row is zeroed.

        Returns
        -------
        ndarray of shape (K,)
        """
        W = params[:-1, ...]
        if grad is not None:
            for term in self.smooth_terms:
                term.add_gradient(W.astype(grad.dtype, copy=False), grad[:-1, ...])
            if not self.fit_intercept:
                grad[-1, ...] = 0.0
        return self._penalty_value(self.smooth_terms, W)

    def nonsmooth_value(self, params):
        """Per-model value of the terms applied after the step (L1)."""
        return self._penalty_value(self.step_terms, params[:-1, ...])

    def value(self, params, X, y, weight):
        """Full objective per model: data loss plus the whole penalty."""
        return self.value_and_grad(params, X, y, weight) + self.nonsmooth_value(params)

    def after_step(self, params, step_size):
        """Proximal and projection steps of the penalty, in place."""
        if not self.fit_intercept:
            params[-1, ...] = 0.0
        if not self.step_terms:
            return
        size = step_size() if callable(step_size) else step_size
        if getattr(size, "ndim", 0) == 2:
            size = size[:-1, ...]
        for term in self.step_terms:
            term.after_step(params[:-1, ...], size)

    def model_columns(self, models):
        """Column mask of the models selected by the boolean mask ``models``."""
        return np.repeat(np.asarray(models, dtype=bool), self.n_classes)

    def finite_models(self, params):
        """Host mask of the models whose parameters are all finite: shape (K,)."""
        xp = self.xp
        finite = xp.all(xp.isfinite(params), axis=0)
        finite = xp.all(xp.reshape(finite, (self.n_models, self.n_classes)), axis=1)
        return np.asarray(to_numpy(finite), dtype=bool)

    def assign_columns(self, target, source, columns):
        """``target[..., columns] = source[..., columns]`` in place.

        ``columns`` is a host boolean mask over the last axis (or
        ``slice(None)``); ``source`` has the shape of ``target``. Namespaces
        without a scatter take ``where``.
        """
        if self.xp is np:
            target[..., columns] = source[..., columns]
        elif isinstance(columns, slice):
            target[...] = source
        else:
            mask = self.on_device(np.asarray(columns))
            target[...] = self.xp.where(mask, source, target)


class Batch(NamedTuple):
    """One minibatch of :meth:`BatchSource.batches`.

    Attributes
    ----------
    X, y, weight : arrays
        Its rows of the data, the class indices and the sample weights (a
        column per model with ``K > 1``).
    weight_sum : float or ndarray of shape (K,)
        Its total weight, on the host (per model with a weight column each).
    n_rows : int
        The rows it counts for averaging: its length, or with a source's
        ``keep`` the length of the whole batch it was cut from.
    """

    X: object
    y: object
    weight: object
    weight_sum: object
    n_rows: int


class BatchSource:
    """Minibatches of the training rows: shuffling, gathering and dropout.

    Unshuffled batches of all rows are views of ``X``; otherwise the rows of
    a batch are gathered (in increasing order, for memory locality) into one
    reused buffer, so that an epoch never copies ``X`` as a whole. Dropout
    zeroes input features of the batch with inverted scaling.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : ndarray of shape (n_samples,)
        Class indices.
    weight : ndarray of shape (n_samples,) or (n_samples, K)
        Sample weights (per model).
    rows : ndarray of int or None, default=None
        Training rows (sorted); None for all.
    batch_size : int or None, default=None
        Rows per batch; None for all rows (full batch).
    shuffle : bool, default=True
        Draw the rows of each epoch in a random order.
    dropout : float, default=0.0
        Probability of zeroing each input feature.
    keep : ndarray of bool of shape (n_samples,), default=None
        The rows the models of this source train on (a cross-validation
        fold's training rows): the batches are those of all training rows,
        same size, order and random draws, without the other rows, which
        weigh zero for these models. Each batch still counts its whole
        length for averaging. None keeps every row.
    """

    def __init__(
        self,
        X,
        y,
        weight,
        rows=None,
        *,
        batch_size=None,
        shuffle=True,
        dropout=0.0,
        keep=None,
    ):
        self.xp = xp = namespace_of(X)
        # The weights stay on the host too: the sums of a batch's weights
        # (which batches count, and for which models) cost no device read.
        self.host_weight = to_numpy(weight)
        if xp is not np:
            self.device = device_of(X)
            y = to_namespace(to_numpy(y), xp, self.device)
            weight = to_namespace(self.host_weight, xp, self.device)
        self.X, self.y, self.weight, self.rows = X, y, weight, rows
        self.n_rows = X.shape[0] if rows is None else len(rows)
        self.batch_size = (
            self.n_rows if batch_size is None else min(batch_size, self.n_rows)
        )
        self.shuffle = shuffle
        self.dropout = dropout
        if keep is not None and xp is not np:
            raise ValueError("BatchSource(keep=...) is for NumPy data only.")
        self.keep = keep
        # Unit weights (no sample or class weights) need no gather and no
        # sum per batch: a view of ones, and the batch's length.
        self.unit_weights = None
        if xp is np and weight.ndim == 1 and bool((weight == 1).all()):
            self.unit_weights = np.ones(self.batch_size, dtype=weight.dtype)

    @property
    def n_batches(self):
        """Minibatches per epoch."""
        return -(-self.n_rows // self.batch_size)

    def batches(self, rng):
        """Yield a :class:`Batch` per minibatch of one epoch."""
        X, rows, batch_size, keep = self.X, self.rows, self.batch_size, self.keep
        if self.shuffle and batch_size < self.n_rows:
            rows = rng.permutation(self.n_rows if rows is None else rows)
        if self.xp is not np:
            yield from self._device_batches(rows, rng)
            return
        if keep is not None and rows is None:
            rows = np.arange(self.n_rows)
        buffer = None
        # take(out=) copies the whole of an unaligned or non-contiguous X
        # first (22 ms against 0.3 ms per batch of a 12,500 x 3,072 block,
        # bench_dask's gather section): such an X is indexed instead.
        if (
            rows is not None
            and not sp.issparse(X)
            and X.flags.aligned
            and X.flags.c_contiguous
        ):
            buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        for start in range(0, self.n_rows, batch_size):
            n_batch = min(batch_size, self.n_rows - start)
            if rows is None:
                batch = slice(start, start + batch_size)
                X_batch = X[batch]
            else:
                batch = np.sort(rows[start : start + batch_size])
                if keep is not None:
                    batch = batch[keep[batch]]
                if buffer is None:
                    X_batch = X[batch]
                else:
                    # mode="clip" (indices are valid) lets take write straight
                    # into `out`; the default mode goes through a temporary.
                    X_batch = np.take(
                        X, batch, axis=0, out=buffer[: len(batch)], mode="clip"
                    )
            if self.dropout:
                X_batch = drop_features(
                    X_batch, self.dropout, rng, in_place=buffer is not None
                )
            if self.unit_weights is not None:
                n_kept = X_batch.shape[0]
                w_batch, batch_weight = self.unit_weights[:n_kept], float(n_kept)
            else:
                w_batch = self.weight[batch]
                batch_weight = _weight_sum(w_batch)
            yield Batch(X_batch, self.y[batch], w_batch, batch_weight, n_batch)

    def _device_batches(self, rows, rng):
        """:meth:`batches` on a device: the epoch's row order moves there once.

        The rows of each batch are sorted on the host, as on NumPy, so that
        the same generator gives the same batches; dropout masks are drawn
        by the same generator and moved to the device.
        """
        xp, X, batch_size = self.xp, self.X, self.batch_size
        starts = range(0, self.n_rows, batch_size)
        if rows is not None:
            order = np.concatenate(
                [np.sort(rows[start : start + batch_size]) for start in starts]
            )
            device_order = to_namespace(order, xp, self.device)
        for start in starts:
            stop = min(start + batch_size, self.n_rows)
            if rows is None:
                X_batch, y_batch = X[start:stop, ...], self.y[start:stop]
                w_batch = self.weight[start:stop, ...]
                host = self.host_weight[start:stop]
            else:
                batch = device_order[start:stop]
                X_batch = xp.take(X, batch, axis=0)
                y_batch = xp.take(self.y, batch, axis=0)
                w_batch = xp.take(self.weight, batch, axis=0)
                host = self.host_weight[order[start:stop]]
            if self.dropout:
                keep = 1.0 - self.dropout
                dtype = numpy_dtype(X_batch.dtype)
                mask = rng.random(X_batch.shape, dtype=dtype) < keep
                scale = mask.astype(dtype) * dtype.type(1.0 / keep)
                X_batch = X_batch * to_namespace(scale, xp, self.device)
            yield Batch(X_batch, y_batch, w_batch, _weight_sum(host), stop - start)


def _weight_sum(weight):
    """The total weight of a batch: a float, or one per model's column."""
    if weight.ndim == 1:
        return float(weight.sum(dtype=np.float64))
    return weight.sum(axis=0, dtype=np.float64)


def drop_features(X_batch, dropout, rng, in_place):
    """Inverted dropout of input features: zero each with probability ``dropout``."""
    keep = 1.0 - dropout
    if sp.issparse(X_batch):
        X_batch = X_batch.copy()
        mask = rng.random(X_batch.nnz, dtype=X_batch.dtype) < keep
        X_batch.data *= mask / np.asarray(keep, dtype=X_batch.dtype)
        return X_batch
    mask = rng.random(X_batch.shape, dtype=X_batch.dtype) < keep
    if not in_place:
        X_batch = X_batch.copy()
    X_batch *= mask
    X_batch *= X_batch.dtype.type(1.0 / keep)
    return X_batch


@dataclass
class TrainState:
    """Everything training changes: parameters, optimizer state, randomness.

    Attributes
    ----------
    params : ndarray of shape (n_features + 1, K * C)
        Weights and intercepts.
    optimizer_state : dict
        The optimizer's state (arrays with the columns of ``params``).
    rng : numpy.random.Generator
        Shuffling, dropout and random search.
    base_lr : ndarray of shape (K,)
        Each model's schedule base rate (the adaptive schedule lowers it).
    epoch : int
        Epochs done (the schedules' clock).
    samples : int
        Training rows seen.
    average : ndarray of the shape of ``params`` or None
        Polyak–Ruppert average of the parameters after each step, from the
        step at which ``samples`` reaches ``average_from``; None without
        averaging.
    n_averaged : ndarray of shape (K * C,) or None
        Steps in the average, per column.
    average_from : int
        Value of ``samples`` from which steps enter the average.
    """

    params: np.ndarray
    optimizer_state: dict
    rng: np.random.Generator
    base_lr: np.ndarray
    epoch: int = 0
    samples: int = 0
    average: np.ndarray | None = None
    n_averaged: np.ndarray | None = None
    average_from: int = 0

    def copy(self):
        """A deep copy, so that a failed run leaves the original intact."""
        return copy.deepcopy(self)

    def start_averaging(self, after):
        """Average the parameters of the steps from ``after`` more samples on."""
        xp = namespace_of(self.params)
        self.average = xp.zeros_like(self.params)
        self.n_averaged = xp.zeros(
            self.params.shape[1], dtype=xp.int64, device=device_of(self.params)
        )
        self.average_from = self.samples + after

    def model_params(self, step_terms=()):
        """The parameters of the models: the average where one has started.

        With a proximal L1 term, averaged weights are zero where the last
        iterate's are: the average of sparse iterates is not sparse, and the
        last iterate's zeros are those the L1 step keeps at zero.
        """
        xp = namespace_of(self.params)
        if self.average is None or not bool(xp.any(self.n_averaged > 0)):
            return self.params
        started = self.n_averaged > 0
        params = xp.where(started, self.average, self.params)
        if any(getattr(term, "sparse", False) for term in step_terms):
            if xp is np:
                params[:-1, ...][(self.params[:-1, ...] == 0) & started] = 0.0
            else:
                zero = (self.params == 0) & started
                zero[-1, ...] = False  # the intercepts are never penalized
                params = xp.where(zero, xp.zeros_like(params), params)
        return params

    def place(self, xp, device):
        """Move the parameters, optimizer state and average to ``xp``."""
        if xp is np:
            return
        self.params = to_namespace(self.params, xp, device)
        self.optimizer_state = {
            name: to_namespace(value, xp, device) if hasattr(value, "shape") else value
            for name, value in self.optimizer_state.items()
        }
        self.average = to_namespace(self.average, xp, device)
        self.n_averaged = to_namespace(self.n_averaged, xp, device)


def has_columns(value, n_columns):
    """Whether ``value`` is an array with one entry per parameter column."""
    return hasattr(value, "shape") and tuple(value.shape[-1:]) == (n_columns,)


def column_arrays(state):
    """The state arrays that have one entry per column of the parameters."""
    n_columns = state.params.shape[1]
    arrays = [state.params]
    if state.average is not None:
        arrays += [state.average, state.n_averaged]
    for value in state.optimizer_state.values():
        if has_columns(value, n_columns):
            arrays.append(value)
    return arrays


def _save_columns(state, columns):
    """Copies of the columns ``columns`` of the state's arrays.

    Whole copies off NumPy, which has no scatter to put columns back.
    """
    arrays = column_arrays(state)
    xp = namespace_of(state.params)
    if xp is np:
        return [array[..., columns].copy() for array in arrays]
    return [xp.asarray(array, copy=True) for array in arrays]


def restore_columns(state, objective, columns, saved):
    """Put ``saved`` (in :func:`column_arrays`' order) into the columns ``columns``."""
    for array, values in zip(column_arrays(state), saved, strict=True):
        if objective.xp is np:
            array[..., columns] = values
        else:
            objective.assign_columns(array, values, columns)


class Workspace(NamedTuple):
    """The arrays a minibatch step writes into, allocated once per epoch.

    Attributes
    ----------
    grad : ndarray of the shape of the parameters
        The gradient.
    scratch : ndarray of shape (block rows, K * C) or None
        One block of elementwise temporaries (NumPy; None elsewhere), see
        :meth:`LinearObjective.scratch`.
    scores : ndarray of shape (batch_size, K * C) or None
        The scores of a batch, which the loss turns into their gradient
        (NumPy with dense data; None elsewhere).
    """

    grad: np.ndarray
    scratch: np.ndarray | None = None
    scores: np.ndarray | None = None


def workspace(objective, params, batch_size, dense=True):
    """The :class:`Workspace` of an epoch over batches of ``batch_size`` rows."""
    xp = objective.xp
    grad = xp.zeros_like(params)
    if xp is not np:
        return Workspace(grad)
    scratch = objective.scratch(params.shape, params.dtype)
    scores = None
    if dense:
        scores = np.empty((batch_size, params.shape[1]), dtype=params.dtype)
    return Workspace(grad, scratch, scores)


def _step(state, objective, optimizer, space, batch, lr, preconditioner):
    """One optimizer step on one :class:`Batch`; returns each model's objective."""
    X_batch, y_batch, w_batch = batch.X, batch.y, batch.weight
    params = state.params
    if not optimizer.uses_gradient:
        return _random_search_step(
            state, objective, optimizer, batch, lr, preconditioner
        )
    column_sums = None
    if objective.row_blocks(params.shape) is None:
        value = objective.value_and_grad(
            params, X_batch, y_batch, w_batch, out=space.grad
        )
    else:
        # The centering and penalty gradients join the block loop of the step.
        value, column_sums = objective.data_value_and_grad(
            params, X_batch, y_batch, w_batch, out=space.grad,
            scores_buffer=space.scores,
        )  # fmt: skip
    return apply_gradient(
        state,
        objective,
        optimizer,
        space.grad,
        value,
        lr,
        preconditioner,
        batch.n_rows,
        column_sums=column_sums,
        scratch=space.scratch,
    )


def apply_gradient(
    state,
    objective,
    optimizer,
    grad,
    value,
    lr,
    preconditioner=None,
    n_rows=0,
    *,
    column_sums=None,
    scratch=None,
):
    """The optimizer step for a gradient already computed, in place on ``state``.

    The smooth objective's gradient ``grad`` (modified) becomes an update
    through the preconditioner and the optimizer; then the penalty's
    proximal and projection steps, and the running average. On NumPy this
    runs block of rows by block (:meth:`LinearObjective.row_blocks`).

    Parameters
    ----------
    state : TrainState
        Updated in place.
    objective : LinearObjective
        The objective (its penalty steps).
    optimizer : sklinear._optimizers.Optimizer
        A gradient optimizer.
    grad : ndarray of the shape of ``state.params``
        Gradient of the smooth objective; overwritten.
    value : ndarray of shape (K,)
        The smooth objective at ``state.params``.
    lr : float or ndarray
        Learning rate.
    preconditioner : Preconditioner, default=None
        Diagonal change of variables.
    n_rows : int, default=0
        Rows the gradient was computed on (counted for averaging).
    column_sums : ndarray of shape (K * C,), default=None
        If given, ``grad`` is the data gradient of
        :meth:`LinearObjective.data_value_and_grad`, and the centering and
        penalty gradients are added here, block by block.
    scratch : ndarray, default=None
        NumPy: :meth:`LinearObjective.scratch`, reused from step to step
        (allocated here if None).

    Returns
    -------
    ndarray of shape (K,)
        The full objective at the parameters before the step.
    """
    params = state.params
    if objective.step_terms:
        value = value + objective.nonsmooth_value(params)
    blocks = objective.row_blocks(grad.shape)
    if blocks is None:
        if column_sums is not None:
            objective.add_terms(grad, params, column_sums, slice(0, len(params)))
        rate, scale_update = _rate(lr, preconditioner, slice(None))
        if preconditioner is not None:
            grad *= preconditioner.gradient
        update, state.optimizer_state = optimizer.update(
            grad,
            state.optimizer_state,
            rate,
            params=_optimizer_params(optimizer, params, preconditioner, slice(None)),
        )
        if scale_update:
            update *= preconditioner.update
        params += update
        _finish_step(state, objective, optimizer, lr, preconditioner, n_rows, None)
        return value
    if scratch is None:
        scratch = objective.scratch(params.shape, params.dtype)
    # Without proximal or projection steps nothing comes between the
    # update and the running average, which then joins the block loop.
    fused = not objective.step_terms
    count = _average_count(state, n_rows) if fused else None
    _descend_blockwise(
        state, objective, optimizer, grad, lr, preconditioner, blocks, scratch,
        column_sums=column_sums, average_count=count,
    )  # fmt: skip
    if fused:
        objective.after_step(params, None)
    else:
        _finish_step(
            state, objective, optimizer, lr, preconditioner, n_rows, blocks, scratch
        )
    return value


def _descend_blockwise(
    state,
    objective,
    optimizer,
    grad,
    lr,
    preconditioner,
    blocks,
    scratch,
    column_sums=None,
    average_count=None,
):
    """The step, block of rows by block, each block in cache throughout.

    For each block: the centering and penalty gradients (if ``column_sums``
    is given), the preconditioner, the optimizer's update (into the scratch
    block) and its application, and the running average (if
    ``average_count`` is given). The optimizer sees each block's rows of
    the gradient and of its state arrays (views, updated in place), and its
    own copy of the per-column entries (Adam's step counts): every block
    advances them alike, and the last block's copy is kept (one block
    updates the state itself). A scalar rate
    and a preconditioner with one scale per feature make a rate per feature
    (a column), so that the update needs no pass of its own to be scaled.
    """
    params, optimizer_state = state.params, state.optimizer_state
    by_row = {
        name: isinstance(value, np.ndarray) and value.shape == params.shape
        for name, value in optimizer_state.items()
    }
    for rows in blocks:
        block_scratch = scratch[: rows.stop - rows.start]
        if column_sums is not None:
            objective.add_terms(grad, params, column_sums, rows, block_scratch)
        block_grad = grad[rows]
        rate, scale_update = _rate(lr, preconditioner, rows)
        if preconditioner is not None:
            block_grad *= preconditioner.gradient[rows]
        if len(blocks) == 1:
            given = optimizer_state
        else:
            given = {
                name: value[rows] if by_row[name] else copy.copy(value)
                for name, value in optimizer_state.items()
            }
        update, block_state = optimizer.update(
            block_grad,
            given if len(blocks) == 1 else dict(given),
            rate,
            params=_optimizer_params(optimizer, params, preconditioner, rows),
            out=block_scratch,
        )
        if scale_update:
            update *= preconditioner.update[rows, ...]
        params[rows, ...] += update
        for name, value in block_state.items():
            if by_row[name] and value is not given[name]:
                optimizer_state[name][rows] = value
        if average_count is not None:
            if not objective.fit_intercept and rows.stop >= len(params):
                params[-1, ...] = 0.0  # as after_step does before averaging
            _average_rows(state, rows, average_count, block_scratch)
    for name, value in block_state.items():
        if not by_row[name]:
            optimizer_state[name] = value


def _rate(lr, preconditioner, rows):
    """The optimizer's rate on rows ``rows``, and whether to scale its update.

    A scalar rate and a preconditioner with one update scale per feature (a
    column) make one rate per feature: the optimizer's update is then on
    the parameters' scale, with no pass of its own to rescale it. Otherwise
    the rate is ``lr`` and the update is multiplied by the scales after.
    """
    if preconditioner is None:
        return lr, False
    scale = preconditioner.update[rows, ...]
    if getattr(lr, "ndim", 0) == 0 and scale.shape[-1] == 1:
        return scale * lr, False
    return lr, True


def _optimizer_params(optimizer, params, preconditioner, rows):
    """Rows of the parameters in the optimizer's coordinates.

    The preconditioner's change of variables maps a step of the optimizer
    to ``preconditioner.update`` times it on the parameters: an optimizer
    that decays the weights itself sees them divided by that scale, so that
    its decay acts on the parameters alike with or without it. Other
    optimizers get a view (no copy).
    """
    if preconditioner is None or not optimizer.decays_weights:
        return params[rows, ...]
    return params[rows, ...] / preconditioner.update[rows, ...]


def _random_search_step(state, objective, optimizer, batch, lr, preconditioner):
    X_batch, y_batch, w_batch = batch.X, batch.y, batch.weight
    params = state.params

    def batch_objective(candidate):
        return objective.value(candidate, X_batch, y_batch, w_batch)

    value = objective.value_and_grad(params, X_batch, y_batch, w_batch)
    if preconditioner is not None:
        # Perturbations on the scale of each feature's weight; accepted or
        # not on the weights themselves.
        lr = lr * preconditioner.update
    update, state.optimizer_state = optimizer.update(
        None,
        state.optimizer_state,
        lr,
        params=params,
        objective=batch_objective,
        random_state=state.rng,
    )
    if objective.step_terms:
        value = value + objective.nonsmooth_value(params)
    params += update
    _finish_step(state, objective, optimizer, lr, None, batch.n_rows, None)
    return value


def _finish_step(
    state, objective, optimizer, lr, preconditioner, n_rows, blocks, scratch=None
):
    """After the update: the penalty's steps, then the running average."""
    objective.after_step(
        state.params,
        lambda: _step_size(optimizer, state.optimizer_state, lr, preconditioner),
    )
    count = _average_count(state, n_rows)
    if count is not None:
        for rows in blocks or [slice(None)]:
            block_scratch = None
            if scratch is not None:
                block_scratch = scratch[: rows.stop - rows.start]
            _average_rows(state, rows, count, block_scratch)


def _average_count(state, n_rows):
    """Count a step of ``n_rows`` rows: the per-column steps in the average.

    None if there is no average, or if it has not started yet; else the
    reciprocals of the counts (the average moves by a multiplication,
    faster than a division).
    """
    if state.average is None:
        return None
    state.samples += n_rows
    if state.samples < state.average_from:
        return None
    state.n_averaged += 1
    xp = namespace_of(state.n_averaged)
    counts = state.n_averaged
    if xp is np and counts[0] == counts[-1] and (counts == counts[0]).all():
        # Every column counts the same steps: a scalar, which NumPy applies
        # faster than a row broadcast over the block.
        scalar = state.params.dtype.type
        return scalar(1.0) / scalar(counts[0])
    return 1.0 / xp.astype(counts, state.params.dtype)


def _average_rows(state, rows, count, scratch=None):
    """Move the running average of rows ``rows`` towards the parameters.

    ``count`` is the reciprocal step count of :func:`_average_count`;
    ``scratch`` (NumPy) receives the difference.
    """
    average = state.average[rows, ...]
    if scratch is None:
        step = state.params[rows, ...] - average
    else:
        step = np.subtract(state.params[rows, ...], average, out=scratch)
    step *= count
    average += step


def _step_size(optimizer, optimizer_state, lr, preconditioner):
    """The optimizer's effective step per coordinate, on the weights."""
    size = optimizer.step_size(optimizer_state, lr)
    if preconditioner is None:
        return size
    return size * preconditioner.gradient * preconditioner.update


class Preconditioner(NamedTuple):
    """A diagonal change of variables of the optimizer: ``theta = w / scale``.

    The optimizer sees the gradient times ``gradient`` and its step is
    multiplied by ``update`` before it is added to the parameters. With
    ``gradient = update = 1 / s`` per feature this is the optimization of
    features rescaled to unit spread ``s``, without touching ``X``. Arrays of
    shape (n_features + 1, 1) or (n_features + 1, K * C).
    """

    gradient: np.ndarray
    update: np.ndarray


def run_epoch(
    state, objective, source, optimizer, lr, frozen=None, preconditioner=None
):
    """One pass over the minibatches of ``source``, in place on ``state``.

    Parameters
    ----------
    state : TrainState
        Updated in place.
    objective : LinearObjective
        The objective of the ``K`` models.
    source : BatchSource
        The minibatches.
    optimizer : sklinear._optimizers.Optimizer
        The update rule.
    lr : float or ndarray of shape (K * C,)
        Learning rate (per column, in the dtype of the parameters).
    frozen : ndarray of bool of shape (K,), default=None
        Models left unchanged (stopped or diverged before).
    preconditioner : Preconditioner, default=None
        Diagonal change of variables of the optimizer.

    Returns
    -------
    objective : ndarray of shape (K,)
        Each model's mean minibatch objective, weighted by the minibatches'
        total sample weight; NaN for a model that diverged.
    diverged : ndarray of bool of shape (K,)
        Models whose objective or parameters stopped being finite in this
        epoch. Their parameters and optimizer state are those of the start
        of the epoch.
    """
    n_models = objective.n_models
    xp = objective.xp
    # On NumPy each minibatch's objective is checked as it comes; on a
    # device they are read back together at the end of the epoch.
    check_each_batch = xp is np
    frozen = np.zeros(n_models, dtype=bool) if frozen is None else frozen
    diverged = np.zeros(n_models, dtype=bool)
    snapshot = _save_columns(state, slice(None))
    space = workspace(
        objective, state.params, source.batch_size, dense=not sp.issparse(source.X)
    )
    lr = objective.on_device(lr)
    total = np.zeros(n_models)
    total_weight = np.zeros(n_models)
    values, weights = [], []
    # One weight column shared by all models: a batch is active for all or
    # none, so that the bookkeeping of a batch is a few scalar operations.
    shared = source.weight.ndim == 1
    idle = objective.model_columns(frozen) if frozen.any() else None
    samples_before = state.samples
    # Overflow shows up as a non-finite objective, which is checked.
    with np.errstate(over="ignore", invalid="ignore"):
        for batch in source.batches(state.rng):
            batch_weight = batch.weight_sum
            if shared:
                if batch_weight == 0:
                    continue
                skip = idle
            else:
                active = (batch_weight > 0) & ~frozen & ~diverged
                if not active.any():
                    continue
                skip = None if active.all() else objective.model_columns(~active)
            if skip is not None:
                saved = _save_columns(state, skip)
            value = _step(state, objective, optimizer, space, batch, lr, preconditioner)
            if skip is not None:
                restore_columns(state, objective, skip, saved)
            if not check_each_batch:
                values.append(value)
                weights.append(batch_weight)
                continue
            if not np.isfinite(value).all():
                bad = ~np.isfinite(value) & ~frozen & ~diverged
                diverged |= bad
                _restore_models(state, objective, bad, snapshot)
                if (diverged | frozen).all():
                    break
                idle = objective.model_columns(frozen | diverged)
            total += batch_weight * value
            total_weight += batch_weight
        if values:
            values = to_numpy(xp.stack(values)).astype(np.float64)
            for value, batch_weight in zip(values, weights, strict=True):
                total += batch_weight * value
                total_weight += batch_weight
            diverged |= ~np.isfinite(values).all(axis=0) & ~frozen
        bad = ~frozen & ~objective.finite_models(state.params)
        diverged |= bad
        if diverged.any():
            _restore_models(state, objective, diverged, snapshot)
    state.epoch += 1
    # With averaging, _step counts the rows of each batch; skipped ones too.
    state.samples = samples_before + source.n_rows
    with np.errstate(invalid="ignore", divide="ignore"):
        epoch_objective = total / total_weight
    epoch_objective[diverged] = np.nan
    return epoch_objective, diverged


def _restore_models(state, objective, models, snapshot):
    columns = objective.model_columns(models)
    for array, values in zip(column_arrays(state), snapshot, strict=True):
        objective.assign_columns(array, values, columns)


def finite_scores(objective, params, X, max_row_norm):
    """Models whose scores are finite on every row of ``X``, with margin.

    A bound settles most cases without touching ``X``: ``|x @ w + b| <=
    ||x|| * ||w|| + |b|``. Models for which the bound is not conclusive get
    their scores computed in chunks. "With margin": every score is below a
    quarter of the dtype's largest value, so that differences of scores
    (the softmax's shift) stay finite too.

    Parameters
    ----------
    objective : LinearObjective
        Gives the layout of the models.
    params : ndarray of shape (n_features + 1, K * C)
        Parameters.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Data.
    max_row_norm : float
        Largest Euclidean norm of a row of ``X`` (may be inf if unknown).

    Returns
    -------
    ndarray of bool of shape (K,)
    """
    xp = objective.xp
    limit = float(xp.finfo(params.dtype).max) / 4
    finite = objective.finite_models(params)
    with np.errstate(over="ignore", invalid="ignore"):
        if xp is np:
            W = params[:-1, ...].astype(np.float64)
            squares = np.einsum("ij,ij->j", W, W)
            intercept = objective.intercept(params).astype(np.float64)
        else:
            # The bound's terms are read back: a row of (K * C,) values.
            squares = to_numpy(xp.sum(params[:-1, ...] * params[:-1, ...], axis=0))
            intercept = to_numpy(objective.intercept(params))
            squares, intercept = squares.astype(np.float64), intercept.astype(float)
        bound = max_row_norm * np.sqrt(squares) + np.abs(intercept)
        ok = (bound < limit).reshape(objective.n_models, -1).all(axis=1)
        ok &= finite
        unsure = ~ok & finite
        if unsure.any():
            columns = objective.model_columns(unsure)
            good = np.ones(columns.sum(), dtype=bool)
            for start in range(0, X.shape[0], SCORE_CHUNK):
                chunk = X[start : min(start + SCORE_CHUNK, X.shape[0])]
                scores = objective.decision(params, chunk)
                within = xp.all(xp.abs(scores) < limit, axis=0)
                good &= np.asarray(to_numpy(within), dtype=bool)[columns]
            ok[unsure] = good.reshape(-1, objective.n_classes).all(axis=1)
    return ok


@dataclass
class History:
    """What :func:`train` records, per model.

    Attributes
    ----------
    loss_curve : list of ndarray of shape (K,)
        Epoch objectives.
    validation_scores : list of ndarray of shape (K,) or None
        Validation scores per epoch, with a validation function.
    n_iter : ndarray of shape (K,)
        Epochs each model ran.
    converged : ndarray of bool of shape (K,)
        Models that met the stopping criterion before ``max_iter``.
    diverged : ndarray of bool of shape (K,)
        Models frozen because their objective stopped being finite.
    best : ndarray of shape (K,)
        Best criterion value (lowest objective, or lowest validation error,
        one minus the score).
    rose : ndarray of bool of shape (K,)
        Models stopped because their criterion had risen above that of
        their first epoch (not converged: the rate is too large).
    """

    loss_curve: list = field(default_factory=list)
    validation_scores: list | None = None
    n_iter: np.ndarray | None = None
    converged: np.ndarray | None = None
    diverged: np.ndarray | None = None
    best: np.ndarray | None = None
    rose: np.ndarray | None = None


def train(
    state,
    objective,
    source,
    optimizer,
    *,
    schedule="constant",
    schedule_params=None,
    max_iter=1,
    tol=None,
    n_iter_no_change=5,
    validate=None,
    stop_on_divergence=True,
    on_epoch=None,
    preconditioner=None,
    initial=None,
    epoch=None,
):
    """Epochs until ``max_iter`` or until every model meets its stopping criterion.

    A model stops when its criterion (epoch objective, or validation error
    ``1 - score``) has not improved by ``tol`` times its best value for
    ``n_iter_no_change`` epochs and its schedule cannot lower the rate any
    more. With a
    validation function each model ends with the parameters of its best
    epoch. Validation and the best parameters use the averaged parameters
    where averaging is on (:meth:`TrainState.model_params`).

    Parameters
    ----------
    state : TrainState
        Updated in place.
    objective : LinearObjective
        The objective.
    source : BatchSource
        The minibatches.
    optimizer : sklinear._optimizers.Optimizer
        The update rule.
    schedule : str, default="constant"
        Name in :data:`sklinear._schedules.SCHEDULES`.
    schedule_params : dict, default=None
        Its parameters besides the base rate.
    max_iter : int, default=1
        Epochs at most.
    tol : float or None, default=None
        Relative improvement needed (``tol`` times the best criterion so
        far); None runs ``max_iter`` epochs.
    n_iter_no_change : int, default=5
        Epochs without improvement before a model stops.
    validate : callable, default=None
        ``params -> ndarray of shape (K,)`` of validation scores (higher is
        better), called after every epoch.
    stop_on_divergence : bool, default=True
        Stop every model as soon as one diverges (one model: nothing left to
        train); otherwise only the diverged model is frozen.
    on_epoch : callable, default=None
        Called as ``on_epoch(epoch, objective, score, seconds)`` after every
        epoch (``score`` None without ``validate``).
    preconditioner : Preconditioner, default=None
        Diagonal change of variables of the optimizer (per-feature scales).
    initial : ndarray of shape (K,), default=None
        Each model's objective before training. A model whose objective
        stalls at more than twice this value (by default, twice its first
        epoch's) is stopped but not counted as converged
        (``History.rose``): its rate is too large.
    epoch : callable, default=None
        ``epoch(lr, frozen) -> (objective, diverged)``, one epoch run
        elsewhere (a round of a distributed driver, which updates ``state``
        itself) instead of :func:`run_epoch` over ``source``.

    Returns
    -------
    History
    """
    stopping = Stopping(
        state,
        objective,
        schedule=schedule,
        schedule_params=schedule_params,
        tol=tol,
        n_iter_no_change=n_iter_no_change,
        validate=validate,
        initial=initial,
    )
    if epoch is None:

        def epoch(lr, frozen):
            return run_epoch(
                state,
                objective,
                source,
                optimizer,
                lr,
                frozen=frozen,
                preconditioner=preconditioner,
            )

    for _ in range(max_iter):
        start = time.perf_counter()
        epoch_objective, diverged = epoch(stopping.learning_rate(), stopping.stopped)
        if diverged.any() and stop_on_divergence:
            stopping.record(epoch_objective, diverged, stop=True)
            break
        score = stopping.record(epoch_objective, diverged)
        if on_epoch is not None:
            on_epoch(state.epoch, epoch_objective, score, time.perf_counter() - start)
        if stopping.stopped.all():
            break
    return stopping.finish()


# An objective that stalls above this multiple of where it started rose.
_ROSE_FACTOR = 2.0


class Stopping:
    """When each of ``K`` models stops, and with which parameters.

    Owns the per-model schedules, the stopping criterion (the epoch
    objective, or the validation error ``1 - score``, must improve by
    ``tol`` times its best value within ``n_iter_no_change`` epochs, else
    the schedule lowers the rate or the model stops) and, with a validation
    function, each model's best parameters. :func:`train` and drivers that
    run epochs elsewhere (:mod:`sklinear.dask`) share it.

    Parameters
    ----------
    state : TrainState
        The training state (its ``base_lr``, ``epoch`` and parameters).
    objective : LinearObjective
        The layout of the models.
    schedule, schedule_params, tol, n_iter_no_change, validate, initial
        As in :func:`train`.
    """

    def __init__(
        self,
        state,
        objective,
        *,
        schedule="constant",
        schedule_params=None,
        tol=None,
        n_iter_no_change=5,
        validate=None,
        initial=None,
    ):
        n_models = objective.n_models
        self.state, self.objective = state, objective
        self.tol, self.n_iter_no_change, self.validate = tol, n_iter_no_change, validate
        self.schedules = [
            SCHEDULES[schedule](float(base), **(schedule_params or {}))
            for base in state.base_lr
        ]
        self.history = History(
            validation_scores=None if validate is None else [],
            n_iter=np.zeros(n_models, dtype=int),
            converged=np.zeros(n_models, dtype=bool),
            diverged=np.zeros(n_models, dtype=bool),
            best=np.full(n_models, np.inf),
            rose=np.zeros(n_models, dtype=bool),
        )
        self.stopped = np.zeros(n_models, dtype=bool)
        self.no_improvement = np.zeros(n_models, dtype=int)
        self.best_params = None
        self.first = None
        self.initial = None if initial is None else np.asarray(initial, dtype=float)

    def learning_rate(self):
        """The rate of the next epoch: a float for one model, else per column."""
        rates = [schedule(self.state.epoch) for schedule in self.schedules]
        if self.objective.n_models == 1:
            # A Python float: NumPy then computes in the data's dtype.
            return rates[0]
        dtype = numpy_dtype(self.state.params.dtype)
        return per_column(rates, self.objective.n_classes, dtype)

    def record(self, epoch_objective, diverged, stop=False):
        """Account for an epoch; returns the validation scores (or None)."""
        history = self.history
        running = ~self.stopped
        history.n_iter[running & ~diverged] += 1
        history.diverged |= diverged
        self.stopped |= diverged
        if stop:
            return None
        history.loss_curve.append(epoch_objective)
        criterion = epoch_objective
        score = None
        model_params = self.state.model_params(self.objective.step_terms)
        if self.validate is not None:
            score = self.validate(model_params)
            history.validation_scores.append(score)
            criterion = 1.0 - score  # the validation error
        improving = running & ~diverged
        if self.first is None:
            self.first = np.where(np.isfinite(criterion), np.abs(criterion), np.inf)
        if self.tol is not None:
            stalled = self._stalled(criterion)
            self.no_improvement[improving & stalled] += 1
            self.no_improvement[improving & ~stalled] = 0
        if self.validate is not None:
            better = improving & (criterion <= history.best)
            if better.any():
                # On ties keep the later epoch: same score, lower training loss.
                if self.best_params is None:
                    xp = self.objective.xp
                    self.best_params = xp.asarray(model_params, copy=True)
                columns = self.objective.model_columns(better)
                self.objective.assign_columns(self.best_params, model_params, columns)
        history.best[improving] = np.minimum(
            history.best[improving], criterion[improving]
        )
        patience = self.no_improvement >= self.n_iter_no_change
        for k in np.flatnonzero(improving & patience):
            if self.schedules[k].on_plateau():
                self.no_improvement[k] = 0
                self.state.base_lr[k] = self.schedules[k].lr
            else:
                self.stopped[k] = True
                # An objective that stalled far above where training started
                # got worse, not better: that is no convergence.
                reference = self.first if self.initial is None else self.initial
                rose = self.validate is None and (
                    epoch_objective[k] > _ROSE_FACTOR * reference[k]
                )
                history.rose[k] = rose
                history.converged[k] = not rose
        return score

    def _stalled(self, criterion):
        """Models whose criterion did not improve on the best by enough.

        The improvement needed is ``tol`` times the best value, and at least
        ``tol**2`` times the first epoch's value: a relative tolerance with a
        floor, so that a criterion that reaches zero (a separable training
        set, a perfect validation score) stalls too. Equal to the best is
        no improvement.
        """
        best = self.history.best
        finite = np.isfinite(best)
        floor = self.tol * np.where(np.isfinite(self.first), self.first, 0.0)
        needed = self.tol * np.maximum(np.abs(np.where(finite, best, 0.0)), floor)
        return finite & (criterion >= best - needed)

    def finish(self):
        """Put each model's best parameters in the state; returns the history."""
        if self.best_params is not None:
            keep = self.objective.model_columns(np.isfinite(self.history.best))
            assign = self.objective.assign_columns
            assign(self.state.params, self.best_params, keep)
            if self.state.average is not None:
                assign(self.state.average, self.best_params, keep)
        return self.history
