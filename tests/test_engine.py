"""The training engine on its own, without any estimator.

Tests of :mod:`sklinear._engine` (:func:`train`, :func:`run_epoch`,
:func:`apply_gradient`, :class:`Stopping`, :class:`TrainState`) on toy
objectives: a quadratic driven through :func:`apply_gradient`, and a tiny
multinomial logistic regression (40 rows, 3 features, 3 classes, float64)
built directly as a :class:`LinearObjective` with a :class:`BatchSource`.

References are independent of the engine: SciPy's L-BFGS optimum of the same
objective, gradient descent written out in NumPy, and ``K = 1`` runs for the
``K > 1`` models trained side by side.
"""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import logsumexp

from sklinear._engine import (
    BatchSource,
    LinearObjective,
    Preconditioner,
    Stopping,
    TrainState,
    apply_gradient,
    per_column,
    run_epoch,
    train,
)
from sklinear._optimizers import OPTIMIZERS
from sklinear._penalties import L1, penalty_terms, soft_threshold
from sklinear.losses import LOSSES

HYPER = {"momentum": 0.9, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
N_CLASSES = 3


def _data(n_samples=40, n_features=3, seed=0):
    """Overlapping Gaussian classes: not separable, so the optimum is finite."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % N_CLASSES
    centers = rng.standard_normal((N_CLASSES, n_features))
    X = rng.standard_normal((n_samples, n_features)) + centers[y]
    return X, y


def _objective(alpha=0.0, n_models=1, loss="log_loss", penalty="l2"):
    return LinearObjective(
        LOSSES[loss],
        N_CLASSES,
        n_models=n_models,
        penalty=penalty_terms(penalty, alpha, 0.0) if penalty else (),
    )


def _state(params, optimizer, base_lr=0.0, seed=0):
    params = np.array(params, dtype=np.float64)
    return TrainState(
        params,
        optimizer.init(params),
        np.random.default_rng(seed),
        np.atleast_1d(np.asarray(base_lr, dtype=np.float64)).copy(),
    )


def _reference(flat, X, y, alpha):
    """Mean softmax cross-entropy plus ``alpha / 2 * ||W||^2`` and its gradient."""
    params = flat.reshape(X.shape[1] + 1, N_CLASSES)
    scores = X @ params[:-1] + params[-1]
    lse = logsumexp(scores, axis=1)
    rows = np.arange(len(y))
    value = np.mean(lse - scores[rows, y]) + 0.5 * alpha * np.sum(params[:-1] ** 2)
    dscores = np.exp(scores - lse[:, None])
    dscores[rows, y] -= 1.0
    dscores /= len(y)
    grad = np.vstack([X.T @ dscores + alpha * params[:-1], dscores.sum(axis=0)])
    return value, grad.ravel()


def _centered(params):
    """Weights and intercepts with the intercepts' common shift removed."""
    params = params.copy()
    params[-1] -= params[-1].mean()
    return params


# --- apply_gradient on a quadratic -------------------------------------------


def test_apply_gradient_sgd_moves_by_minus_lr_times_gradient():
    rng = np.random.default_rng(1)
    params = rng.standard_normal((4, N_CLASSES))
    grad = rng.standard_normal(params.shape)
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(params, optimizer)
    value = np.array([1.25])
    returned = apply_gradient(state, _objective(), optimizer, grad.copy(), value, 0.3)
    np.testing.assert_allclose(state.params, params - 0.3 * grad, rtol=1e-15)
    np.testing.assert_array_equal(returned, value)  # no non-smooth term to add


def test_apply_gradient_with_preconditioner_scales_gradient_and_update():
    rng = np.random.default_rng(2)
    params = rng.standard_normal((4, N_CLASSES))
    grad = rng.standard_normal(params.shape)
    gradient_scale = rng.uniform(0.5, 2.0, (4, 1))
    update_scale = rng.uniform(0.5, 2.0, (4, 1))
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(params, optimizer)
    apply_gradient(
        state,
        _objective(),
        optimizer,
        grad.copy(),
        np.zeros(1),
        0.3,
        Preconditioner(gradient_scale, update_scale),
        n_rows=5,
    )
    expected = params - 0.3 * grad * gradient_scale * update_scale
    np.testing.assert_allclose(state.params, expected, rtol=1e-14)


def test_apply_gradient_descends_a_quadratic_geometrically():
    # f(P) = 1/2 ||P - T||^2: gradient descent gives P_k - T = (1 - lr)^k (P_0 - T).
    rng = np.random.default_rng(3)
    target = rng.standard_normal((4, N_CLASSES))
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.zeros_like(target), optimizer)
    objective = _objective()
    lr = 0.25
    for _ in range(10):
        gap = state.params - target
        value = np.array([0.5 * np.sum(gap**2)])
        assert apply_gradient(state, objective, optimizer, gap, value, lr) == value
    np.testing.assert_allclose(
        state.params - target, (1 - lr) ** 10 * -target, rtol=1e-12
    )


