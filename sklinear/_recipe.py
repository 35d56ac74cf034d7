"""The training recipe: from validated data and hyperparameters to fitted arrays.

Every driver trains through these steps: ``fit`` and ``partial_fit`` (one
model), the one-pass search (``K`` models, candidates times folds, side by
side) and :class:`~sklinear.dask.DaskSGD` (one model, its epochs run on the
workers). In order:

1. :meth:`ModelSpec.sample_weights`: sample times class weights, divided by
   their largest value (only their ratios matter).
2. :func:`plan`: each model's data statistics give its automatic rate and
   preconditioner; the initial state (small random weights on the scale of
   the data, or a stored state to continue), the objective of the ``K``
   models, the optimizer and the averaging; the validation split.
3. :func:`initial_losses`: the CS231n sanity check on the first batch.
4. :func:`train_run`: the engine's epochs until every model stops
   (:func:`sklinear._engine.train`), over a local :class:`BatchSource` or
   through a driver's own epoch function (a round on a cluster).
5. :func:`finish`: divergence checks, each model's parameters in the public
   layout, the temperatures of margin losses.

The hyperparameters of a model are a :class:`ModelSpec` record, read from a
plain estimator's public parameters (:func:`sklinear._base.model_spec`). In a
run of several models the grid parameters (``alpha``, ``l1_ratio``,
``margin``, ``learning_rate_init``) are per model and every other
hyperparameter is the first model's.
"""

import copy
import math
import warnings
from dataclasses import dataclass, field, replace
from numbers import Real

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state, compute_class_weight

from ._elementwise import MIN_ELEMENTS
from ._engine import (
    SCORE_CHUNK,
    BatchSource,
    LinearObjective,
    Preconditioner,
    TrainState,
    column_arrays,
    has_columns,
    per_column,
    restore_columns,
    run_epoch,
    train,
)
from ._learning_rate import (
    auto_learning_rate,
    constant_features,
    typical_row_norm,
)
from ._namespace import (
    device_of,
    namespace_of,
    numpy_dtype,
    take_rows,
    to_namespace,
    to_numpy,
)
from ._optimizers import OPTIMIZERS
from ._penalties import PENALTIES, ValueOnly, penalty_strength, penalty_terms
from .losses import LOSSES, expected_initial_loss, log_softmax

AUTO_BATCH_SIZE = 256
"""Rows per batch of ``batch_size="auto"`` at least (CS231n's minibatch)."""
AUTO_LARGE_BATCH = 1024
"""Rows per batch of ``"auto"`` at least when the parameters are large."""
AUTO_MIN_STEPS = 16
"""Minibatches per epoch that ``"auto"`` keeps at least (beyond 256 rows)."""
INIT_SCALE = 0.01
MAX_TEMPERATURE_ROWS = 10_000


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


