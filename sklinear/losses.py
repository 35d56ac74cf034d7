"""Multiclass data losses working on scores only.

Public so that they can be studied and compared with one's own
implementation (the CS231n assignments ask for exactly these functions).

Every loss has the signature ``loss(scores, y, sample_weight, **params) ->
(loss, dscores)`` where ``scores`` has shape (n_samples, n_classes), ``y``
holds class indices 0..n_classes-1 and ``sample_weight`` is non-negative with
a positive sum. The returned loss is the sample-weighted mean
``sum(w_i * L_i) / sum(w_i)`` and ``dscores`` its gradient with respect to
``scores``, in the dtype of ``scores``. No data matrix is involved, so the
linear algebra ``X @ W`` and ``X.T @ dscores`` is written once, in the
training engine.

The same functions evaluate ``K`` models at once: ``scores`` of shape
(n_samples, K, n_classes), ``sample_weight`` of shape (n_samples, K) (one
column per model) and parameters such as ``margin`` given per model; the loss
is then an array of ``K`` values. A model whose weights sum to zero has loss
0 and gradient 0.

:data:`LOSSES` holds one :class:`Loss` record per name: the function, the
parameters it takes, its expected initial loss and whether ``predict_proba``
needs a fitted temperature. The estimators build their allowed ``loss``
values from it.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from ._elementwise import sums_per_row
from ._namespace import device_of, namespace_of

__all__ = [
    "LOSSES",
    "Loss",
    "expected_initial_loss",
    "log_softmax",
    "multiclass_hinge",
    "one_vs_rest_squared_hinge",
    "smooth_multiclass_hinge",
    "softmax_cross_entropy",
]


def _flat(scores, y, sample_weight):
    """Rows of every model as one (n * K, C) array, with their labels and weights.

    Each weight column is divided by its sum (with several models, columns
    summing to zero stay zero), so that the loss is a weighted mean per
    model. Working on 2-D rows keeps the one-model case as fast as a plain
    implementation. Any array namespace (see :mod:`sklinear._namespace`).
    """
    xp = namespace_of(scores)
    if xp is np:
        weight = np.asarray(sample_weight, dtype=scores.dtype)
    else:
        weight = xp.asarray(sample_weight, dtype=scores.dtype, device=device_of(scores))
    if scores.ndim == 2:
        weight = xp.reshape(weight, (-1,))
        return scores, y, weight / xp.sum(weight), 1
    n_samples, n_models, n_classes = scores.shape
    weight = xp.reshape(weight, (n_samples, -1))
    total = xp.sum(weight, axis=0)
    weight = weight / xp.where(total > 0, total, 1.0)
    if weight.shape[1] != n_models:
        weight = xp.repeat(weight, n_models, axis=1)
    return (
        xp.reshape(scores, (-1, n_classes)),
        xp.repeat(y, n_models),
        xp.reshape(weight, (-1,)),
        n_models,
    )


class _Labels:
    """The entry ``(i, y_i)`` of each row of (n, C) arrays: read and written.

    NumPy indexes it directly (through the flat positions ``i * C + y_i``
    of a C-contiguous array, a one-dimensional gather); other namespaces,
    which have no scatter, use a mask of the entries and ``where``.
    """

    def __init__(self, y, like):
        self.xp = xp = namespace_of(like)
        self.y = y
        if xp is np:
            n_classes = like.shape[1]
            self.flat = np.arange(0, len(y) * n_classes, n_classes) + y
        else:
            classes = xp.arange(like.shape[1], device=device_of(like))
            self.mask = y[:, None] == classes[None, :]

    def take(self, array):
        """``array[i, y_i]`` for each row: shape (n,)."""
        if self.xp is np:
            if array.flags.c_contiguous:
                return array.reshape(-1).take(self.flat)
            return array[np.arange(len(self.y)), self.y]
        return self.xp.sum(self.xp.where(self.mask, array, 0.0), axis=1)

    def put(self, array, values):
        """``array`` with ``array[i, y_i] = values[i]`` (in place for NumPy)."""
        if self.xp is np:
            if array.flags.c_contiguous:
                array.reshape(-1)[self.flat] = values
            else:
                array[np.arange(len(self.y)), self.y] = values
            return array
        return self.xp.where(self.mask, values[:, None], array)


def _per_model_loss(weight, per_sample, n_models):
    if n_models == 1:
        return weight @ per_sample
    xp = namespace_of(weight)
    return xp.sum(xp.reshape(weight * per_sample, (-1, n_models)), axis=0)


def _per_row(value, n_rows, n_models, like):
    """A scalar, or a per-model array as a column over the flat rows."""
    xp = namespace_of(like)
    if xp is np:
        value = np.asarray(value, dtype=like.dtype)
    elif not isinstance(value, (float, int)):
        value = xp.asarray(value, dtype=like.dtype, device=device_of(like))
    if getattr(value, "ndim", 0) == 0:
        return value
    return xp.tile(value, (n_rows // n_models,))[:, None]


def multiclass_hinge(
    scores,
    y,
    sample_weight,
    *,
    margin=1.0,
    multi_class="weston_watkins",
    squared=False,
    overwrite_scores=False,
):
    """Multiclass hinge loss and its gradient with respect to the scores.

    Weston–Watkins (the CS231n form) sums over the wrong classes,
    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)``; Crammer–Singer
    keeps only the largest term. ``squared=True`` squares each term.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes) or (n_samples, K, n_classes)
        Class scores (of ``K`` models).
    y : ndarray of shape (n_samples,)
        Index of the correct class of each sample.
    sample_weight : ndarray of shape (n_samples,) or (n_samples, K)
        Non-negative weights with a positive sum (per model).
    margin : float or ndarray of shape (K,), default=1.0
        Required gap between the correct score and every other score.
    multi_class : {"weston_watkins", "crammer_singer"}, default="weston_watkins"
        Sum over the wrong classes or take the largest violation only.
    squared : bool, default=False
        Square each hinge term.
    overwrite_scores : bool, default=False
        Whether ``scores`` (a NumPy array) may be overwritten: Weston–Watkins
        then computes the violations, the slopes and the gradient in that
        one array, which is returned as ``dscores``.

    Returns
    -------
    loss : float or ndarray of shape (K,)
        Sample-weighted mean loss.
    dscores : ndarray of the shape of ``scores``
        Gradient of ``loss`` with respect to ``scores``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import multiclass_hinge
    >>> scores = np.array([[3.2, 5.1, -1.7]])
    >>> loss, dscores = multiclass_hinge(scores, np.array([0]), np.ones(1))
    >>> round(float(loss), 2)
    2.9
    """
    shape = scores.shape
    scores, y, weight, n_models = _flat(scores, y, sample_weight)
    xp = namespace_of(scores)
    labels = _Labels(y, scores)
    if overwrite_scores and xp is np and multi_class == "weston_watkins":
        return _hinge_in_place(scores, labels, weight, margin, squared, n_models, shape)
    with np.errstate(invalid="ignore", over="ignore"):
        violation = _violations(scores, labels, margin, multi_class, n_models)
        if squared:
            per_sample, slopes = xp.sum(violation**2, axis=1), 2.0 * violation
        else:
            per_sample = xp.sum(violation, axis=1)
            slopes = xp.astype(violation > 0, scores.dtype)
    return _margin_loss(labels, slopes, per_sample, weight, n_models, shape)


def _hinge_in_place(scores, labels, weight, margin, squared, n_models, shape):
    """The Weston–Watkins hinge of :func:`multiclass_hinge` in ``scores`` itself.

    NumPy: the violations, their slopes and the gradient replace the scores
    one after the other, with no other array of the shape of ``scores``.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        threshold = labels.take(scores)[:, None] - _per_row(
            margin, len(labels.y), n_models, scores
        )
        scores -= threshold
        labels.put(scores, 0.0)
        np.maximum(scores, 0.0, out=scores)
        if squared:
            per_sample = np.einsum("ij,ij->i", scores, scores)
            scores *= 2.0
        else:
            per_sample = sums_per_row(scores)
            np.greater(scores, 0.0, out=scores)  # the slope: 1 where violated
        labels.put(scores, -sums_per_row(scores))
        scores *= weight[:, None]
    loss = _per_model_loss(weight, per_sample, n_models)
    return loss, scores.reshape(shape)


