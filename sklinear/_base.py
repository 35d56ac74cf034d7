"""The scikit-learn side of the classifiers: validation, fitted state, prediction.

``fit`` and ``partial_fit`` share one path: validate the parameters and the
data, encode the labels, start from a fresh or a copied training state, let
the engine (:mod:`sklinear._engine`) run the epochs, check that the result
scores every training row finitely, fit the temperature of margin losses,
and only then set every fitted attribute at once. A failed call leaves the
estimator as it was.

The parameters live in ``_params`` of shape (n_features + 1, n_classes): the
weights ``W`` and, in its last row, the intercept ``b``. With two classes the
model keeps two score columns (the multinomial form) and exposes their
difference as ``coef_`` of shape (1, n_features). The fitted state holds
only arrays, Python builtins and a NumPy generator.
"""

import copy
import math
import warnings
from contextlib import contextmanager
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import row_norms
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._engine import (
    BatchSource,
    LinearObjective,
    Preconditioner,
    TrainState,
    finite_scores,
    train,
)
from ._learning_rate import (
    auto_learning_rate,
    constant_features,
    feature_scales,
    typical_row_norm,
)
from ._optimizers import OPTIMIZERS
from ._penalties import PENALTIES, penalty_strength, penalty_terms
from ._schedules import SCHEDULES
from .losses import LOSSES, expected_initial_loss, log_softmax

# The private fitted state a fit sets besides the public ``name_`` attributes
# (see ``_store`` and ``_fitted_attributes``); a refit copies, and a new
# search drops, exactly these.
FITTED_STATE = (
    "_params",
    "_optimizer_state",
    "_rng",
    "_epochs_done",
    "_final_learning_rate",
    "_average",
    "_n_averaged",
    "_average_from",
    "_preconditioner",
    "_offset",
    "_model_params",
)
_AUTO_BATCH_SIZE = 256
_INIT_SCALE = 0.01
_MAX_TEMPERATURE_ROWS = 10_000
_SCORE_CHUNK = 512


