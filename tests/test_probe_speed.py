"""Linear probes at the speed of the matrix products (issue 22), as behaviour.

No timings here (they live in ``benchmarks/bench_probe.py``): what makes the
step fast is checked instead. The batch size of ``"auto"`` follows its
documented rule; a training step allocates no array of the batch's scores
or of the parameters' size (the losses work in the scores buffer, the
optimizer and the average in one scratch block); the in-place losses and
the optimizers' ``out=`` give the same numbers as the plain calls.
"""

import tracemalloc

import numpy as np
import pytest

import sklinear._engine as engine
from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear._optimizers import OPTIMIZERS
from sklinear._recipe import auto_batch_size
from sklinear.losses import LOSSES

# --- batch_size="auto" --------------------------------------------------------


@pytest.mark.parametrize(
    "n_rows, n_features, n_classes, expected",
    [
        (50_000, 3072, 10, 256),  # CIFAR-10 raw pixels: CS231n's minibatch
        (1797, 64, 10, 256),  # digits: small data keeps 256
        (20_000, 512, 10, 256),  # a probe with few classes: CS231n's 256
        (40_000, 334, 10, 256),  # HOG + color: more steps, not larger ones
        (100_000, 512, 100, 256),  # parameters within the cache
        (100_000, 512, 1000, 1024),  # parameters beyond the cache
        (100_000, 2048, 1000, 1024),
        (8000, 512, 1000, 500),  # 16 steps per epoch at least
        (200, 512, 1000, 200),  # never more than the data
    ],
)
def test_auto_batch_size_follows_the_documented_rule(
    n_rows, n_features, n_classes, expected
):
    assert auto_batch_size(n_rows, n_features, n_classes) == expected


def test_auto_batch_size_of_a_fit_is_the_rule_and_256_stays_available():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4096, 255)).astype(np.float32)
    y = np.arange(len(X)) % 1024
    assert auto_batch_size(len(X), 255, 1024) == 256  # 16 steps: 4096 / 16
    X = np.vstack([X] * 4)
    y = np.concatenate([y] * 4)
    assert auto_batch_size(len(X), 255, 1024) == 1024

    def coef(batch_size):
        model = SoftmaxSGD(max_iter=2, tol=None, random_state=0, batch_size=batch_size)
        return model.fit(X, y).coef_

    auto = coef("auto")
    np.testing.assert_array_equal(auto, coef(1024))
    assert not np.array_equal(auto, coef(256))


# --- no temporaries in a step -------------------------------------------------


@pytest.mark.parametrize("Estimator", [SoftmaxSGD, MulticlassSVMSGD])
def test_a_step_allocates_nothing_of_the_scores_or_parameters_size(
    monkeypatch, Estimator
):
    # 256 x 1,024 scores and 256 x 1,024 parameters: 1 MiB each in float32;
    # the parameters are large enough to be worked on block by block.
    n_features, n_classes, batch = 255, 1024, 256
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4 * batch, n_features)).astype(np.float32) + 1.0
    y = np.arange(len(X)) % n_classes
    peaks = []
    step = engine._step

    def traced_step(*args, **kwargs):
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        value = step(*args, **kwargs)
        peaks.append(tracemalloc.get_traced_memory()[1] - start)
        return value

    monkeypatch.setattr(engine, "_step", traced_step)
    tracemalloc.start()
    try:
        Estimator(max_iter=1, tol=None, random_state=0, batch_size=batch).fit(X, y)
    finally:
        tracemalloc.stop()
    assert len(peaks) == 4
    scores_bytes = batch * n_classes * 4
    assert max(peaks) < scores_bytes / 16


# --- in-place losses ----------------------------------------------------------


def _scores(rng, n_models, dtype):
    shape = (40, n_models, 7) if n_models > 1 else (40, 7)
    return (3 * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("name", [name for name, r in LOSSES.items() if r.in_place])
@pytest.mark.parametrize("n_models", [1, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_losses_equal_the_plain_call(name, n_models, dtype):
    rng = np.random.default_rng(n_models)
    scores = _scores(rng, n_models, dtype)
    y = rng.integers(0, 7, len(scores))
    weight = rng.random((len(scores), n_models) if n_models > 1 else len(scores))
    params = {}
    if n_models > 1 and "margin" in LOSSES[name].params:
        params["margin"] = np.array([0.5, 1.0, 2.0])
    kept = scores.copy()
    loss, dscores = LOSSES[name](scores, y, weight, **params)
    np.testing.assert_array_equal(scores, kept)  # not overwritten by default
    loss_in_place, dscores_in_place = LOSSES[name](
        scores, y, weight, overwrite_scores=True, **params
    )
    assert np.shares_memory(dscores_in_place, scores)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss_in_place, loss, rtol=rtol)
    np.testing.assert_allclose(dscores_in_place, dscores, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_models", [1, 3])
def test_in_place_softmax_shifts_safely_where_a_wrong_class_is_far_ahead(
    dtype, n_models
):
    # The in-place softmax shifts each row by its correct-class score; a
    # wrong class far above it (beyond exp's range) must fall back to the
    # row maxima, with the log-sum-exp's value and a finite gradient.
    from scipy.special import logsumexp, softmax

    rng = np.random.default_rng(0)
    scores = _scores(rng, n_models, dtype)
    y = rng.integers(0, 7, len(scores))
    flat = scores.reshape(len(scores), -1, 7)
    far = 200.0 if dtype == np.float32 else 1000.0  # exp overflows beyond 88 / 709
    flat[3, :, (y[3] + 1) % 7] = flat[3, :, y[3]] + far
    weight = np.full(len(scores), 1.0 / len(scores))
    as_float64 = flat.astype(np.float64)
    correct = np.take_along_axis(as_float64, y[:, None, None], axis=2)[..., 0]
    expected_loss = (weight[:, None] * (logsumexp(as_float64, axis=2) - correct)).sum(0)
    expected_grad = softmax(as_float64, axis=2)
    expected_grad[np.arange(len(y)), :, y] -= 1.0
    expected_grad *= weight[:, None, None]
    loss, dscores = LOSSES["log_loss"](scores, y, weight, overwrite_scores=True)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss, expected_loss.reshape(np.shape(loss)), rtol=rtol)
    assert np.isfinite(dscores).all()
    np.testing.assert_allclose(
        dscores.reshape(expected_grad.shape), expected_grad, rtol=rtol, atol=rtol
    )


def test_in_place_softmax_reports_a_non_finite_score():
    scores = np.zeros((4, 3))
    scores[1, 2] = np.nan
    loss, _ = LOSSES["log_loss"](
        scores, np.zeros(4, dtype=int), np.full(4, 0.25), overwrite_scores=True
    )
    assert np.isnan(loss)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(256, 10), (7, 1000), (1, 3)])