@dataclass(frozen=True)
class ModelSpec:
    """The hyperparameters of one model, as the recipe reads them.

    Built from a plain estimator by :func:`sklinear._base.model_spec`: its
    public parameters, its loss and the loss's parameters. It pickles, so
    that workers of a cluster can rebuild the objective and the optimizer.

    Parameters
    ----------
    name : str
        The estimator's class name, for messages.
    loss : str
        Name in :data:`sklinear.losses.LOSSES`.
    loss_params : dict
        The loss's parameters (``margin``, ``multi_class``).
    params : dict
        The estimator's parameters (``get_params(deep=False)``).
    """

    name: str
    loss: str
    loss_params: dict
    params: dict = field(repr=False)

    def __getattr__(self, name):
        # Hyperparameters read as attributes: spec.alpha, spec.optimizer, ...
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)

    def with_params(self, **params):
        """A copy with some hyperparameters changed."""
        return replace(self, params={**self.params, **params})

    # ------------------------------------------------------------ records

    @property
    def loss_record(self):
        """The loss's :class:`sklinear.losses.Loss` record."""
        return LOSSES[self.loss]

    def make_optimizer(self, weight_decay=None):
        """The optimizer's record, built with its hyperparameters.

        ``weight_decay`` (per column for several models) is the strength of
        the smooth (L2) part of the penalty, for an optimizer that applies
        it as decoupled weight decay (``decays_weights``); None for this
        model's own.
        """
        if weight_decay is None:
            weight_decay = self.decay_strength()
        return OPTIMIZERS[self.optimizer](
            momentum=self.momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
            weight_decay=weight_decay,
        )

    def decay_strength(self):
        """The strength of the smooth (L2) terms of the penalty."""
        terms = PENALTIES[self.penalty](self.alpha, self.l1_ratio)
        return float(sum(term.strength for term in terms if term.smooth))

    def schedule_params(self):
        """The schedule's parameters besides the base rate."""
        return {
            "power_t": self.power_t,
            "lr_decay": self.lr_decay,
            "lr_decay_epochs": self.lr_decay_epochs,
        }

    def penalty_strength(self):
        """Total strength of the penalty as the automatic rate counts it."""
        return penalty_strength(self.penalty, self.alpha, self.l1_ratio)

    def objective(self, n_classes, offset=None):
        """The objective of this model alone."""
        return LinearObjective(
            self.loss_record,
            n_classes,
            loss_params=self.loss_params,
            penalty=self.penalty_terms(self.alpha, self.l1_ratio),
            fit_intercept=self.fit_intercept,
            offset=offset,
        )

    def penalty_terms(self, alpha, l1_ratio):
        """The penalty's terms for ``alpha`` and ``l1_ratio`` (per column).

        With an optimizer that decays the weights itself (AdamW), the smooth
        terms count in the objective's value but add nothing to the
        gradient: the optimizer applies them as decoupled weight decay.
        """
        terms = penalty_terms(self.penalty, alpha, l1_ratio, self.max_norm)
        if OPTIMIZERS[self.optimizer]().decays_weights:
            terms = [ValueOnly(term) if term.smooth else term for term in terms]
        return terms

    def expected_initial_loss(self, n_classes):
        """The initial loss the sanity check expects."""
        return expected_initial_loss(self.loss, n_classes, **self.loss_params)

    # --------------------------------------------------------------- sizes

    def rows_per_batch(self, n_rows, n_features=None, n_classes=None):
        """Rows per minibatch for ``n_rows`` training rows.

        ``"auto"`` is :func:`auto_batch_size` of the data's shape (256
        without ``n_features`` and ``n_classes``).
        """
        if self.batch_size is None:
            return n_rows
        if self.batch_size == "auto":
            if n_features is None or n_classes is None:
                return min(AUTO_BATCH_SIZE, n_rows)
            return auto_batch_size(n_rows, n_features, n_classes)
        return min(self.batch_size, n_rows)

    def average_after(self, n_rows, n_features=None, n_classes=None):
        """Samples after which averaging starts; 0 for no averaging.

        ``"auto"`` averages minibatch gradient steps: a full batch has no
        gradient noise to average out, and a search without gradients
        takes no steps.
        """
        steps = self.make_optimizer().uses_gradient
        if self.average == "auto":
            full_batch = self.rows_per_batch(n_rows, n_features, n_classes) >= n_rows
            return 0 if not steps or full_batch else 1
        if self.average and not steps:
            raise ValueError(
                f"average is not supported with optimizer={self.optimizer!r}, "
                "which takes no gradient steps to average; set average=False."
            )
        return int(self.average)

    # -------------------------------------------------------------- weights

    def sample_weights(self, n_rows, dtype, y_index, sample_weight, classes):
        """Sample weights times class weights, rescaled so that the largest is 1.

        Only the ratios of the weights matter to the objective (its data
        loss is their weighted mean), so each factor is divided by its
        largest value: weights of 1e-300 or 1e307 (or 1e37 with float32
        data) neither underflow nor overflow in the sums of the loss, and
        a fit depends on the scale of the weights not at all.
        """
        weight = unit_scaled(checked_sample_weight(sample_weight, n_rows))
        class_weight = self.class_weight
        if isinstance(class_weight, dict):
            bad = {
                key: value
                for key, value in class_weight.items()
                if not (isinstance(value, Real) and np.isfinite(value) and value >= 0)
            }
            if bad:
                raise ValueError(
                    "class_weight must map classes to finite, non-negative "
                    f"weights; got {bad}."
                )
            unknown = [key for key in class_weight if key not in set(classes)]
            if unknown:
                raise ValueError(
                    f"class_weight has keys {unknown} that are not classes of y "
                    f"(classes: {classes.tolist()}); use the labels of y as keys."
                )
        if class_weight is not None:
            per_class = compute_class_weight(
                class_weight, classes=classes, y=classes[y_index]
            )
            weight = unit_scaled(weight * unit_scaled(per_class)[y_index])
        weight = weight.astype(dtype)
        if not weight.sum() > 0:
            raise ValueError(
                "sample_weight sums to zero: at least one sample needs a positive "
                "weight."
            )
        return weight

    # ------------------------------------------------------- learning rate

    def base_rate(self, scales, n_classes, dtype):
        """``learning_rate_init``, or the rate derived from the data for "auto".

        Returns the rate and the preconditioner (None for a given rate).
        """
        if self.learning_rate_init != "auto":
            return float(self.learning_rate_init), None
        rate, gradient_scale, update_scale = auto_learning_rate(
            scales,
            optimizer=self.make_optimizer(),
            loss=self.loss_record,
            n_classes=n_classes,
            alpha=self.penalty_strength(),
            fit_intercept=self.fit_intercept,
            loss_params=self.loss_params,
        )
        if self.verbose:
            print(f"Learning rate {rate:.3g} (learning_rate_init='auto')")
        preconditioner = Preconditioner(
            gradient_scale[:, None].astype(dtype), update_scale[:, None].astype(dtype)
        )
        return rate, preconditioner

    # ------------------------------------------------------------ messages

    def divergence_error(self, epoch, rate):
        """The DivergenceError of a fit that diverged in ``epoch``."""
        return DivergenceError(
            f"The training objective of {self.name} became non-finite "
            f"(NaN or inf) in epoch {epoch}: the optimization diverged. Lower "
            f"learning_rate_init (now {self.learning_rate_init!r}, a rate of "
            f"{rate:.3g}) or standardize the features (e.g. StandardScaler)."
        )


