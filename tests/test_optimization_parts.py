"""Optimizers, schedules and penalties, each on its own."""

import numpy as np
import pytest

from sklinear._optimizers import OPTIMIZERS
from sklinear._penalties import (
    penalty_strength,
    penalty_value,
    project_max_norm,
    soft_threshold,
)
from sklinear._schedules import SCHEDULES

HYPER = {"momentum": 0.9, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
GRADIENT_OPTIMIZERS = [name for name in OPTIMIZERS if name != "random_search"]
LEARNING_RATES = {
    "sgd": 0.1,
    "momentum": 0.02,
    "nesterov": 0.02,
    "adam": 0.05,
    "adamw": 0.05,
    "adagrad": 0.5,
    "rmsprop": 0.01,
}


def _quadratic(seed):
    """A convex quadratic 1/2 (p - p*)' A (p - p*) with a known minimizer."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    hessian = basis @ np.diag(np.linspace(0.5, 3.0, 6)) @ basis.T
    optimum = rng.normal(size=(6, 1))
    return hessian, optimum


@pytest.mark.parametrize("name", GRADIENT_OPTIMIZERS)
@pytest.mark.parametrize("seed", range(3))
def test_gradient_optimizers_reach_the_minimum_of_a_quadratic(name, seed):
    hessian, optimum = _quadratic(seed)
    optimizer = OPTIMIZERS[name](**HYPER)
    params = np.zeros_like(optimum)
    state = optimizer.init(params)
    for step in range(5000):
        lr = LEARNING_RATES[name] / (1 + step / 500)
        update, state = optimizer.update(hessian @ (params - optimum), state, lr)
        params += update
    np.testing.assert_allclose(params, optimum, atol=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_random_search_only_accepts_improvements(seed):
    hessian, optimum = _quadratic(seed)

    def objective(p):
        return (0.5 * (p - optimum).T @ hessian @ (p - optimum)).item()

    optimizer = OPTIMIZERS["random_search"](**HYPER)
    assert not optimizer.uses_gradient
    params = np.zeros_like(optimum)
    state = optimizer.init(params)
    rng = np.random.default_rng(seed)
    values = [objective(params)]
    for _ in range(2000):
        update, state = optimizer.update(
            None, state, 0.05, params=params, objective=objective, random_state=rng
        )
        params += update
        values.append(objective(params))
    assert np.all(np.diff(values) <= 0)
    assert values[-1] < 1e-2 * values[0]


def test_momentum_matches_the_cs231n_update():
    optimizer = OPTIMIZERS["nesterov"](**HYPER)
    grad = np.array([1.0, -2.0])
    state = optimizer.init(grad)
    velocity = np.zeros(2)
    for _ in range(3):
        update, state = optimizer.update(grad, state, 0.1)
        previous = velocity.copy()
        velocity = 0.9 * velocity - 0.1 * grad
        np.testing.assert_allclose(update, -0.9 * previous + 1.9 * velocity)


def test_adam_first_step_has_the_learning_rate_as_size():
    optimizer = OPTIMIZERS["adam"](**HYPER)
    grad = np.array([3.0, -0.01])
    update, _ = optimizer.update(grad, optimizer.init(grad), 0.1)
    # epsilon is added to sqrt(v) before bias correction (Kingma & Ba, sec. 2)
    np.testing.assert_allclose(update, [-0.1, 0.1], rtol=1e-4)


def test_schedules():
    params = {"power_t": 0.5, "lr_decay": 0.5, "lr_decay_epochs": 2}
    assert SCHEDULES["constant"](0.1, **params)(7) == 0.1
    assert SCHEDULES["invscaling"](0.1, **params)(3) == pytest.approx(0.05)
    step = SCHEDULES["step"](0.1, **params)
    assert [step(e) for e in range(5)] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    adaptive = SCHEDULES["adaptive"](1e-5, **params)
    assert adaptive.on_plateau() and adaptive(0) == pytest.approx(2e-6)
    # Four divisions by 5 (1/625), not a fifth (1/3125 < 1/1000).
    assert [adaptive.on_plateau() for _ in range(4)] == [True, True, True, False]
    assert adaptive(0) == pytest.approx(1e-5 / 625)
    assert not SCHEDULES["constant"](0.1, **params).on_plateau()


def test_penalty_strength_and_value():
    assert penalty_strength("l2", 0.3, 0.5) == 0.3
    assert penalty_strength("l1", 0.3, 0.5) == 0.3
    assert penalty_strength("elasticnet", 0.3, 0.25) == pytest.approx(0.3)
    assert penalty_strength(None, 0.3, 0.5) == 0.0
    W = np.array([[1.0, -2.0], [0.5, 0.0]])
    assert penalty_value(W, 2.0, 0.1) == pytest.approx(5.25 + 0.35)


def test_soft_threshold_is_the_l1_proximal_operator():
    rng = np.random.default_rng(0)
    w = rng.normal(size=50)
    threshold = 0.3
    prox = soft_threshold(w.copy(), threshold)
    # The prox minimizes 1/2 (z - w)^2 + t |z| coordinate-wise.
    grid = np.linspace(-4, 4, 80001)
    for wi, zi in zip(w, prox, strict=False):
        best = grid[np.argmin(0.5 * (grid - wi) ** 2 + threshold * np.abs(grid))]
        assert zi == pytest.approx(best, abs=1e-4)
    assert np.sum(prox == 0) == np.sum(np.abs(w) <= threshold)


def test_max_norm_projection():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(20, 4)) * np.array([0.01, 1.0, 10.0, 100.0])
    before = W.copy()
    project_max_norm(W, 2.0)
    norms = np.linalg.norm(W, axis=0)
    assert np.all(norms <= 2.0 * (1 + 1e-12))
    np.testing.assert_array_equal(W[:, 0], before[:, 0])
    np.testing.assert_allclose(
        W[:, 3] / norms[3], before[:, 3] / np.linalg.norm(before[:, 3])
    )