def test_l1_proximal_step_gives_exact_zeros():
    rng = np.random.default_rng(4)
    params = rng.standard_normal((6, N_CLASSES))
    grad = rng.standard_normal(params.shape)
    strength, lr = 2.0, 0.3
    objective = LinearObjective(LOSSES["log_loss"], N_CLASSES, penalty=[L1(strength)])
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(params, optimizer)
    value = apply_gradient(state, objective, optimizer, grad.copy(), np.zeros(1), lr)
    moved = params - lr * grad
    expected_W = np.sign(moved[:-1]) * np.maximum(np.abs(moved[:-1]) - lr * strength, 0)
    np.testing.assert_allclose(state.params[:-1], expected_W, rtol=1e-14, atol=0)
    small = np.abs(moved[:-1]) <= lr * strength
    assert small.any() and (~small).any()
    assert np.all(state.params[:-1][small] == 0.0)  # exact zeros
    np.testing.assert_allclose(state.params[-1], moved[-1], rtol=1e-15)  # no L1
    # The returned objective adds the L1 value at the parameters before the step.
    np.testing.assert_allclose(value, strength * np.abs(params[:-1]).sum())


def test_l1_proximal_step_uses_the_preconditioned_step_size():
    rng = np.random.default_rng(5)
    params = rng.standard_normal((6, N_CLASSES))
    grad = rng.standard_normal(params.shape)
    scale = rng.uniform(0.5, 2.0, (6, 1))
    strength, lr = 1.0, 0.3
    objective = LinearObjective(LOSSES["log_loss"], N_CLASSES, penalty=[L1(strength)])
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(params, optimizer)
    apply_gradient(
        state,
        objective,
        optimizer,
        grad.copy(),
        np.zeros(1),
        lr,
        Preconditioner(scale, scale),
    )
    moved = params - lr * grad * scale**2
    expected_W = soft_threshold(moved[:-1].copy(), lr * strength * scale[:-1] ** 2)
    np.testing.assert_allclose(state.params[:-1], expected_W, rtol=1e-14, atol=1e-15)
    assert np.sum(state.params[:-1] == 0.0) == np.sum(expected_W == 0.0) > 0


def test_proximal_descent_on_a_quadratic_reaches_the_lasso_solution():
    # argmin 1/2 ||W - T||^2 + s ||W||_1 = soft_threshold(T, s), zeros exact.
    rng = np.random.default_rng(6)
    target = rng.standard_normal((7, N_CLASSES))
    strength = 0.6
    objective = LinearObjective(LOSSES["log_loss"], N_CLASSES, penalty=[L1(strength)])
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.ones_like(target), optimizer)
    for _ in range(80):
        apply_gradient(
            state, objective, optimizer, state.params - target, np.zeros(1), 0.5
        )
    solution = soft_threshold(target[:-1].copy(), strength)
    np.testing.assert_allclose(state.params[:-1], solution, atol=1e-12)
    assert np.array_equal(state.params[:-1] == 0.0, np.abs(target[:-1]) <= strength)
    np.testing.assert_allclose(state.params[-1], target[-1], atol=1e-12)


# --- train on a tiny logistic regression -------------------------------------


def test_full_batch_sgd_reaches_the_lbfgs_optimum():
    X, y = _data()
    alpha = 0.1
    reference = minimize(
        _reference,
        np.zeros((X.shape[1] + 1) * N_CLASSES),
        args=(X, y, alpha),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000},
    )
    assert reference.success
    optimum = reference.x.reshape(X.shape[1] + 1, N_CLASSES)

    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.zeros_like(optimum), optimizer, base_lr=1.0)
    source = BatchSource(X, y, np.ones(len(y)))
    history = train(
        state,
        _objective(alpha),
        source,
        optimizer,
        max_iter=5000,
        tol=1e-12,
        n_iter_no_change=3,
    )
    assert history.converged[0] and not history.rose[0]
    assert not history.diverged[0]
    assert 10 < history.n_iter[0] < 5000
    assert history.n_iter[0] == len(history.loss_curve) == state.epoch
    curve = np.concatenate(history.loss_curve)
    assert np.all(np.diff(curve) <= 1e-15)  # full-batch descent: never up
    assert curve[0] == pytest.approx(np.log(N_CLASSES))  # zero weights
    assert curve[-1] == pytest.approx(reference.fun, rel=1e-9)
    assert history.best[0] == curve.min()
    np.testing.assert_allclose(
        _centered(state.params), _centered(optimum), rtol=0, atol=1e-5
    )


