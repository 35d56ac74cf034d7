"""SoftmaxSGDCV and MulticlassSVMSGDCV: the grid trained in one pass."""

import copy
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV
from sklinear._base import model_spec
from sklinear._cv import train_models
from sklinear._learning_rate import feature_scales
from sklinear._recipe import column_scales

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _problem(n_samples=300, n_classes=3, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=12,
        n_informative=6,
        n_classes=n_classes,
        random_state=seed,
    )
    return X, y


def _plain_fit(model, X, y, train_rows):
    """The plain estimator on all rows, with weight zero outside ``train_rows``."""
    weight = np.zeros(len(y))
    weight[train_rows] = 1.0
    return clone(model).fit(X, y, sample_weight=weight)


def _params_of(fitted):
    """Weights and public intercepts, stacked as the CV's per-model parameters."""
    W = fitted._model_params[:-1]
    return np.vstack([W, fitted._model_params[-1] - fitted._offset @ W])


CONFIGURATIONS = [
    SoftmaxSGD(max_iter=6, tol=None),
    SoftmaxSGD(optimizer="momentum", penalty="elasticnet", max_iter=5, tol=None),
    SoftmaxSGD(optimizer="sgd", average=True, max_iter=5, tol=1e-2),
    MulticlassSVMSGD(max_iter=5, tol=None),
    MulticlassSVMSGD(optimizer="nesterov", penalty="l1", max_norm=2.0, max_iter=5),
    MulticlassSVMSGD(loss="squared_hinge", early_stopping=True, max_iter=8),
]


@pytest.mark.parametrize("template", CONFIGURATIONS, ids=repr)
def test_each_model_equals_the_plain_fit_with_zero_weights(template):
    X, y = _problem()
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    grid = [
        {"alpha": 1e-4, "learning_rate_init": "auto"},
        {"alpha": 1e-2, "learning_rate_init": 0.02},
    ]
    if isinstance(template, MulticlassSVMSGD):
        grid[1]["margin"] = 2.0
    models, weights = [], []
    for candidate in grid:
        for train_rows, _ in folds:
            models.append(clone(template).set_params(random_state=0, **candidate))
            weight = np.zeros(len(y))
            weight[train_rows] = 1.0
            weights.append(weight)
    y_index = np.searchsorted(np.unique(y), y)
    params, diverged, _, n_iter = train_models(
        models, X, y_index, np.column_stack(weights), 3
    )
    assert not diverged.any()
    for k, model in enumerate(models):
        fold = folds[k % len(folds)][0]
        plain = _plain_fit(model, X, y, fold)
        np.testing.assert_allclose(params[k], _params_of(plain), rtol=1e-6, atol=1e-9)
        assert n_iter[k] == plain.n_iter_


@pytest.mark.parametrize("min_columns", [0, 10**9], ids=["by fold", "shared pass"])
def test_a_diverging_candidate_is_frozen_and_scored_nan(monkeypatch, min_columns):
    import sklinear._recipe as recipe

    monkeypatch.setattr(recipe, "FOLD_GROUP_MIN_COLUMNS", min_columns)
    X, y = _problem()
    X = X * 1e20
    search = SoftmaxSGDCV(
        alphas=[1e-4],
        learning_rates=["auto", 1e30],
        optimizer="sgd",
        cv=3,
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1]) and np.isfinite(scores[0])
    assert list(search.cv_results_["rank_test_score"]) == [1, 2]
    assert search.learning_rate_init_ == "auto"
    # The surviving candidate equals its own search without the bad one.
    alone = SoftmaxSGDCV(
        alphas=[1e-4], optimizer="sgd", cv=3, max_iter=5, random_state=0
    ).fit(X, y)
    assert scores[0] == alone.best_score_


@pytest.mark.parametrize(
    "Search, Plain, grid",
    [
        (SoftmaxSGDCV, SoftmaxSGD, {"alphas": [1e-4, 1e-2, 1.0]}),
        (
            MulticlassSVMSGDCV,
            MulticlassSVMSGD,
            {"alphas": [1e-4, 1e-1], "margins": [0.5, 2.0]},
        ),
    ],
)
def test_the_choice_matches_grid_search_cv(Search, Plain, grid):
    X, y = load_digits(return_X_y=True)
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    params = {"max_iter": 15, "random_state": 0}
    search = Search(cv=cv, **grid, **params).fit(X, y)
    names = {"alphas": "alpha", "margins": "margin"}
    reference = GridSearchCV(
        Plain(**params), {names[k]: v for k, v in grid.items()}, cv=cv
    ).fit(X, y)
    assert search.best_score_ == pytest.approx(reference.best_score_, abs=0.005)
    assert len(search.cv_results_["params"]) == len(reference.cv_results_["params"])
    # The refitted model is the plain estimator with the chosen parameters.
    refit = Plain(**params, **search.best_params_).fit(X, y)
    np.testing.assert_array_equal(search.coef_, refit.coef_)
    np.testing.assert_array_equal(search.predict(X), refit.predict(X))
    assert search.alpha_ == search.best_params_["alpha"]