def _margin_loss(labels, slopes, per_sample, weight, n_models, shape):
    """A margin loss and its gradient from the slopes of its wrong-class terms.

    Each wrong class's score gets its term's slope; the correct class's
    score gets minus their sum. Shared by the hinges of this module.
    """
    xp = labels.xp
    dscores = labels.put(slopes, -xp.sum(slopes, axis=1))
    dscores *= weight[:, None]
    loss = _per_model_loss(weight, per_sample, n_models)
    return loss, xp.reshape(dscores, shape)


def _violations(scores, labels, margin, multi_class, n_models):
    """``max(0, s_j - s_y + margin)`` per row and wrong class (0 on the correct one).

    Crammer–Singer keeps only the largest violation of each row.
    """
    xp = labels.xp
    n_rows = scores.shape[0]
    threshold = labels.take(scores)[:, None] - _per_row(
        margin, n_rows, n_models, scores
    )
    violation = scores - threshold
    violation = labels.put(violation, 0.0 if xp is np else xp.zeros_like(scores[:, 0]))
    if xp is np:
        np.maximum(violation, 0.0, out=violation)
    else:
        violation = xp.clip(violation, 0.0, None)
    if multi_class == "crammer_singer":
        worst = _Labels(xp.argmax(violation, axis=1), violation)
        largest = worst.take(violation)
        violation = worst.put(xp.zeros_like(violation), largest)
    return violation


