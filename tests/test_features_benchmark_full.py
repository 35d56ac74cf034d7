"""Helpers of the feature benchmark's full-data sections, against references."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "bench_features.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_features", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_split_holds_out_a_fixed_permutation(bench, tmp_path):
    X = np.arange(50 * 4, dtype=np.uint8).reshape(50, 2, 2, 1)
    y = np.arange(50) % 5
    np.savez(tmp_path / "train.npz", X_train=X, y_train=y)
    data = bench.load_split(tmp_path / "train.npz", holdout=10, seed=3)
    held = np.sort(np.random.default_rng(3).permutation(50)[-10:])
    np.testing.assert_array_equal(data["X_val"], X[held])
    np.testing.assert_array_equal(data["y_val"], y[held])
    assert len(data["X_train"]) == 40
    rows = np.concatenate([data["X_train"][:, 0, 0, 0], data["X_val"][:, 0, 0, 0]])
    assert sorted(rows.tolist()) == sorted(X[:, 0, 0, 0].tolist())
    np.savez(tmp_path / "dev.npz", X_train=X, y_train=y, X_val=X[:3], y_val=y[:3])
    assert len(bench.load_split(tmp_path / "dev.npz")["X_val"]) == 3


def test_standardize_in_chunks_equals_standard_scaler(bench):
    rng = np.random.default_rng(0)
    train = (rng.gamma(2.0, 50.0, size=(103, 7)) + 1000).astype(np.float32)
    train[:, 3] = 5.0  # constant column: scale 1, as StandardScaler
    val = rng.gamma(2.0, 50.0, size=(11, 7)).astype(np.float32)
    got_train, got_val = bench.standardize(train, val, chunk=10)
    scaler = StandardScaler().fit(train.astype(np.float64))
    assert got_train.dtype == got_val.dtype == np.float32
    np.testing.assert_allclose(got_train, scaler.transform(train), atol=2e-5)
    np.testing.assert_allclose(got_val, scaler.transform(val), rtol=1e-5, atol=1e-4)


def test_ridge_full_equals_ridge_on_plus_minus_one_targets(bench):
    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 12)).astype(np.float32)
    y = rng.integers(0, 4, 300)
    train[np.arange(300), y] += 1.5
    val = rng.normal(size=(50, 12)).astype(np.float32)
    got = bench.ridge_full(train, y, val, [0.5, 50.0], chunk=64)
    targets = 2.0 * np.eye(4)[y] - 1
    for alpha, (train_pred, val_pred) in got.items():
        # The bias is a penalized constant feature, as in Coates et al.'s SVM.
        A = np.hstack([train, np.ones((300, 1))]).astype(np.float64)
        ridge = Ridge(alpha=alpha, fit_intercept=False).fit(A, targets)
        B = np.hstack([val, np.ones((50, 1))])
        np.testing.assert_array_equal(val_pred, ridge.predict(B).argmax(axis=1))
        np.testing.assert_array_equal(train_pred, ridge.predict(A).argmax(axis=1))


def test_standard_errors(bench):
    assert bench.binomial_se(0.7, 10_000) == pytest.approx(0.0045826, rel=1e-4)
    a = np.array([1, 1, 0, 1, 0, 1, 1, 0])
    b = np.array([1, 0, 0, 1, 1, 1, 0, 0])
    d = a - b
    assert bench.paired_se(a, b) == pytest.approx(d.std(ddof=1) / np.sqrt(8))
    assert bench.paired_se(a, a) == 0


def test_jpeg_estimate_extrapolates_a_line_exactly(bench):
    mse = [0.0, 10.0, 40.0, 90.0]
    accuracy = [0.72 - 2e-4 * m for m in mse]
    got = bench.jpeg_estimate(mse, accuracy, [0.004] * 4, mse0=50.0)
    assert got["slope_per_mse"] == pytest.approx(-2e-4)
    assert got["intercept"] == pytest.approx(0.72)
    assert got["estimated_original"] == pytest.approx(0.73)
    # Beyond the points, the estimate is less certain than any of them.
    assert got["estimated_original_se"] > 0.004


def test_jpeg_ghost_finds_the_quality_of_a_compressed_copy(bench):
    pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.normal(size=(20, 32, 32, 3)), axis=2) * 8 + 128
    images = np.clip(smooth, 0, 255).astype(np.uint8)
    copy = bench.jpeg_recompress(images, 60)
    ghost = bench.jpeg_ghost(copy, range(40, 81, 10))
    assert min(ghost, key=ghost.get) == 60
    # Off the block grid, a compression costs far more than at the ghost.
    assert bench.fresh_compression_mse(copy, 60) > 3 * ghost[60]


def test_training_rows_sample_every_class_of_a_sorted_file(bench):
    # cifar10_train.npz is sorted by class: the first rows are one class.
    y = np.repeat(np.arange(10), 400)
    rows = bench.training_rows(len(y), 1000)
    assert len(np.unique(rows)) == 1000 and (np.diff(rows) > 0).all()
    assert np.bincount(y[rows]).min() > 60
    np.testing.assert_array_equal(rows, bench.training_rows(len(y), 1000))


def test_exact_optimum_of_the_log_loss_is_logistic_regression(bench):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6))
    y = rng.integers(0, 3, 240)
    X[np.arange(240), y] += 1.0
    alpha = 0.05
    model = bench.ExactOptimum(loss="log_loss", alpha=alpha).fit(X, y)
    reference = LogisticRegression(C=1.0 / (alpha * len(y)), tol=1e-12, max_iter=10_000)
    reference.fit(X, y)
    assert model.converged_
    # The softmax's weights are defined up to a shift per feature, which the
    # penalty fixes at zero mean over the classes: both land there.
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(
        model.intercept_ - model.intercept_.mean(),
        reference.intercept_ - reference.intercept_.mean(),
        atol=1e-5,
    )
    assert model.score(X, y) == reference.score(X, y)


def test_full_classifiers_build_the_exact_optimum_with_overrides(bench):
    models = bench.full_classifiers(100, ["optimum+loss='squared_hinge'+alpha=0.01"])
    (model,) = models.values()
    assert model.get_params() == {
        "loss": "squared_hinge",
        "alpha": 0.01,
        "max_iter": 600,
    }
    X = np.random.default_rng(1).normal(size=(60, 4)).astype(np.float32)
    y = np.arange(60) % 3
    X[np.arange(60), y] += 2.0
    fitted = model.fit(X, y)
    assert (
        fitted.objective_
        < bench.ExactOptimum(loss="squared_hinge", alpha=0.01, max_iter=1)
        .fit(X, y)
        .objective_
    )
    assert fitted.score(X, y) > 0.9
