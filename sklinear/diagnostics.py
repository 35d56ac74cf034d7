"""The debugging tools CS231n teaches: gradient check and initial-loss check."""

from collections import namedtuple

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_X_y

from ._base import fitted_parameters, model_spec
from ._learning_rate import feature_scales, typical_row_norm
from ._recipe import check_classes, checked_sample_weight, initial_state

__all__ = ["InitialLossCheck", "gradient_check", "initial_loss_check", "objective"]

InitialLossCheck = namedtuple("InitialLossCheck", ["loss", "expected"])
InitialLossCheck.__doc__ = """Result of :func:`initial_loss_check`.

Attributes
----------
loss : float
    Data loss of the initial small random weights.
expected : float
    The value it should be about: ``(C - 1) * margin`` for the
    Weston–Watkins hinge, ``log(C)`` for softmax.

Examples
--------
>>> from sklinear.diagnostics import InitialLossCheck
>>> check = InitialLossCheck(loss=2.31, expected=2.3026)
>>> abs(check.loss - check.expected) < 0.05
True
"""
InitialLossCheck.loss.__doc__ = "Data loss of the initial small random weights."
InitialLossCheck.expected.__doc__ = "What the initial loss should be about."


def _prepare(estimator, X, y, sample_weight, dtype):
    """Validated data, class indices, the objective and the parameters.

    The parameters are the fitted ones, or for an unfitted estimator the
    initial ones ``fit`` would start from.
    """
    X, y = check_X_y(X, y, accept_sparse="csr", dtype=dtype)
    check_classification_targets(y)
    spec = model_spec(estimator)
    fitted = fitted_parameters(estimator)
    if fitted is not None:
        classes = estimator.classes_
        if X.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(estimator).__name__} was "
                f"fitted with {estimator.n_features_in_}."
            )
        params, offset = fitted
        params = params.astype(dtype)
    else:
        classes = np.unique(y)
        check_classes(spec.name, classes)
        row_norm = typical_row_norm(
            feature_scales(X), spec.penalty_strength(), spec.fit_intercept
        )
        params = initial_state(spec, X.shape[1], len(classes), dtype, row_norm).params
        offset = None
    unknown = np.setdiff1d(y, classes)
    if unknown.size:
        raise ValueError(f"y contains labels {unknown.tolist()} unknown to the model.")
    y_index = np.searchsorted(classes, y)
    weight = checked_sample_weight(sample_weight, X.shape[0], dtype)
    objective = spec.objective(
        len(classes), None if offset is None else offset.astype(dtype)
    )
    return objective, X, y_index, weight, params


def gradient_check(
    estimator, X, y, sample_weight=None, *, n_checks=20, step=1e-5, random_state=None
):
    """Compare the analytic gradient with centered finite differences.

    The function differentiated is the smooth part of the estimator's full
    objective on ``(X, y)``: the sample-weighted mean data loss plus the L2
    part of the penalty, as a function of the weights and intercepts. (The L1
    part is applied as a proximal step, not through the gradient.) It is
    evaluated at the fitted parameters, or, for an unfitted estimator, at the
    small random weights ``fit`` starts from. Computation is in float64.

    For each of ``n_checks`` randomly chosen parameters, the numerical
    derivative ``(f(p + h) - f(p - h)) / (2 h)`` is compared with the analytic
    one through the relative error ``|a - n| / (|a| + |n|)``. When both are
    within the rounding noise of the finite difference (100 ulps of ``f``
    divided by ``h``) they count as equal (error 0): such derivatives are
    zero as far as can be measured. CS231n's rule of thumb: below 1e-7 is
    excellent, above 1e-2 is wrong.
    The hinge has kinks: a coordinate whose step crosses one can show a large
    error without a bug.

    Parameters
    ----------
    estimator : MulticlassSVMSGD or SoftmaxSGD
        Fitted or not; it is not modified.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,)
        Labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    n_checks : int, default=20
        Number of parameters checked.
    step : float, default=1e-5
        Finite-difference step ``h``.
    random_state : int, RandomState instance or None, default=None
        Chooses the parameters checked (and the initial weights if the
        estimator is not fitted).

    Returns
    -------
    relative_errors : ndarray of shape (n_checks,)
        Relative error of each checked parameter.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklinear import SoftmaxSGD
    >>> from sklinear.diagnostics import gradient_check
    >>> X, y = load_iris(return_X_y=True)
    >>> errors = gradient_check(SoftmaxSGD(alpha=0.1, random_state=0), X, y,
    ...                         random_state=0)
    >>> bool(errors.max() < 1e-6)
    True
    """
    rng = check_random_state(random_state)
    if not hasattr(estimator, "_params"):
        estimator = clone(estimator).set_params(random_state=rng.randint(2**31 - 1))
    model, X, y_index, weight, params = _prepare(
        estimator, X, y, sample_weight, np.float64
    )
    params = params.copy()

    def objective(p):
        return float(model.value_and_grad(p, X, y_index, weight)[0])

    analytic = np.empty_like(params)
    model.value_and_grad(params, X, y_index, weight, out=analytic)
    rows = params.shape[0] if model.fit_intercept else params.shape[0] - 1
    flat = rng.choice(rows * params.shape[1], size=n_checks, replace=True)
    coordinates = np.column_stack(np.unravel_index(flat, (rows, params.shape[1])))
    errors = np.empty(n_checks)
    for k, (i, j) in enumerate(coordinates):
        original = params[i, j]
        params[i, j] = original + step
        f_plus = objective(params)
        params[i, j] = original - step
        f_minus = objective(params)
        params[i, j] = original
        numerical = (f_plus - f_minus) / (2 * step)
        # Both derivatives within the rounding noise of the finite difference
        # (100 ulps of f over h) are equally zero: no relative error.
        noise = 100 * np.finfo(np.float64).eps * max(abs(f_plus), abs(f_minus)) / step
        a, n = analytic[i, j], numerical
        if max(abs(a), abs(n)) <= noise:
            errors[k] = 0.0
        else:
            errors[k] = abs(n - a) / (abs(n) + abs(a))
    return errors