def one_vs_rest_squared_hinge(scores, y, sample_weight, *, margin=1.0):
    """One-vs-rest squared hinge (the L2-SVM) and its gradient in the scores.

    Each class's score is a binary SVM of its class against the rest:
    ``L_i = sum_j max(0, margin - t_ij * s_j)**2`` with ``t_ij = 1`` for the
    correct class and ``-1`` for the others. Unlike the multiclass hinges,
    which look at the differences ``s_j - s_{y_i}``, every score is pushed
    past its own margin: liblinear's ``LinearSVC`` (``loss="squared_hinge"``,
    one-vs-rest) and Coates et al.'s classifier minimize this loss, with a
    mean over the rows and an L2 penalty.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes) or (n_samples, K, n_classes)
        Class scores (of ``K`` models).
    y : ndarray of shape (n_samples,)
        Index of the correct class of each sample.
    sample_weight : ndarray of shape (n_samples,) or (n_samples, K)
        Non-negative weights with a positive sum (per model).
    margin : float or ndarray of shape (K,), default=1.0
        Score the correct class must reach, and minus the score the others
        must stay below.

    Returns
    -------
    loss : float or ndarray of shape (K,)
        Sample-weighted mean loss.
    dscores : ndarray of the shape of ``scores``
        Gradient of ``loss`` with respect to ``scores``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import one_vs_rest_squared_hinge
    >>> scores = np.array([[0.5, -2.0, 0.25]])  # violations 0.5, 0 and 1.25
    >>> loss, dscores = one_vs_rest_squared_hinge(scores, np.array([0]), np.ones(1))
    >>> float(loss), dscores  # 0.5**2 + 1.25**2
    (1.8125, array([[-1. ,  0. ,  2.5]]))
    """
    shape = scores.shape
    scores, y, weight, n_models = _flat(scores, y, sample_weight)
    xp = namespace_of(scores)
    labels = _Labels(y, scores)
    with np.errstate(invalid="ignore", over="ignore"):
        # margin - t * s: the wrong classes' scores plus the margin, the
        # correct class's margin minus its score.
        violation = scores + _per_row(margin, scores.shape[0], n_models, scores)
        violation = labels.put(
            violation, labels.take(violation) - 2.0 * labels.take(scores)
        )
        if xp is np:
            np.maximum(violation, 0.0, out=violation)
        else:
            violation = xp.clip(violation, 0.0, None)
        per_sample = xp.sum(violation**2, axis=1)
        # d/ds_j of (margin - t s_j)**2 is -2 t (margin - t s_j).
        dscores = 2.0 * violation
        dscores = labels.put(dscores, -labels.take(dscores))
    dscores *= weight[:, None]
    loss = _per_model_loss(weight, per_sample, n_models)
    return loss, xp.reshape(dscores, shape)