class DivergenceError(FloatingPointError):
    """Raised when the training objective stops being finite.

    The message names the epoch and says to lower ``learning_rate_init``.
    The failed ``fit`` or ``partial_fit`` leaves the estimator as it was
    before the call, so it never holds a NaN model.

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

    Subclasses choose the loss through :meth:`_loss_name` and
    :meth:`_loss_params`; the loss's record in :data:`sklinear.losses.LOSSES`
    says whether ``predict_proba`` needs a fitted temperature. The numerics
    live in :mod:`sklinear._engine`; this class validates, keeps the fitted
    state and predicts.
    """

    _parameter_constraints: dict = {
        "penalty": [StrOptions({name for name in PENALTIES if name}), None],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "max_norm": [Interval(Real, 0, None, closed="neither"), None],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "fit_intercept": ["boolean"],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "learning_rate_init": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
        ],
        "average": [
            "boolean",
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
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

        A failed fit (bad input, divergence) leaves the estimator as it was.

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
        with _restored_on_failure(self):
            self._fit(X, y, sample_weight, incremental=False)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Take one pass (epoch) over the given data, keeping the model.

        A failed call leaves the estimator as it was.

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
        with _restored_on_failure(self):
            self._fit(X, y, sample_weight, classes=classes, incremental=True)
        return self

    def _fit(self, X, y, sample_weight, *, classes=None, incremental):
        """The one path of ``fit`` and ``partial_fit``: validate, train, store.

        Training works on a copy of the state; the fitted attributes are
        set at the end, all together.
        """
        _reject_array_api(self, X)
        first_call = not hasattr(self, "_params")
        if incremental and first_call:
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
        continuing = not first_call and (incremental or self.warm_start)
        X, y = _validated_data(self, X, y, reset=not continuing)
        check_classification_targets(y)
        classes = self._check_classes(y, classes, continuing, incremental)
        y_index = np.searchsorted(classes, y)
        weight = self._sample_weight(X, y_index, sample_weight, classes)
        if not incremental:
            weighted_classes = np.unique(y_index[weight > 0])
            if len(weighted_classes) < 2:
                raise ValueError(
                    "Only one class has samples with a positive sample_weight "
                    f"({classes[weighted_classes].tolist()}); at least 2 classes "
                    "are needed."
                )

        run = self._start_training(
            X.shape,
            classes,
            X.dtype,
            feature_scales(X, weight),
            continuing,
            incremental,
        )
        state, objective = run.state, run.objective
        train_rows, val_rows = (None, None)
        if not incremental:
            train_rows, val_rows = self._split_validation(X, y_index, state.rng)
        fitted = {}
        if not continuing:
            rows = self._initial_loss_rows(X.shape[0], train_rows)
            scores = objective.decision(state.params, X[rows])
            fitted.update(
                self._initial_loss(objective, scores, y_index[rows], weight[rows])
            )
        n_iter_before = self.n_iter_ if continuing and incremental else 0
        source = BatchSource(
            X,
            y_index,
            weight,
            train_rows,
            batch_size=self._batch_size(
                X.shape[0] if train_rows is None else len(train_rows)
            ),
            shuffle=self.shuffle,
            dropout=self.dropout,
        )
        validate = None
        if val_rows is not None:

            def validate(params):
                return np.array(
                    [self._accuracy(objective, params, X, y_index, weight, val_rows)]
                )

        history = train(
            state,
            objective,
            source,
            run.optimizer,
            schedule=self.learning_rate,
            schedule_params=self._schedule_params(),
            max_iter=1 if incremental else self.max_iter,
            tol=None if incremental else self.tol,
            n_iter_no_change=self.n_iter_no_change,
            validate=validate,
            on_epoch=self._epoch_printer(n_iter_before),
            preconditioner=run.preconditioner,
            initial=None if continuing else [fitted["initial_loss_"]],
        )
        params = self._checked_params(
            history,
            run,
            lambda params: finite_scores(objective, params, X, _max_row_norm(X))[0],
        )
        fitted.update(
            self._fitted_attributes(
                history,
                run,
                params,
                lambda rows: _scores_of_rows(objective, params, X, rows),
                y_index,
                weight,
                train_rows,
                val_rows,
                incremental=incremental,
                first_call=first_call,
                n_iter_before=n_iter_before,
            )
        )
        self._store(state, fitted, classes)

    def _start_training(self, shape, classes, dtype, scales, continuing, incremental):
        """The state, objective, optimizer and rate a fit starts from.

        Parameters
        ----------
        shape : tuple of int
            ``(n_samples, n_features)`` of the training data.
        classes : ndarray
            The classes.
        dtype : dtype
            Dtype of the data (and of the parameters).
        scales : tuple of ndarray
            :func:`sklinear._learning_rate.feature_scales` of the data.
        continuing : bool
            Start from the fitted state (``warm_start`` or ``partial_fit``).
        incremental : bool
            ``partial_fit`` (keeps the optimizer state and the rate).

        Returns
        -------
        TrainingRun
        """
        n_samples, n_features = shape
        average_after = self._average_after(n_samples)
        if continuing:
            state = self._stored_state(dtype, keep_optimizer=incremental)
            offset = None if self._offset is None else self._offset.astype(dtype)
        else:
            # Training on centered features (a reparametrization of the
            # intercept) keeps uncentered data well conditioned.
            offset = scales[0].astype(dtype) if self.fit_intercept else None
            row_norm = typical_row_norm(
                scales, self._penalty_strength(), offset is not None
            )
            state = initial_state(self, n_features, len(classes), dtype, row_norm)
            state.params[:-1][constant_features(scales, self.fit_intercept)] = 0.0
        learning_rate, preconditioner = self._learning_rate(
            scales, len(classes), incremental and continuing, dtype
        )
        state.base_lr[:] = learning_rate  # honours set_params
        optimizer = self._make_optimizer()
        if not (continuing and incremental):
            state.optimizer_state = optimizer.init(state.params)
        if average_after and (state.average is None or not incremental):
            state.start_averaging(after=average_after)
        elif not average_after:
            state.average = state.n_averaged = None
        return TrainingRun(
            state,
            self._objective(len(classes), offset),
            optimizer,
            learning_rate,
            preconditioner,
            offset,
        )

    def _epoch_printer(self, n_iter_before):
        """``on_epoch`` callback printing one line per epoch when verbose."""
        done = []

        def on_epoch(epoch, value, score, seconds):
            done.append(epoch)
            if self.verbose:
                message = f"Epoch {n_iter_before + len(done)}: "
                message += f"objective {value[0]:.6f}"
                if score is not None:
                    message += f", validation score {score[0]:.4f}"
                print(f"{message}, time {seconds:.2f}s", flush=True)

        return on_epoch

    def _checked_params(self, history, run, scores_are_finite):
        """The model's parameters; DivergenceError if they score non-finitely."""
        if history.diverged.any():
            self._diverged(run.state.epoch, run.learning_rate)
        params = run.state.model_params(run.objective.step_terms)
        if not scores_are_finite(params):
            # The last step can overflow the scores without the objective,
            # checked before each step, seeing it.
            self._diverged(run.state.epoch, run.learning_rate)
        return params

    def _fitted_attributes(
        self,
        history,
        run,
        params,
        scores_of_rows,
        y_index,
        weight,
        train_rows,
        val_rows,
        *,
        incremental,
        first_call,
        n_iter_before,
    ):
        """Every fitted attribute of a successful training, in a dict.

        ``scores_of_rows(rows)`` gives the scores (of the model's
        parameters) of training rows, for the temperature of margin losses.
        """
        if history.rose is not None and history.rose.any():
            warnings.warn(
                f"{type(self).__name__} stopped with a training objective of "
                f"{float(history.loss_curve[-1][0]):.4g}, more than twice where "
                "it started: the optimization made the model worse. Lower "
                f"learning_rate_init (now {self.learning_rate_init!r}, a rate of "
                f"{run.learning_rate:.3g}) or standardize the features.",
                ConvergenceWarning,
                stacklevel=5,
            )
        elif not incremental and self.tol is not None and not history.converged.all():
            warnings.warn(
                f"{type(self).__name__} reached max_iter={self.max_iter} epochs "
                "before the stopping criterion was met; increase max_iter.",
                ConvergenceWarning,
                stacklevel=5,
            )
        fitted = {}
        curve = [float(value[0]) for value in history.loss_curve]
        fitted["loss_curve_"] = (
            self.loss_curve_ + curve if incremental and not first_call else curve
        )
        fitted["n_iter_"] = n_iter_before + int(history.n_iter[0])
        if not incremental:
            scores = history.validation_scores
            fitted["validation_scores_"] = (
                None if scores is None else [float(s[0]) for s in scores]
            )
            if val_rows is None:
                fitted["best_loss_"] = float(history.best[0])
            else:
                fitted["best_loss_"] = None
                fitted["best_validation_score_"] = float(1.0 - history.best[0])
        elif first_call:
            fitted["validation_scores_"] = None
        fitted["learning_rate_"] = run.learning_rate
        fitted["_preconditioner"] = (
            None if run.preconditioner is None else tuple(run.preconditioner)
        )
        fitted["_offset"] = run.offset
        fitted["_model_params"] = params
        fitted.update(
            self._public_parameters(
                run.objective,
                params,
                run.state.rng,
                scores_of_rows,
                y_index,
                weight,
                train_rows,
                val_rows,
            )
        )
        return fitted

    # ---------------------------------------------------------- fit pieces

    def _loss_name(self):
        raise NotImplementedError

    def _loss_params(self):
        return {}

    def _objective(self, n_classes, offset=None):
        return linear_objective(self, n_classes, offset)

    def _check_classes(self, y, classes, continuing, incremental):
        """The classes of this fit, checked against the previous ones."""
        if continuing:
            known = self.classes_
            if incremental:
                if classes is not None and not np.array_equal(
                    np.unique(classes), known
                ):
                    raise ValueError(
                        f"classes={np.unique(classes).tolist()} differs from "
                        f"classes_={known.tolist()} set on the first call to "
                        "partial_fit."
                    )
            else:
                found = np.unique(y)
                if not np.array_equal(found, known):
                    raise ValueError(
                        f"warm_start=True but y has classes {found.tolist()} while "
                        f"the previous fit had {known.tolist()}; set "
                        "warm_start=False."
                    )
        else:
            known = np.unique(classes) if incremental else np.unique(y)
            if len(known) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    f"the data, but the data contains only one class: "
                    f"{known.tolist()}."
                )
        if incremental:
            unseen = np.setdiff1d(y, known)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes_="
                    f"{known.tolist()}; pass every class in `classes` on the first "
                    "call to partial_fit."
                )
        return known

    def _sample_weight(self, X, y_index, sample_weight, classes):
        """Sample weights times class weights, rescaled so that the largest is 1.

        Only the ratios of the weights matter to the objective (its data
        loss is their weighted mean), so each factor is divided by its
        largest value: weights of 1e-300 or 1e307 (or 1e37 with float32
        data) neither underflow nor overflow in the sums of the loss, and
        a fit depends on the scale of the weights not at all.
        """
        weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        weight = _unit_scaled(weight)
        if isinstance(self.class_weight, dict):
            bad = {
                key: value
                for key, value in self.class_weight.items()
                if not (isinstance(value, Real) and np.isfinite(value) and value >= 0)
            }
            if bad:
                raise ValueError(
                    "class_weight must map classes to finite, non-negative "
                    f"weights; got {bad}."
                )
            unknown = [key for key in self.class_weight if key not in set(classes)]
            if unknown:
                raise ValueError(
                    f"class_weight has keys {unknown} that are not classes of y "
                    f"(classes: {classes.tolist()}); use the labels of y as keys."
                )
        if self.class_weight is not None:
            class_weight = compute_class_weight(
                self.class_weight, classes=classes, y=classes[y_index]
            )
            weight = _unit_scaled(weight * _unit_scaled(class_weight)[y_index])
        weight = weight.astype(X.dtype)
        if not weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to zero: at least one sample needs a positive "
                "weight."
            )
        return weight

    def _average_after(self, n_rows):
        """Samples after which averaging starts; 0 for no averaging.

        ``"auto"`` averages minibatch gradient steps: a full batch has no
        gradient noise to average out, and random search takes no steps.
        """
        steps = self._make_optimizer().uses_gradient
        if self.average == "auto":
            full_batch = self._batch_size(n_rows) >= n_rows
            return 0 if not steps or full_batch else 1
        if self.average and not steps:
            raise ValueError(
                f"average is not supported with optimizer={self.optimizer!r}, "
                "which takes no gradient steps to average; set average=False."
            )
        return int(self.average)

    def _penalty_strength(self):
        """Total strength of the L2 and L1 terms."""
        return penalty_strength(self.penalty, self.alpha, self.l1_ratio)

    def _learning_rate(self, scales, n_classes, keep, dtype):
        """``learning_rate_init``, or the rate derived from the data for "auto".

        ``keep``: a later ``partial_fit`` call keeps the rate of the first.
        """
        if self.learning_rate_init != "auto":
            return float(self.learning_rate_init), None
        if keep and hasattr(self, "learning_rate_"):
            stored = self._preconditioner
            if stored is None:
                return self.learning_rate_, None
            return self.learning_rate_, Preconditioner(
                *(array.astype(dtype, copy=False) for array in stored)
            )
        rate, gradient_scale, update_scale = auto_learning_rate(
            scales,
            optimizer=self._make_optimizer(),
            loss=LOSSES[self._loss_name()],
            n_classes=n_classes,
            alpha=self._penalty_strength(),
            fit_intercept=self.fit_intercept,
            loss_params=self._loss_params(),
        )
        if self.verbose:
            print(f"Learning rate {rate:.3g} (learning_rate_init='auto')")
        preconditioner = Preconditioner(
            gradient_scale[:, None].astype(dtype), update_scale[:, None].astype(dtype)
        )
        return rate, preconditioner

    def _stored_state(self, dtype, keep_optimizer):
        """A copy of the fitted state, in ``dtype``, to continue training from."""
        optimizer_state = copy.deepcopy(self._optimizer_state) if keep_optimizer else {}
        for name, value in optimizer_state.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                optimizer_state[name] = value.astype(dtype, copy=False)
        average = None if self._average is None else self._average.astype(dtype)
        return TrainState(
            self._params.astype(dtype),
            optimizer_state,
            copy.deepcopy(self._rng),
            np.zeros(1),
            epoch=self._epochs_done,
            samples=self.t_,
            average=average,
            n_averaged=None if average is None else self._n_averaged.copy(),
            average_from=self._average_from,
        )

    def _store(self, state, fitted, classes):
        """Set every fitted attribute at once, from a successful training."""
        self.classes_ = classes
        self._params = state.params
        self._optimizer_state = state.optimizer_state
        self._rng = state.rng
        self._epochs_done = state.epoch
        self._final_learning_rate = float(state.base_lr[0])
        self._average = state.average
        self._n_averaged = state.n_averaged
        self._average_from = state.average_from
        self.t_ = state.samples
        for name, value in fitted.items():
            setattr(self, name, value)

    def _make_optimizer(self):
        return OPTIMIZERS[self.optimizer](
            momentum=self.momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
        )

    def _schedule_params(self):
        return {
            "power_t": self.power_t,
            "lr_decay": self.lr_decay,
            "lr_decay_epochs": self.lr_decay_epochs,
        }

    def _split_validation(self, X, y_index, rng):
        """Sorted training and validation rows; (None, None) without early stopping."""
        if not self.early_stopping:
            return None, None
        rows = np.arange(X.shape[0])
        seed = rng.integers(np.iinfo(np.int32).max)
        n_classes = len(np.unique(y_index))
        n_train = X.shape[0] - math.ceil(self.validation_fraction * X.shape[0])
        if n_train < n_classes:
            raise ValueError(
                f"early_stopping: validation_fraction={self.validation_fraction} "
                f"is too large: it leaves {n_train} of {X.shape[0]} rows for "
                f"training, fewer than the {n_classes} classes. Lower "
                "validation_fraction or set early_stopping=False."
            )
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
                stacklevel=5,
            )
            train_rows, val_rows = train_test_split(
                rows, test_size=self.validation_fraction, random_state=seed
            )
        return np.sort(train_rows), np.sort(val_rows)

    def _initial_loss_rows(self, n_rows, train_rows):
        """The rows of the first batch, where the initial loss is measured."""
        rows = np.arange(n_rows) if train_rows is None else train_rows
        return np.sort(rows[: self._batch_size(len(rows))])

    def _initial_loss(self, objective, scores, y_index, weight):
        """Data loss of the initial weights on one batch: the sanity check."""
        loss = objective.loss(scores, y_index, weight, **objective.loss_params)[0]
        initial = float(loss)
        expected = expected_initial_loss(
            self._loss_name(), objective.n_classes, **self._loss_params()
        )
        if self.verbose:
            print(
                f"Initial loss {initial:.4f} (expected about "
                f"{expected:.4f} for {objective.n_classes} classes)",
                flush=True,
            )
        return {"initial_loss_": initial, "expected_initial_loss_": expected}

    def _batch_size(self, n_rows):
        if self.batch_size is None:
            return n_rows
        if self.batch_size == "auto":
            return min(_AUTO_BATCH_SIZE, n_rows)
        return min(self.batch_size, n_rows)

    def _diverged(self, epoch, rate):
        raise DivergenceError(
            f"The training objective of {type(self).__name__} became non-finite "
            f"(NaN or inf) in epoch {epoch}: the optimization diverged. Lower "
            f"learning_rate_init (now {self.learning_rate_init!r}, a rate of "
            f"{rate:.3g}) "
            "or standardize the features (e.g. StandardScaler)."
        )

    @staticmethod
    def _accuracy(objective, params, X, y_index, weight, rows):
        scores = _scores_of_rows(objective, params, X, rows)
        correct = scores.argmax(axis=1) == y_index[rows]
        if not weight[rows].sum() > 0:
            return float(correct.mean())
        return float(np.average(correct, weights=weight[rows]))

    def _public_parameters(
        self,
        objective,
        params,
        rng,
        scores_of_rows,
        y_index,
        weight,
        train_rows,
        val_rows,
    ):
        """``coef_``, ``intercept_`` and, for margin losses, ``temperature_``.

        ``train_rows`` and ``val_rows`` are None without a validation split.
        """
        W, b = params[:-1], objective.intercept(params)
        fitted = {}
        if objective.n_classes == 2:
            fitted["coef_"] = (W[:, 1] - W[:, 0])[None, :]
            fitted["intercept_"] = np.atleast_1d(b[1] - b[0])
        else:
            fitted["coef_"] = np.ascontiguousarray(W.T)
            fitted["intercept_"] = b.copy()
        if objective.loss.needs_temperature:
            rows = val_rows
            if rows is None:
                rows = np.arange(len(y_index)) if train_rows is None else train_rows
                if len(rows) > _MAX_TEMPERATURE_ROWS:
                    rows = np.sort(rng.choice(rows, _MAX_TEMPERATURE_ROWS, False))
            fitted["temperature_"] = _fit_temperature(
                scores_of_rows(rows), y_index[rows], weight[rows]
            )
        return fitted

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
        check_is_fitted(self, msg=self._not_fitted_message())
        _reject_array_api(self, X)
        X = _validated_data(self, X, reset=False)
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
        scores = self._scores(X)
        scaled = scores.astype(np.float64) / getattr(self, "temperature_", 1.0)
        # Scores too large for their differences would give NaN, not 0 or 1.
        limit = np.finfo(np.float64).max / 4
        np.clip(scaled, -limit, limit, out=scaled)
        return log_softmax(scaled).astype(scores.dtype, copy=False)

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

    def _not_fitted_message(self):
        """The message of NotFittedError; None for scikit-learn's."""
        return None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # A search without gradients is the CS231n baseline, not a solver.
        tags.classifier_tags.poor_score = not OPTIMIZERS[self.optimizer]().uses_gradient
        return tags


