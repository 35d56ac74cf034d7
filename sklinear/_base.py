"""The shared estimator base: validation, the minibatch loop and probabilities.

``fit`` in one pass: validate parameters and data, encode labels, initialize
the parameters and the optimizer state, then for each epoch shuffle the rows
and for each minibatch compute ``S = X_b @ W + b``, ``loss, dS = loss(S, y_b,
w_b)``, ``G = X_b.T @ dS`` plus the L2 gradient, take the optimizer's step,
apply the L1 proximal step and the max-norm projection; after each epoch
record the objective and decide whether to stop.

Parameters live in one array ``_params`` of shape (n_features + 1,
n_classes): the weights ``W`` and, in its last row, the intercept ``b``. With
two classes the model keeps two score columns (the multinomial form) and
exposes their difference as ``coef_`` of shape (1, n_features).
"""

import copy
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._optimizers import OPTIMIZERS
from ._penalties import (
    PENALTIES,
    penalty_strengths,
    penalty_value,
    project_max_norm,
    soft_threshold,
)
from ._schedules import SCHEDULES
from .losses import LOSSES, expected_initial_loss, log_softmax

_AUTO_BATCH_SIZE = 256
_INIT_SCALE = 0.01
_MAX_TEMPERATURE_ROWS = 10_000
_SCORE_CHUNK = 512


class DivergenceError(FloatingPointError):
    """Raised when the training objective stops being finite.

    The message names the epoch and says to lower ``learning_rate_init``.
    The estimator keeps the parameters it had at the start of the diverging
    epoch, so it never holds a NaN model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear import DivergenceError, SoftmaxSGD
    >>> X = np.array([[1e30, 0.0], [0.0, 1e30]], dtype=np.float32)
    >>> try:
    ...     SoftmaxSGD(optimizer="sgd", learning_rate_init=1e10).fit(X, [0, 1])
    ... except DivergenceError as error:
    ...     print("Lower learning_rate_init" in str(error))
    True
    """