def test_cv_results_work_as_a_dataframe_and_with_a_scorer():
    pandas = pytest.importorskip("pandas")
    X, y = _problem()
    search = MulticlassSVMSGDCV(
        alphas=[1e-4, 1e-2],
        margins=[1.0, 3.0],
        scoring="neg_log_loss",
        cv=3,
        max_iter=5,
        random_state=0,
    ).fit(X, y)
    frame = pandas.DataFrame(search.cv_results_)
    assert len(frame) == 4
    assert {"param_alpha", "param_margin", "split2_test_score"} <= set(frame)
    assert (frame["mean_test_score"] < 0).all()
    assert frame["rank_test_score"].min() == 1
    assert search.best_score_ == frame["mean_test_score"].max()


def test_search_in_a_pipeline_and_without_refit():
    X, y = _problem()
    pipe = make_pipeline(
        StandardScaler(), SoftmaxSGDCV(alphas=[1e-3], cv=3, random_state=0)
    )
    plain = make_pipeline(StandardScaler(), SoftmaxSGD(alpha=1e-3, random_state=0))
    assert pipe.fit(X, y).score(X, y) == plain.fit(X, y).score(X, y)
    lone = SoftmaxSGDCV(alphas=[1e-3, 1e-2], cv=3, refit=False).fit(X, y)
    assert lone.best_params_["alpha"] in (1e-3, 1e-2)
    with pytest.raises(NotFittedError):
        lone.predict(X)


def test_bad_grids_name_the_grid_parameter():
    X, y = _problem()
    with pytest.raises(ValueError, match="alphas"):
        SoftmaxSGDCV(alphas=[-1.0]).fit(X, y)
    with pytest.raises(ValueError, match="learning_rates"):
        SoftmaxSGDCV(learning_rates=["fast"]).fit(X, y)
    with pytest.raises(ValueError, match="alphas must hold at least one value"):
        SoftmaxSGDCV(alphas=[]).fit(X, y)
    assert not hasattr(SoftmaxSGDCV(), "partial_fit")


def test_one_pass_trains_every_model_in_the_same_number_of_steps():
    """K models side by side cost one pass over the batches, not K."""
    X, y = _problem(n_samples=200)
    calls = []
    from sklinear import _engine

    original = _engine.BatchSource.batches

    def counted(self, rng):
        for batch in original(self, rng):
            calls.append(len(batch[1]))
            yield batch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _engine.BatchSource.batches = counted
        try:
            SoftmaxSGDCV(
                alphas=[1e-4, 1e-3, 1e-2], cv=3, max_iter=4, tol=None, refit=False
            ).fit(X, y)
        finally:
            _engine.BatchSource.batches = original
    assert sum(calls) == 4 * len(y)


def _fold_models(template, X, y, n_folds, **params):
    """Three alphas times ``n_folds`` folds of ``template``: models, weights, folds."""
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=0).split(X, y))
    models, weights = [], []
    for alpha in [1e-1, 1e-3, 1e-5]:
        for train_rows, _ in folds:
            model = clone(template).set_params(alpha=alpha, random_state=0, **params)
            models.append(model)
            weight = np.zeros(len(y))
            weight[train_rows] = 1.0
            weights.append(weight)
    return models, np.column_stack(weights), folds


def _assert_each_model_as_the_shared_pass_and_its_plain_fit(
    models, X, y, folds, trained, shared
):
    """``trained`` and ``shared`` are train_models' results; 1e-6 apart."""
    params, _, _, n_iter = trained
    whole, _, _, whole_n_iter = shared
    np.testing.assert_array_equal(n_iter, whole_n_iter)
    for k, model in enumerate(models):
        np.testing.assert_allclose(params[k], whole[k], rtol=1e-6, atol=1e-9)
        plain = _plain_fit(model, X, y, folds[k % len(folds)][0])
        np.testing.assert_allclose(params[k], _params_of(plain), rtol=1e-6, atol=1e-9)
        assert n_iter[k] == plain.n_iter_