def linear_objective(estimator, n_classes, offset=None):
    """The training objective of an estimator's hyperparameters.

    Parameters
    ----------
    estimator : BaseLinearSGD
        Its loss, penalty and ``fit_intercept`` are read.
    n_classes : int
        Number of classes.
    offset : ndarray of shape (n_features,), default=None
        Center of the data the intercept is relative to.

    Returns
    -------
    sklinear._engine.LinearObjective
    """
    return LinearObjective(
        LOSSES[estimator._loss_name()],
        n_classes,
        loss_params=estimator._loss_params(),
        penalty=penalty_terms(
            estimator.penalty, estimator.alpha, estimator.l1_ratio, estimator.max_norm
        ),
        fit_intercept=estimator.fit_intercept,
        offset=offset,
    )


def initial_state(estimator, n_features, n_classes, dtype, row_norm):
    """Small random weights, zero intercept and a generator seeded by ``random_state``.

    The weights are drawn so that the scores of a typical row are about
    0.01: the initial loss is then the one the CS231n sanity check expects,
    whatever the scale of the data.

    Parameters
    ----------
    estimator : BaseLinearSGD
        Its ``random_state`` is read.
    n_features, n_classes : int
        Shape of the weights.
    dtype : dtype
        Dtype of the parameters.
    row_norm : float
        Norm of a typical row: the root of the mean squared norm (see
        :func:`sklinear._learning_rate.feature_scales`).

    Returns
    -------
    sklinear._engine.TrainState
        With an empty optimizer state.
    """
    seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    params = np.zeros((n_features + 1, n_classes), dtype=dtype)
    scale = row_norm if 0 < row_norm < np.inf else 1.0
    params[:-1] = rng.standard_normal((n_features, n_classes)) * (_INIT_SCALE / scale)
    return TrainState(params, {}, rng, np.zeros(1))