def test_sums_as_products_equal_numpys_sums(shape, dtype):
    from sklinear._elementwise import sums_per_column, sums_per_row

    array = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    # Sums of terms of either sign: the rounding is relative to the terms.
    tol = (1e-6 if dtype == np.float32 else 1e-14) * np.sqrt(max(shape))
    np.testing.assert_allclose(sums_per_row(array), array.sum(axis=1), atol=tol)
    out = np.empty(shape[1], dtype=dtype)
    assert sums_per_column(array, out=out) is out
    np.testing.assert_allclose(out, array.sum(axis=0), atol=tol)


@pytest.mark.parametrize("shuffle", [True, False])
def test_unit_weights_give_the_batches_of_the_general_path(shuffle):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((103, 5)).astype(np.float32)
    y = rng.integers(0, 3, 103)
    rows = np.sort(rng.choice(103, 90, replace=False))
    source = engine.BatchSource(
        X, y, np.ones(103, dtype=np.float32), rows, batch_size=16, shuffle=shuffle
    )
    assert source.unit_weights is not None
    general = engine.BatchSource(
        X, y, np.ones(103, dtype=np.float32), rows, batch_size=16, shuffle=shuffle
    )
    general.unit_weights = None
    batches = list(source.batches(np.random.default_rng(1)))
    expected = list(general.batches(np.random.default_rng(1)))
    assert len(batches) == len(expected) == 6
    for (X_b, y_b, w_b, total, n_b), (X_e, y_e, w_e, total_e, n_e) in zip(
        batches, expected, strict=True
    ):
        np.testing.assert_array_equal(X_b, X_e)
        np.testing.assert_array_equal(y_b, y_e)
        np.testing.assert_array_equal(w_b, w_e)
        assert w_b.dtype == w_e.dtype and total == total_e
        assert n_b == n_e == len(y_b)
    weighted = engine.BatchSource(X, y, np.linspace(0.5, 1, 103), batch_size=16)
    assert weighted.unit_weights is None


def test_a_loss_without_in_place_ignores_overwrite_scores():
    record = LOSSES["smooth_hinge"]
    assert not record.in_place
    scores = np.random.default_rng(0).standard_normal((5, 3))
    kept = scores.copy()
    loss, _ = record(scores, np.arange(5) % 3, np.ones(5), overwrite_scores=True)
    np.testing.assert_array_equal(scores, kept)
    assert loss == record(kept, np.arange(5) % 3, np.ones(5))[0]


# --- optimizers: out= and a rate per coordinate -------------------------------


@pytest.mark.parametrize(
    "name", [name for name in OPTIMIZERS if name != "random_search"]
)
def test_update_into_out_equals_the_plain_update_and_keeps_grad(name):
    rng = np.random.default_rng(0)
    params = rng.standard_normal((6, 4))
    grads = [rng.standard_normal(params.shape) for _ in range(3)]
    plain, into = OPTIMIZERS[name](), OPTIMIZERS[name]()
    state, state_into = plain.init(params), into.init(params)
    out = np.empty_like(params)
    rate = rng.uniform(0.5, 2.0, (6, 1)) * 0.01  # one rate per feature
    for grad in grads:
        kept = grad.copy()
        expected, state = plain.update(grad, state, rate, params=params)
        got, state_into = into.update(grad, state_into, rate, params=params, out=out)
        np.testing.assert_array_equal(grad, kept)
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_a_rate_per_feature_is_the_update_scaled_per_feature():
    rng = np.random.default_rng(1)
    params = rng.standard_normal((5, 3))
    grad = rng.standard_normal(params.shape)
    scale = rng.uniform(0.5, 2.0, (5, 1))
    adam = OPTIMIZERS["adam"]()
    scaled, _ = adam.update(grad, adam.init(params), 0.1)
    per_feature, _ = adam.update(grad, adam.init(params), 0.1 * scale)
    np.testing.assert_allclose(per_feature, scaled * scale, rtol=1e-12)
