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
from itertools import product

import numpy as np
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.base import _fit_context
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import (
    InvalidParameterError,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._base import (
    BaseLinearSGD,
    _fit_temperature,
    _max_row_norm,
    _reject_array_api,
    initial_state,
)
from ._engine import (
    BatchSource,
    LinearObjective,
    Preconditioner,
    finite_scores,
    per_column,
    train,
)
from ._learning_rate import feature_scales, typical_row_norm
from ._penalties import penalty_terms
from .losses import LOSSES

_GRID_OF = {
    "alphas": "alpha",
    "learning_rates": "learning_rate_init",
    "l1_ratios": "l1_ratio",
    "margins": "margin",
}
_MAX_TEMPERATURE_ROWS = 10_000


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
        for name in ("cv", "scoring", "refit"):
            del params[name]
        return params

    def _candidates(self):
        """The grid as a list of dicts of plain-estimator parameters."""
        names, values = [], []
        for grid in self._grid_names():
            name = _GRID_OF[grid]
            entries = list(np.atleast_1d(np.asarray(getattr(self, grid), dtype=object)))
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
        _reject_array_api(self, X)
        candidates = self._candidates()
        base = self._plain_params()
        template = self._plain(**base, **candidates[0])
        template._average_after(1)  # raises for averaging random search
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
        )
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes.tolist()}."
            )
        y_index = np.searchsorted(classes, y)
        weight = template._sample_weight(X, y_index, sample_weight, classes)
        folds = list(check_cv(self.cv, y, classifier=True).split(X, y))
        scorer = check_scoring(template, scoring=self.scoring)

        start = time.perf_counter()
        models = [self._plain(**base, **c) for c, _ in product(candidates, folds)]
        fold_of = [f for _, f in product(candidates, range(len(folds)))]
        weights = np.zeros((len(y), len(models)), dtype=X.dtype)
        for k, fold in enumerate(fold_of):
            train_fold = folds[fold][0]
            weights[train_fold, k] = weight[train_fold]
        params, diverged, temperatures, n_iter = _train_models(
            models, X, y_index, weights, len(classes)
        )
        fit_time = (time.perf_counter() - start) / len(models)

        split_scores = np.full((len(folds), len(candidates)), np.nan)
        score_times = np.zeros((len(folds), len(candidates)))
        # Fold by fold: one copy of a fold's test rows at a time, and X
        # (checked at the start of fit) not checked again for every model.
        with config_context(assume_finite=True):
            for fold, (_, test) in enumerate(folds):
                X_test, y_test = X[test], y[test]
                for candidate in range(len(candidates)):
                    k = candidate * len(folds) + fold
                    if diverged[k]:
                        continue
                    model = models[k]
                    _set_fitted(model, params[k], temperatures[k], classes, X.shape[1])
                    tic = time.perf_counter()
                    split_scores[fold, candidate] = scorer(model, X_test, y_test)
                    score_times[fold, candidate] = time.perf_counter() - tic
                del X_test  # before the next fold's copy
        self.cv_results_ = _cv_results(
            candidates, split_scores, fit_time, score_times, n_iter, len(folds)
        )
        self.n_splits_ = len(folds)
        mean = self.cv_results_["mean_test_score"]
        if np.isnan(mean).all():
            raise ValueError(
                "Every candidate diverged (NaN scores): lower the learning rates "
                "or standardize the features."
            )
        self.best_index_ = int(np.nanargmax(mean))
        self.best_params_ = candidates[self.best_index_]
        self.best_score_ = float(mean[self.best_index_])
        for grid in self._grid_names():
            setattr(self, f"{_GRID_OF[grid]}_", self.best_params_[_GRID_OF[grid]])
        if self.refit:
            best = self._plain(**base, **self.best_params_)
            best.fit(X, classes[y_index], sample_weight=sample_weight)
            validated = ("n_features_in_", "feature_names_in_")
            for name, value in vars(best).items():
                fitted = name.endswith("_") or name.startswith("_")
                if fitted and name not in validated:
                    setattr(self, name, value)
        self.classes_ = classes
        return self