class TrainingRun(NamedTuple):
    """What a fit trains with: see :meth:`BaseLinearSGD._start_training`."""

    state: TrainState
    objective: LinearObjective
    optimizer: object
    learning_rate: float
    preconditioner: Preconditioner | None
    offset: np.ndarray | None


def _reject_array_api(estimator, X):
    """A clear error for array API inputs (torch, cupy, ...) under dispatch.

    The engine computes with NumPy; rather than fail deep in scikit-learn's
    validation, say so and how to convert.
    """
    if not get_config().get("array_api_dispatch", False):
        return
    if isinstance(X, np.ndarray) or sp.issparse(X) or hasattr(X, "columns"):
        return
    if hasattr(X, "__array_namespace__"):
        kind = f"{type(X).__module__}.{type(X).__qualname__}"
        raise TypeError(
            f"{type(estimator).__name__} computes with NumPy and does not support "
            f"array API inputs yet (got {kind} with "
            "sklearn.set_config(array_api_dispatch=True)). Convert the data "
            "with numpy.asarray(X) (for torch: X.cpu().numpy()) before this step."
        )


def _validated_data(estimator, X, y="no_validation", reset=True):
    """``validate_data`` with the estimators' options and clear messages.

    As ``validate_data``: with ``y`` (even None, which it refuses), returns
    ``X, y``; without, ``X``. Labels of mixed types and data frame columns
    that are not numbers get errors that name them.
    """
    options = {"accept_sparse": "csr", "dtype": [np.float64, np.float32]}
    if isinstance(y, str) and y == "no_validation":
        try:
            return validate_data(estimator, X, reset=reset, **options)
        except (ValueError, TypeError) as error:
            _raise_for_non_numeric_column(estimator, X, error)
            raise
    if y is not None:
        y = _checked_labels(y)
    try:
        return validate_data(estimator, X, y, reset=reset, order="C", **options)
    except (ValueError, TypeError) as error:
        _raise_for_non_numeric_column(estimator, X, error)
        raise