def test_epoch_objective_is_the_reference_objective_before_the_step():
    X, y = _data()
    alpha = 0.3
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    params = np.random.default_rng(7).standard_normal((4, N_CLASSES))
    state = _state(params, optimizer)
    value, diverged = run_epoch(
        state, _objective(alpha), BatchSource(X, y, np.ones(len(y))), optimizer, 0.1
    )
    expected_value, expected_grad = _reference(params.ravel(), X, y, alpha)
    np.testing.assert_allclose(value, [expected_value], rtol=1e-13)
    np.testing.assert_allclose(
        state.params, params - 0.1 * expected_grad.reshape(params.shape), rtol=1e-12
    )
    assert not diverged.any() and state.epoch == 1 and state.samples == len(y)


# --- divergence ---------------------------------------------------------------


def test_run_epoch_rolls_back_a_diverging_model_bitwise():
    X, y = _data()
    optimizer = OPTIMIZERS["momentum"](**HYPER)
    objective = _objective(alpha=1.0)
    source = BatchSource(X, y, np.ones(len(y)), batch_size=2)
    state = _state(np.zeros((4, N_CLASSES)), optimizer)
    value, diverged = run_epoch(state, objective, source, optimizer, 0.01)
    assert np.isfinite(value).all() and not diverged.any()
    assert np.abs(state.optimizer_state["velocity"]).max() > 0
    params = state.params.copy()
    velocity = state.optimizer_state["velocity"].copy()
    # lr * alpha = 1e30: the weights grow ~1e30-fold per step and overflow.
    value, diverged = run_epoch(state, objective, source, optimizer, 1e30)
    assert diverged.tolist() == [True]
    assert np.isnan(value).all()
    np.testing.assert_array_equal(state.params, params)
    np.testing.assert_array_equal(state.optimizer_state["velocity"], velocity)
    assert state.epoch == 2


def test_train_stops_at_divergence_with_the_last_good_parameters():
    X, y = _data()
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    source = BatchSource(X, y, np.ones(len(y)), batch_size=8)
    state = _state(np.zeros((4, N_CLASSES)), optimizer, base_lr=1e3)
    history = train(state, _objective(alpha=10.0), source, optimizer, max_iter=50)
    assert history.diverged[0] and not history.converged[0]
    assert history.n_iter[0] == len(history.loss_curve) < 50
    assert np.isfinite(state.params).all()
    assert np.isfinite(np.concatenate(history.loss_curve)).all()


# --- K models side by side ----------------------------------------------------


def _fit_models(
    X, y, weight, alphas, rates, *, optimizer_name, max_iter, record=None, **kwargs
):
    """``train`` K models side by side; returns the final state and history.

    ``record``, a list, receives a copy of the parameters after every epoch.
    """
    n_models = len(alphas)
    optimizer = OPTIMIZERS[optimizer_name](**HYPER)
    init = np.random.default_rng(8).standard_normal((X.shape[1] + 1, N_CLASSES))
    state = _state(np.tile(0.1 * init, n_models), optimizer, base_lr=rates, seed=9)
    objective = LinearObjective(
        LOSSES["log_loss"],
        N_CLASSES,
        n_models=n_models,
        penalty=penalty_terms("l2", per_column(alphas, N_CLASSES), 0.0),
    )
    if n_models == 1:
        objective = _objective(alphas[0])
    source = BatchSource(X, y, weight, batch_size=8)
    if record is not None:
        kwargs["on_epoch"] = lambda *_: record.append(state.params.copy())
    history = train(state, objective, source, optimizer, max_iter=max_iter, **kwargs)
    return state, history


def _columns(k):
    return slice(k * N_CLASSES, (k + 1) * N_CLASSES)