def smooth_multiclass_hinge(
    scores,
    y,
    sample_weight,
    *,
    margin=1.0,
    smoothing=1.0,
    multi_class="weston_watkins",
):
    """Quadratically smoothed (Huberized) multiclass hinge and its gradient.

    Each hinge term ``max(0, v)`` of :func:`multiclass_hinge`, with ``v =
    s_j - s_{y_i} + margin``, is replaced by its Huber smoothing of width
    ``smoothing`` (``γ``)::

        h(v) = 0                 if v <= 0
               v**2 / (2 γ)      if 0 < v <= γ
               v - γ / 2         if v > γ

    the smoothed hinge of Shalev-Shwartz & Zhang's SDCA (scikit-learn's
    binary ``modified_huber`` is ``4 h`` with ``γ = 2``). ``h`` has
    the slope ``clip(v / γ, 0, 1)``, continuous, and a second derivative at
    most ``1 / γ``: the loss has a Lipschitz gradient. It lies between
    ``max(0, v) - γ / 2`` and ``max(0, v)`` and tends to the hinge as ``γ ->
    0``. Weston–Watkins sums ``h`` over the wrong classes; Crammer–Singer
    takes ``h`` of the largest violation (smooth except where two wrong
    classes tie for the largest violation, as the squared hinge's).

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes) or (n_samples, K, n_classes)
        Class scores (of ``K`` models).
    y : ndarray of shape (n_samples,)
        Index of the correct class of each sample.
    sample_weight : ndarray of shape (n_samples,) or (n_samples, K)
        Non-negative weights with a positive sum (per model).
    margin : float or ndarray of shape (K,), default=1.0
        Required gap between the correct score and every other score.
    smoothing : float or ndarray of shape (K,), default=1.0
        Width ``γ > 0`` of the quadratic zone, in the units of the scores
        (those of ``margin``): violations up to ``γ`` cost ``v**2 / (2 γ)``.
    multi_class : {"weston_watkins", "crammer_singer"}, default="weston_watkins"
        Sum over the wrong classes or take the largest violation only.

    Returns
    -------
    loss : float or ndarray of shape (K,)
        Sample-weighted mean loss.
    dscores : ndarray of the shape of ``scores``
        Gradient of ``loss`` with respect to ``scores``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import smooth_multiclass_hinge
    >>> scores = np.array([[3.2, 5.1, -1.7]])  # violations 2.9 and 0 (-3.9)
    >>> loss, dscores = smooth_multiclass_hinge(scores, np.array([0]), np.ones(1))
    >>> round(float(loss), 2)  # 2.9 - 1 / 2
    2.4
    >>> scores = np.array([[3.2, 2.7, -1.7]])  # violation 0.5, in the quadratic zone
    >>> loss, dscores = smooth_multiclass_hinge(scores, np.array([0]), np.ones(1))
    >>> round(float(loss), 3), dscores.round(3)  # 0.5**2 / 2, slope 0.5
    (0.125, array([[-0.5,  0.5,  0. ]]))
    """
    shape = scores.shape
    scores, y, weight, n_models = _flat(scores, y, sample_weight)
    xp = namespace_of(scores)
    labels = _Labels(y, scores)
    width = _per_row(smoothing, scores.shape[0], n_models, scores)
    with np.errstate(invalid="ignore", over="ignore"):
        violation = _violations(scores, labels, margin, multi_class, n_models)
        dscores = xp.clip(violation / width, None, 1.0)
        terms = xp.where(
            violation > width, violation - 0.5 * width, 0.5 * violation * dscores
        )
        per_sample = xp.sum(terms, axis=1)
    return _margin_loss(labels, dscores, per_sample, weight, n_models, shape)