def _train_models(models, X, y_index, weights, n_classes):
    """Train the plain estimators ``models`` side by side on weight columns.

    Returns their parameters (each (n_features + 1, n_classes), in the
    uncentered layout: intercepts ``b - offset @ W``), whether each diverged,
    the temperatures of margin losses and the epochs each ran.
    """
    first = models[0]
    n_models = len(models)
    # Each model's statistics are those of its weighted rows, as in its
    # plain fit; models of one fold share them.
    by_column = {}
    scales = []
    for k in range(n_models):
        key = weights[:, k].tobytes()
        if key not in by_column:
            by_column[key] = feature_scales(X, weights[:, k])
        scales.append(by_column[key])
    state = initial_state(first, X.shape[1], n_classes, X.dtype, 1.0)
    draw = state.params
    blocks, offsets = [], []
    for model, scale in zip(models, scales, strict=True):
        norm = typical_row_norm(scale, model._penalty_strength(), first.fit_intercept)
        blocks.append(draw / (norm if 0 < norm < np.inf else 1.0))
        offsets.append(np.repeat(scale[0][:, None], n_classes, axis=1))
    state.params = np.hstack(blocks).astype(X.dtype)
    offset = np.hstack(offsets).astype(X.dtype) if first.fit_intercept else None
    rates, preconditioners = zip(
        *(
            model._learning_rate(scale, n_classes, keep=False, dtype=X.dtype)
            for model, scale in zip(models, scales, strict=True)
        ),
        strict=True,
    )
    state.base_lr = np.array(rates, dtype=np.float64)
    preconditioner = None
    if any(p is not None for p in preconditioners):
        ones = np.ones((X.shape[1] + 1, 1), dtype=X.dtype)
        preconditioner = Preconditioner(
            *(
                np.repeat(
                    np.hstack([ones if p is None else p[i] for p in preconditioners]),
                    n_classes,
                    axis=1,
                )
                for i in (0, 1)
            )
        )
    loss_params = dict(first._loss_params())
    if "margin" in loss_params:
        loss_params["margin"] = np.array([m.margin for m in models], dtype=X.dtype)
    objective = LinearObjective(
        LOSSES[first._loss_name()],
        n_classes,
        n_models=n_models,
        loss_params=loss_params,
        penalty=penalty_terms(
            first.penalty,
            per_column([m.alpha for m in models], n_classes, X.dtype),
            per_column([m.l1_ratio for m in models], n_classes, X.dtype),
            first.max_norm,
        ),
        fit_intercept=first.fit_intercept,
        offset=offset,
    )
    optimizer = first._make_optimizer()
    state.optimizer_state = optimizer.init(state.params)
    if first._average_after(X.shape[0]):
        state.start_averaging(after=first._average_after(X.shape[0]))
    train_rows, val_rows = first._split_validation(X, y_index, state.rng)
    source = BatchSource(
        X,
        y_index,
        weights,
        train_rows,
        batch_size=first._batch_size(
            X.shape[0] if train_rows is None else len(train_rows)
        ),
        shuffle=first.shuffle,
        dropout=first.dropout,
    )
    validate = None
    if val_rows is not None:

        def validate(params):
            scores = objective.decision(params, X[val_rows])
            predicted = scores.reshape(len(val_rows), n_models, n_classes).argmax(2)
            correct = predicted == y_index[val_rows][:, None]
            w = weights[val_rows]
            total = w.sum(axis=0)
            return np.where(
                total > 0,
                (correct * w).sum(axis=0) / np.where(total > 0, total, 1),
                correct.mean(axis=0),
            )

    history = train(
        state,
        objective,
        source,
        optimizer,
        schedule=first.learning_rate,
        schedule_params=first._schedule_params(),
        max_iter=first.max_iter,
        tol=first.tol,
        n_iter_no_change=first.n_iter_no_change,
        validate=validate,
        stop_on_divergence=False,
        preconditioner=preconditioner,
    )
    params = state.model_params(objective.step_terms)
    diverged = history.diverged | ~finite_scores(objective, params, X, _max_row_norm(X))
    intercepts = objective.intercept(params)
    uncentered = np.vstack([params[:-1], intercepts[None, :]])
    per_model = [
        uncentered[:, k * n_classes : (k + 1) * n_classes] for k in range(n_models)
    ]
    temperatures = [None] * n_models
    if objective.loss.needs_temperature:
        for k in np.flatnonzero(~diverged):
            rows = val_rows
            if rows is None:
                rows = np.flatnonzero(weights[:, k] > 0)
                if len(rows) > _MAX_TEMPERATURE_ROWS:
                    pick = np.random.default_rng(0).choice(
                        rows, _MAX_TEMPERATURE_ROWS, replace=False
                    )
                    rows = np.sort(pick)
            scores = X[rows] @ per_model[k][:-1] + per_model[k][-1]
            temperatures[k] = _fit_temperature(
                np.asarray(scores), y_index[rows], weights[rows, k]
            )
    return per_model, diverged, temperatures, history.n_iter


def _set_fitted(model, params, temperature, classes, n_features):
    """Give a plain estimator the fitted attributes it predicts with."""
    W, b = params[:-1], params[-1]
    model.classes_ = classes
    model.n_features_in_ = n_features
    if len(classes) == 2:
        model.coef_ = (W[:, 1] - W[:, 0])[None, :]
        model.intercept_ = np.atleast_1d(b[1] - b[0])
    else:
        model.coef_ = np.ascontiguousarray(W.T)
        model.intercept_ = b.copy()
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