def _raise_for_non_numeric_column(estimator, X, error):
    """Raise an error naming the first column of a data frame ``X`` not numeric."""
    column = _non_numeric_column(X)
    if column is None:
        return
    name, dtype = column
    raise ValueError(
        f"Column {name!r} of X (dtype {dtype}) is not numeric: "
        f"{type(estimator).__name__} needs numbers. Encode it first, e.g. "
        "with OneHotEncoder or OrdinalEncoder in a ColumnTransformer."
    ) from error


def _non_numeric_column(X):
    """The name and dtype of the first data frame column not convertible to float."""
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "__getitem__"):
        return None
    for name in list(columns):
        try:
            column = X[name]
            np.asarray(
                column.to_numpy() if hasattr(column, "to_numpy") else column,
                dtype=np.float64,
            )
        except (ValueError, TypeError):
            return name, getattr(column, "dtype", "unknown")
    return None


def _checked_labels(y):
    """``y`` unchanged, or an error naming the label types if they are mixed."""
    if (
        isinstance(y, (list, tuple))
        or getattr(getattr(y, "dtype", None), "kind", "") == "O"
    ):
        values = np.asarray(y, dtype=object).ravel()
        kinds = {_label_kind(value) for value in values}
        if len(kinds) > 1:
            examples = {}
            for value in values:
                examples.setdefault(_label_kind(value), value)
            shown = ", ".join(f"{kind} ({examples[kind]!r})" for kind in sorted(kinds))
            raise ValueError(
                f"y mixes labels of different types: {shown}. Labels must all be "
                "strings or all numbers (missing labels, None or NaN, are not "
                "allowed): convert them, e.g. with y.astype(str)."
            )
    return y