def softmax_cross_entropy(scores, y, sample_weight, *, overwrite_scores=False):
    """Softmax cross-entropy loss and its gradient with respect to the scores.

    ``L_i = -log(exp(s_{y_i}) / sum_j exp(s_j))``, computed through the
    log-sum-exp of the shifted scores so that large scores cannot overflow.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes) or (n_samples, K, n_classes)
        Class scores (of ``K`` models).
    y : ndarray of shape (n_samples,)
        Index of the correct class of each sample.
    sample_weight : ndarray of shape (n_samples,) or (n_samples, K)
        Non-negative weights with a positive sum (per model).
    overwrite_scores : bool, default=False
        Whether ``scores`` (a NumPy array) may be overwritten: the shifted
        scores, their exponentials and the gradient then replace them in
        place, and ``scores`` is returned as ``dscores``.

    Returns
    -------
    loss : float or ndarray of shape (K,)
        Sample-weighted mean loss.
    dscores : ndarray of the shape of ``scores``
        Gradient of ``loss`` with respect to ``scores``: softmax minus one-hot.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import softmax_cross_entropy
    >>> loss, dscores = softmax_cross_entropy(np.zeros((1, 4)), np.array([2]), [1.0])
    >>> bool(np.isclose(loss, np.log(4)))
    True
    """
    shape = scores.shape
    scores, y, weight, n_models = _flat(scores, y, sample_weight)
    xp = namespace_of(scores)
    labels = _Labels(y, scores)
    if overwrite_scores and xp is np:
        return _softmax_in_place(scores, labels, weight, n_models, shape)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        shifted = scores - xp.max(scores, axis=1, keepdims=True)
        correct = labels.take(shifted)
        dscores = xp.exp(shifted)
        total = xp.sum(dscores, axis=1)
        loss = -_per_model_loss(weight, correct - xp.log(total), n_models)
        dscores *= (weight / total)[:, None]
        dscores = labels.put(dscores, labels.take(dscores) - weight)
    return loss, xp.reshape(dscores, shape)


def _softmax_in_place(scores, labels, weight, n_models, shape):
    """:func:`softmax_cross_entropy` in ``scores`` itself (NumPy).

    The scores are shifted by each row's correct-class score instead of its
    maximum (a reduction over a short axis is slow in NumPy): the correct
    class's exponential is then 1, so each row's sum is at least 1 and the
    loss is the log of that sum, and nothing can overflow as long as no
    shifted score exceeds ``log(max / n_classes)``, which one maximum over
    the whole array checks. Where one does (a score far above the correct
    one), the rows are shifted further by their maxima, as in the general
    path. Then one pass for the exponentials and one for the scaling by
    ``weight / sum``; the sums are products (:func:`sums_per_row`).
    """
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        scores -= labels.take(scores)[:, None]
        n_classes = scores.shape[1]
        largest = scores.max()
        if largest <= _safe_exponent(scores.dtype, n_classes):
            correct = None
        else:  # Also for NaN, which the loss then reports.
            shift = scores.max(axis=1, keepdims=True)
            scores -= shift
            correct = -shift[:, 0]
        np.exp(scores, out=scores)
        total = sums_per_row(scores)
        log_total = np.log(total)
        if correct is not None:
            log_total -= correct
        loss = _per_model_loss(weight, log_total, n_models)
        scores *= (weight / total)[:, None]
        labels.put(scores, labels.take(scores) - weight)
    return loss, scores.reshape(shape)


@functools.lru_cache(maxsize=64)
def _safe_exponent(dtype, n_classes):
    """The largest shifted score whose row of exponentials sums finitely."""
    return float(np.log(np.finfo(dtype).max / n_classes)) - 1.0


