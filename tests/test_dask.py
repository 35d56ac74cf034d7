"""Distributed training on dask arrays (sklinear.dask), on local process clusters."""

import os
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV
from sklinear.diagnostics import objective

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
from sklinear.dask import DaskSGD, DistributedTrainingError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _cluster(n_workers):
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
    )
    return cluster, distributed.Client(cluster)


@pytest.fixture(scope="module")
def one_worker():
    cluster, client = _cluster(1)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def two_workers():
    cluster, client = _cluster(2)
    yield client
    client.close()
    cluster.close()


@pytest.fixture
def own_two_workers():
    """Two workers of the test's own, for a test that restarts them."""
    cluster, client = _cluster(2)
    yield client
    client.close()
    cluster.close()


def _never_on_the_client(X, chunks):
    """``X`` as a dask array whose blocks fail if computed in this process."""
    client_pid = os.getpid()

    def guarded(block):
        if os.getpid() == client_pid:
            raise AssertionError("a block of X was computed on the client")
        return block

    return da.from_array(X, chunks=chunks).map_blocks(guarded, dtype=X.dtype)


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# -------------------------------------------------------------- mixing


@pytest.mark.parametrize(
    "estimator",
    [
        SoftmaxSGD(max_iter=6, tol=None, random_state=0),
        MulticlassSVMSGD(optimizer="momentum", max_iter=5, random_state=0),
        SoftmaxSGD(
            penalty="elasticnet", early_stopping=True, max_iter=8, random_state=0
        ),
    ],
    ids=["softmax-adam", "svm-momentum", "softmax-elasticnet-early-stopping"],
)
def test_one_worker_one_block_is_the_plain_fit(one_worker, estimator):
    X, y = _digits()
    plain = pickle.loads(pickle.dumps(estimator)).fit(X, y)
    model = DaskSGD(estimator).fit(da.from_array(X, chunks=(len(X), 64)), y)
    fitted = model.estimator_
    np.testing.assert_allclose(fitted.coef_, plain.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fitted.intercept_, plain.intercept_, rtol=1e-6)
    np.testing.assert_allclose(fitted.loss_curve_, plain.loss_curve_, rtol=1e-6)
    assert fitted.n_iter_ == plain.n_iter_
    assert fitted.learning_rate_ == plain.learning_rate_
    assert fitted.initial_loss_ == pytest.approx(plain.initial_loss_)
    if plain.validation_scores_ is not None:
        assert fitted.validation_scores_ == pytest.approx(plain.validation_scores_)
    if hasattr(plain, "temperature_"):
        assert fitted.temperature_ == pytest.approx(plain.temperature_, rel=1e-6)


def test_two_workers_four_blocks_train_as_well_as_one_machine(two_workers):
    X, y = make_classification(
        n_samples=4000, n_features=30, n_informative=12, n_classes=4, random_state=0
    )
    X_test, y_test = X[3000:], y[3000:]
    X, y = X[:3000], y[:3000]
    for Estimator in (SoftmaxSGD, MulticlassSVMSGD):
        params = {"max_iter": 15, "tol": None, "random_state": 0}
        plain = Estimator(**params).fit(X, y)
        model = DaskSGD(Estimator(**params)).fit(da.from_array(X, chunks=750), y)
        assert model.estimator_.n_iter_ == 15
        assert abs(model.score(X_test, y_test) - plain.score(X_test, y_test)) < 0.02


def _sorted_by_class():
    """Synthetic classes, rows sorted by class as many files on a cluster are."""
    X, y = make_classification(
        n_samples=4000,
        n_features=30,
        n_informative=12,
        n_classes=4,
        class_sep=0.8,
        random_state=0,
    )
    X_test, y_test = X[3000:], y[3000:]
    order = np.argsort(y[:3000], kind="stable")
    return X[:3000][order], y[:3000][order], X_test, y_test