def _label_kind(value):
    if value is None:
        return "None"
    if isinstance(value, (str, np.str_, bytes)):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (Integral, Real, np.number)):
        if isinstance(value, (float, np.floating)) and np.isnan(value):
            return "NaN"
        return "number"
    return type(value).__name__


@contextmanager
def _restored_on_failure(estimator):
    """Undo every attribute change of ``estimator`` if the block raises."""
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


def _scores_of_rows(objective, params, X, rows):
    """Raw scores of ``X[rows]``, gathered in chunks to avoid copying X."""
    return np.concatenate(
        [
            objective.decision(params, X[rows[start : start + _SCORE_CHUNK]])
            for start in range(0, len(rows), _SCORE_CHUNK)
        ]
    )


def _fit_temperature(scores, y_index, weight):
    """Temperature minimizing the log-loss of ``softmax(scores / T)``.

    As in Platt scaling, the targets are smoothed: the correct class gets
    ``1 - 1 / (N + 2)`` for ``N`` rows, the rest is shared by the other
    classes. With sample weights ``N`` counts the lightest row as one (the
    sum of the weights over the smallest positive one): a row of weight 2
    counts as two rows, and the scale of the weights does not matter. On
    separable training data the plain log-loss would drive ``T`` to zero;
    the smoothed one has a finite optimum and tends to the plain one as
    ``N`` grows. (Platt smooths by class size; with many classes and a
    small validation split that makes the probabilities underconfident.)
    """
    # Scale-free: optimize T / scale on scores / scale, which cannot overflow.
    scores = scores.astype(np.float64)
    scale = float(np.max(np.abs(scores)))
    if not 0 < scale < np.inf:
        return 1.0
    scores = scores / scale
    n_classes = scores.shape[1]
    weight = weight.astype(np.float64)
    positive = weight[weight > 0]
    count = weight.sum() / positive.min() if positive.size else 0.0
    smoothing = 1.0 / (count + 2.0)
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
    return float(scale * np.exp(result.x))


def _unit_scaled(weight):
    """``weight`` divided by its largest value (unchanged if that is 0).

    Only the ratios of the weights matter to the objective; equal weights
    of any size become exactly 1, as if none had been given.
    """
    peak = float(np.max(weight, initial=0.0))
    if not 0 < peak < np.inf:
        return weight
    return weight / peak


def _max_row_norm(X):
    """Largest Euclidean norm of a row of ``X``; inf if it overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        squared = row_norms(X, squared=True)
    return float(np.sqrt(squared.max(initial=0.0)))