def log_softmax(scores):
    """Log-softmax over the last axis of ``scores``, stable for large values.

    Parameters
    ----------
    scores : ndarray of shape (..., n_classes)
        Class scores.

    Returns
    -------
    log_proba : ndarray of the shape of ``scores``
        ``scores - logsumexp(scores, axis=-1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import log_softmax
    >>> np.exp(log_softmax(np.array([[1000.0, 1000.0]])))
    array([[0.5, 0.5]])
    """
    xp = namespace_of(scores)
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = scores - xp.max(scores, axis=-1, keepdims=True)
        shifted -= xp.log(xp.sum(xp.exp(shifted), axis=-1, keepdims=True))
    return shifted


def _margin_initial_loss(
    n_classes, *, squared, margin=1.0, multi_class="weston_watkins"
):
    term = margin**2 if squared else margin
    n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
    return float(n_terms * term)


def _smooth_hinge_initial_loss(
    n_classes, *, margin=1.0, smoothing=1.0, multi_class="weston_watkins"
):
    # Every wrong class violates the margin by ``margin``: h(margin) each.
    if margin <= smoothing:
        term = margin**2 / (2.0 * smoothing)
    else:
        term = margin - smoothing / 2.0
    n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
    return float(n_terms * term)


def _ovr_squared_hinge_initial_loss(n_classes, *, margin=1.0):
    # Every class, the correct one too, misses its margin by ``margin``.
    return float(n_classes * margin**2)


def _ovr_squared_hinge_curvature(n_classes, **_):
    # Each score is in its own term: the Hessian in the scores is diagonal,
    # 2 where the margin is violated.
    return 2.0


def _softmax_initial_loss(n_classes):
    return float(np.log(n_classes))


def _margin_curvature(n_classes, *, multi_class="weston_watkins", **_):
    # Twice the number of terms (plus one): the squared hinge's second
    # derivative at unit violation; the hinge's subgradient has that scale.
    n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
    return 2.0 * (n_terms + 1)


def _smooth_hinge_curvature(
    n_classes, *, smoothing=1.0, multi_class="weston_watkins", **_
):
    # The Hessian of one sample's loss in the scores is the sum, over the
    # terms in their quadratic zone, of h'' (e_j - e_y) (e_j - e_y)^T with
    # h'' = 1 / smoothing (0 elsewhere). Summed over n_terms wrong classes
    # this is 1 / smoothing times the Laplacian of a star graph whose centre
    # is the correct class: eigenvalues 0, 1 and n_terms + 1, the largest
    # reached when every term is in its quadratic zone. So the bound is
    # (n_terms + 1) / smoothing: C / smoothing for Weston-Watkins, 2 /
    # smoothing for Crammer-Singer (one term). The squared hinge's
    # 2 * (n_terms + 1) is the same bound with h'' = 2.
    n_terms = 1 if multi_class == "crammer_singer" else n_classes - 1
    return (n_terms + 1) / smoothing


def _softmax_curvature(n_classes, **_):
    # The largest eigenvalue of diag(p) - p p^T is at most 1/2.
    return 0.5


