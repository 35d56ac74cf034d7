"""MulticlassSVMSGD and SoftmaxSGD (subclasses choosing the loss) and their *CV."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseLinearSGD
from ._cv import BaseLinearSGDCV
from .losses import LOSSES

# MulticlassSVMSGD's losses: those whose scores are margins.
MARGIN_LOSSES = {name for name, record in LOSSES.items() if record.needs_temperature}


def _used_loss_params(loss, **params):
    """The entries of ``params`` that loss ``loss`` takes (all if unknown).

    ``smoothing`` only reaches the smooth hinge, so that it matters for
    no other loss.
    """
    record = LOSSES.get(loss)
    return params if record is None else record.used_params(params)


_SHARED_PARAMETERS_DOC = """
    penalty : {"l2", "l1", "elasticnet"} or None, default="l2"
        Regularization of the weights (never of the intercept). ``"l2"`` adds
        ``alpha / 2 * ||W||^2``; ``"l1"`` adds ``alpha * ||W||_1`` and
        ``"elasticnet"`` ``alpha * (l1_ratio * ||W||_1 + (1 - l1_ratio) / 2 *
        ||W||^2)``, their L1 part applied as a proximal (soft-threshold) step
        after each update so that coefficients become exactly zero. CS231n
        writes the L2 penalty as ``reg * ||W||^2``: ``alpha = 2 * reg``.
    alpha : float, default=1e-4
        Regularization strength, >= 0.
    l1_ratio : float, default=0.15
        Share of L1 in ``"elasticnet"``, in [0, 1].
    max_norm : float or None, default=None
        If set, each class's weight vector is projected onto the L2 ball of
        this radius after every update. With two classes the constraint holds
        for both internal class vectors, whose difference is ``coef_``.
    dropout : float, default=0.0
        Probability of zeroing each input feature during training, in [0, 1),
        with inverted scaling by ``1 / (1 - dropout)``; off at prediction.
    fit_intercept : bool, default=True
        Whether to learn an intercept (never penalized).
    optimizer : {"sgd", "momentum", "nesterov", "adam", "adamw", "adagrad", \
"rmsprop", "random_search"}, default="adam"
        Update rule. Adam, the default, steps every weight by about its rate
        whatever the gradient's scale, which with the automatic per-feature
        rate makes training insensitive to the scale of each feature;
        ``"sgd"`` is the CS231n baseline. ``"adamw"`` is Adam with the
        penalty's L2 part (``alpha``) as decoupled weight decay, as
        ``torch.optim.AdamW``. ``"random_search"`` is CS231n's
        first baseline: it uses no gradient, tries the weights plus Gaussian
        noise of scale ``learning_rate_init`` on each minibatch and keeps
        them only if the minibatch objective goes down.
    learning_rate : {"constant", "invscaling", "step", "adaptive"}, \