def auto_batch_size(n_rows, n_features, n_classes):
    """Rows per minibatch of ``batch_size="auto"`` for data of this shape.

    A step costs the two matrix products of the batch, which grow with its
    rows, plus work that does not: some twenty elementwise passes over the
    parameters (the gradient's penalty and centering terms, the optimizer,
    the average). With many classes those passes rival the products, so:

    - 256 rows (CS231n's minibatch);
    - 1,024 rows when the parameters, ``(n_features + 1) * n_classes``,
      reach the 2**18 entries from which the step works on them block by
      block (:mod:`sklinear._elementwise`), their arrays being too large
      for the cache (512 features and 1,000 classes);
    - at most ``n_rows / 16`` rows beyond 256, so that an epoch keeps 16
      steps (small data sets keep 256), and at most ``n_rows``.

    Larger batches for narrow data with few classes (1,024 rows for 512
    features and 10 classes) would halve the fixed work per row, but they
    make fewer steps per epoch: on HOG + color features of CIFAR-10 (334
    features, 10 classes, 40,000 rows, 2,048 rows per batch) the defaults
    lost 0.004-0.005 of held-out accuracy, so they are not the default.

    The rule reads one model's shape: a one-pass search of many models
    uses the batches of the plain fit it stands for.

    Parameters
    ----------
    n_rows : int
        Training rows.
    n_features, n_classes : int
        Shape of one model's weights.

    Returns
    -------
    int

    Examples
    --------
    >>> auto_batch_size(50_000, 3072, 10), auto_batch_size(100_000, 512, 10)
    (256, 256)
    >>> auto_batch_size(100_000, 512, 1000), auto_batch_size(1797, 64, 10)
    (1024, 256)
    """
    rows = AUTO_BATCH_SIZE
    if (n_features + 1) * n_classes >= MIN_ELEMENTS:
        rows = max(rows, AUTO_LARGE_BATCH)
    rows = min(rows, max(AUTO_BATCH_SIZE, n_rows // AUTO_MIN_STEPS))
    return min(rows, n_rows)


def checked_sample_weight(sample_weight, n_rows, dtype=np.float64):
    """``sample_weight`` as a finite, non-negative vector of ``n_rows`` values.

    None gives ones. The errors name ``sample_weight``.

    Examples
    --------
    >>> checked_sample_weight(None, 2)
    array([1., 1.])
    """
    if sample_weight is None:
        return np.ones(n_rows, dtype=dtype)
    weight = check_array(
        sample_weight,
        ensure_2d=False,
        dtype=dtype,
        input_name="sample_weight",
        ensure_min_samples=0,
    )
    if weight.ndim == 0:
        weight = np.full(n_rows, weight, dtype=dtype)
    if weight.shape != (n_rows,):
        raise ValueError(
            f"sample_weight.shape == {weight.shape}, expected ({n_rows},): one "
            "weight per sample."
        )
    if (weight < 0).any():
        raise ValueError(
            "Negative values in data passed to `sample_weight`: weights must be "
            "non-negative."
        )
    if n_rows and not weight.any():
        raise ValueError(
            "Sample weights must contain at least one non-zero number: "
            "sample_weight is all zeros."
        )
    return weight


def unit_scaled(weight):
    """``weight`` divided by its largest value (unchanged if that is 0).

    Only the ratios of the weights matter to the objective; equal weights
    of any size become exactly 1, as if none had been given.

    Examples
    --------
    >>> unit_scaled(np.array([1e307, 5e306]))
    array([1. , 0.5])
    """
    peak = float(np.max(weight, initial=0.0))
    if not 0 < peak < np.inf:
        return weight
    return weight / peak


def check_classes(name, classes):
    """Raise unless there are at least two classes."""
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs samples of at least 2 classes in the data, but the "
            f"data contains only one class: {np.asarray(classes).tolist()}."
        )


def check_weighted_classes(weight, y_index, classes):
    """Raise unless two classes have samples of positive weight."""
    weighted = np.unique(y_index[weight > 0])
    if len(weighted) < 2:
        raise ValueError(
            "Only one class has samples with a positive sample_weight "
            f"({classes[weighted].tolist()}); at least 2 classes are needed."
        )


# ------------------------------------------------------------------ plan


@dataclass
class Run:
    """A planned training run of ``K`` models: what :func:`plan` returns.

    Attributes
    ----------
    specs : list of ModelSpec
        The models' hyperparameters.
    state : sklinear._engine.TrainState
        Parameters, optimizer state, averages and the random generator.
    objective : sklinear._engine.LinearObjective
        The ``K`` models' objective.
    optimizer : sklinear._optimizers.Optimizer
        The update rule.
    learning_rates : list of float
        Each model's base rate.
    preconditioner : sklinear._engine.Preconditioner or None
        The automatic rate's change of variables (per column with ``K > 1``).
    offset : ndarray or None
        The center of the data the intercepts are relative to.
    y_index : ndarray of shape (n_samples,)
        Class indices.
    weights : ndarray of shape (n_samples,) or (n_samples, K)
        Sample weights (one column per model with ``K > 1``).
    train_rows, val_rows : ndarray or None
        The early-stopping split (None without early stopping).
    """

    specs: list
    state: TrainState
    objective: LinearObjective
    optimizer: object
    learning_rates: list
    preconditioner: Preconditioner | None
    offset: np.ndarray | None
    y_index: np.ndarray
    weights: np.ndarray
    train_rows: np.ndarray | None = None
    val_rows: np.ndarray | None = None

    @property
    def spec(self):
        """The first model's hyperparameters (those shared by all)."""
        return self.specs[0]

    @property
    def n_models(self):
        return len(self.specs)

    @property
    def n_classes(self):
        return self.objective.n_classes

    @property
    def n_training_rows(self):
        if self.train_rows is None:
            return len(self.y_index)
        return len(self.train_rows)

    @property
    def rows_per_batch(self):
        """Rows per minibatch of the run, from the training data's shape."""
        n_features = self.state.params.shape[0] - 1
        return self.spec.rows_per_batch(
            self.n_training_rows, n_features, self.n_classes
        )

    def place(self, X):
        """Move the run to the namespace and device of the data ``X``.

        :func:`plan` works on the host; training happens where ``X`` lives.
        The parameters, the optimizer state, the average, the center, the
        preconditioner and the per-model hyperparameters move; labels,
        weights and row indices stay on the host for bookkeeping (the
        batch source keeps its own copies on the device).
        """
        xp = namespace_of(X)
        if xp is np:
            return self
        device = device_of(X)
        self.state.place(xp, device)
        self.objective.place(xp, device, X.dtype)
        self.offset = self.objective.offset
        if self.preconditioner is not None:
            self.preconditioner = Preconditioner(
                *(to_namespace(array, xp, device) for array in self.preconditioner)
            )
        return self

    def model_weights(self, k, rows=None):
        """Model ``k``'s sample weights (of ``rows``)."""
        weights = self.weights if rows is None else self.weights[rows]
        return weights if weights.ndim == 1 else weights[:, k]


def column_scales(weights, scales_of):
    """Each model's feature statistics, of the rows its weight column weighs.

    Parameters
    ----------
    weights : ndarray of shape (n_samples,) or (n_samples, K)
        Sample weights, a column per model.
    scales_of : callable
        ``weight -> feature_scales`` of the data weighted by one column
        (:func:`sklinear._learning_rate.feature_scales`, or its passes on a
        cluster).

    Returns
    -------
    list of tuple
        One per model; models with the same column (a search's candidates
        of one fold) share one computation, as each would in its plain fit.
    """
    columns = weights.reshape(len(weights), -1)
    by_column, scales = {}, []
    for k in range(columns.shape[1]):
        key = columns[:, k].tobytes()
        if key not in by_column:
            by_column[key] = scales_of(columns[:, k])
        scales.append(by_column[key])
    return scales


def initial_state(spec, n_features, n_classes, dtype, row_norm):
    """Small random weights, zero intercept and a generator seeded by ``random_state``.

    The weights are drawn so that the scores of a typical row are about
    0.01: the initial loss is then the one the CS231n sanity check expects,
    whatever the scale of the data.

    Parameters
    ----------
    spec : ModelSpec
        Its ``random_state`` is read.
    n_features, n_classes : int
        Shape of the weights.
    dtype : dtype
        Dtype of the parameters.
    row_norm : float or ndarray of shape (K,)
        Norm of a typical row (the root of the mean squared norm, see
        :func:`sklinear._learning_rate.typical_row_norm`); one per model
        for ``K`` models, which share one draw of the weights.

    Returns
    -------
    sklinear._engine.TrainState
        With an empty optimizer state.
    """
    seed = check_random_state(spec.random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    draw = rng.standard_normal((n_features, n_classes))
    norms = np.atleast_1d(row_norm)
    params = np.zeros((n_features + 1, n_classes * len(norms)), dtype=dtype)
    for k, norm in enumerate(norms):
        scale = norm if 0 < norm < np.inf else 1.0
        params[:-1, k * n_classes : (k + 1) * n_classes] = draw * (INIT_SCALE / scale)
    return TrainState(params, {}, rng, np.zeros(len(norms)))


def plan(
    specs,
    n_features,
    dtype,
    y_index,
    weights,
    n_classes,
    scales,
    *,
    state=None,
    offset=None,
    rate=None,
    incremental=False,
):
    """Plan the training of ``K`` models on data of ``n_features`` features.

    Parameters
    ----------
    specs : list of ModelSpec
        The models (``K = len(specs)``).
    n_features : int
        Features of the data.
    dtype : dtype
        Dtype of the data and of the parameters.
    y_index : ndarray of shape (n_samples,)
        Class indices.
    weights : ndarray of shape (n_samples,) or (n_samples, K)
        Sample weights from :meth:`ModelSpec.sample_weights` (a column per
        model with ``K > 1``).
    n_classes : int
        Number of classes.
    scales : list of tuple of ndarray
        Each model's :func:`sklinear._learning_rate.feature_scales` of its
        weighted rows.
    state : TrainState, default=None
        A stored state to continue from (``warm_start``, ``partial_fit``;
        ``K = 1``); None starts afresh.
    offset : ndarray, default=None
        The stored center of the data, with ``state``.
    rate : tuple, default=None
        A stored ``(learning_rate, preconditioner)`` to keep (later calls to
        ``partial_fit``).
    incremental : bool, default=False
        ``partial_fit``: keeps the optimizer state and the average of a
        stored state, and makes no validation split.

    Returns
    -------
    Run
    """
    first = specs[0]
    n_models = len(specs)
    n_samples = len(y_index)
    average_after = first.average_after(n_samples, n_features, n_classes)
    fit_intercept = first.fit_intercept
    if state is None:
        # Training on centered features (a reparametrization of the
        # intercept) keeps uncentered data well conditioned.
        norms = [
            typical_row_norm(scale, spec.penalty_strength(), fit_intercept)
            for spec, scale in zip(specs, scales, strict=True)
        ]
        state = initial_state(
            first, n_features, n_classes, dtype, norms[0] if n_models == 1 else norms
        )
        for k, scale in enumerate(scales):
            columns = slice(k * n_classes, (k + 1) * n_classes)
            state.params[:-1, columns][constant_features(scale, fit_intercept)] = 0.0
        if fit_intercept:
            offset = _offsets(scales, n_classes, dtype)
    if rate is not None:
        rates, preconditioners = [rate[0]], [rate[1]]
    else:
        rates, preconditioners = zip(
            *(
                spec.base_rate(scale, n_classes, dtype)
                for spec, scale in zip(specs, scales, strict=True)
            ),
            strict=True,
        )
    state.base_lr[:] = rates  # honours set_params
    optimizer = models_optimizer(specs, n_classes, dtype)
    if not (incremental and state.optimizer_state):
        state.optimizer_state = optimizer.init(state.params)
    if average_after and (state.average is None or not incremental):
        state.start_averaging(after=average_after)
    elif not average_after:
        state.average = state.n_averaged = None
    run = Run(
        list(specs),
        state,
        models_objective(specs, n_classes, offset, dtype),
        optimizer,
        list(rates),
        _preconditioner(preconditioners, n_features, n_classes, dtype),
        offset,
        y_index,
        weights,
    )
    if not incremental:
        run.train_rows, run.val_rows = _split_validation(first, y_index, state.rng)
    return run


def _offsets(scales, n_classes, dtype):
    """The center of each model's data: a vector, or a column per class of each."""
    if len(scales) == 1:
        return scales[0][0].astype(dtype)
    return np.hstack(
        [np.repeat(scale[0][:, None], n_classes, axis=1) for scale in scales]
    ).astype(dtype)


def models_optimizer(specs, n_classes, dtype):
    """The optimizer of the models (per-column weight decay for more than one)."""
    if len(specs) == 1:
        return specs[0].make_optimizer()
    decay = [spec.decay_strength() for spec in specs]
    return specs[0].make_optimizer(per_column(decay, n_classes, dtype))


def models_objective(specs, n_classes, offset, dtype):
    """The objective of the models: scalars for one, per-column values for more.

    What :func:`plan` trains, and what the workers of a cluster rebuild.
    """
    first = specs[0]
    if len(specs) == 1:
        return first.objective(n_classes, offset)
    loss_params = dict(first.loss_params)
    if "margin" in loss_params:
        loss_params["margin"] = np.array(
            [spec.loss_params["margin"] for spec in specs], dtype=dtype
        )
    return LinearObjective(
        first.loss_record,
        n_classes,
        n_models=len(specs),
        loss_params=loss_params,
        penalty=first.penalty_terms(
            per_column([spec.alpha for spec in specs], n_classes, dtype),
            per_column([spec.l1_ratio for spec in specs], n_classes, dtype),
        ),
        fit_intercept=first.fit_intercept,
        offset=offset,
    )


def _preconditioner(preconditioners, n_features, n_classes, dtype):
    """One model's preconditioner, or the models' side by side (ones if none)."""
    if len(preconditioners) == 1:
        return preconditioners[0]
    if all(p is None for p in preconditioners):
        return None
    ones = np.ones((n_features + 1, 1), dtype=dtype)
    return Preconditioner(
        *(
            np.repeat(
                np.hstack([ones if p is None else p[i] for p in preconditioners]),
                n_classes,
                axis=1,
            )
            for i in (0, 1)
        )
    )


def _split_validation(spec, y_index, rng):
    """Sorted training and validation rows; (None, None) without early stopping."""
    if not spec.early_stopping:
        return None, None
    n_samples = len(y_index)
    rows = np.arange(n_samples)
    seed = rng.integers(np.iinfo(np.int32).max)
    n_classes = len(np.unique(y_index))
    n_train = n_samples - math.ceil(spec.validation_fraction * n_samples)
    if n_train < n_classes:
        raise ValueError(
            f"early_stopping: validation_fraction={spec.validation_fraction} "
            f"is too large: it leaves {n_train} of {n_samples} rows for "
            f"training, fewer than the {n_classes} classes. Lower "
            "validation_fraction or set early_stopping=False."
        )
    try:
        train_rows, val_rows = train_test_split(
            rows,
            test_size=spec.validation_fraction,
            stratify=y_index,
            random_state=seed,
        )
    except ValueError:
        warnings.warn(
            f"early_stopping: validation_fraction={spec.validation_fraction} "
            "of the data is too small to hold out every class; the validation "
            "set is drawn without stratification.",
            UserWarning,
            stacklevel=5,
        )
        train_rows, val_rows = train_test_split(
            rows, test_size=spec.validation_fraction, random_state=seed
        )
    return np.sort(train_rows), np.sort(val_rows)


# --------------------------------------------------------------- training


def initial_loss_rows(run):
    """The rows of the first batch, where the initial loss is measured."""
    rows = np.arange(len(run.y_index)) if run.train_rows is None else run.train_rows
    return np.sort(rows[: run.rows_per_batch])


def initial_losses(run, scores, rows):
    """Each model's data loss at its initial weights on ``rows``.

    Parameters
    ----------
    run : Run
        The planned run.
    scores : ndarray of shape (len(rows), K * C)
        Scores of the rows at the initial parameters.
    rows : ndarray of int
        :func:`initial_loss_rows`.

    Returns
    -------
    ndarray of shape (K,)
        NaN for a model without weight on ``rows``.
    """
    objective = run.objective
    weights = run.weights[rows]
    if run.n_models > 1:
        scores = objective.xp.reshape(scores, (len(rows), run.n_models, run.n_classes))
    loss = objective.loss(
        scores,
        objective.on_device(run.y_index[rows]),
        objective.on_device(weights),
        **objective.loss_params,
    )
    loss = np.atleast_1d(np.asarray(to_numpy(loss[0]), dtype=np.float64))
    if weights.ndim > 1:
        loss[~(weights.sum(axis=0) > 0)] = np.nan
    return loss


def initial_loss_attributes(run, scores, rows):
    """``initial_loss_`` and ``expected_initial_loss_`` of a one-model run.

    ``scores`` are those of :func:`initial_loss_rows` at the initial
    parameters; printed with ``verbose``.
    """
    initial = float(initial_losses(run, scores, rows)[0])
    expected = run.spec.expected_initial_loss(run.n_classes)
    if run.spec.verbose:
        print(
            f"Initial loss {initial:.4f} (expected about "
            f"{expected:.4f} for {run.n_classes} classes)",
            flush=True,
        )
    return {"initial_loss_": initial, "expected_initial_loss_": expected}


def history_attributes(run, history):
    """What a plain fit records of its training, from a one-model run.

    ``loss_curve_``, ``n_iter_``, ``validation_scores_`` and ``best_loss_``
    (or, with early stopping, ``best_validation_score_``).
    """
    scores = history.validation_scores
    fitted = {
        "loss_curve_": [float(value[0]) for value in history.loss_curve],
        "n_iter_": int(history.n_iter[0]),
        "validation_scores_": None if scores is None else [float(s[0]) for s in scores],
    }
    if run.val_rows is None:
        fitted["best_loss_"] = float(history.best[0])
    else:
        fitted["best_loss_"] = None
        fitted["best_validation_score_"] = float(1.0 - history.best[0])
    return fitted


def batch_source(run, X):
    """The minibatches of the run's training rows of ``X``."""
    spec = run.spec
    return BatchSource(
        X,
        run.y_index,
        run.weights,
        run.train_rows,
        batch_size=run.rows_per_batch,
        shuffle=spec.shuffle,
        dropout=spec.dropout,
    )


def validation(run, scores_of_rows):
    """The validation function of early stopping, or None without it.

    ``scores_of_rows(params, rows)`` gives the scores of rows of the data.
    Each model's score is its weighted accuracy on the validation rows
    (unweighted if their weights sum to zero).
    """
    rows = run.val_rows
    if rows is None:
        return None
    y_val = run.y_index[rows]
    weights = run.weights[rows]
    shape = (len(rows), run.n_models, run.n_classes)

    def validate(params):
        scores = scores_of_rows(params, rows)
        xp = namespace_of(scores)
        predicted = to_numpy(xp.argmax(xp.reshape(scores, shape), axis=2))
        correct = predicted == y_val[:, None]
        w = np.asarray(weights, dtype=np.float64).reshape(len(rows), -1)
        return weighted_accuracy(
            (correct * w).sum(axis=0), w.sum(axis=0), correct.sum(axis=0), len(rows)
        )

    return validate


def weighted_accuracy(correct_weight, weight_sum, n_correct, n_rows):
    """Each model's weighted accuracy from its sums, (K,).

    ``correct_weight`` is the weight of the rows a model predicts right,
    ``weight_sum`` the weight of all ``n_rows`` rows; where that is zero,
    the unweighted accuracy ``n_correct / n_rows``.
    """
    correct_weight, weight_sum, n_correct = np.broadcast_arrays(
        *(
            np.asarray(a, dtype=np.float64)
            for a in (correct_weight, weight_sum, n_correct)
        )
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            weight_sum > 0,
            correct_weight / np.where(weight_sum > 0, weight_sum, 1.0),
            n_correct / max(n_rows, 1),
        )


def epoch_printer(spec, n_iter_before=0):
    """``on_epoch`` callback printing one line per epoch when verbose."""
    done = []

    def on_epoch(epoch, value, score, seconds):
        done.append(epoch)
        if spec.verbose:
            message = f"Epoch {n_iter_before + len(done)}: "
            message += f"objective {value[0]:.6f}"
            if score is not None:
                message += f", validation score {score[0]:.4f}"
            print(f"{message}, time {seconds:.2f}s", flush=True)

    return on_epoch


def train_run(
    run,
    source=None,
    *,
    epoch=None,
    max_iter=None,
    tol="spec",
    validate=None,
    on_epoch=None,
    initial=None,
    stop_on_divergence=True,
):
    """The engine's epochs over the run until every model stops.

    Parameters
    ----------
    run : Run
        The planned run (its state is updated in place).
    source : BatchSource, default=None
        The minibatches (:func:`batch_source`), for local training.
    epoch : callable, default=None
        Instead of ``source``: ``epoch(lr, frozen) -> (objective, diverged)``
        runs one epoch elsewhere (a round on a cluster).
    max_iter : int, default=None
        Epochs at most; None for the first model's ``max_iter``.
    tol : float or None, default="spec"
        Stopping tolerance; "spec" for the first model's ``tol``.
    validate, on_epoch, initial, stop_on_divergence
        As in :func:`sklinear._engine.train`.

    Returns
    -------
    sklinear._engine.History
    """
    spec = run.spec
    if epoch is None and leaves_stopped_models_out(run):
        epoch = _compacting_epochs(run, source)
    return train(
        run.state,
        run.objective,
        source,
        run.optimizer,
        schedule=spec.learning_rate,
        schedule_params=spec.schedule_params(),
        max_iter=spec.max_iter if max_iter is None else max_iter,
        tol=spec.tol if isinstance(tol, str) else tol,
        n_iter_no_change=spec.n_iter_no_change,
        validate=validate,
        stop_on_divergence=stop_on_divergence,
        on_epoch=on_epoch,
        preconditioner=run.preconditioner,
        initial=initial,
        epoch=epoch,
    )


def leaves_stopped_models_out(run):
    """Whether the run's epochs leave its stopped models out (NumPy, K > 1).

    A gradient optimizer only: random search draws its perturbations for
    every column, so that leaving columns out would change the others'.
    """
    return run.n_models > 1 and run.objective.xp is np and run.optimizer.uses_gradient


def _compacting_epochs(run, source):
    """The epoch function of a run of ``K`` models that skips needless work.

    :func:`sklinear._engine.run_epoch` trains the models that are not
    frozen and leaves the others' parameters as they were, but their
    columns still go through every product and elementwise pass; and a
    cross-validation fold's model weighs its held-out rows zero, but they
    still go through its products. Here each epoch runs on parts of the
    run (:func:`running_part`: copies of their models' parameters,
    optimizer state and average, their objective, optimizer, preconditioner
    and weights, rebuilt from their specs as :func:`plan` builds them),
    written back after each epoch:

    - once some models have stopped (a search's strongly penalized
      candidates converge in a few epochs, its weakly penalized ones take
      several times more), the running models only;
    - where :func:`fold_groups_pay`, one part per group of models that
      train on the same rows (a fold's candidates), whose batches leave out
      the rows they weigh zero (:class:`sklinear._engine.BatchSource`'s
      ``keep``): a ``k``-fold search computes ``(k - 1) / k`` of the
      products.

    The batches, the random draws and each model's arithmetic are those of
    the whole run; a frozen model's epoch objective is its last one.

    Returns
    -------
    callable
        ``epoch(lr, frozen) -> (objective, diverged)`` for
        :func:`sklinear._engine.train`.
    """
    state, last = run.state, {}
    groups = fold_groups(run, source)

    def epoch(lr, frozen):
        running = ~frozen
        by_rows = groups is not None and fold_groups_pay(groups[running], run.n_classes)
        if by_rows:
            parts_running = [
                running & (groups == g) for g in np.unique(groups[running])
            ]
        else:
            parts_running = [running]
        if len(parts_running) == 1 and not frozen.any():
            value, diverged = run_epoch(
                state,
                run.objective,
                source,
                run.optimizer,
                lr,
                preconditioner=run.preconditioner,
            )
            last["value"] = value
            return value, diverged
        if last.get("running") is None or not np.array_equal(last["running"], running):
            # Nothing but these epochs changes the state's columns between
            # them: the copies are taken when the running models change.
            parts = [running_part(run, source, r, by_rows) for r in parts_running]
            last["parts"] = [(part, part.take(state)) for part in parts]
            last["running"] = running
        value, diverged = last.get("value"), np.zeros(len(running), dtype=bool)
        start = copy.deepcopy(state.rng.bit_generator.state)
        for i, (part, sub_state) in enumerate(last["parts"]):
            if i:
                # Every part draws the epoch's batches from the same state.
                sub_state.rng.bit_generator.state = copy.deepcopy(start)
            sub_value, sub_diverged = run_epoch(
                sub_state,
                part.objective,
                part.source,
                part.optimizer,
                part.learning_rate(lr),
                preconditioner=part.preconditioner,
            )
            part.put(sub_state, state)
            value, part_diverged = part.spread(sub_value, sub_diverged, value)
            diverged |= part_diverged
        last["value"] = value
        return value, diverged

    return epoch


FOLD_GROUP_MIN_COLUMNS = 128
"""Columns (models x classes) per group at least for :func:`fold_groups_pay`."""


def fold_groups(run, source):
    """Each model's group of training rows, where groups may be used; else None.

    A group of models that weigh the same rows zero (the models of one
    cross-validation fold, :func:`training_row_groups`) can leave those
    rows out of its products, where :func:`fold_groups_pay`. Not with
    dropout (its draws are per batch), a gradient-free optimizer or without
    a local source.

    Returns
    -------
    ndarray of int of shape (K,) or None
    """
    if source is None or run.weights.ndim == 1:
        return None
    if source.dropout or not run.optimizer.uses_gradient:
        return None
    groups = training_row_groups(run.weights)
    return None if groups.max() == 0 else groups


def fold_groups_pay(groups, n_classes):
    """Whether models in ``groups`` (labels) train faster group by group.

    Leaving a group's zero-weight rows out of its products costs a gather
    of its rows of each batch and a step per group. That pays when each
    group holds at least ``FOLD_GROUP_MIN_COLUMNS * (groups - 2)`` columns
    (models x classes; as many for two groups): the products then
    outweigh the extra gathers and steps (measured in
    ``benchmarks/README.md``, 2026-12-07). A single group gathers fewer
    rows than the batch holds: always.

    Examples
    --------
    >>> import numpy as np
    >>> fold_groups_pay(np.arange(24) % 3, n_classes=20)  # 160 columns a group
    True
    >>> fold_groups_pay(np.arange(20) % 5, n_classes=10)  # 40, and 5 groups
    False
    """
    n_groups = len(np.unique(groups))
    columns = len(groups) * n_classes / n_groups
    return n_groups == 1 or columns >= FOLD_GROUP_MIN_COLUMNS * max(n_groups - 2, 1)


def training_row_groups(weights):
    """A group label per model: models with the same rows of positive weight.

    Parameters
    ----------
    weights : ndarray of shape (n_samples, K)
        The run's weight columns.

    Returns
    -------
    ndarray of int of shape (K,)

    Examples
    --------
    >>> import numpy as np
    >>> weights = np.array([[1, 0, 2, 1], [1, 1, 0, 1], [0, 1, 1, 0]])
    >>> training_row_groups(weights).tolist()
    [0, 1, 2, 0]
    """
    patterns = np.packbits(np.asarray(weights) > 0, axis=0).T
    _, first, labels = np.unique(
        patterns, axis=0, return_index=True, return_inverse=True
    )
    # Numbered in the order of the models.
    order = np.argsort(np.argsort(first))
    return order[labels.reshape(-1)]


@dataclass
class RunningPart:
    """The running models' share of a run: what :func:`running_part` builds.

    Attributes
    ----------
    running : ndarray of bool of shape (K,)
        The models it holds.
    columns : ndarray of int
        Their columns of the run's parameters.
    specs : list of ModelSpec
        Their hyperparameters.
    offset : ndarray or None
        Their center of the data.
    objective : LinearObjective
        Their objective.
    optimizer : sklinear._optimizers.Optimizer
        Their optimizer.
    preconditioner : Preconditioner or None
        Their columns of the preconditioner.
    source : BatchSource or None
        Their batches (None for a driver that trains elsewhere).
    """

    running: np.ndarray
    columns: np.ndarray
    specs: list
    offset: np.ndarray | None
    objective: LinearObjective
    optimizer: object
    preconditioner: Preconditioner | None
    source: BatchSource | None = None

    def take(self, state):
        """A training state of copies of the running models' columns."""
        columns, n_columns = self.columns, state.params.shape[1]

        def part(value):
            if value is None:
                return None
            if has_columns(value, n_columns):
                # take gives a C-contiguous copy (fancy indexing may not).
                return np.take(value, columns, axis=-1)
            return copy.copy(value)

        return TrainState(
            params=part(state.params),
            optimizer_state={
                name: part(value) for name, value in state.optimizer_state.items()
            },
            rng=state.rng,
            base_lr=state.base_lr[self.running],
            epoch=state.epoch,
            samples=state.samples,
            average=part(state.average),
            n_averaged=part(state.n_averaged),
            average_from=state.average_from,
        )

    def spread(self, value, diverged, last_value=None):
        """The running models' epoch objective and divergence, for all ``K``.

        A stopped model keeps its objective of ``last_value`` (NaN if None)
        and has not diverged.
        """
        n_models = len(self.running)
        whole = np.full(n_models, np.nan) if last_value is None else last_value
        whole = np.array(whole, dtype=float)
        whole[self.running] = value
        whole_diverged = np.zeros(n_models, dtype=bool)
        whole_diverged[self.running] = diverged
        return whole, whole_diverged

    def put(self, part, state):
        """Write the trained columns of ``part`` back into ``state``."""
        restore_columns(state, self.objective, self.columns, column_arrays(part))
        n_columns = part.params.shape[1]
        for name, value in part.optimizer_state.items():
            if not has_columns(value, n_columns):  # shared by the columns
                state.optimizer_state[name] = copy.copy(value)
        state.epoch, state.samples, state.rng = part.epoch, part.samples, part.rng

    def learning_rate(self, lr):
        """The running models' share of an epoch's rate (scalar or per column)."""
        return lr[self.columns] if np.ndim(lr) else lr


def running_part(run, source, running, by_rows=False):
    """The objective, optimizer, preconditioner and batches of running models.

    Built from the running models' specs as :func:`plan` builds the whole
    run's, with their columns of the center and the preconditioner and
    their columns of the weights; the batches are the whole run's (same
    rows, size, shuffling and dropout, drawn from the same generator),
    and with ``by_rows`` without the rows that every one of these models
    weighs zero (besides those the source leaves out). ``source`` None (a
    driver that trains elsewhere) gives no batches.
    """
    objective = run.objective
    columns = np.flatnonzero(objective.model_columns(running))
    specs = [spec for spec, keep in zip(run.specs, running, strict=True) if keep]
    dtype = numpy_dtype(run.state.params.dtype)
    offset = objective.offset
    if offset is not None and offset.ndim == 2:
        offset = np.take(offset, columns, axis=1)
    preconditioner = run.preconditioner
    if preconditioner is not None:
        preconditioner = Preconditioner(
            *(
                array if array.shape[1] == 1 else np.take(array, columns, axis=1)
                for array in preconditioner
            )
        )
    part = RunningPart(
        running=running.copy(),
        columns=columns,
        specs=specs,
        offset=offset,
        objective=models_objective(specs, objective.n_classes, offset, dtype),
        optimizer=models_optimizer(specs, objective.n_classes, dtype),
        preconditioner=preconditioner,
    )
    if source is not None:
        weights, keep = source.weight, source.keep
        if weights.ndim == 2:
            weights = np.take(weights, np.flatnonzero(running), axis=1)
        if by_rows:
            weighed = (weights > 0).any(axis=1)
            keep = weighed if keep is None else keep & weighed
        part.source = BatchSource(
            source.X,
            source.y,
            weights,
            source.rows,
            batch_size=source.batch_size,
            shuffle=source.shuffle,
            dropout=source.dropout,
            keep=keep,
        )
    return part


# ----------------------------------------------------------------- finish


@dataclass
class Finished:
    """What :func:`finish` returns: the trained models.

    Attributes
    ----------
    params : ndarray of shape (n_features + 1, K * C)
        The models' parameters in the training layout (averaged or best).
    models : list of ndarray of shape (n_features + 1, C)
        Each model's weights and, in the last row, its public intercepts
        (those of the uncentered data).
    diverged : ndarray of bool of shape (K,)
        Models whose objective or scores stopped being finite.
    temperatures : list of float or None
        The temperature of each model that needs one.
    """

    params: np.ndarray
    models: list
    diverged: np.ndarray
    temperatures: list


def finish(run, history, scores_of_rows, scores_are_finite):
    """The trained models of a run, checked, in the public layout.

    Parameters
    ----------
    run : Run
        The run after :func:`train_run`.
    history : sklinear._engine.History
        What training recorded.
    scores_of_rows : callable
        ``(params, rows) -> scores`` of rows of the data.
    scores_are_finite : callable
        ``params -> ndarray of bool of shape (K,)``: whether each model
        scores every row finitely. The last step can overflow the scores
        without the objective, checked before each step, seeing it.

    Returns
    -------
    Finished
    """
    objective = run.objective
    n_classes = run.n_classes
    xp = objective.xp
    params = run.state.model_params(objective.step_terms)
    diverged = history.diverged.copy()
    if not diverged.all():
        diverged |= ~np.asarray(scores_are_finite(params), dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):  # diverged models
        intercepts = objective.intercept(params)
    uncentered = xp.concat([params[:-1, ...], intercepts[None, :]], axis=0)
    models = [
        uncentered[:, k * n_classes : (k + 1) * n_classes] for k in range(run.n_models)
    ]
    temperatures = [None] * run.n_models
    if objective.loss.needs_temperature:
        for k in np.flatnonzero(~diverged):
            rows = _temperature_rows(run, k)
            columns = slice(k * n_classes, (k + 1) * n_classes)
            scores = to_numpy(scores_of_rows(params, rows)[:, columns])
            temperatures[k] = fit_temperature(
                scores, run.y_index[rows], run.model_weights(k, rows)
            )
    return Finished(params, models, diverged, temperatures)


def _temperature_rows(run, k):
    """The rows model ``k``'s temperature is fitted on (at most 10,000)."""
    if run.val_rows is not None:
        return run.val_rows
    rows = np.flatnonzero(run.model_weights(k) > 0)
    if len(rows) > MAX_TEMPERATURE_ROWS:
        rows = np.sort(run.state.rng.choice(rows, MAX_TEMPERATURE_ROWS, False))
    return rows


def public_coefficients(model):
    """``coef_`` and ``intercept_`` of a model's (n_features + 1, C) parameters.

    With two classes the model keeps two score columns (the multinomial
    form) and exposes their difference: ``coef_`` of shape (1, n_features).
    """
    W, b = model[:-1, ...], model[-1, ...]
    xp = namespace_of(model)
    if model.shape[1] == 2:
        return (W[:, 1] - W[:, 0])[None, :], xp.reshape(b[1] - b[0], (1,))
    if xp is np:
        return np.ascontiguousarray(W.T), b.copy()
    return xp.asarray(W.T, copy=True), xp.asarray(b, copy=True)


def convergence_warning(spec, history, learning_rate, stacklevel=4):
    """Warn if the one model of a fit rose or did not meet its stopping criterion."""
    if history.rose is not None and history.rose.any():
        warnings.warn(
            f"{spec.name} stopped with a training objective of "
            f"{float(history.loss_curve[-1][0]):.4g}, more than twice where "
            "it started: the optimization made the model worse. Lower "
            f"learning_rate_init (now {spec.learning_rate_init!r}, a rate of "
            f"{learning_rate:.3g}) or standardize the features.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    elif spec.tol is not None and not history.converged.all():
        warnings.warn(
            f"{spec.name} reached max_iter={spec.max_iter} epochs "
            "before the stopping criterion was met; increase max_iter.",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )


def fit_temperature(scores, y_index, weight):
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
    scores = np.asarray(scores).astype(np.float64)
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


def scores_of_rows(objective, params, X, rows):
    """Raw scores of ``X[rows]``, gathered in chunks to avoid copying X.

    In the namespace of ``X`` (``rows`` are host integers).
    """
    xp, device = objective.xp, objective.device
    return xp.concat(
        [
            objective.decision(
                params, take_rows(X, rows[start : start + SCORE_CHUNK], xp, device)
            )
            for start in range(0, len(rows), SCORE_CHUNK)
        ],
        axis=0,
    )