@dataclass(frozen=True)
class Loss:
    """A data loss and what an estimator needs to know about it.

    Calling the record calls its function, so ``LOSSES[name](scores, y,
    sample_weight, **params)`` computes the loss.

    Parameters
    ----------
    function : callable
        ``(scores, y, sample_weight, **params) -> (loss, dscores)``.
    initial_loss : callable
        ``(n_classes, **params) -> float``: the loss of near-zero scores.
    params : tuple of str, default=()
        Names of the estimator parameters the function takes.
    needs_temperature : bool, default=False
        Whether the scores are margins rather than log-probabilities, so
        that ``predict_proba`` needs a fitted temperature. The margin
        losses are ``MulticlassSVMSGD``'s allowed values of ``loss``.
    curvature : callable, default=None
        ``(n_classes, **params) -> float``: a bound on the second derivative
        of the loss in the scores, which sets the automatic learning rate of
        gradient steps (``1 / (curvature * d)``). None for 1/2, the softmax
        cross-entropy's.
    smooth : bool, default=True
        Whether the loss has a Lipschitz gradient (the hinge has not).
    in_place : bool, default=False
        Whether the function takes ``overwrite_scores``: given True, it may
        compute the gradient in the array of the scores (the training engine
        passes scores it owns). Calling the record with
        ``overwrite_scores`` passes it on only to such functions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklinear.losses import LOSSES
    >>> hinge = LOSSES["hinge"]
    >>> hinge.params, hinge.needs_temperature, hinge.smooth
    (('margin', 'multi_class'), True, False)
    >>> hinge.scores_curvature(10), LOSSES["log_loss"].scores_curvature(10)
    (20.0, 0.5)
    >>> float(hinge(np.zeros((1, 3)), np.array([0]), np.ones(1))[0])
    2.0
    """

    function: Callable
    initial_loss: Callable
    params: tuple = field(default=())
    needs_temperature: bool = False
    curvature: Callable | None = None
    smooth: bool = True
    in_place: bool = False

    def __call__(self, scores, y, sample_weight, *, overwrite_scores=False, **params):
        if self.in_place:
            params["overwrite_scores"] = overwrite_scores
        return self.function(scores, y, sample_weight, **params)

    def used_params(self, params):
        """The entries of ``params`` this loss takes."""
        return {name: value for name, value in params.items() if name in self.params}

    def scores_curvature(self, n_classes, **params):
        """The curvature bound for ``n_classes`` (other ``params`` ignored)."""
        if self.curvature is None:
            return _softmax_curvature(n_classes)
        return float(self.curvature(n_classes, **self.used_params(params)))


LOSSES = {
    "hinge": Loss(
        partial(multiclass_hinge, squared=False),
        partial(_margin_initial_loss, squared=False),
        params=("margin", "multi_class"),
        needs_temperature=True,
        curvature=_margin_curvature,
        smooth=False,
        in_place=True,
    ),
    "ovr_squared_hinge": Loss(
        one_vs_rest_squared_hinge,
        _ovr_squared_hinge_initial_loss,
        params=("margin",),
        needs_temperature=True,
        curvature=_ovr_squared_hinge_curvature,
    ),
    "squared_hinge": Loss(
        partial(multiclass_hinge, squared=True),
        partial(_margin_initial_loss, squared=True),
        params=("margin", "multi_class"),
        needs_temperature=True,
        curvature=_margin_curvature,
        in_place=True,
    ),
    "smooth_hinge": Loss(
        smooth_multiclass_hinge,
        _smooth_hinge_initial_loss,
        params=("margin", "multi_class", "smoothing"),
        needs_temperature=True,
        curvature=_smooth_hinge_curvature,
    ),
    "log_loss": Loss(
        softmax_cross_entropy,
        _softmax_initial_loss,
        curvature=_softmax_curvature,
        in_place=True,
    ),
}
"""Registry of data losses by name: one :class:`Loss` record each."""


def expected_initial_loss(loss, n_classes, **params):
    """Loss expected when all scores are close to zero (small random weights).

    Every wrong class then violates the margin by about ``margin``: the
    Weston–Watkins hinge is about ``(C - 1) * margin`` (squared: ``(C - 1) *
    margin**2``; smooth: ``(C - 1) * h(margin)``, ``margin**2 / (2 *
    smoothing)`` up to ``margin = smoothing`` and ``margin - smoothing / 2``
    beyond), the Crammer–Singer hinge about ``margin`` (``h(margin)``), and
    softmax cross-entropy about ``log(C)``.

    Parameters
    ----------
    loss : {"hinge", "squared_hinge", "smooth_hinge", "log_loss"}
        Loss name.
    n_classes : int
        Number of classes C.
    **params
        The loss's parameters (``margin``, ``multi_class`` for the hinges,
        ``smoothing`` for the smooth hinge); others are ignored.

    Returns
    -------
    float
        The expected initial data loss.

    Examples
    --------
    >>> from sklinear.losses import expected_initial_loss
    >>> expected_initial_loss("hinge", 10)
    9.0
    >>> expected_initial_loss("smooth_hinge", 10)  # 9 terms of 1 / 2
    4.5
    >>> round(expected_initial_loss("log_loss", 10), 4)
    2.3026
    """
    record = LOSSES[loss]
    return record.initial_loss(n_classes, **record.used_params(params))