default="constant"
        Schedule of the learning rate over epochs: ``"invscaling"`` divides it
        by ``(epoch + 1) ** power_t``; ``"step"`` multiplies it by
        ``lr_decay`` every ``lr_decay_epochs`` epochs (the CS231n solver);
        ``"adaptive"`` divides it by 5 whenever the stopping criterion stalls
        for ``n_iter_no_change`` epochs, and stops once it is below a
        thousandth of its start.
    learning_rate_init : float or "auto", default="auto"
        Initial learning rate (the perturbation scale for random search).
        ``"auto"`` derives one rate per feature from the training data at
        the start of ``fit`` (and of the first ``partial_fit``): for Adam,
        RMSProp, AdaGrad and random search the step that moves the scores
        of a typical row by about 1, split over the features in proportion
        to their spread; for SGD, momentum and Nesterov ``1 / L`` with
        ``L`` the curvature bound of the loss, as in scikit-learn's SAG
        solver. The rates then do not depend on the scale of any feature:
        raw pixels, pixels divided by 255 and standardized features train
        the same. The rate of a feature of unit spread is stored as
        ``learning_rate_``. A float is one rate for every weight (with
        Adam, each weight moves by about that much per step).
    average : bool, int or "auto", default="auto"
        Polyak–Ruppert averaging: predict with the mean of the parameters
        after each step instead of the last ones, which removes most of the
        noise of a constant step. An int ``n`` starts averaging once ``n``
        samples have been seen (``True`` is 1); ``"auto"`` is True for
        minibatch gradient steps and False for full-batch descent (no noise
        to average out) and for ``"random_search"``, which takes no gradient
        steps (asking it to average is an error). The
        average is also what early stopping scores and what
        ``temperature_`` is fitted on. With an L1 penalty, averaged weights
        are zero where the last iterate's are (averaging alone would leave
        none exactly zero).
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    lr_decay : float, default=0.95
        Factor of ``"step"``, in (0, 1].
    lr_decay_epochs : int, default=1
        Epochs between two decays of ``"step"``.
    momentum : float, default=0.9
        Momentum of ``"momentum"`` and ``"nesterov"``, in [0, 1).
    beta_1 : float, default=0.9
        First-moment decay of ``"adam"``, in [0, 1).
    beta_2 : float, default=0.999
        Second-moment decay of ``"adam"`` and ``"rmsprop"``, in [0, 1).
    epsilon : float, default=1e-8
        Numerical stability term of ``"adam"``, ``"adagrad"`` and
        ``"rmsprop"``.
    batch_size : int, "auto" or None, default="auto"
        Minibatch size; None uses the whole training set (full-batch
        gradient descent). ``"auto"`` is 256 rows (CS231n's minibatch), or
        1,024 once ``(n_features + 1) * n_classes`` reaches ``2**18``
        parameters (many classes: the passes over the parameters then rival
        the matrix products), and never more than ``max(256, n_samples //
        16)`` nor ``n_samples``. ``batch_size=256`` keeps CS231n's size
        everywhere.
    max_iter : int, default=100
        Maximum number of epochs (passes over the data).
    tol : float or None, default=1e-2
        Training stops when the epoch objective (with early stopping, the
        validation error ``1 - accuracy``) has not decreased by more than
        ``tol`` times its best value so far for ``n_iter_no_change``
        epochs: a relative tolerance, which means the same for every loss,
        scale and accuracy level. None: run ``max_iter`` epochs.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), stop on its
        accuracy and keep the parameters of the best epoch.
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in (0, 1).
    shuffle : bool, default=True
        Shuffle the rows before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, shuffling, dropout, the validation split
        and random search.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights.
        ``"balanced"`` uses ``n_samples / (n_classes * bincount(y))``.
    verbose : int, default=0
        If positive, print the initial loss beside its expected value and one
        line per epoch: epoch, objective, validation score, elapsed time.
"""

_SHARED_ATTRIBUTES_DOC = """
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights, in the dtype of the training data. With two classes, the
        weights of ``classes_[1]`` minus those of ``classes_[0]``.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.
    n_iter_ : int
        Epochs run (by the last ``fit``, or by all ``partial_fit`` calls).
    t_ : int
        Training samples seen since initialization.
    loss_curve_ : list of float
        Objective (data loss plus penalty) of each epoch, averaged over its
        minibatches.
    best_loss_ : float or None
        Lowest epoch objective; None with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy of each epoch with early stopping, else None.
    best_validation_score_ : float
        Best validation accuracy; only with early stopping.
    initial_loss_ : float
        Data loss of the initial small random weights on the first minibatch.
    learning_rate_ : float
        The learning rate used: ``learning_rate_init``, or the automatic
        rate of a feature of unit spread.
    expected_initial_loss_ : float
        What ``initial_loss_`` should be about (the CS231n sanity check).
