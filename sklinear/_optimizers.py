"""Optimizers as pairs of small functions with explicit state.

As in optax, an optimizer is ``init(params) -> state`` and
``update(grad, state, lr, params=None, out=None) -> (update, state)``; the
training loop adds the update to the parameters. ``params`` are the
parameters the update applies to (the rows of a block when the engine works
by blocks), so that an update may depend on them (decoupled weight decay).
State arrays are updated in place, and on NumPy ``out`` (a scratch array of
the shape of ``grad``, never ``grad`` itself) may receive the update, which
is then returned: the minibatch loop allocates nothing. ``lr`` is a scalar,
one rate per column, or one per coordinate (an array broadcastable to
``grad``, such as a column of per-feature rates). Each registry
entry is a factory taking the estimator's ``momentum``, ``beta_1``,
``beta_2`` and ``epsilon``, and ``weight_decay``, the strength of the
penalty's L2 part (scalar, or per column for several models), all optional.

The record also says what the automatic learning rate needs to know
(:mod:`sklinear._learning_rate`): whether the steps are ``normalized``
(they move every coordinate by about the rate whatever the gradient's
scale: Adam, RMSProp, AdaGrad, random search) and ``rate_scale``, a factor
on the automatic rate (``1 - momentum`` for the momentum family, whose
effective step is ``1 / (1 - momentum)`` times larger; 10 for AdaGrad,
whose steps shrink with the root of the steps taken).

``random_search`` is the CS231n baseline that uses no gradient: its
``update`` receives ``objective``, a function of the parameters, proposes a
random perturbation of scale ``lr`` and keeps it only if the objective on the
current minibatch goes down.

``step_size(state, lr)`` is the effective per-coordinate learning rate: the
scalar ``lr`` for the momentum family, ``lr`` divided by the root of the
second-moment estimate for the adaptive ones. The L1 proximal step uses it as
its threshold scale, so that L1 yields exact zeros under every optimizer.

With ``K`` models trained side by side, ``params`` has one column per class
of each model and ``lr`` may be an array with one rate per column (in the
dtype of the parameters). Every state array has the parameters' last axis,
so that the state of some columns can be saved and restored: Adam's step
counter ``t`` is kept per column for that reason.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._namespace import (
    device_of,
    namespace_of,
    numpy_dtype,
    to_namespace,
    widest_float,
)


@dataclass(frozen=True)
class Optimizer:
    """An optimizer: ``init`` builds the state, ``update`` computes a step.

    Attributes
    ----------
    init, update : callable
        ``init(params) -> state``, ``update(grad, state, lr, params=None,
        out=None) -> (update, state)``; ``grad`` is left unchanged.
    uses_gradient : bool
        False for random search, which evaluates the objective instead (and
        takes no gradient steps to average).
    step_size : callable
        ``(state, lr) -> per-coordinate step``, the threshold scale of the
        L1 proximal step.
    normalized : bool
        Steps of about the rate per coordinate whatever the gradient's scale.
    rate_scale : float
        Factor on the automatic learning rate.
    decays_weights : bool
        Whether ``update`` applies the smooth (L2) part of the penalty itself
        as decoupled weight decay, from the factory's ``weight_decay`` and
        the ``params`` it receives (in its own coordinates, those of the
        preconditioned gradient); the L2 term then leaves the gradient.
    """

    init: Callable
    update: Callable
    uses_gradient: bool = True
    step_size: Callable = staticmethod(lambda state, lr: lr)
    normalized: bool = False
    rate_scale: float = 1.0
    decays_weights: bool = False


def sgd(**_):
    """Plain gradient descent: ``update = -lr * grad``."""

    def init(params):
        return {}

    def update(grad, state, lr, params=None, out=None):
        if out is None:
            return -lr * grad, state
        return np.multiply(grad, -lr, out=out), state

    return Optimizer(init, update)


def momentum(*, momentum=0.9, **_):
    """Heavy-ball momentum: ``v = momentum * v - lr * grad``; ``update = v``."""

    def init(params):
        return {"velocity": namespace_of(params).zeros_like(params)}

    def update(grad, state, lr, params=None, out=None):
        velocity = state["velocity"]
        velocity *= momentum
        if out is None:
            velocity -= lr * grad
            return namespace_of(velocity).asarray(velocity, copy=True), state
        velocity -= np.multiply(lr, grad, out=out)
        np.copyto(out, velocity)
        return out, state

    return Optimizer(init, update, rate_scale=1.0 - momentum)


def nesterov(*, momentum=0.9, **_):
    """Nesterov momentum in the CS231n form.

    ``v_new = momentum * v - lr * grad``;
    ``update = -momentum * v + (1 + momentum) * v_new``.
    """

    def init(params):
        return {"velocity": namespace_of(params).zeros_like(params)}

    def update(grad, state, lr, params=None, out=None):
        velocity = state["velocity"]
        step = -momentum * velocity
        velocity *= momentum
        velocity -= lr * grad
        step += (1.0 + momentum) * velocity
        return step, state

    return Optimizer(init, update, rate_scale=1.0 - momentum)


def adagrad(*, epsilon=1e-8, **_):
    """AdaGrad: per-coordinate steps shrink with the sum of squared gradients."""

    def init(params):
        return {"cache": namespace_of(params).zeros_like(params)}

    def update(grad, state, lr, params=None, out=None):
        cache = state["cache"]
        cache += grad * grad
        return -lr * grad / (namespace_of(cache).sqrt(cache) + epsilon), state

    def step_size(state, lr):
        cache = state["cache"]
        return lr / (namespace_of(cache).sqrt(cache) + epsilon)

    return Optimizer(
        init, update, step_size=step_size, normalized=True, rate_scale=10.0
    )


def rmsprop(*, beta_2=0.999, epsilon=1e-8, **_):
    """RMSProp: a leaky average of squared gradients with decay ``beta_2``."""

    def init(params):
        return {"cache": namespace_of(params).zeros_like(params)}

    def update(grad, state, lr, params=None, out=None):
        cache = state["cache"]
        cache *= beta_2
        cache += (1.0 - beta_2) * grad * grad
        return -lr * grad / (namespace_of(cache).sqrt(cache) + epsilon), state

    def step_size(state, lr):
        cache = state["cache"]
        return lr / (namespace_of(cache).sqrt(cache) + epsilon)

    return Optimizer(init, update, step_size=step_size, normalized=True)


def adam(*, beta_1=0.9, beta_2=0.999, epsilon=1e-8, **_):
    """Adam with bias correction (Kingma & Ba, 2015)."""

    def init(params):
        xp = namespace_of(params)
        return {
            "m": xp.zeros_like(params),
            "v": xp.zeros_like(params),
            "t": xp.zeros(params.shape[-1], dtype=xp.int64, device=device_of(params)),
        }

    def update(grad, state, lr, params=None, out=None):
        state["t"] += 1
        m, v, t = state["m"], state["v"], state["t"]
        xp = namespace_of(v)
        if xp is not np:
            m *= beta_1
            m += (1.0 - beta_1) * grad
            v *= beta_2
            squared = grad * grad
            squared *= 1.0 - beta_2
            v += squared
            step = m / (xp.sqrt(v) + epsilon)
            correction = (
                -lr * xp.sqrt(1.0 - beta_2 ** _steps(t)) / (1.0 - beta_1 ** _steps(t))
            )
            step *= xp.astype(correction, step.dtype)
            return step, state
        # One scratch array (``out``) carries each product; nine passes.
        step = np.empty_like(grad) if out is None else out
        m *= beta_1
        m += np.multiply(grad, 1.0 - beta_1, out=step)
        v *= beta_2
        squared = np.multiply(grad, grad, out=step)
        squared *= 1.0 - beta_2
        v += squared
        np.sqrt(v, out=step)
        step += epsilon
        np.divide(m, step, out=step)
        step *= _adam_scale(lr, t, beta_1, beta_2, step.dtype)
        return step, state

    def step_size(state, lr):
        v, t = state["v"], state["t"]
        xp = namespace_of(v)
        correction = xp.sqrt(1.0 - beta_2 ** _steps(xp.clip(t, 1, None)))
        return lr * xp.astype(correction, v.dtype) / (xp.sqrt(v) + epsilon)

    return Optimizer(init, update, step_size=step_size, normalized=True)


def adamw(*, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.0, **_):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    As ``torch.optim.AdamW`` and ``optax.adamw``: ``update = adam(grad) - lr *
    weight_decay * params``, where ``weight_decay`` is the strength of the
    penalty's L2 part (``alpha`` for ``penalty="l2"``) and ``grad`` is the
    gradient of the data loss and of the other terms only. The L2 term
    still counts in the objective that is reported and stopped on. The
    intercepts are not decayed, as the L2 penalty never covers them.

    With plain gradient steps decoupled decay and the L2 penalty are the
    same step; with Adam they differ: the penalty's gradient is divided by
    the root of the second moment like the data's, so that weights with
    large gradients are barely regularized, while the decay shrinks every
    weight by the same fraction ``lr * alpha`` per step.
    """
    base = adam(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)

    def init(params):
        state = base.init(params)
        # One decay per parameter, zero on the intercept row: a state array
        # with the rows of the parameters follows them block by block.
        xp = namespace_of(params)
        decay = xp.zeros_like(params)
        decay[:-1, ...] = to_namespace(
            weight_decay, xp, device_of(params), params.dtype
        )
        state["decay"] = decay
        return state

    def update(grad, state, lr, params=None, out=None):
        step, state = base.update(grad, state, lr, out=out)
        if params is not None:
            step -= lr * state["decay"] * params
        return step, state

    return Optimizer(
        init, update, step_size=base.step_size, normalized=True, decays_weights=True
    )