@pytest.mark.parametrize("Estimator", [SoftmaxSGD, MulticlassSVMSGD])
def test_class_sorted_blocks_train_as_well_as_one_machine(two_workers, Estimator):
    # Each of the four blocks holds one class: without the shuffle between
    # blocks, each chain learns from two classes and the mixed model falls
    # short of the one-machine fit.
    X, y, X_test, y_test = _sorted_by_class()
    X_dask = da.from_array(X, chunks=750)
    for params in ({"max_iter": 5, "tol": None}, {"max_iter": 10, "tol": None}, {}):
        estimator = Estimator(random_state=0, **params)
        plain = pickle.loads(pickle.dumps(estimator)).fit(X, y)
        model = DaskSGD(estimator).fit(X_dask, y)
        gap = plain.score(X_test, y_test) - model.score(X_test, y_test)
        assert gap < 0.01, (params, gap)


def test_block_momentum_makes_the_mixed_fit_train_as_far_as_one_machine(two_workers):
    # Averaging two chains that each took S steps is about one chain of S
    # steps: while the rate limits progress, the plainly mixed fit falls
    # behind the one-machine fit (higher training objective) epoch after
    # epoch. The block momentum (1 - 1/2 with two chains) makes up most of
    # the distance.
    X, y, _, _ = _sorted_by_class()
    X_dask = da.from_array(X, chunks=750)
    params = {
        "max_iter": 3,
        "tol": None,
        "random_state": 0,
        "alpha": 1e-5,
        "batch_size": 64,
        "learning_rate_init": 1e-3,
    }
    plain = objective(SoftmaxSGD(**params).fit(X, y), X, y)
    gaps = {}
    for momentum in (0.0, "auto"):
        model = DaskSGD(SoftmaxSGD(**params), block_momentum=momentum)
        gaps[momentum] = objective(model.fit(X_dask, y).estimator_, X, y) - plain
    assert gaps[0.0] > 0.03, gaps
    assert abs(gaps["auto"]) < 0.5 * gaps[0.0], gaps


def test_block_move_accumulates_the_moves_with_momentum():
    from sklinear.dask._train import _block_move

    before = np.zeros((2, 1))
    first = _block_move(before, np.array([[1.0], [2.0]]), None, 0.5)
    np.testing.assert_allclose(first, [[1.0], [2.0]])
    second = _block_move(before, np.array([[1.0], [0.0]]), first.copy(), 0.5)
    np.testing.assert_allclose(second, [[1.5], [1.0]])


def test_block_momentum_keeps_the_max_norm_constraint(two_workers):
    X, y, _, _ = _sorted_by_class()
    estimator = SoftmaxSGD(
        max_norm=0.3, alpha=0.0, average=False, max_iter=4, tol=None, random_state=0
    )
    model = DaskSGD(estimator, block_momentum=0.9).fit(da.from_array(X, chunks=750), y)
    norms = np.linalg.norm(model.estimator_.coef_, axis=1)
    assert norms.max() <= 0.3 * (1 + 1e-5), norms
    assert norms.max() > 0.29  # the constraint is active