class BaseLinearSGD(ClassifierMixin, BaseEstimator):
    """Shared implementation of the linear classifiers trained by SGD.

    Subclasses set the loss through :meth:`_loss_name` and
    :meth:`_loss_params`, and whether ``predict_proba`` needs a fitted
    temperature through ``_fits_temperature``.
    """

    _fits_temperature = False

    _parameter_constraints: dict = {
        "penalty": [StrOptions({name for name in PENALTIES if name}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "fit_intercept": ["boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "lr_decay_epochs": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
            None,
        ],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "verbose": ["verbose"],
    }

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minibatch optimization over ``max_iter`` epochs.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; float32 data is trained in float32.
        y : array-like of shape (n_samples,)
            Class labels of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; the data loss is their weighted mean.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and hasattr(self, "_params")
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=not warm,
        )
        check_classification_targets(y)
        classes = np.unique(y)
        if warm and not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start=True but y has classes {classes.tolist()} while the "
                f"previous fit had {self.classes_.tolist()}; set warm_start=False."
            )
        self._check_n_classes(classes)
        self.classes_ = classes
        y_index = np.searchsorted(self.classes_, y)
        weight = self._sample_weight(X, y_index, sample_weight)
        weighted_classes = np.unique(y_index[weight > 0])
        if len(weighted_classes) < 2:
            raise ValueError(
                "Only one class has samples with a positive sample_weight "
                f"({self.classes_[weighted_classes].tolist()}); at least 2 classes "
                "are needed."
            )
        if not warm:
            self._initialize(X.shape[1], X.dtype)
        self._params = self._params.astype(X.dtype, copy=False)
        self._start_optimizer()

        train_rows, val_rows = self._split_validation(X, y_index)
        if not warm:
            self._record_initial_loss(X, y_index, weight, train_rows)
        self.loss_curve_ = []
        self.validation_scores_ = None if val_rows is None else []
        self._run_epochs(X, y_index, weight, train_rows, val_rows)
        self._finish(X, y_index, weight, train_rows, val_rows)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Take one pass (epoch) over the given data, keeping the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels; all must belong to ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem. Required on the first call, optional
            afterwards (it must then equal ``classes_``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        first_call = not hasattr(self, "_params")
        if first_call:
            self._validate_params()
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: "
                    "the list of every class of the problem."
                )
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit, which "
                    "sees only part of the data; pass a dict of class weights."
                )
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=first_call,
        )
        check_classification_targets(y)
        known = np.unique(classes) if first_call else self.classes_
        if first_call:
            self._check_n_classes(known)
        elif classes is not None and not np.array_equal(np.unique(classes), known):
            raise ValueError(
                f"classes={np.unique(classes).tolist()} differs from classes_="
                f"{known.tolist()} set on the first call to partial_fit."
            )
        unseen = np.setdiff1d(y, known)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not in classes_="
                f"{known.tolist()}; pass every class in `classes` on the first "
                "call to partial_fit."
            )
        y_index = np.searchsorted(known, y)
        if first_call:
            self.classes_ = known
            self._initialize(X.shape[1], X.dtype)
            self._start_optimizer()
            self.loss_curve_ = []
            self.validation_scores_ = None
        weight = self._sample_weight(X, y_index, sample_weight)
        if first_call:
            self._record_initial_loss(X, y_index, weight, None)
        self._params = self._params.astype(X.dtype, copy=False)
        self._start_schedule()  # honours set_params between calls
        objective = self._run_epoch(X, y_index, weight, None)
        self.loss_curve_.append(objective)
        self.n_iter_ += 1
        self._finish(X, y_index, weight, None, None)
        return self

    # ---------------------------------------------------------- fit pieces

    def _loss_name(self):
        raise NotImplementedError

    def _loss_params(self):
        return {}

    def _loss(self, scores, y, weight):
        return LOSSES[self._loss_name()](scores, y, weight, **self._loss_params())

    def _check_n_classes(self, classes):
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()}."
            )

    def _sample_weight(self, X, y_index, sample_weight):
        weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        if self.class_weight is not None:
            class_weight = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_[y_index]
            )
            weight = weight * class_weight[y_index].astype(X.dtype)
        if not weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to zero: at least one sample needs a positive "
                "weight."
            )
        return weight

    def _initialize(self, n_features, dtype):
        """Small random weights and zero intercept, the optimizer, the counters."""
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        self._rng = np.random.default_rng(seed)
        n_classes = len(self.classes_)
        params = np.zeros((n_features + 1, n_classes), dtype=dtype)
        params[:-1] = self._rng.standard_normal((n_features, n_classes)) * (
            _INIT_SCALE / np.sqrt(n_features)
        )
        self._params = params
        self._epochs_done = 0
        self.n_iter_ = 0
        self.t_ = 0

    def _make_optimizer(self):
        return OPTIMIZERS[self.optimizer](
            momentum=self.momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
        )

    def _start_optimizer(self):
        self._optimizer_state = self._make_optimizer().init(self._params)
        self._start_schedule()

    def _start_schedule(self):
        self._schedule = SCHEDULES[self.learning_rate](
            self.learning_rate_init,
            power_t=self.power_t,
            lr_decay=self.lr_decay,
            lr_decay_epochs=self.lr_decay_epochs,
        )

    def _split_validation(self, X, y_index):
        """Sorted training and validation rows; (None, None) without early stopping."""
        if not self.early_stopping:
            return None, None
        rows = np.arange(X.shape[0])
        seed = self._rng.integers(np.iinfo(np.int32).max)
        try:
            train_rows, val_rows = train_test_split(
                rows,
                test_size=self.validation_fraction,
                stratify=y_index,
                random_state=seed,
            )
        except ValueError:
            warnings.warn(
                f"early_stopping: validation_fraction={self.validation_fraction} "
                "of the data is too small to hold out every class; the validation "
                "set is drawn without stratification.",
                UserWarning,
                stacklevel=2,
            )
            train_rows, val_rows = train_test_split(
                rows, test_size=self.validation_fraction, random_state=seed
            )
        return np.sort(train_rows), np.sort(val_rows)

    def _record_initial_loss(self, X, y_index, weight, rows):
        """Data loss of the initial weights on one batch: the sanity check."""
        rows = np.arange(X.shape[0]) if rows is None else rows
        rows = np.sort(rows[: self._batch_size(len(rows))])
        scores = self._raw_scores(self._params, X[rows])
        self.initial_loss_ = float(self._loss(scores, y_index[rows], weight[rows])[0])
        self.expected_initial_loss_ = expected_initial_loss(
            self._loss_name(), len(self.classes_), **self._loss_params()
        )
        if self.verbose:
            print(
                f"Initial loss {self.initial_loss_:.4f} (expected about "
                f"{self.expected_initial_loss_:.4f} for {len(self.classes_)} classes)"
            )

    def _batch_size(self, n_rows):
        if self.batch_size is None:
            return n_rows
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_SIZE, n_rows)
        return min(self.batch_size, n_rows)

    def _run_epochs(self, X, y_index, weight, train_rows, val_rows):
        """Epochs until ``max_iter`` or the stopping criterion says enough."""
        best = np.inf
        best_params = None
        no_improvement = 0
        for _ in range(self.max_iter):
            start = time.perf_counter()
            objective = self._run_epoch(X, y_index, weight, train_rows)
            self.loss_curve_.append(objective)
            self.n_iter_ += 1
            message = f"Epoch {self.n_iter_}: objective {objective:.6f}"
            if val_rows is not None:
                score = self._validation_score(X, y_index, weight, val_rows)
                self.validation_scores_.append(score)
                message += f", validation score {score:.4f}"
                criterion = -score
            else:
                criterion = objective
            if self.verbose:
                print(f"{message}, time {time.perf_counter() - start:.2f}s")
            if self.tol is not None and criterion > best - self.tol:
                no_improvement += 1
            else:
                no_improvement = 0
            if val_rows is not None and criterion <= best:
                # On ties keep the later epoch: same accuracy, lower training loss.
                best_params = self._params.copy()
            best = min(best, criterion)
            if no_improvement >= self.n_iter_no_change:
                if self._schedule.on_plateau():
                    no_improvement = 0
                    continue
                break
        else:
            if self.tol is not None:
                warnings.warn(
                    f"{type(self).__name__} reached max_iter={self.max_iter} epochs "
                    "before the stopping criterion was met; increase max_iter.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        if best_params is not None:
            self._params = best_params
            self.best_validation_score_ = -best
        self.best_loss_ = best if val_rows is None else None

    def _run_epoch(self, X, y_index, weight, rows):
        """One pass over ``rows`` (None: every row); returns the epoch objective.

        If the objective stops being finite, the parameters and optimizer state
        of the epoch's start are restored before :class:`DivergenceError` is
        raised, so the estimator never holds a NaN model.
        """
        snapshot = self._params.copy(), copy.deepcopy(self._optimizer_state)
        try:
            # Overflow shows up in the objective, which _descend checks.
            with np.errstate(over="ignore", invalid="ignore"):
                objective = self._descend(X, y_index, weight, rows)
        except DivergenceError:
            self._params[...], self._optimizer_state = snapshot
            raise
        self._epochs_done += 1
        self.t_ += X.shape[0] if rows is None else len(rows)
        return objective

    def _descend(self, X, y_index, weight, rows):
        """Optimizer steps over the epoch's minibatches; returns their mean objective.

        The mean is weighted by each minibatch's total sample weight.
        """
        lr = self._schedule(self._epochs_done)
        l2, l1 = penalty_strengths(self.penalty, self.alpha, self.l1_ratio)
        optimizer = self._make_optimizer()
        params = self._params
        grad = np.zeros_like(params)
        total, total_weight = 0.0, 0.0
        for X_batch, y_batch, w_batch in self._minibatches(X, y_index, weight, rows):
            batch_weight = float(w_batch.sum())
            if batch_weight == 0:
                continue
            objective = self._step(
                optimizer, params, grad, X_batch, y_batch, w_batch, lr, l2, l1
            )
            total += batch_weight * objective
            total_weight += batch_weight
        epoch_objective = total / total_weight
        if not (np.isfinite(epoch_objective) and np.isfinite(params).all()):
            self._diverged()
        return epoch_objective

    def _minibatches(self, X, y_index, weight, rows):
        """Yield ``(X_batch, y_batch, w_batch)``, shuffled if ``shuffle``.

        Unshuffled batches of all rows are views of ``X``; otherwise the rows of
        a batch are gathered (in increasing order, for memory locality) into
        one reused buffer, so that an epoch never copies ``X`` as a whole.
        Dropout is applied to the batch here.
        """
        n_rows = X.shape[0] if rows is None else len(rows)
        batch_size = self._batch_size(n_rows)
        if self.shuffle and batch_size < n_rows:
            rows = self._rng.permutation(n_rows if rows is None else rows)
        buffer = None
        if rows is not None and not sp.issparse(X):
            buffer = np.empty((batch_size, X.shape[1]), dtype=X.dtype)
        for start in range(0, n_rows, batch_size):
            if rows is None:
                batch = slice(start, start + batch_size)
                X_batch = X[batch]
            else:
                batch = np.sort(rows[start : start + batch_size])
                if buffer is None:
                    X_batch = X[batch]
                else:
                    # mode="clip" (indices are valid) lets take write straight
                    # into `out`; the default mode goes through a temporary.
                    X_batch = np.take(
                        X, batch, axis=0, out=buffer[: len(batch)], mode="clip"
                    )
            if self.dropout:
                X_batch = self._drop_features(X_batch, in_place=buffer is not None)
            yield X_batch, y_index[batch], weight[batch]

    def _step(self, optimizer, params, grad, X_batch, y_batch, w_batch, lr, l2, l1):
        """One optimizer step on one minibatch; returns its objective."""
        if optimizer.uses_gradient:
            objective = self._objective_and_gradient(
                params, X_batch, y_batch, w_batch, l2, out=grad
            )
            if not np.isfinite(objective):
                self._diverged()
            update, self._optimizer_state = optimizer.update(
                grad, self._optimizer_state, lr
            )
        else:

            def batch_objective(candidate):
                return self._objective_and_gradient(
                    candidate, X_batch, y_batch, w_batch, l2, out=None
                ) + penalty_value(candidate[:-1], 0.0, l1)

            objective = self._objective_and_gradient(
                params, X_batch, y_batch, w_batch, l2, out=None
            )
            update, self._optimizer_state = optimizer.update(
                None,
                self._optimizer_state,
                lr,
                params=params,
                objective=batch_objective,
                random_state=self._rng,
            )
        objective += penalty_value(params[:-1], 0.0, l1)
        params += update
        if not self.fit_intercept:
            params[-1] = 0.0
        if l1:
            step_size = optimizer.step_size(self._optimizer_state, lr)
            if np.ndim(step_size):
                step_size = step_size[:-1]
            soft_threshold(params[:-1], l1 * step_size)
        if self.max_norm is not None:
            project_max_norm(params[:-1], self.max_norm)
        return float(objective)

    def _objective_and_gradient(self, params, X, y_index, weight, l2, out):
        """Smooth objective (data loss + L2) and, if ``out`` is given, its gradient.

        ``out`` has the shape of ``params`` and receives the gradient with
        respect to the weights and, in its last row, the intercept.
        """
        scores = self._raw_scores(params, X)
        loss, dscores = self._loss(scores, y_index, weight)
        W = params[:-1]
        objective = float(loss) + penalty_value(W, l2, 0.0)
        if out is not None:
            if sp.issparse(X):
                out[:-1] = X.T @ dscores
            else:
                np.dot(X.T, dscores, out=out[:-1])
            if l2:
                out[:-1] += l2 * W
            out[-1] = dscores.sum(axis=0) if self.fit_intercept else 0.0
        return objective

    @staticmethod
    def _raw_scores(params, X):
        scores = X @ params[:-1]
        scores += params[-1]
        return np.asarray(scores)

    def _drop_features(self, X_batch, in_place):
        """Inverted dropout of input features: zero each with probability p."""
        keep = 1.0 - self.dropout
        if sp.issparse(X_batch):
            X_batch = X_batch.copy()
            mask = self._rng.random(X_batch.nnz, dtype=X_batch.dtype) < keep
            X_batch.data *= mask / np.asarray(keep, dtype=X_batch.dtype)
            return X_batch
        mask = self._rng.random(X_batch.shape, dtype=X_batch.dtype) < keep
        if not in_place:
            X_batch = X_batch.copy()
        X_batch *= mask
        X_batch *= X_batch.dtype.type(1.0 / keep)
        return X_batch

    def _diverged(self):
        raise DivergenceError(
            f"The training objective of {type(self).__name__} became non-finite "
            f"(NaN or inf) in epoch {self._epochs_done + 1}: the optimization "
            f"diverged. Lower learning_rate_init (now {self.learning_rate_init}) "
            "or standardize the features (e.g. StandardScaler)."
        )

    def _validation_score(self, X, y_index, weight, rows):
        correct = self._scores_of_rows(X, rows).argmax(axis=1) == y_index[rows]
        if not weight[rows].sum() > 0:
            return float(correct.mean())
        return float(np.average(correct, weights=weight[rows]))

    def _scores_of_rows(self, X, rows):
        """Raw scores of ``X[rows]``, gathered in chunks to avoid copying X."""
        return np.concatenate(
            [
                self._raw_scores(self._params, X[rows[start : start + _SCORE_CHUNK]])
                for start in range(0, len(rows), _SCORE_CHUNK)
            ]
        )

    def _finish(self, X, y_index, weight, train_rows, val_rows):
        """Public coefficients from the parameters, then the temperature."""
        W, b = self._params[:-1], self._params[-1]
        if len(self.classes_) == 2:
            self.coef_ = (W[:, 1] - W[:, 0])[None, :]
            self.intercept_ = np.atleast_1d(b[1] - b[0])
        else:
            self.coef_ = np.ascontiguousarray(W.T)
            self.intercept_ = b.copy()
        if self._fits_temperature:
            rows = val_rows
            if rows is None:
                rows = np.arange(X.shape[0]) if train_rows is None else train_rows
                if len(rows) > _MAX_TEMPERATURE_ROWS:
                    rows = np.sort(self._rng.choice(rows, _MAX_TEMPERATURE_ROWS, False))
            self.temperature_ = self._fit_temperature(
                self._scores_of_rows(X, rows), y_index[rows], weight[rows]
            )

    def _fit_temperature(self, scores, y_index, weight):
        """Temperature minimizing the log-loss of ``softmax(scores / T)``.

        As in Platt scaling, the targets are smoothed: the correct class gets
        ``1 - 1 / (N + 2)`` for ``N`` rows (weighted), the rest is shared by the
        other classes. On separable training data the plain log-loss would
        drive ``T`` to zero; the smoothed one has a finite optimum and tends
        to the plain one as ``N`` grows. (Platt smooths by class size; with
        many classes and a small validation split that makes the
        probabilities underconfident.)
        """
        scores = scores.astype(np.float64)
        n_classes = scores.shape[1]
        weight = weight.astype(np.float64)
        smoothing = 1.0 / (weight.sum() + 2.0)
        targets = np.full(scores.shape, smoothing / (n_classes - 1))
        targets[np.arange(len(y_index)), y_index] = 1.0 - smoothing
        targets *= (weight / weight.sum())[:, None]

        def log_loss(log_temperature):
            return -np.vdot(targets, log_softmax(scores / np.exp(log_temperature)))

        spread = float(np.std(scores)) or 1.0
        bounds = (np.log(spread) - np.log(1e4), np.log(spread) + np.log(1e4))
        result = minimize_scalar(
            log_loss, bounds=bounds, method="bounded", options={"xatol": 1e-10}
        )
        return float(np.exp(result.x))

    # ---------------------------------------------------------- prediction

    def decision_function(self, X):
        """Class scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes)
            With two classes, the score of ``classes_[1]`` minus that of
            ``classes_[0]``; otherwise one score per class.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=False
        )
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def _scores(self, X):
        """One score column per class, also for two classes."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        return scores

    def predict(self, X):
        """Predict the class with the highest score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples,)
            Predicted labels, taken from ``classes_``.
        """
        best = self._scores(X).argmax(axis=1)
        return self.classes_[best]

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        return log_softmax(self._scores(X) / getattr(self, "temperature_", 1.0))

    def predict_proba(self, X):
        """Class probabilities: the softmax of the (temperature-scaled) scores.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Rows sum to one; the argmax of each row is :meth:`predict`.
        """
        return np.exp(self.predict_log_proba(X))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.poor_score = self.optimizer == "random_search"
        return tags