def random_search(**_):
    """Random local search: try ``params + lr * N(0, 1)``, keep it if better.

    ``objective`` returns one value per model (an array of ``K`` values, the
    columns of ``params`` being ``K`` equal groups); each model keeps its part
    of the step only if its own objective goes down.
    """

    def init(params):
        return {}

    def update(grad, state, lr, *, params, objective, random_state):
        xp = namespace_of(params)
        # One NumPy generator draws on every namespace: the same steps.
        noise = random_state.standard_normal(params.shape)
        if isinstance(lr, float) or xp is np:
            dtype = numpy_dtype(params.dtype)
            step = to_namespace((lr * noise).astype(dtype), xp, device_of(params))
        else:  # a rate per column, on the device
            noise = noise.astype(numpy_dtype(params.dtype))
            step = lr * to_namespace(noise, xp, device_of(params))
        current = xp.reshape(objective(params), (-1,))
        better = xp.reshape(objective(params + step), (-1,)) < current
        columns = xp.repeat(better, params.shape[-1] // better.shape[0])
        if xp is np:
            if not better.all():
                step[..., ~columns] = 0.0
            return step, state
        return xp.where(columns, step, xp.zeros_like(step)), state

    return Optimizer(init, update, uses_gradient=False, normalized=True)


def _adam_scale(lr, t, beta_1, beta_2, dtype):
    """``-lr`` times Adam's bias correction at step counts ``t``, on NumPy.

    One model's columns (or every model's, when none was skipped) share
    their step count: the correction is then a scalar, and a rate per
    coordinate stays a column, so that the step is scaled in one pass.
    """
    if t.size and t[0] == t[-1] and (t == t[0]).all():
        steps = int(t[0])
        bias = math.sqrt(1.0 - beta_2**steps) / (1.0 - beta_1**steps)
        scale = np.multiply(lr, -bias)
    else:
        scale = -lr * np.sqrt(1.0 - beta_2**t) / (1.0 - beta_1**t)
    return np.asarray(scale).astype(dtype, copy=False)


def _steps(t):
    """Adam's step counts as powers of the betas take them.

    NumPy raises a float to an int64 array; the array API standard takes
    floating exponents, in the widest float of the device.
    """
    xp = namespace_of(t)
    if xp is np:
        return t
    return xp.astype(t, widest_float(xp, device_of(t)))


OPTIMIZERS = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adam": adam,
    "adamw": adamw,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "random_search": random_search,
}
"""Registry: optimizer name -> factory of :class:`Optimizer`."""