@pytest.mark.parametrize("optimizer_name", ["momentum", "adam"])
def test_k_models_equal_each_model_trained_alone(optimizer_name):
    X, y = _data()
    rng = np.random.default_rng(10)
    # One weight column per model, zero on different rows (like folds); model
    # 1 has so few rows that some of its minibatches are empty and skipped.
    weight = rng.uniform(0.5, 2.0, (len(y), 2))
    weight *= rng.random((len(y), 2)) > [0.3, 0.8]
    alphas, rates = [0.01, 0.5], [0.05, 0.2]
    state, history = _fit_models(
        X, y, weight, alphas, rates, optimizer_name=optimizer_name, max_iter=15
    )
    assert history.n_iter.tolist() == [15, 15]
    for k in range(2):
        alone, alone_history = _fit_models(
            X,
            y,
            weight[:, k],
            alphas[k : k + 1],
            rates[k : k + 1],
            optimizer_name=optimizer_name,
            max_iter=15,
        )
        np.testing.assert_allclose(state.params[:, _columns(k)], alone.params, 1e-10)
        np.testing.assert_allclose(
            np.array(history.loss_curve)[:, k],
            np.concatenate(alone_history.loss_curve),
            rtol=1e-10,
        )
        for name, value in alone.optimizer_state.items():
            np.testing.assert_allclose(
                state.optimizer_state[name][..., _columns(k)], value, rtol=1e-10
            )


def test_run_epoch_with_per_column_rates_equals_separate_epochs():
    X, y = _data()
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    init = np.random.default_rng(11).standard_normal((4, N_CLASSES))
    alphas, rates = [0.1, 1.0], [0.3, 0.05]
    both = _state(np.hstack([init, -init]), optimizer, seed=12)
    objective = LinearObjective(
        LOSSES["log_loss"],
        N_CLASSES,
        n_models=2,
        penalty=penalty_terms("l2", per_column(alphas, N_CLASSES), 0.0),
    )
    source = BatchSource(X, y, np.ones(len(y)), batch_size=16)
    lr = per_column(rates, N_CLASSES, np.float64)
    values = [run_epoch(both, objective, source, optimizer, lr)[0] for _ in range(3)]
    for k, start in enumerate([init, -init]):
        alone = _state(start, optimizer, seed=12)
        for epoch in range(3):
            value, _ = run_epoch(
                alone, _objective(alphas[k]), source, optimizer, rates[k]
            )
            np.testing.assert_allclose(values[epoch][k], value[0], rtol=1e-10)
        np.testing.assert_allclose(both.params[:, _columns(k)], alone.params, 1e-10)


def test_a_diverged_model_is_frozen_while_the_other_goes_on():
    X, y = _data()
    weight = np.ones(len(y))
    alphas, rates = [0.1, 10.0], [0.1, 30.0]
    after_epoch = []
    state, history = _fit_models(
        X,
        y,
        weight,
        alphas,
        rates,
        optimizer_name="momentum",
        max_iter=20,
        stop_on_divergence=False,
        record=after_epoch,
    )
    assert history.diverged.tolist() == [False, True]
    assert history.n_iter[0] == 20
    assert 0 < history.n_iter[1] < 20
    assert np.isfinite(state.params).all()
    # Frozen, bitwise, at its parameters from before the epoch it diverged in.
    last_good = after_epoch[history.n_iter[1] - 1]
    np.testing.assert_array_equal(state.params[:, _columns(1)], last_good[:, 3:])
    assert not np.array_equal(state.params[:, :3], last_good[:, :3])
    curve = np.array(history.loss_curve)
    assert np.isfinite(curve[:, 0]).all()
    assert np.isnan(curve[history.n_iter[1], 1])  # the epoch it diverged in
    for k in range(2):
        alone, alone_history = _fit_models(
            X,
            y,
            weight,
            alphas[k : k + 1],
            rates[k : k + 1],
            optimizer_name="momentum",
            max_iter=20,
        )
        # The diverged model alone stops at the same epoch, with the
        # parameters and optimizer state of the start of that epoch.
        assert alone_history.n_iter[0] == history.n_iter[k]
        assert alone_history.diverged[0] == history.diverged[k]
        np.testing.assert_allclose(state.params[:, _columns(k)], alone.params, 1e-10)
        np.testing.assert_allclose(
            state.optimizer_state["velocity"][:, _columns(k)],
            alone.optimizer_state["velocity"],
            rtol=1e-10,
        )
        n_finite = history.n_iter[k]
        np.testing.assert_allclose(
            curve[:n_finite, k],
            np.concatenate(alone_history.loss_curve)[:n_finite],
            rtol=1e-10,
        )