def test_block_momentum_outside_zero_one_is_refused():
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="block_momentum"):
        DaskSGD(SoftmaxSGD(), block_momentum=1.0).fit(np.ones((4, 2)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    "n_rows, mixing_rows, sizes",
    [
        (10_000, 4096, [3584, 3584, 2832]),  # not 3 x 3,333: a 5-row step each
        (10_000, 2048, [2048] * 4 + [1808]),
        (2500, 2048, [1280, 1220]),
        (2000, 2048, [2000]),
    ],
)
def test_mixing_parts_hold_whole_minibatches(n_rows, mixing_rows, sizes):
    from sklinear.dask._train import _Block, _parts

    block = _Block(0, 0, n_rows, None, None, None, None)
    parts = _parts(block, None, mixing_rows, 256, np.random.default_rng(0))
    if len(sizes) == 1:
        assert parts == [(block, None)]
        return
    assert [len(rows) for _, rows in parts] == sizes
    rows = np.concatenate([rows for _, rows in parts])
    np.testing.assert_array_equal(np.sort(rows), np.arange(n_rows))
    assert all(np.all(np.diff(rows) > 0) for _, rows in parts)


def test_block_shuffle_is_a_random_partition_with_the_block_sizes():
    from sklinear.dask._train import block_shuffle

    chunks = (7, 5, 8)
    order = block_shuffle(chunks, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(order), np.arange(20))
    blocks = np.split(order, np.cumsum(chunks)[:-1])
    assert [len(b) for b in blocks] == list(chunks)
    assert all(np.all(np.diff(b) > 0) for b in blocks)  # sorted within blocks
    assert not np.array_equal(order, np.arange(20))
    np.testing.assert_array_equal(
        order, block_shuffle(chunks, np.random.default_rng(0))
    )


def test_blocks_kept_on_the_workers_are_aligned(two_workers):
    # An unaligned block makes every minibatch gather copy the whole block;
    # the blocks, labels and weights the fit keeps are aligned, whatever
    # way they travelled.
    from sklinear.dask._train import Blocks, aligned

    raw = np.zeros(4 * 600 + 8, dtype=np.uint8)
    unaligned = raw[1:-7].view(np.float32).reshape(60, 10)
    assert not unaligned.flags.aligned
    fixed = aligned(unaligned)
    assert fixed.flags.aligned and fixed.flags.c_contiguous
    np.testing.assert_array_equal(fixed, unaligned)
    assert aligned(fixed) is fixed

    X, y = _digits()
    X_dask = da.from_array(X, chunks=(450, 64))
    for persist, order in (
        (True, None),
        (True, np.arange(len(y))[::-1]),
        (False, None),
    ):
        blocks = Blocks(two_workers, X_dask, y, np.ones(len(y)), persist, order=order)
        for block in blocks.blocks:
            for future in (blocks.data(block), block.y_index, block.weight):
                flags = two_workers.submit(lambda a: a.flags.aligned, future).result()
                assert flags, (persist, block.index)
            blocks.release(block)


def test_label_skew_tells_sorted_rows_from_shuffled_ones():
    from sklinear.dask._train import label_skew

    y = np.repeat(np.arange(4), 250)
    assert label_skew(y, (250,) * 4) < 1e-100
    rng = np.random.default_rng(0)
    p_values = [label_skew(rng.permutation(y), (250,) * 4) for _ in range(50)]
    assert min(p_values) > 1e-3  # a false alarm would be a 1-in-1000 event
    assert label_skew(y, (1000,)) == 1.0  # one block: nothing to compare


def test_streamed_sorted_blocks_warn_and_say_how_to_shuffle(two_workers):
    X, y, _, _ = _sorted_by_class()
    X_dask = da.from_array(X, chunks=750)
    with pytest.warns(UserWarning, match="shuffle_blocks=True"):
        DaskSGD(SoftmaxSGD(max_iter=2, tol=None, random_state=0), persist=False).fit(
            X_dask, y
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        DaskSGD(SoftmaxSGD(max_iter=2, tol=None, random_state=0)).fit(X_dask, y)
        shuffled = np.random.default_rng(0).permutation(len(y))
        DaskSGD(SoftmaxSGD(max_iter=2, tol=None, random_state=0), persist=False).fit(
            da.from_array(X[shuffled], chunks=750), y[shuffled]
        )


def test_blocks_are_never_computed_on_the_client(two_workers):
    X, y = _digits()
    X_dask = _never_on_the_client(X, (450, 64))
    for mode, persist in (("mixing", True), ("mixing", False), ("full_batch", True)):
        model = DaskSGD(
            SoftmaxSGD(max_iter=5, random_state=0), mode=mode, persist=persist
        ).fit(X_dask, y)
        assert model.score(X, y) > 0.85
        predicted = model.predict(X_dask)
        assert isinstance(predicted, da.Array)  # lazy, blockwise
        np.testing.assert_array_equal(predicted.compute(), model.estimator_.predict(X))


def test_streamed_blocks_train_like_persisted_ones(two_workers):
    # The same blocks, shuffled and mixed the same way: the same model,
    # whether the blocks are held by the workers or computed where and when
    # needed.
    X, y = _digits()
    X_dask = da.from_array(X, chunks=(450, 64))
    streamed = DaskSGD(
        SoftmaxSGD(max_iter=8, random_state=0), persist=False, shuffle_blocks=True
    )
    persisted = DaskSGD(SoftmaxSGD(max_iter=8, random_state=0))
    streamed.fit(X_dask, y)
    persisted.fit(X_dask, y)
    np.testing.assert_allclose(
        streamed.estimator_.coef_, persisted.estimator_.coef_, rtol=1e-6, atol=1e-9
    )


def _persisted_on(client, X, chunk, owners, reverse=False):
    """``X`` as a dask array whose block ``i`` lives on worker ``owners[i]``.

    The blocks are scattered in order, or last first with ``reverse``.
    """
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    starts = list(enumerate(range(0, len(X), chunk)))
    futures = {}
    for i, start in reversed(starts) if reverse else starts:
        rows = X[start : start + chunk]
        futures[i] = client.scatter(rows, workers=[workers[owners[i]]], hash=False)
    return da.concatenate(
        [
            da.from_delayed(futures[i], shape=X[s : s + chunk].shape, dtype=X.dtype)
            for i, s in starts
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize("shuffle_blocks", ["auto", False])
def test_a_fit_does_not_depend_on_where_the_blocks_live(monkeypatch, shuffle_blocks):
    # Two fits with the same random_state, each on a fresh cluster of two
    # workers, the four blocks placed differently and persisted in another
    # order: the same model. Without the shuffle the fit keeps the blocks
    # where they are: the placement each fit found is recorded, to check
    # that it did differ. With it, the shuffled copy is computed from
    # blocks that live in different places.
    from sklinear.dask import _train

    X, y = make_classification(
        n_samples=2000, n_features=20, n_informative=10, n_classes=3, random_state=1
    )
    placements, place = [], _train.Blocks.place

    def recording(self):
        place(self)
        workers = sorted({block.worker for block in self.blocks})
        placements.append([workers.index(block.worker) for block in self.blocks])

    monkeypatch.setattr(_train.Blocks, "place", recording)
    coefs = []
    for owners, reverse in (([0, 1, 0, 1], False), ([1, 1, 0, 0], True)):
        cluster, client = _cluster(2)
        try:
            X_dask = _persisted_on(client, X, 500, owners, reverse)
            model = DaskSGD(
                SoftmaxSGD(max_iter=6, tol=None, random_state=0),
                shuffle_blocks=shuffle_blocks,
            )
            coefs.append(model.fit(X_dask, y).estimator_.coef_)
        finally:
            client.close()
            cluster.close()
    if shuffle_blocks is False:
        assert placements[0] != placements[1], placements
    np.testing.assert_allclose(coefs[1], coefs[0], rtol=1e-6, atol=1e-9)


# -------------------------------------------------------------- searches


def _assert_same_results(results, reference, rtol=1e-6):
    assert results.keys() == reference.keys()
    for name, values in reference.items():
        if "time" in name:
            continue
        if name == "params" or name.startswith("param_"):
            assert list(results[name]) == list(values), name
        else:
            np.testing.assert_allclose(results[name], values, rtol=rtol, err_msg=name)


@pytest.mark.parametrize(
    "search",
    [
        SoftmaxSGDCV(alphas=[1e-4, 1e-2, 1e-1], max_iter=5, random_state=0),
        MulticlassSVMSGDCV(
            alphas=[1e-4, 1e-2], margins=[0.5, 1.0], early_stopping=True, random_state=0
        ),
    ],
    ids=["softmax", "svm-early-stopping"],
)
def test_a_search_on_one_worker_is_the_one_machine_search(one_worker, search):
    X, y = _digits()
    reference = pickle.loads(pickle.dumps(search)).fit(X, y)
    model = DaskSGD(search).fit(da.from_array(X, chunks=(len(X), 64)), y)
    fitted = model.estimator_
    assert type(fitted) is type(search)
    _assert_same_results(fitted.cv_results_, reference.cv_results_)
    assert fitted.best_params_ == reference.best_params_
    np.testing.assert_allclose(fitted.coef_, reference.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    assert fitted.refit_time_ > 0.0


@pytest.mark.parametrize("workers", ["one_worker", "two_workers"])
def test_a_search_rounds_train_only_the_running_models(monkeypatch, request, workers):
    # Candidates that stop at different epochs: the rounds after a stop
    # train the running models' columns alone (their weight columns on the
    # workers). With one worker the search stays the one-machine search,
    # whose epochs leave stopped models out the same way.
    import sklinear.dask._wrapper as wrapper

    X, y = _digits()
    search = SoftmaxSGDCV(
        alphas=[1e-5, 1e-2, 3e-1], tol=1e-2, n_iter_no_change=2, max_iter=30,
        random_state=0,
    )  # fmt: skip
    widths = []
    mixing_epoch = wrapper.mixing_epoch

    def counted(blocks, state, spec, *args, **kwargs):
        widths.append(len(spec.models))
        return mixing_epoch(blocks, state, spec, *args, **kwargs)

    monkeypatch.setattr(wrapper, "mixing_epoch", counted)
    client = request.getfixturevalue(workers)
    # One worker and one block: the one-machine search's rows in its order.
    rows = len(X) if workers == "one_worker" else 450
    with client.as_current():
        model = DaskSGD(search).fit(da.from_array(X, chunks=(rows, 64)), y)
    fitted = model.estimator_
    n_iter = fitted.cv_results_["max_n_iter"]
    assert len(set(n_iter)) > 1  # the candidates stopped at different epochs
    n_models = 3 * fitted.n_splits_
    assert widths[0] == n_models and min(widths) < n_models
    if workers == "one_worker":
        reference = pickle.loads(pickle.dumps(search)).fit(X, y)
    else:  # the same rounds with every column kept
        monkeypatch.setattr(wrapper, "leaves_stopped_models_out", lambda run: False)
        with client.as_current():
            reference = DaskSGD(search).fit(da.from_array(X, chunks=(rows, 64)), y)
        reference = reference.estimator_
    _assert_same_results(fitted.cv_results_, reference.cv_results_)
    np.testing.assert_allclose(fitted.coef_, reference.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("Search", [SoftmaxSGDCV, MulticlassSVMSGDCV])
def test_a_search_on_two_workers_chooses_as_one_machine(two_workers, Search):
    # Digits sorted by class, four blocks: the same choice as on one
    # machine, with the same score. (Candidates far from the best, here the
    # over-regularized alpha=1, can score a few points apart: mixing is not
    # the one-machine trajectory.)
    X, y = _digits()
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    search = Search(
        alphas=[1e-4, 1e-1, 1.0], batch_size=32, max_iter=10, tol=None, random_state=0
    )
    reference = pickle.loads(pickle.dumps(search)).fit(X, y)
    model = DaskSGD(search).fit(da.from_array(X, chunks=450), y)
    fitted = model.estimator_
    assert fitted.best_params_ == reference.best_params_
    assert fitted.best_score_ == pytest.approx(reference.best_score_, abs=0.01)


def test_a_search_scores_its_folds_where_the_rows_live(one_worker):
    # Scorers that need probabilities, scores and labels give the one-machine
    # search's results; no block of X is ever computed on the client, and
    # refit=False leaves no model.
    X, y = _digits()
    X_dask = _never_on_the_client(X, (len(X), 64))
    for scoring in ("neg_log_loss", "roc_auc_ovr", "balanced_accuracy"):
        search = SoftmaxSGDCV(
            alphas=[1e-4, 1e-1], max_iter=4, scoring=scoring, random_state=0
        )
        reference = pickle.loads(pickle.dumps(search)).fit(X, y)
        fitted = DaskSGD(search).fit(X_dask, y).estimator_
        _assert_same_results(fitted.cv_results_, reference.cv_results_)
    model = DaskSGD(SoftmaxSGDCV(alphas=[1e-3], max_iter=2, refit=False)).fit(X_dask, y)
    assert "mean_test_score" in model.estimator_.cv_results_
    with pytest.raises(NotFittedError, match="refit=False"):
        model.predict(X)


def test_fold_predictions_on_shuffled_blocks_are_the_model_s(two_workers):
    # The stand-in the scorer calls finds a fold's test rows in the shuffled
    # blocks and returns the model's outputs in the fold's order.
    from sklinear.dask._train import Blocks, block_shuffle
    from sklinear.dask._wrapper import _FoldPredictions

    X, y = _digits()
    model = SoftmaxSGD(max_iter=3, random_state=0).fit(X, y)
    X_dask = da.from_array(X, chunks=(450, 64))
    order = block_shuffle(X_dask.chunks[0], np.random.default_rng(0))
    blocks = Blocks(
        two_workers,
        X_dask,
        np.searchsorted(model.classes_, y),
        np.ones(len(y)),
        True,
        order=order,
    )
    test = np.random.default_rng(1).choice(len(y), 300, replace=False)
    X_test = X_dask[test]
    stand_in = _FoldPredictions(model, blocks, test, X_test)
    for method in ("predict", "predict_proba", "decision_function"):
        np.testing.assert_allclose(
            getattr(stand_in, method)(X_test), getattr(model, method)(X[test])
        )
    with pytest.raises(ValueError, match="fold's test rows"):
        stand_in.predict(X_dask)


def test_a_search_trains_in_mixing_mode_only(one_worker):
    X, y = _digits()
    with pytest.raises(ValueError, match="error_score"):
        DaskSGD(SoftmaxSGDCV(alphas=[1e-3], error_score="ignore")).fit(
            da.from_array(X, chunks=450), y
        )
    with pytest.raises(ValueError, match="mode='mixing' only"):
        DaskSGD(SoftmaxSGDCV(alphas=[1e-3]), mode="full_batch").fit(
            da.from_array(X, chunks=450), y
        )


# -------------------------------------------------------------- full batch


def test_full_batch_lbfgs_reaches_the_single_machine_optimum(two_workers):
    X, y = _digits()
    C = 1.0
    alpha = 1.0 / (C * len(y))
    reference = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    optimum = log_loss(y, reference.predict_proba(X)) + alpha / 2 * np.sum(
        reference.coef_**2
    )
    model = DaskSGD(
        SoftmaxSGD(alpha=alpha, max_iter=500, tol=None), mode="full_batch"
    ).fit(da.from_array(X, chunks=(450, 64)), y)
    assert abs(objective(model.estimator_, X, y) - optimum) / optimum < 1e-6


def test_full_batch_gradient_descent_is_the_plain_full_batch_fit(two_workers):
    X, y = _digits()
    params = {
        "batch_size": None,
        "optimizer": "nesterov",
        "max_iter": 30,
        "tol": None,
        "random_state": 0,
    }
    plain = SoftmaxSGD(**params).fit(X, y)
    model = DaskSGD(SoftmaxSGD(**params), mode="full_batch", solver="gd").fit(
        da.from_array(X, chunks=(450, 64)), y
    )
    np.testing.assert_allclose(
        model.estimator_.coef_, plain.coef_, rtol=1e-6, atol=1e-9
    )
    np.testing.assert_allclose(
        model.estimator_.loss_curve_, plain.loss_curve_, rtol=1e-6
    )


def test_lbfgs_refuses_a_non_smooth_penalty(two_workers):
    X, y = _digits()
    with pytest.raises(ValueError, match="solver='lbfgs' needs a smooth objective"):
        DaskSGD(SoftmaxSGD(penalty="l1"), mode="full_batch").fit(
            da.from_array(X, chunks=(450, 64)), y
        )


# -------------------------------------------------------------- results


def test_the_result_is_a_plain_picklable_estimator(two_workers):
    X, y = _digits()
    model = DaskSGD(MulticlassSVMSGD(max_iter=5, random_state=0)).fit(
        da.from_array(X, chunks=(450, 64)), y
    )
    restored = pickle.loads(pickle.dumps(model.estimator_))
    assert type(restored) is MulticlassSVMSGD
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    proba = model.predict_proba(da.from_array(X, chunks=(450, 64))).compute()
    np.testing.assert_allclose(proba, restored.predict_proba(X))
    assert model.classes_.tolist() == list(range(10))


def _restart_before_round(monkeypatch, client, round_index):
    """Make the fit restart every worker just before its round ``round_index``.

    The restart is triggered by the fit itself, not by a timer that a fast
    machine could outrun: the workers lose the blocks they hold, and the
    round meets the loss.
    """
    from sklinear.dask import _wrapper

    original, calls = _wrapper.mixing_epoch, []

    def restarting(*args, **kwargs):
        calls.append(None)
        if len(calls) == round_index:
            client.restart()
        return original(*args, **kwargs)

    monkeypatch.setattr(_wrapper, "mixing_epoch", restarting)
    return calls


def test_a_round_that_loses_its_workers_is_retried(own_two_workers, monkeypatch):
    X, y = make_classification(n_samples=20_000, n_features=50, random_state=0)
    X_dask = da.from_array(X, chunks=5000)
    calls = _restart_before_round(monkeypatch, own_two_workers, round_index=5)
    model = DaskSGD(SoftmaxSGD(max_iter=40, tol=None, random_state=0), max_retries=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X_dask, y)
    assert model.n_retries_ >= 1
    assert len(calls) == 40 + model.n_retries_  # the failed round ran again
    assert model.estimator_.n_iter_ == 40
    reference = SoftmaxSGD(max_iter=40, tol=None, random_state=0).fit(X, y)
    assert abs(model.score(X, y) - reference.score(X, y)) < 0.02


def test_a_round_that_fails_more_than_max_retries_is_reported(
    own_two_workers, monkeypatch
):
    X, y = make_classification(n_samples=4000, n_features=20, random_state=0)
    X_dask = da.from_array(X, chunks=1000)
    _restart_before_round(monkeypatch, own_two_workers, round_index=3)
    model = DaskSGD(SoftmaxSGD(max_iter=10, tol=None, random_state=0), max_retries=0)
    with pytest.raises(DistributedTrainingError, match=r"(?s)Round 3 .* max_retries"):
        model.fit(X_dask, y)
    assert not hasattr(model, "estimator_")


def test_a_wait_on_a_worker_that_left_raises_instead_of_hanging(one_worker):
    # A restarted worker comes back under a new address: a task tied to the
    # old one would wait forever. The round's wait sees that the worker left.
    from sklinear.dask import _train

    X = da.from_array(np.ones((8, 2)), chunks=4)
    blocks = _train.Blocks(one_worker, X, np.zeros(8, int), np.ones(8), persist=True)
    gone = "tcp://127.0.0.1:9"  # never a worker of this cluster
    blocks.blocks[0].worker, blocks.workers = gone, [gone, *blocks.workers]
    future = blocks.submit(_train.aligned, blocks.blocks[0], np.ones(3), data=False)
    with pytest.raises(_train.LostWorkerError, match="left the cluster"):
        blocks.gather([future])
    assert future.cancelled()


# -------------------------------------------------------------- what already works


def test_grid_search_on_the_dask_joblib_backend(two_workers):
    from joblib import parallel_backend

    X, y = _digits()
    search = GridSearchCV(
        SoftmaxSGD(max_iter=10, random_state=0), {"alpha": [1e-4, 1e-2]}, cv=3
    )
    with parallel_backend("dask"):
        search.fit(X, y)
    reference = GridSearchCV(
        SoftmaxSGD(max_iter=10, random_state=0), {"alpha": [1e-4, 1e-2]}, cv=3
    ).fit(X, y)
    assert search.best_params_ == reference.best_params_
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"]
    )


def test_dask_ml_incremental_drives_partial_fit(two_workers):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _digits()
    X_dask = da.from_array(X, chunks=(450, 64))
    y_dask = da.from_array(y, chunks=450)
    incremental = wrappers.Incremental(
        SoftmaxSGD(random_state=0), scoring="accuracy", random_state=0
    )
    incremental.fit(X_dask, y_dask, classes=np.unique(y))
    assert incremental.estimator_.n_iter_ == 4  # one partial_fit per block
    assert incremental.score(X_dask, y_dask) > 0.85


# -------------------------------------------------------------- messages


def _blobs():
    from sklearn.datasets import make_blobs

    return make_blobs(600, n_features=10, centers=3, cluster_std=3.0, random_state=0)


@pytest.mark.parametrize(
    "value, message",
    [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")],
)
def test_nan_or_inf_in_X_is_reported_as_the_estimator_does(one_worker, value, message):
    X, y = _blobs()
    model = DaskSGD(SoftmaxSGD(max_iter=3, random_state=0))
    model.fit(da.from_array(X, chunks=200), y)
    before = model.estimator_
    X[250, 3] = value
    X_dask = _never_on_the_client(X, 200)
    for persist in (True, False):
        model.set_params(persist=persist)
        with pytest.raises(ValueError, match=rf"{message} \(first in row 250, in"):
            model.fit(X_dask, y)
        assert model.estimator_ is before  # the failed fit kept the model
    # The plain estimator says the same.
    with pytest.raises(ValueError, match=message):
        SoftmaxSGD().fit(X, y)


def test_unknown_chunk_sizes_point_to_compute_chunk_sizes(one_worker):
    X, y = _blobs()
    X_dask = da.from_array(X, chunks=200)
    unknown = X_dask[X_dask[:, 0] > -np.inf]  # boolean indexing: NaN chunk sizes
    model = DaskSGD(SoftmaxSGD(max_iter=3, random_state=0))
    with pytest.raises(ValueError, match=r"unknown chunk sizes.*compute_chunk_sizes"):
        model.fit(unknown, y)
    model.fit(unknown.compute_chunk_sizes(), y)
    assert model.estimator_.n_features_in_ == 10


def test_sparse_chunks_are_refused_with_what_to_do(one_worker):
    from scipy import sparse

    X, y = _blobs()
    X_dask = da.from_array(X, chunks=200)
    model = DaskSGD(SoftmaxSGD(max_iter=3, random_state=0))
    as_sparse = [
        X_dask.map_blocks(sparse.csr_matrix),  # dask knows the blocks are sparse
        # dask is told they are dense: the workers find out
        X_dask.map_blocks(sparse.csr_matrix, meta=np.empty((0, 0))),
        sparse.csr_matrix(X),
    ]
    for X_sparse in as_sparse:
        with pytest.raises(
            TypeError, match=r"csr_matrix.*sparse chunks are not supported.*toarray"
        ):
            model.fit(X_sparse, y)


@pytest.mark.parametrize(
    "method",
    ["predict", "decision_function", "predict_proba", "predict_log_proba", "score"],
)
def test_prediction_before_fit_raises_not_fitted(method):
    from sklearn.exceptions import NotFittedError

    X, y = _blobs()
    args = (X, y) if method == "score" else (X,)
    with pytest.raises(NotFittedError, match="DaskSGD instance is not fitted"):
        getattr(DaskSGD(SoftmaxSGD()), method)(*args)


def test_no_client_says_how_to_start_one(monkeypatch):
    # As in a fresh process: no client created, none entered as a context.
    monkeypatch.setattr(distributed.client, "_get_global_client", lambda: None)
    X, y = _blobs()
    model = DaskSGD(SoftmaxSGD())
    with pytest.raises(ValueError, match=r"no client is running.*client = Client\(\)"):
        model.fit(da.from_array(X, chunks=200), y)
    assert not hasattr(model, "estimator_")


def test_column_vector_y_is_raveled_with_a_warning(one_worker):
    from sklearn.exceptions import DataConversionWarning

    X, y = _blobs()
    X_dask = da.from_array(X, chunks=200)
    params = {"max_iter": 3, "random_state": 0}
    flat = DaskSGD(SoftmaxSGD(**params)).fit(X_dask, y)
    for column in (y[:, None], da.from_array(y[:, None], chunks=200)):
        with pytest.warns(DataConversionWarning, match="column-vector y"):
            model = DaskSGD(SoftmaxSGD(**params)).fit(X_dask, column)
        np.testing.assert_array_equal(model.estimator_.coef_, flat.estimator_.coef_)
    with pytest.raises(ValueError, match=r"y should be a 1d array.*\(600, 2\)"):
        DaskSGD(SoftmaxSGD(**params)).fit(X_dask, np.c_[y, y])


def test_displays_look_inside_a_fitted_dask_sgd(one_worker):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.exceptions import NotFittedError

    from sklinear.inspection import (
        LossCurveDisplay,
        TuningHeatmapDisplay,
        WeightTemplatesDisplay,
    )

    X, y = _digits()
    model = DaskSGD(
        SoftmaxSGD(early_stopping=True, max_iter=4, tol=None, random_state=0)
    ).fit(da.from_array(X, chunks=(900, 64)), y)
    try:
        curve = LossCurveDisplay.from_estimator(model)
        np.testing.assert_allclose(
            curve.line_.get_ydata(), model.estimator_.loss_curve_
        )
        assert curve.validation_line_ is not None
        templates = WeightTemplatesDisplay.from_estimator(model)
        assert templates.images_.shape == (10,)
        np.testing.assert_allclose(
            templates.images_[3].get_array().ravel().min(), 0.0, atol=1e-12
        )
        with pytest.raises(
            ValueError,
            match=r"DaskSGD has none, nor has its estimator_ \(SoftmaxSGD\): it "
            r"trained one model, not a search",
        ):
            TuningHeatmapDisplay.from_estimator(model)
        for display in (LossCurveDisplay, WeightTemplatesDisplay):
            with pytest.raises(NotFittedError):
                display.from_estimator(DaskSGD(SoftmaxSGD()))
    finally:
        plt.close("all")