"""


class MulticlassSVMSGD(BaseLinearSGD):
    """Multiclass linear SVM with a margin, trained by minibatch optimization.

    The true multiclass hinge of CS231n (not one-vs-rest): for scores ``s =
    x @ W + b`` and correct class ``y``, Weston–Watkins sums
    ``max(0, s_j - s_y + margin)`` over the wrong classes ``j``,
    Crammer–Singer keeps only the largest term. The objective is the
    sample-weighted mean of these losses plus the penalty.

    Parameters
    ----------
    loss : {"hinge", "squared_hinge", "smooth_hinge", "ovr_squared_hinge"}, \
default="hinge"
        Hinge, each hinge term squared, or each hinge term smoothed
        quadratically over a width ``smoothing`` (Huberized: ``v**2 / (2 *
        smoothing)`` for a violation ``0 < v <= smoothing``, ``v - smoothing
        / 2`` beyond; ``sklinear.losses.LOSSES["smooth_hinge"]``), which
        has a Lipschitz gradient. ``"ovr_squared_hinge"`` is the
        one-vs-rest L2-SVM of ``LinearSVC`` (and of Coates et al.'s
        feature-learning papers): each class's score is a binary SVM of
        that class against the rest, ``sum_j max(0, margin - t_j s_j)**2``
        with ``t_j = 1`` for the correct class and ``-1`` for the others
        (``sklinear.losses.one_vs_rest_squared_hinge``); ``LinearSVC(C)``
        is ``alpha = 1 / (C * n_samples)``.
    multi_class : {"weston_watkins", "crammer_singer"}, default="weston_watkins"
        Sum over the wrong classes, or the largest violation only. Ignored
        by ``"ovr_squared_hinge"``.
    margin : float, default=1.0
        Required gap between the correct score and the others, >= 0. With L2
        regularization only the ratio of ``margin`` to the weight scale
        matters, so tune it together with ``alpha``.
    smoothing : float, default=1.0
        Width of the quadratic zone of ``loss="smooth_hinge"``, > 0, in the
        units of the scores, like ``margin`` (1.0: the default margin's
        width, the loss of near-zero scores is then ``1/2`` per wrong class).
        Smaller is closer to the hinge (it tends to it as ``smoothing -> 0``)
        but more curved: the automatic rate of ``"sgd"``, ``"momentum"`` and
        ``"nesterov"`` uses the curvature ``n_classes / smoothing``
        (``2 / smoothing`` with Crammer–Singer). Scale it with ``margin``
        to keep the loss's shape. Ignored by the other losses.
    {shared_parameters}
    Attributes
    ----------
    temperature_ : float
        Temperature ``T`` of ``predict_proba = softmax(scores / T)``, fitted
        after training by minimizing the log-loss on the early-stopping
        validation set, or else on (up to 10,000 rows of) the training data.
    {shared_attributes}
    See Also
    --------
    SoftmaxSGD : The same model trained with the softmax cross-entropy.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklinear import MulticlassSVMSGD
    >>> X, y = load_digits(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = MulticlassSVMSGD(margin=1.0, alpha=1e-3, random_state=0).fit(X, y)
    >>> round(clf.initial_loss_, 1), clf.expected_initial_loss_
    (9.0, 9.0)
    >>> clf.score(X, y) > 0.95
    True
    >>> clf.predict_proba(X[:1]).sum().round(6)
    np.float64(1.0)
    """

    _parameter_constraints: dict = {
        **BaseLinearSGD._parameter_constraints,
        "loss": [StrOptions(MARGIN_LOSSES)],
        "multi_class": [StrOptions({"weston_watkins", "crammer_singer"})],
        "margin": [Interval(Real, 0, None, closed="left")],
        "smoothing": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        loss="hinge",
        multi_class="weston_watkins",
        margin=1.0,
        smoothing=1.0,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        max_norm=None,
        dropout=0.0,
        fit_intercept=True,
        optimizer="adam",
        learning_rate="constant",
        learning_rate_init="auto",
        average="auto",
        power_t=0.5,
        lr_decay=0.95,
        lr_decay_epochs=1,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=100,
        tol=1e-2,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        class_weight=None,
        verbose=0,
    ):
        self.loss = loss
        self.multi_class = multi_class
        self.margin = margin
        self.smoothing = smoothing
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.max_norm = max_norm
        self.dropout = dropout
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.average = average
        self.power_t = power_t
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.verbose = verbose

    def _loss_name(self):
        return self.loss

    def _loss_params(self):
        return _used_loss_params(
            self.loss,
            margin=self.margin,
            multi_class=self.multi_class,
            smoothing=self.smoothing,
        )


class SoftmaxSGD(BaseLinearSGD):
    """Multinomial softmax (cross-entropy) classifier trained by minibatch optimization.

    A true multinomial model (not one-vs-rest): ``predict_proba`` is the
    softmax of the scores ``s = x @ W + b`` and the objective is the
    sample-weighted mean of ``-log softmax(s)_y`` plus the penalty. With
    ``penalty="l2"`` it minimizes the same objective as
    ``LogisticRegression(C=C)`` when ``alpha = 1 / (C * n_samples)``.

    Parameters
    ----------
    {shared_parameters}
    Attributes
    ----------
    {shared_attributes}
    See Also
    --------
    MulticlassSVMSGD : The same model trained with the multiclass hinge.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklinear import SoftmaxSGD
    >>> X, y = load_digits(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = SoftmaxSGD(optimizer="adam", alpha=1e-3, random_state=0).fit(X, y)
    >>> round(clf.initial_loss_, 2), round(clf.expected_initial_loss_, 2)
    (2.3, 2.3)
    >>> clf.score(X, y) > 0.95
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 10)
    """

    def __init__(
        self,
        *,
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        max_norm=None,
        dropout=0.0,
        fit_intercept=True,
        optimizer="adam",
        learning_rate="constant",
        learning_rate_init="auto",
        average="auto",
        power_t=0.5,
        lr_decay=0.95,
        lr_decay_epochs=1,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=100,
        tol=1e-2,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        class_weight=None,
        verbose=0,
    ):
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.max_norm = max_norm
        self.dropout = dropout
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.average = average
        self.power_t = power_t
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.verbose = verbose

    def _loss_name(self):
        return "log_loss"


for _estimator in (MulticlassSVMSGD, SoftmaxSGD):
    _estimator.__doc__ = _estimator.__doc__.replace(
        "    {shared_parameters}\n", _SHARED_PARAMETERS_DOC.lstrip("\n")
    ).replace("    {shared_attributes}\n", _SHARED_ATTRIBUTES_DOC.lstrip("\n"))


_GRID_PARAMETERS_DOC = """
    alphas : array-like of float, default=(1e-5, 1e-4, 1e-3, 1e-2)
        Values of ``alpha`` to try.
    learning_rates : array-like of float or "auto", default=("auto",)
        Values of ``learning_rate_init`` to try.
    l1_ratios : array-like of float, default=(0.15,)
        Values of ``l1_ratio`` to try (they matter with ``"elasticnet"``).
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV``: None for 5 folds, an int for that many
        folds (stratified), a splitter, or an iterable of (train, test)
        index arrays.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name (e.g. ``"neg_log_loss"``) or callable;
        None for accuracy.
    refit : bool, default=True
        Refit the best candidate on all the data, which is exactly the plain
        estimator fitted with the chosen parameters and the same
        ``random_state``; the search then predicts with it. With False the
        search keeps its results (``cv_results_``, ``best_params_``) and no
        model: ``predict`` raises ``NotFittedError``.
    error_score : "raise" or float, default=np.nan
        As in ``GridSearchCV``: the score of a model that could not be
        trained (a split whose training part has no positive weight on two
        classes) or whose scorer failed, with a ``FitFailedWarning``
        naming the split; "raise" raises instead.
"""

_SVM_LOSS_DOC = """    loss : {"hinge", "squared_hinge", "smooth_hinge", \
"ovr_squared_hinge"}, default="hinge"
        As in MulticlassSVMSGD.
    multi_class : {"weston_watkins", "crammer_singer"}, default="weston_watkins"
        As in MulticlassSVMSGD.
    smoothing : float, default=1.0
        Width of the smooth hinge's quadratic zone, as in MulticlassSVMSGD
        (the same for every candidate; ignored by the other losses).
"""

_GRID_MARGINS_DOC = """    margins : array-like of float, default=(1.0,)
        Values of ``margin`` to try.
"""

_CV_ATTRIBUTES_DOC = """
    cv_results_ : dict of ndarray
        ``GridSearchCV``'s layout: ``params``, ``param_<name>``,
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score``,
        ``rank_test_score``, fit and score times (the fit time of one model
        is the time of the shared training divided by the number of models),
        and ``max_n_iter``, the most epochs a candidate's folds ran. A
        candidate that diverged has NaN scores and ranks last.
    best_index_ : int
        Index of the best candidate in ``cv_results_``.
    best_params_ : dict
        Its parameters.
    best_score_ : float
        Its mean cross-validated score.
    alpha_, learning_rate_init_, l1_ratio_ : float
        The chosen values (and ``margin_`` for the SVM).
    n_splits_ : int
        Number of folds.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    coef_, intercept_, learning_rate_, n_iter_, loss_curve_, ... :
        Those of the refitted plain estimator (with ``refit=True``).
    refit_time_ : float
        Seconds the refit of the best candidate on all the data took, as
        ``GridSearchCV``'s (with ``refit=True``); the search's shared
        training is ``cv_results_["mean_fit_time"]`` times the number of
        models trained.
"""


def _without(doc, names):
    """``doc`` (numpydoc parameters) without the entries of ``names``."""
    kept, skipping = [], False
    for line in doc.splitlines(keepends=True):
        if line.startswith("    ") and not line.startswith("     "):
            skipping = line.strip().split(" :")[0] in names
        if not skipping:
            kept.append(line)
    return "".join(kept)


_CV_EXAMPLE = """
    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklinear import {name}
    >>> X, y = load_digits(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> search = {name}(alphas=[1e-4, 1e-2], cv=3, random_state=0).fit(X, y)
    >>> search.alpha_ in (1e-4, 1e-2), search.best_score_ > 0.9
    (True, True)
    >>> [p["alpha"] for p in search.cv_results_["params"]]
    [0.0001, 0.01]
"""


class SoftmaxSGDCV(BaseLinearSGDCV):
    """SoftmaxSGD with its hyperparameter grid searched in one pass.

    Every candidate of the grid ``alphas x learning_rates (x l1_ratios)`` and
    every cross-validation fold are trained together, sharing each
    minibatch and its matrix product (see :mod:`sklinear._cv`): far cheaper
    than ``GridSearchCV``'s separate fits, with the same models. The best
    candidate by mean validation score is then refitted on all the data.

    Parameters
    ----------
    {grid_parameters}
    {shared_parameters}
    Attributes
    ----------
    {cv_attributes}
    See Also
    --------
    SoftmaxSGD : The plain estimator.
    sklearn.linear_model.LogisticRegressionCV : A regularization path, one
        candidate after the other.
    {example}
    """

    _plain = SoftmaxSGD
    _parameter_constraints: dict = BaseLinearSGDCV.constraints_of(SoftmaxSGD)

    def __init__(
        self,
        *,
        alphas=(1e-5, 1e-4, 1e-3, 1e-2),
        learning_rates=("auto",),
        l1_ratios=(0.15,),
        cv=None,
        scoring=None,
        refit=True,
        error_score=np.nan,
        penalty="l2",
        max_norm=None,
        dropout=0.0,
        fit_intercept=True,
        optimizer="adam",
        learning_rate="constant",
        average="auto",
        power_t=0.5,
        lr_decay=0.95,
        lr_decay_epochs=1,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=100,
        tol=1e-2,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        class_weight=None,
        verbose=0,
    ):
        self.alphas = alphas
        self.learning_rates = learning_rates
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.error_score = error_score
        self.penalty = penalty
        self.max_norm = max_norm
        self.dropout = dropout
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.average = average
        self.power_t = power_t
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.verbose = verbose

    def _loss_name(self):
        return "log_loss"


class MulticlassSVMSGDCV(BaseLinearSGDCV):
    """MulticlassSVMSGD with its hyperparameter grid searched in one pass.

    Every candidate of the grid ``alphas x learning_rates x margins (x
    l1_ratios)`` and every cross-validation fold are trained together,
    sharing each minibatch and its matrix product (see
    :mod:`sklinear._cv`): far cheaper than ``GridSearchCV``'s separate fits,
    with the same models. The best candidate by mean validation score is
    then refitted on all the data.

    Parameters
    ----------
    {grid_parameters}
    {shared_parameters}
    Attributes
    ----------
    {cv_attributes}
    See Also
    --------
    MulticlassSVMSGD : The plain estimator.
    {example}
    """

    _plain = MulticlassSVMSGD
    _parameter_constraints: dict = BaseLinearSGDCV.constraints_of(MulticlassSVMSGD)

    def __init__(
        self,
        *,
        alphas=(1e-5, 1e-4, 1e-3, 1e-2),
        learning_rates=("auto",),
        margins=(1.0,),
        l1_ratios=(0.15,),
        cv=None,
        scoring=None,
        refit=True,
        error_score=np.nan,
        loss="hinge",
        multi_class="weston_watkins",
        smoothing=1.0,
        penalty="l2",
        max_norm=None,
        dropout=0.0,
        fit_intercept=True,
        optimizer="adam",
        learning_rate="constant",
        average="auto",
        power_t=0.5,
        lr_decay=0.95,
        lr_decay_epochs=1,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=100,
        tol=1e-2,
        n_iter_no_change=5,
        early_stopping=False,
        validation_fraction=0.1,
        shuffle=True,
        random_state=None,
        warm_start=False,
        class_weight=None,
        verbose=0,
    ):
        self.alphas = alphas
        self.learning_rates = learning_rates
        self.margins = margins
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.error_score = error_score
        self.loss = loss
        self.multi_class = multi_class
        self.smoothing = smoothing
        self.penalty = penalty
        self.max_norm = max_norm
        self.dropout = dropout
        self.fit_intercept = fit_intercept
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.average = average
        self.power_t = power_t
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.verbose = verbose

    def _loss_name(self):
        return self.loss

    def _loss_params(self):
        return _used_loss_params(
            self.loss, multi_class=self.multi_class, smoothing=self.smoothing
        )


_GRID_NAMES = ("alpha", "learning_rate_init", "l1_ratio", "margin")
for _estimator, _extra in ((SoftmaxSGDCV, ""), (MulticlassSVMSGDCV, _GRID_MARGINS_DOC)):
    _grid = _GRID_PARAMETERS_DOC.lstrip("\n")
    if _extra:
        _grid = _grid.replace("    l1_ratios :", _extra + "    l1_ratios :")
    _shared = _without(_SHARED_PARAMETERS_DOC.lstrip("\n"), _GRID_NAMES)
    if _extra:
        _shared = _SVM_LOSS_DOC + _shared
    _estimator.__doc__ = (
        _estimator.__doc__.replace("    {grid_parameters}\n", _grid)
        .replace("    {shared_parameters}\n", _shared)
        .replace("    {cv_attributes}\n", _CV_ATTRIBUTES_DOC.lstrip("\n"))
        .replace("    {example}\n", _CV_EXAMPLE.format(name=_estimator.__name__))
    )

del _estimator, _extra, _grid, _shared