# --- Stopping -----------------------------------------------------------------


def _stopping(base_lr=1.0, n_models=1, **kwargs):
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.zeros((4, n_models * N_CLASSES)), optimizer, base_lr)
    return Stopping(state, _objective(n_models=n_models), **kwargs)


def _feed(stopping, criteria):
    """Record epoch objectives until the model stops; returns epochs recorded."""
    for epoch, value in enumerate(criteria, start=1):
        stopping.record(np.array([value]), np.zeros(1, dtype=bool))
        stopping.state.epoch += 1
        if stopping.stopped.all():
            return epoch
    return None


def test_stopping_after_n_iter_no_change_stalled_epochs():
    stopping = _stopping(tol=1e-3, n_iter_no_change=3)
    # 0.9995 improves on 1.0 by less than tol * 1.0: a stall.
    assert _feed(stopping, [2.0, 1.0, 0.9995, 1.0, 1.2, 0.1]) == 5
    history = stopping.finish()
    assert history.converged.tolist() == [True] and not history.rose[0]
    assert history.n_iter.tolist() == [5]
    assert history.best.tolist() == [0.9995]


def test_stopping_counter_resets_on_improvement():
    stopping = _stopping(tol=1e-3, n_iter_no_change=2)
    assert _feed(stopping, [1.0, 1.0, 0.5, 0.5, 0.4, 0.4, 0.4]) == 7


def test_stopping_without_tol_never_stops():
    stopping = _stopping(tol=None, n_iter_no_change=1)
    assert _feed(stopping, [1.0] * 10) is None
    assert not stopping.finish().converged[0]


@pytest.mark.parametrize(
    "criteria",
    [
        [0.0] * 6,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        # Each epoch a thousandfold relative improvement, but by less than
        # the floor tol**2 * first epoch's value: a stall.
        [1.0, 1e-9, 1e-12, 1e-15, 1e-18, 1e-21],
    ],
)
def test_stopping_at_a_criterion_near_zero(criteria):
    stopping = _stopping(tol=1e-4, n_iter_no_change=3)
    assert _feed(stopping, criteria) == 4 + (criteria[0] > 0)
    assert stopping.finish().converged[0]


def test_train_stops_when_the_objective_is_constant():
    X, y = _data()
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.ones((4, N_CLASSES)), optimizer, base_lr=0.0)
    history = train(
        state,
        _objective(0.1),
        BatchSource(X, y, np.ones(len(y))),
        optimizer,
        max_iter=100,
        tol=1e-6,
        n_iter_no_change=4,
    )
    assert history.n_iter.tolist() == [5] and history.converged[0]
    assert not history.rose[0]


def test_train_stops_when_a_hinge_loss_reaches_zero():
    # Separable data, no penalty: the hinge loss becomes exactly 0 and stays.
    X, y = _data()
    X = X + 10.0 * np.eye(N_CLASSES)[y]
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.zeros((X.shape[1] + 1, N_CLASSES)), optimizer, base_lr=0.1)
    history = train(
        state,
        _objective(loss="hinge", penalty=None),
        BatchSource(X, y, np.ones(len(y))),
        optimizer,
        max_iter=200,
        tol=1e-4,
        n_iter_no_change=3,
    )
    curve = np.concatenate(history.loss_curve)
    assert curve[-1] == 0.0 and curve[0] > 0
    assert history.converged[0] and history.n_iter[0] < 200
    assert np.all(curve[-4:] == 0.0)


def test_adaptive_schedule_lowers_the_rate_before_stopping():
    stopping = _stopping(base_lr=1.0, schedule="adaptive", tol=1e-3, n_iter_no_change=2)
    rates = []
    for _ in range(30):
        rates.append(stopping.learning_rate())
        stopping.record(np.array([1.0]), np.zeros(1, dtype=bool))
        stopping.state.epoch += 1
        if stopping.stopped.all():
            break
    # Lowered by 5 while above a thousandth of the start, then stopped.
    np.testing.assert_allclose(sorted(set(rates), reverse=True), 5.0 ** -np.arange(5))
    assert len(rates) == 1 + 2 * 5
    np.testing.assert_allclose(stopping.state.base_lr, [5.0**-4])
    assert stopping.finish().converged[0]