@pytest.mark.parametrize(
    "template",
    [
        SoftmaxSGD(max_iter=40, tol=1e-2, n_iter_no_change=2),
        SoftmaxSGD(optimizer="sgd", average=100, max_iter=40, tol=1e-2),
        MulticlassSVMSGD(penalty="elasticnet", max_norm=3.0, max_iter=40, tol=1e-2),
        MulticlassSVMSGD(optimizer="adamw", early_stopping=True, max_iter=40),
    ],
    ids=repr,
)
def test_a_folds_models_leave_its_held_out_rows_out_of_their_batches(
    monkeypatch, template
):
    # Grouped by fold, each group's batches hold its training rows only (the
    # products skip the rows it weighs zero); every model ends as its plain
    # fit and as the run whose batches hold every row.
    import sklinear._recipe as recipe

    X, y = _problem(n_samples=241)  # batches of 30 rows, the last of one
    y_index = np.searchsorted(np.unique(y), y)
    models, weights, folds = _fold_models(template, X, y, 3, batch_size=30)
    epochs = []
    run_epoch = recipe.run_epoch

    row_of = {row.tobytes(): i for i, row in enumerate(X)}

    def recorded(state, objective, source, *args, **kwargs):
        rows = []
        for batch in source.batches(copy.deepcopy(state.rng)):
            rows.extend(row_of[row.tobytes()] for row in batch.X)
            assert len(batch.X) <= batch.n_rows
        training = np.arange(len(y)) if source.rows is None else source.rows
        epochs.append((objective.n_models, source.keep, rows, training))
        return run_epoch(state, objective, source, *args, **kwargs)

    monkeypatch.setattr(recipe, "run_epoch", recorded)
    monkeypatch.setattr(recipe, "FOLD_GROUP_MIN_COLUMNS", 0)
    trained = _, diverged, _, n_iter = train_models(models, X, y_index, weights, 3)
    assert not diverged.any()
    for n_models, keep, rows, training in epochs:
        # One fold's running models, on that fold's training rows only
        # (without the early-stopping split's validation rows).
        fold = next(f for f, (train, _) in enumerate(folds) if keep[train].all())
        assert 1 <= n_models <= 3
        assert sorted(rows) == sorted(np.intersect1d(folds[fold][0], training))
    assert len(epochs) == sum(
        len({k % 3 for k in range(len(models)) if n_iter[k] > epoch})
        for epoch in range(max(n_iter))
    )
    monkeypatch.setattr(recipe, "FOLD_GROUP_MIN_COLUMNS", 10**9)
    shared = train_models(models, X, y_index, weights, 3)
    _assert_each_model_as_the_shared_pass_and_its_plain_fit(
        models, X, y, folds, trained, shared
    )


def test_fold_groups_only_where_they_pay():
    from sklinear._recipe import batch_source, fold_groups, fold_groups_pay, plan

    def groups_of(n_alphas, n_folds, dropout=0.0):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((60, 4))
        y_index = np.arange(60) % 3
        fold = np.arange(60) % n_folds
        specs, weights = [], []
        for alpha in np.logspace(-5, -1, n_alphas):
            for f in range(n_folds):
                specs.append(model_spec(SoftmaxSGD(alpha=alpha, dropout=dropout)))
                weights.append((fold != f) if n_folds > 1 else np.ones(60))
        weights = np.column_stack(weights).astype(float)
        scales = column_scales(weights, lambda w: feature_scales(X, w))
        run = plan(specs, 4, np.float64, y_index, weights, 3, scales)
        return fold_groups(run, batch_source(run, X))

    assert groups_of(2, 3).tolist() == [0, 1, 2] * 2
    assert groups_of(2, 3, dropout=0.1) is None
    assert groups_of(2, 1) is None  # every model on the same rows
    folds_of = np.arange(24) % 3
    assert fold_groups_pay(folds_of, 16)  # 128 columns per group
    assert not fold_groups_pay(folds_of, 15)  # 120
    assert not fold_groups_pay(np.arange(40) % 5, 30)  # 240, but 5 groups
    assert fold_groups_pay(np.arange(40) % 5, 48)  # 384
    assert fold_groups_pay(np.zeros(2, dtype=int), 10)  # one group: fewer rows


@pytest.mark.parametrize(
    "template",
    [
        SoftmaxSGD(max_iter=40, tol=1e-2, n_iter_no_change=2),
        SoftmaxSGD(optimizer="sgd", average=True, max_iter=40, tol=1e-2),
        MulticlassSVMSGD(penalty="elasticnet", max_norm=3.0, max_iter=40, tol=1e-2),
        MulticlassSVMSGD(optimizer="adamw", early_stopping=True, max_iter=40),
    ],
    ids=repr,
)
def test_stopped_models_leave_the_arithmetic_and_the_others_train_alike(
    monkeypatch, template
):
    # Candidates that stop at different epochs: once one has stopped, the
    # epochs run on the running models' columns only, and every model ends
    # as its plain fit and as the run that keeps every column.
    import sklinear._recipe as recipe

    X, y = _problem(n_samples=240)
    y_index = np.searchsorted(np.unique(y), y)
    models, weights, folds = _fold_models(template, X, y, 2)
    widths = []
    run_epoch = recipe.run_epoch

    def counted(state, objective, *args, **kwargs):
        widths.append(objective.n_models)
        return run_epoch(state, objective, *args, **kwargs)

    monkeypatch.setattr(recipe, "run_epoch", counted)
    trained = _, diverged, _, n_iter = train_models(models, X, y_index, weights, 3)
    assert not diverged.any()
    assert len(set(n_iter)) > 1  # the models stopped at different epochs
    assert widths[0] == len(models) and min(widths) < len(models)
    # Each epoch trained exactly the models still running.
    running = [int((n_iter > epoch).sum()) for epoch in range(max(n_iter))]
    assert widths == running
    monkeypatch.setattr(recipe, "leaves_stopped_models_out", lambda run: False)
    shared = train_models(models, X, y_index, weights, 3)
    _assert_each_model_as_the_shared_pass_and_its_plain_fit(
        models, X, y, folds, trained, shared
    )
