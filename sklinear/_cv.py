"""Hyperparameter search trained in one pass: the ``*CV`` classifiers.

Every candidate of the grid and every cross-validation fold is one of ``K``
models trained side by side by the engine: one minibatch, one matrix product
``X_b @ W`` with ``K * n_classes`` columns, one loss evaluated per model. A
fold's validation rows get weight zero in that fold's models, so each model
is exactly the plain estimator fitted with that sample weight (same
initialization, same batches, same stopping). A model that diverges is
frozen and scored NaN while the others go on. Each model is then scored on
its fold's validation rows by the scorer, as ``GridSearchCV`` would, and the
best candidate is refitted on all the data by the plain estimator.
"""

import time
import warnings
from itertools import product
from numbers import Real

import numpy as np
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.base import _fit_context
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import (
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ._base import (
    FITTED_STATE,
    BaseLinearSGD,
    max_row_norm,
    model_spec,
    restored_on_failure,
    validated_training_data,
)
from ._engine import finite_scores
from ._learning_rate import feature_scales
from ._namespace import device_of, namespace_of, numpy_dtype, take_rows, to_namespace
from ._recipe import (
    batch_source,
    check_classes,
    column_scales,
    finish,
    initial_loss_rows,
    initial_losses,
    plan,
    public_coefficients,
    scores_of_rows,
    train_run,
    validation,
)

_GRID_OF = {
    "alphas": "alpha",
    "learning_rates": "learning_rate_init",
    "l1_ratios": "l1_ratio",
    "margins": "margin",
}
# Scorers of binary problems, and what to use instead on more classes.
_MULTICLASS_SCORING = {
    "roc_auc": "'roc_auc_ovr' or 'roc_auc_ovo'",
    "average_precision": "'roc_auc_ovr' or 'neg_log_loss'",
    "f1": "'f1_macro' or 'f1_weighted'",
    "precision": "'precision_macro' or 'precision_weighted'",
    "recall": "'recall_macro' or 'recall_weighted'",
    "jaccard": "'jaccard_macro' or 'jaccard_weighted'",
}


class BaseLinearSGDCV(BaseLinearSGD):
    """Grid search over the plain estimator's hyperparameters, in one pass.

    Subclasses set ``_plain`` (the plain estimator class) and list their grid
    parameters in ``__init__``; every other parameter is the plain
    estimator's.
    """

    _plain = None

    @staticmethod
    def constraints_of(plain_class):
        """The plain estimator's constraints with its grid parameters as lists."""
        plain = dict(plain_class._parameter_constraints)
        for grid, name in _GRID_OF.items():
            if name in plain:
                del plain[name]
                plain[grid] = ["array-like"]
        plain.update(
            {
                "cv": ["cv_object"],
                "scoring": [StrOptions(set(get_scorer_names())), callable, None],
                "refit": ["boolean"],
                "error_score": [StrOptions({"raise"}), Real],
            }
        )
        return plain

    @property
    def partial_fit(self):
        """Not available: a search needs all the data at once."""
        raise AttributeError(
            f"{type(self).__name__} has no partial_fit: the search needs all the "
            f"data at once. Use {self._plain.__name__} with the chosen parameters."
        )

    def _grid_names(self):
        return [grid for grid in _GRID_OF if grid in self.get_params()]

    def _plain_params(self):
        params = self.get_params()
        for grid in self._grid_names():
            del params[grid]
        for name in ("cv", "scoring", "refit", "error_score"):
            del params[name]
        return params

    def _candidates(self):
        """The grid as a list of dicts of plain-estimator parameters."""
        names, values = [], []
        for grid in self._grid_names():
            name = _GRID_OF[grid]
            entries = _grid_values(grid, getattr(self, grid))
            if not entries:
                raise ValueError(f"{grid} must hold at least one value.")
            constraint = {name: self._plain._parameter_constraints[name]}
            for value in entries:
                if isinstance(value, np.generic):
                    value = value.item()
                try:
                    validate_parameter_constraints(
                        constraint, {name: value}, type(self).__name__
                    )
                except InvalidParameterError as error:
                    raise InvalidParameterError(
                        f"Every value of {grid} must be a valid {name}: "
                        f"{error}".replace(f"'{name}' parameter", f"{grid} value")
                    ) from None
            names.append(name)
            values.append(
                [v.item() if isinstance(v, np.generic) else v for v in entries]
            )
        return [
            dict(zip(names, combination, strict=True))
            for combination in product(*values)
        ]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train every candidate on every fold in one pass, then refit the best.

        A failed fit (bad input, every candidate diverged, a failing
        scorer) leaves the search as it was. With ``refit=False`` nothing of
        an earlier refit remains: the search then has results, no model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, used in training (not in scoring, as in
            ``GridSearchCV``).

        Returns
        -------
        self : object
            The fitted search, predicting with the refitted best model.
        """
        with restored_on_failure(self):
            self._forget_fitted()
            self._search(X, y, sample_weight)
        return self

    def _forget_fitted(self):
        """Drop every fitted attribute (those of an earlier refit too)."""
        for name in list(vars(self)):
            if _is_fitted_name(name):
                delattr(self, name)

    def _search(self, X, y, sample_weight, backend=None):
        """The search; ``backend`` trains and scores (None: in this process).

        ``sklinear.dask.DaskSGD`` passes one that trains on a cluster.
        """
        candidates = self._candidates()
        base = self._plain_params()
        template = self._plain(**base, **candidates[0])
        spec = model_spec(template)
        spec.average_after(1)  # raises for averaging random search
        if backend is None:
            X, y, sample_weight = validated_training_data(
                self, X, y, sample_weight, reset=True
            )
            backend = InMemorySearch(X)
        check_classification_targets(y)
        classes = np.unique(y)
        check_classes(type(self).__name__, classes)
        y_index = np.searchsorted(classes, y)
        dtype = numpy_dtype(X.dtype)
        weight = spec.sample_weights(X.shape[0], dtype, y_index, sample_weight, classes)
        folds = _checked_folds(self.cv, X, y)
        scorer = _checked_scorer(template, self.scoring, y)
        trainable = _trainable_folds(folds, y_index, weight, classes, self.error_score)

        start = time.perf_counter()
        pairs = [(c, f) for c, f in product(range(len(candidates)), range(len(folds)))]
        trained = [k for k, (_, f) in enumerate(pairs) if trainable[f]]
        models = [self._plain(**base, **candidates[pairs[k][0]]) for k in trained]
        weights = np.zeros((len(y), len(models)), dtype=dtype)
        for column, k in enumerate(trained):
            train_fold = folds[pairs[k][1]][0]
            weights[train_fold, column] = weight[train_fold]
        params, diverged, temperatures, n_iter = backend.train(
            models, y_index, weights, len(classes)
        )
        fit_time = (time.perf_counter() - start) / max(len(models), 1)
        trained_epochs = np.zeros(len(pairs), dtype=int)
        trained_epochs[trained] = n_iter

        split_scores = np.full((len(folds), len(candidates)), np.nan)
        score_times = np.zeros((len(folds), len(candidates)))
        for fold in np.flatnonzero(~trainable):
            split_scores[fold] = self.error_score
        column_of = {k: column for column, k in enumerate(trained)}
        # Fold by fold: one copy of a fold's test rows at a time, and X
        # (checked at the start of fit) not checked again for every model.
        with config_context(assume_finite=True):
            for fold, (_, test) in enumerate(folds):
                if not trainable[fold]:
                    continue
                X_test, y_test = backend.test_rows(y, test)
                for candidate in range(len(candidates)):
                    column = column_of[candidate * len(folds) + fold]
                    if diverged[column]:
                        continue
                    model = models[column]
                    _set_fitted(
                        model, params[column], temperatures[column], classes, X.shape[1]
                    )
                    tic = time.perf_counter()
                    split_scores[fold, candidate] = _score(
                        scorer,
                        backend.scored(model, test, X_test),
                        (X_test, y_test),
                        self.scoring,
                        fold,
                        self.error_score,
                    )
                    score_times[fold, candidate] = time.perf_counter() - tic
                del X_test  # before the next fold's copy
        results = _cv_results(
            candidates, split_scores, fit_time, score_times, trained_epochs, len(folds)
        )
        mean = results["mean_test_score"]
        if np.all(diverged):
            raise ValueError(
                "Every candidate diverged (its training objective became "
                "non-finite): lower the learning rates or standardize the features."
            )
        if np.isnan(mean).any():
            _warn_non_finite_scores(split_scores, diverged, trained, pairs)
        # As GridSearchCV: the best rank, NaN ranking last.
        best_index = int(np.argmin(results["rank_test_score"]))
        best_params = candidates[best_index]
        fitted = {}
        if self.refit:
            tic = time.perf_counter()
            best = backend.refit(
                self._plain(**base, **best_params), classes[y_index], sample_weight
            )
            fitted["refit_time_"] = time.perf_counter() - tic
            validated = ("n_features_in_", "feature_names_in_")
            for name, value in vars(best).items():
                if _is_fitted_name(name) and name not in validated:
                    fitted[name] = value
        fitted.update(
            cv_results_=results,
            n_splits_=len(folds),
            best_index_=best_index,
            best_params_=best_params,
            best_score_=float(mean[best_index]),
            classes_=classes,
        )
        for grid in self._grid_names():
            fitted[f"{_GRID_OF[grid]}_"] = best_params[_GRID_OF[grid]]
        for name, value in fitted.items():
            setattr(self, name, value)

    def _not_fitted_message(self):
        if hasattr(self, "cv_results_"):
            return (
                f"This {type(self).__name__} was fitted with refit=False: it holds "
                "the search's results (cv_results_, best_params_) but no model. "
                "Set refit=True and fit again, or fit "
                f"{self._plain.__name__}(**best_params_) to predict."
            )
        return super()._not_fitted_message()


def _is_fitted_name(name):
    """A fitted attribute: ``name_`` or the plain estimators' private state."""
    public = name.endswith("_") and not name.startswith("__")
    return public or name in FITTED_STATE


def _grid_values(grid, values):
    """The values of a grid parameter as a list: one value, or any iterable.

    A set has no order: its values are sorted, so that the candidates (and
    ``cv_results_``) come in the same order at every fit.
    """
    if isinstance(values, (set, frozenset)):
        try:
            return sorted(values)
        except TypeError:
            raise ValueError(
                f"{grid} is a set of values that cannot be sorted "
                f"({values!r}); pass a list."
            ) from None
    if isinstance(values, str) or not np.iterable(values):
        return [values]
    return list(np.asarray(list(values), dtype=object).ravel())


def _checked_folds(cv, X, y):
    """The (train, test) index arrays of ``cv``, checked against the data."""
    n_rows = X.shape[0]
    folds = []
    splits = check_cv(cv, y, classifier=True).split(X, y)
    for i, (train_part, test_part) in enumerate(splits):
        parts = []
        for part, indices in (("training", train_part), ("test", test_part)):
            indices = np.asarray(indices)
            if indices.dtype == bool:
                if indices.shape != (n_rows,):
                    raise ValueError(
                        f"cv split {i}: a boolean {part} mask must have one entry "
                        f"per sample ({n_rows}), not shape {indices.shape}."
                    )
                indices = np.flatnonzero(indices)
            indices = indices.ravel()
            if indices.size and not np.issubdtype(indices.dtype, np.integer):
                raise ValueError(
                    f"cv split {i}: the {part} indices must be integers, got "
                    f"dtype {indices.dtype}."
                )
            outside = indices[(indices < -n_rows) | (indices >= n_rows)]
            if outside.size:
                raise ValueError(
                    f"cv split {i}: {part} indices {outside[:5].tolist()} are out "
                    f"of range for {n_rows} samples."
                )
            parts.append(indices % n_rows if indices.size else indices.astype(int))
        if not parts[1].size:
            raise ValueError(
                f"cv split {i} has an empty test set: every split needs test "
                "samples to be scored."
            )
        folds.append(tuple(parts))
    if not folds:
        raise ValueError(
            f"cv={cv!r} gave no (train, test) split: pass an int of at least 2, a "
            "splitter or a non-empty list of (train, test) index pairs."
        )
    return folds


def _checked_scorer(template, scoring, y):
    """``check_scoring``, refusing binary-only scorers on more classes."""
    if (
        isinstance(scoring, str)
        and scoring in _MULTICLASS_SCORING
        and type_of_target(y) == "multiclass"
    ):
        raise ValueError(
            f"scoring={scoring!r} is for two classes, but y has "
            f"{len(np.unique(y))}: use {_MULTICLASS_SCORING[scoring]}."
        )
    return check_scoring(template, scoring=scoring)


def _trainable_folds(folds, y_index, weight, classes, error_score):
    """Which folds' training parts can be trained, warning about the others.

    A training part needs a positive total weight on at least two
    classes, as the plain fit does. As ``GridSearchCV`` does with a failed
    fit, the models of another fold are scored ``error_score`` with a
    :class:`~sklearn.exceptions.FitFailedWarning` (or, with
    ``error_score="raise"``, the fit raises).
    """
    trainable = np.ones(len(folds), dtype=bool)
    reasons = []
    for i, (rows, _) in enumerate(folds):
        weighted = np.unique(y_index[rows][weight[rows] > 0])
        if len(weighted) >= 2:
            continue
        if not rows.size:
            reason = "its training part is empty"
        elif not weight[rows].sum() > 0:
            reason = "the sample weights of its training part sum to zero"
        else:
            reason = (
                "only one class has positively weighted training samples "
                f"({classes[weighted].tolist()})"
            )
        if error_score == "raise":
            raise ValueError(
                f"cv split {i} cannot be trained: {reason}; at least 2 classes "
                "need samples with a positive weight."
            )
        trainable[i] = False
        reasons.append(f"split {i}: {reason}")
    if reasons:
        message = "; ".join(reasons)
        if not trainable.any():
            raise ValueError(
                f"No cv split can be trained ({message}): at least 2 classes need "
                "samples with a positive weight in each training part."
            )
        warnings.warn(
            f"{len(reasons)} of the {len(folds)} cv splits cannot be trained "
            f"({message}); their models are scored error_score={error_score!r}.",
            FitFailedWarning,
            stacklevel=5,
        )
    return trainable


def _score(scorer, model, test_data, scoring, fold, error_score):
    """One model's score on its fold, as ``GridSearchCV`` handles failures."""
    try:
        return scorer(model, *test_data)
    except Exception as error:
        if error_score == "raise":
            raise ValueError(
                f"scoring={scoring!r} failed on cv split {fold}: {error}"
            ) from error
        warnings.warn(
            f"scoring={scoring!r} failed on cv split {fold} ({error}); the score "
            f"is error_score={error_score!r}.",
            FitFailedWarning,
            stacklevel=5,
        )
        return error_score


def _warn_non_finite_scores(split_scores, diverged, trained, pairs):
    """Warn, as ``GridSearchCV`` does, naming where the NaN scores come from."""
    n_folds, n_candidates = split_scores.shape
    causes = []
    diverged_candidates = sorted(
        {pairs[k][0] for k, d in zip(trained, diverged, strict=True) if d}
    )
    if diverged_candidates:
        causes.append(f"candidates {diverged_candidates} diverged")
    trained_folds = {pairs[k][1] for k in trained}
    untrained = [f for f in range(n_folds) if f not in trained_folds]
    if untrained:
        causes.append(f"splits {untrained} could not be trained")
    scored_nan = [
        f
        for f in sorted(trained_folds)
        if any(
            np.isnan(split_scores[f, c]) and c not in diverged_candidates
            for c in range(n_candidates)
        )
    ]
    if scored_nan:
        causes.append(f"the scorer returned NaN or failed on splits {scored_nan}")
    if np.isnan(split_scores).any(axis=0).all():
        outcome = "no candidate has a finite mean score, so the first is chosen"
    else:
        outcome = "those candidates rank last"
    warnings.warn(
        f"One or more of the mean test scores are NaN ({'; '.join(causes)}): "
        f"{outcome}. Check the cv splits and the scoring, or set error_score to "
        "a number.",
        UserWarning,
        stacklevel=5,
    )


class InMemorySearch:
    """How a search trains and scores on data in this process.

    The backend :meth:`BaseLinearSGDCV._search` uses by default; a driver
    that holds the data elsewhere (``sklinear.dask``) provides the same four
    methods.

    Parameters
    ----------
    X : {ndarray, sparse matrix, array of another namespace}
        The validated training data.
    """

    def __init__(self, X):
        self.X = X
        self.xp = namespace_of(X)

    def train(self, models, y_index, weights, n_classes):
        """:func:`train_models` on ``X``."""
        return train_models(models, self.X, y_index, weights, n_classes)

    def test_rows(self, y, test):
        """A fold's test rows of ``X`` and of the labels ``y``, for the scorer."""
        return _test_rows(self.X, y, test, self.xp)

    def scored(self, model, test, X_test):
        """The fitted model the scorer calls on ``X_test``: the model itself."""
        return model

    def refit(self, model, labels, sample_weight):
        """``model`` fitted on all of ``X``."""
        return model.fit(
            self.X, _in_namespace(labels, self.xp, self.X), sample_weight=sample_weight
        )


def train_models(models, X, y_index, weights, n_classes):
    """Train the plain estimators ``models`` side by side on weight columns.

    The recipe's run of ``K`` models: each is exactly its plain fit with its
    column of ``weights`` as sample weights (same initialization, batches
    and stopping), and a model that diverges is frozen while the others go
    on.

    Returns
    -------
    models : list of ndarray of shape (n_features + 1, n_classes)
        Each model's weights and, in the last row, its public intercepts.
    diverged : ndarray of bool of shape (K,)
    temperatures : list of float or None
    n_iter : ndarray of shape (K,)
        Epochs each model ran.
    """
    specs = [model_spec(model) for model in models]
    if len(specs) == 1:
        weights = weights[:, 0]
    scales = column_scales(weights, lambda column: feature_scales(X, column))
    run = plan(
        specs, X.shape[1], numpy_dtype(X.dtype), y_index, weights, n_classes, scales
    ).place(X)
    objective = run.objective

    def scores(params, rows):
        return scores_of_rows(objective, params, X, rows)

    rows = initial_loss_rows(run)
    history = train_run(
        run,
        batch_source(run, X),
        validate=validation(run, scores),
        initial=initial_losses(run, scores(run.state.params, rows), rows),
        stop_on_divergence=False,
    )
    done = finish(
        run,
        history,
        scores,
        lambda params: finite_scores(objective, params, X, max_row_norm(X)),
    )
    return done.models, done.diverged, done.temperatures, history.n_iter


def _in_namespace(labels, xp, X):
    """Host labels as an array of ``xp`` on the device of ``X``, if numeric.

    Scorers under array API dispatch compare them with the predictions.
    """
    if xp is np or labels.dtype.kind not in "biuf":
        return labels
    return to_namespace(labels, xp, device_of(X))


def _test_rows(X, y, test, xp):
    """A fold's test rows of ``X`` and of the host labels ``y``."""
    if xp is np:
        return X[test], y[test]
    device = device_of(X)
    return take_rows(X, test, xp, device), _in_namespace(y[test], xp, X)


def _set_fitted(model, params, temperature, classes, n_features):
    """Give a plain estimator the fitted attributes it predicts with."""
    model.classes_ = classes
    model.n_features_in_ = n_features
    model.coef_, model.intercept_ = public_coefficients(params)
    if temperature is not None:
        model.temperature_ = temperature


def _cv_results(candidates, split_scores, fit_time, score_times, n_iter, n_splits):
    """``GridSearchCV``'s ``cv_results_`` layout."""
    n_candidates = len(candidates)
    results = {
        "mean_fit_time": np.full(n_candidates, fit_time),
        "std_fit_time": np.zeros(n_candidates),
        "mean_score_time": score_times.mean(axis=0),
        "std_score_time": score_times.std(axis=0),
    }
    for name in candidates[0]:
        column = np.ma.MaskedArray(
            np.empty(n_candidates, dtype=object), mask=np.zeros(n_candidates, bool)
        )
        for i, candidate in enumerate(candidates):
            column[i] = candidate[name]
        results[f"param_{name}"] = column
    results["params"] = [dict(c) for c in candidates]
    for split in range(n_splits):
        results[f"split{split}_test_score"] = split_scores[split]
    with np.errstate(invalid="ignore"):
        mean = split_scores.mean(axis=0)
        std = split_scores.std(axis=0)
    results["mean_test_score"] = mean
    results["std_test_score"] = std
    # Rank as GridSearchCV does: ties share the best rank, NaN ranks last.
    order = np.where(np.isnan(mean), -np.inf, mean)
    results["rank_test_score"] = rankdata(-order, method="min").astype(np.int32)
    results["max_n_iter"] = np.asarray(n_iter).reshape(n_candidates, n_splits).max(1)
    return results