def test_adaptive_schedule_in_train():
    X, y = _data()
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.zeros((4, N_CLASSES)), optimizer, base_lr=1.0)
    history = train(
        state,
        _objective(0.1),
        BatchSource(X, y, np.ones(len(y)), batch_size=8),
        optimizer,
        schedule="adaptive",
        max_iter=300,
        tol=1e-2,
        n_iter_no_change=2,
    )
    assert history.converged[0] and history.n_iter[0] < 300
    assert state.base_lr[0] < 1.0 / 5**3


def test_validation_restores_each_models_best_epoch():
    X, y = _data()
    scores = iter(
        np.array([[0.5, 0.6], [0.9, 0.8], [0.6, 0.8], [0.7, 0.5]])
    )  # best epochs: 1 for model 0, 2 for model 1 (a tie keeps the later)
    seen = []

    def validate(params):
        seen.append(params.copy())
        return next(scores)

    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(np.zeros((4, 2 * N_CLASSES)), optimizer, base_lr=[0.5, 0.1])
    history = train(
        state,
        LinearObjective(LOSSES["log_loss"], N_CLASSES, n_models=2),
        BatchSource(X, y, np.ones(len(y))),
        optimizer,
        max_iter=4,
        validate=validate,
    )
    assert len(seen) == 4
    assert not np.array_equal(seen[1], seen[3])
    np.testing.assert_array_equal(state.params[:, _columns(0)], seen[1][:, _columns(0)])
    np.testing.assert_array_equal(state.params[:, _columns(1)], seen[2][:, _columns(1)])
    np.testing.assert_allclose(history.best, [0.1, 0.2])
    assert len(history.validation_scores) == 4


@pytest.mark.parametrize(("factor", "rose"), [(1 / 3, True), (1.0, False)])
def test_rose_when_the_objective_stalls_above_twice_the_initial(factor, rose):
    X, y = _data()
    optimizer = OPTIMIZERS["sgd"](**HYPER)
    params = np.ones((4, N_CLASSES))
    objective = _objective(0.1)
    start = objective.value(params, X, y, np.ones(len(y)))
    state = _state(params, optimizer, base_lr=0.0)
    history = train(
        state,
        objective,
        BatchSource(X, y, np.ones(len(y))),
        optimizer,
        max_iter=20,
        tol=1e-4,
        n_iter_no_change=2,
        initial=factor * start,
    )
    assert history.n_iter.tolist() == [3]
    assert history.rose.tolist() == [rose]
    assert history.converged.tolist() == [not rose]


# --- averaging ----------------------------------------------------------------


@pytest.mark.parametrize("after_steps", [0, 2])
def test_averaging_is_the_mean_of_the_iterates(after_steps):
    X, y = _data()
    alpha, lr, n_steps = 0.2, 0.5, 6
    init = np.random.default_rng(13).standard_normal((4, N_CLASSES))
    iterates, params = [], init.copy()
    for _ in range(n_steps):
        params = params - lr * _reference(params.ravel(), X, y, alpha)[1].reshape(
            params.shape
        )
        iterates.append(params)

    optimizer = OPTIMIZERS["sgd"](**HYPER)
    state = _state(init, optimizer)
    state.start_averaging(after=after_steps * len(y))
    assert state.model_params() is state.params  # nothing averaged yet
    source = BatchSource(X, y, np.ones(len(y)))
    for _ in range(n_steps):
        run_epoch(state, _objective(alpha), source, optimizer, lr)
    np.testing.assert_allclose(state.params, iterates[-1], rtol=1e-12)
    # Step k (1-based) has seen k * n rows; it enters from ``after`` rows on.
    first = max(after_steps, 1) - 1
    np.testing.assert_allclose(
        state.model_params(), np.mean(iterates[first:], axis=0), rtol=1e-12
    )
    assert state.n_averaged.tolist() == [n_steps - first] * N_CLASSES


def test_unaligned_data_trains_as_its_aligned_copy():
    # take(out=) would copy the whole of an unaligned X for every batch;
    # such an X is indexed instead, with the same batches and model.
    from sklinear import SoftmaxSGD

    rng = np.random.default_rng(0)
    raw = np.zeros(4 * 600 * 20 + 8, dtype=np.uint8)
    X = raw[1:-7].view(np.float32).reshape(600, 20)
    X[:] = rng.standard_normal((600, 20))
    assert not X.flags.aligned
    y = rng.integers(0, 3, len(X))
    aligned = np.ascontiguousarray(X).copy()
    fits = [
        SoftmaxSGD(max_iter=3, tol=None, random_state=0, batch_size=64).fit(A, y)
        for A in (X, aligned)
    ]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
