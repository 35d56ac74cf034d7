"""The scikit-learn side of the classifiers: validation, fitted state, prediction.

``fit`` and ``partial_fit`` share one path: validate the parameters and the
data, encode the labels, then let the training recipe (:mod:`sklinear._recipe`)
plan the run (from a fresh or a copied training state), the engine
(:mod:`sklinear._engine`) train it and the recipe finish it (the models
checked to score every training row finitely, the temperature of margin
losses); only then is every fitted attribute set, at once. A failed call
leaves the estimator as it was.

The functions :func:`model_spec`, :func:`fitted_arrays` and
:func:`store_fit` are what other drivers (the one-pass search, Dask) need of
a plain estimator: its hyperparameters as the recipe's record, and a way to
give it a model they trained.

The parameters live in ``_params`` of shape (n_features + 1, n_classes): the
weights ``W`` and, in its last row, the intercept ``b``. With two classes the
model keeps two score columns (the multinomial form) and exposes their
difference as ``coef_`` of shape (1, n_features). The fitted state holds
only arrays, Python builtins and a NumPy generator.
"""

import copy
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import row_norms
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    validate_data,
)

from ._engine import (
    Preconditioner,
    TrainState,
    finite_scores,
)
from ._learning_rate import (
    feature_scales,
)
from ._namespace import (
    check_float64,
    device_of,
    input_namespace,
    namespace_of,
    numpy_dtype,
    reject_device_sparse,
    to_namespace,
    to_numpy,
    widest_float,
)
from ._optimizers import OPTIMIZERS
from ._penalties import PENALTIES
from ._recipe import (
    ModelSpec,
    batch_source,
    check_classes,
    check_weighted_classes,
    convergence_warning,
    epoch_printer,
    finish,
    history_attributes,
    initial_loss_attributes,
    initial_loss_rows,
    plan,
    public_coefficients,
    scores_of_rows,
    train_run,
    validation,
)
from ._schedules import SCHEDULES
from .losses import log_softmax