def initial_loss_check(estimator, X, y, sample_weight=None):
    """Data loss at the initial small random weights, and its expected value.

    With weights close to zero all scores are about equal, so the
    Weston–Watkins hinge should be about ``(C - 1) * margin`` and softmax
    cross-entropy about ``log(C)`` for ``C`` classes. A large difference
    points to a bug in the loss or in the data (for example unscaled
    features). ``fit`` records the same check as ``initial_loss_`` and
    ``expected_initial_loss_``.

    Parameters
    ----------
    estimator : MulticlassSVMSGD or SoftmaxSGD
        An estimator; it is not modified (a fitted one is re-initialized on a
        clone).
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,)
        Labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    InitialLossCheck
        Named tuple ``(loss, expected)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklinear import MulticlassSVMSGD
    >>> from sklinear.diagnostics import initial_loss_check
    >>> X, y = load_digits(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> check = initial_loss_check(MulticlassSVMSGD(margin=1.0, random_state=0), X, y)
    >>> round(check.loss, 1), check.expected
    (9.0, 9.0)
    """
    model, X, y_index, weight, params = _prepare(
        clone(estimator), X, y, sample_weight, np.float64
    )
    loss, _ = model.loss(
        model.decision(params, X), y_index, weight, **model.loss_params
    )
    expected = model.loss.initial_loss(model.n_classes, **model.loss_params)
    return InitialLossCheck(float(loss), expected)


def objective(estimator, X, y, sample_weight=None):
    """Full training objective of a fitted estimator on ``(X, y)``.

    The sample-weighted mean data loss plus the whole penalty (L2 and L1
    parts) at the fitted parameters, in float64: the quantity the optimizer
    minimizes. With ``penalty="l2"``, ``SoftmaxSGD``'s objective equals
    ``LogisticRegression(C=C)``'s divided by ``C * n_samples`` when ``alpha =
    1 / (C * n_samples)``.

    Parameters
    ----------
    estimator : MulticlassSVMSGD or SoftmaxSGD
        A fitted estimator.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,)
        Labels, all in ``estimator.classes_``.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    float
        The objective.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklinear import SoftmaxSGD
    >>> from sklinear.diagnostics import objective
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = SoftmaxSGD(alpha=1e-3, max_iter=5, random_state=0).fit(X, y)
    >>> bool(objective(clf, X, y) < clf.initial_loss_)
    True
    """
    check_is_fitted(estimator)
    model, X, y_index, weight, params = _prepare(
        estimator, X, y, sample_weight, np.float64
    )
    return float(model.value(params, X, y_index, weight)[0])