# The private fitted state a fit sets besides the public ``name_`` attributes
# (see ``_store`` and ``fitted_arrays``); a refit copies, and a new search
# drops, exactly these.
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
        with restored_on_failure(self):
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
        with restored_on_failure(self):
            self._fit(X, y, sample_weight, classes=classes, incremental=True)
        return self

    def _fit(self, X, y, sample_weight, *, classes=None, incremental):
        """The one path of ``fit`` and ``partial_fit``: validate, train, store.

        The recipe (:mod:`sklinear._recipe`) plans the run, the engine trains
        it and the recipe finishes it; the fitted attributes are set at the
        end, all together.
        """
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
        X, y, sample_weight = validated_training_data(
            self, X, y, sample_weight, reset=not continuing
        )
        check_classification_targets(y)
        classes = self._check_classes(y, classes, continuing, incremental)
        y_index = np.searchsorted(classes, y)
        spec = model_spec(self)
        dtype = numpy_dtype(X.dtype)
        weight = spec.sample_weights(X.shape[0], dtype, y_index, sample_weight, classes)
        if not incremental:
            check_weighted_classes(weight, y_index, classes)
        stored = self._stored_run(spec, dtype, incremental) if continuing else {}
        run = plan(
            [spec],
            X.shape[1],
            dtype,
            y_index,
            weight,
            len(classes),
            [feature_scales(X, weight)],
            incremental=incremental,
            **stored,
        ).place(X)
        objective = run.objective

        def scores(params, rows):
            return scores_of_rows(objective, params, X, rows)

        fitted = {}
        if not continuing:
            rows = initial_loss_rows(run)
            fitted.update(
                initial_loss_attributes(run, scores(run.state.params, rows), rows)
            )
        n_iter_before = self.n_iter_ if continuing and incremental else 0
        history = train_run(
            run,
            batch_source(run, X),
            max_iter=1 if incremental else None,
            tol=None if incremental else "spec",
            validate=validation(run, scores),
            on_epoch=epoch_printer(spec, n_iter_before),
            initial=None if continuing else [fitted["initial_loss_"]],
        )
        done = finish(
            run,
            history,
            scores,
            lambda params: finite_scores(objective, params, X, max_row_norm(X)),
        )
        if done.diverged[0]:
            raise spec.divergence_error(run.state.epoch, run.learning_rates[0])
        if incremental:
            curve = [float(value[0]) for value in history.loss_curve]
            fitted["loss_curve_"] = curve if first_call else self.loss_curve_ + curve
            fitted["n_iter_"] = n_iter_before + int(history.n_iter[0])
            if first_call:
                fitted["validation_scores_"] = None
        else:
            convergence_warning(spec, history, run.learning_rates[0], stacklevel=5)
            fitted.update(history_attributes(run, history))
        fitted.update(fitted_arrays(run, done))
        self._store(run.state, fitted, classes)

    def _stored_run(self, spec, dtype, incremental):
        """What a continued fit starts from: the stored state, offset and rate."""
        # On the host: the run is planned there and placed with the data.
        offset = to_numpy(self._offset)
        stored = {
            "state": self._stored_state(dtype, keep_optimizer=incremental),
            "offset": None if offset is None else offset.astype(dtype),
        }
        if incremental and spec.learning_rate_init == "auto":
            # Later calls to partial_fit keep the rate of the first.
            preconditioner = self._preconditioner
            if preconditioner is not None:
                preconditioner = Preconditioner(
                    *(
                        to_numpy(array).astype(dtype, copy=False)
                        for array in preconditioner
                    )
                )
            stored["rate"] = (self.learning_rate_, preconditioner)
        return stored

    # ---------------------------------------------------------- fit pieces

    def _loss_name(self):
        raise NotImplementedError

    def _loss_params(self):
        return {}

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
            check_classes(type(self).__name__, known)
        if incremental:
            unseen = np.setdiff1d(y, known)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes_="
                    f"{known.tolist()}; pass every class in `classes` on the first "
                    "call to partial_fit."
                )
        return known

    def _stored_state(self, dtype, keep_optimizer):
        """A copy of the fitted state, in ``dtype``, to continue training from."""
        optimizer_state = {}
        if keep_optimizer:
            optimizer_state = {
                name: to_numpy(value) if hasattr(value, "shape") else value
                for name, value in self._optimizer_state.items()
            }
            optimizer_state = copy.deepcopy(optimizer_state)
        for name, value in optimizer_state.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                optimizer_state[name] = value.astype(dtype, copy=False)
        average = to_numpy(self._average)
        average = None if average is None else average.astype(dtype)
        return TrainState(
            to_numpy(self._params).astype(dtype),
            optimizer_state,
            copy.deepcopy(self._rng),
            np.zeros(1),
            epoch=self._epochs_done,
            samples=self.t_,
            average=average,
            n_averaged=None if average is None else to_numpy(self._n_averaged).copy(),
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
        xp = input_namespace(X)
        if xp is not np:
            check_float64(xp, device_of(X), X.dtype, type(self).__name__)
        X = _validated_data(self, X, reset=False)
        if xp is np:
            # A model fitted on a device predicts NumPy data too.
            coef, intercept = to_numpy(self.coef_), to_numpy(self.intercept_)
            scores = np.asarray(X @ coef.T) + intercept
            return scores.ravel() if scores.shape[1] == 1 else scores
        device = device_of(X)
        coef = to_namespace(self.coef_, xp, device, X.dtype)
        scores = X @ coef.T + to_namespace(self.intercept_, xp, device, X.dtype)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def _scores(self, X):
        """One score column per class, also for two classes."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            xp = namespace_of(scores)
            scores = xp.stack([xp.zeros_like(scores), scores], axis=1)
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
        scores = self._scores(X)
        xp = namespace_of(scores)
        best = xp.argmax(scores, axis=1)
        if xp is np:
            return self.classes_[best]
        if self.classes_.dtype.kind in "biuf":
            classes = to_namespace(self.classes_, xp, device_of(scores))
            return xp.take(classes, best, axis=0)
        return self.classes_[to_numpy(best)]  # labels of no numeric dtype

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
        xp = namespace_of(scores)
        wide = widest_float(xp, device_of(scores))
        scaled = xp.astype(scores, wide) / getattr(self, "temperature_", 1.0)
        # Scores too large for their differences would give NaN, not 0 or 1.
        limit = float(xp.finfo(wide).max) / 4
        scaled = xp.clip(scaled, -limit, limit)
        return xp.astype(log_softmax(scaled), scores.dtype, copy=False)

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
        log_proba = self.predict_log_proba(X)
        return namespace_of(log_proba).exp(log_proba)

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


def validated_spec(estimator):
    """:func:`model_spec` of an estimator whose parameters are checked first.

    As ``fit`` checks them: a bad value raises ``InvalidParameterError``
    naming the parameter.
    """
    estimator._validate_params()
    return model_spec(estimator)


def model_spec(estimator):
    """The recipe's record of a plain estimator's hyperparameters.

    Parameters
    ----------
    estimator : BaseLinearSGD
        A plain estimator (fitted or not).

    Returns
    -------
    sklinear._recipe.ModelSpec
    """
    return ModelSpec(
        type(estimator).__name__,
        estimator._loss_name(),
        dict(estimator._loss_params()),
        estimator.get_params(deep=False),
    )


def fitted_arrays(run, done, k=0):
    """Model ``k``'s fitted arrays from a finished run, as a plain fit keeps them.

    ``coef_``, ``intercept_``, ``temperature_`` (margin losses),
    ``learning_rate_`` and the private state prediction and a later
    ``partial_fit`` need.
    """
    coef, intercept = public_coefficients(done.models[k])
    preconditioner = run.preconditioner
    fitted = {
        "learning_rate_": run.learning_rates[k],
        "_preconditioner": None if preconditioner is None else tuple(preconditioner),
        "_offset": run.offset,
        "_model_params": done.params,
        "coef_": coef,
        "intercept_": intercept,
    }
    if done.temperatures[k] is not None:
        fitted["temperature_"] = done.temperatures[k]
    return fitted


def fitted_parameters(estimator):
    """A fitted plain estimator's parameters in the training layout, and offset.

    Returns None for an unfitted estimator; else ``(params, offset)``: the
    (n_features + 1, n_classes) parameters the model predicts with (the
    average, where averaging is on) and the center of the data its
    intercepts are relative to (None without an intercept).
    """
    if not hasattr(estimator, "_model_params"):
        return None
    return estimator._model_params, estimator._offset


def store_fit(estimator, run, done, classes, fitted):
    """Give a plain estimator the result of a one-model run another driver trained.

    Parameters
    ----------
    estimator : BaseLinearSGD
        The plain estimator whose hyperparameters the run used.
    run : sklinear._recipe.Run
        The run (its state is stored, so that ``partial_fit`` continues it).
    done : sklinear._recipe.Finished
        :func:`sklinear._recipe.finish` of the run.
    classes : ndarray
        The classes.
    fitted : dict
        The driver's other fitted attributes (curves, counts, the initial
        loss).
    """
    estimator._store(run.state, {**fitted, **fitted_arrays(run, done)}, classes)


def validated_training_data(estimator, X, y, sample_weight, reset):
    """Training data validated, in the namespace of ``X``, labels on the host.

    Under array API dispatch ``X`` stays an array of its library (checked
    for float64 on devices without it), while the labels and the sample
    weights come to the host: they are encoded there (``classes_`` is a
    NumPy array) and the training run moves what it needs to the device.
    """
    xp = input_namespace(X)
    if xp is not np:
        # Before validation, which would otherwise convert float64 down.
        check_float64(xp, device_of(X), X.dtype, type(estimator).__name__)
    X, y = _validated_data(estimator, X, y, reset=reset)
    if xp is not np:
        y = to_numpy(y)
        if sample_weight is not None and not isinstance(sample_weight, np.ndarray):
            sample_weight = to_numpy(xp.asarray(sample_weight))
    return X, y, sample_weight


def _validated_data(estimator, X, y="no_validation", reset=True):
    """``validate_data`` with the estimators' options and clear messages.

    As ``validate_data``: with ``y`` (even None, which it refuses), returns
    ``X, y``; without, ``X``. Labels of mixed types and data frame columns
    that are not numbers get errors that name them.
    """
    reject_device_sparse(type(estimator).__name__, X)
    xp = input_namespace(X)
    # Integers become the widest float of the device: float32 on one
    # without float64 (whose float64 input is refused before this).
    widest = np.float64 if xp is np else widest_float(xp, device_of(X))
    options = {"accept_sparse": "csr", "dtype": [widest, xp.float32]}
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
def restored_on_failure(estimator):
    """Undo every attribute change of ``estimator`` if the block raises."""
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise


def max_row_norm(X):
    """Largest Euclidean norm of a row of ``X``; inf if it overflows."""
    xp = namespace_of(X)
    if xp is not np:
        # Chunk by chunk on the device, one value read back at the end.
        n_rows = X.shape[0]
        largest = [
            xp.max(xp.sum(X[start : min(start + 4096, n_rows), ...] ** 2, axis=1))
            for start in range(0, n_rows, 4096)
        ]
        squared = float(to_numpy(xp.max(xp.stack(largest)))) if largest else 0.0
        return float(np.sqrt(squared))
    with np.errstate(over="ignore", invalid="ignore"):
        squared = row_norms(X, squared=True)
    return float(np.sqrt(squared.max(initial=0.0)))
