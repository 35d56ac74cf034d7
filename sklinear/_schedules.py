"""Learning-rate schedules, indexed by epoch.

A schedule is an object with ``__call__(epoch) -> lr`` and ``on_plateau() ->
bool``. The training loop calls ``on_plateau`` when the stopping criterion
has not improved for ``n_iter_no_change`` epochs: a schedule that can still
lower the rate does so and returns True (training goes on), otherwise it
returns False and training stops.
"""


class Constant:
    """``lr = learning_rate_init`` at every epoch."""

    def __init__(self, learning_rate_init, **_):
        self.lr = learning_rate_init

    def __call__(self, epoch):
        return self.lr

    def on_plateau(self):
        return False


class InvScaling(Constant):
    """``lr = learning_rate_init / (epoch + 1) ** power_t``."""

    def __init__(self, learning_rate_init, *, power_t, **_):
        super().__init__(learning_rate_init)
        self.power_t = power_t

    def __call__(self, epoch):
        return self.lr / (epoch + 1) ** self.power_t


class Step(Constant):
    """``lr = learning_rate_init * lr_decay ** (epoch // lr_decay_epochs)``.

    With ``lr_decay_epochs=1`` this is the CS231n solver's decay after every
    epoch.
    """

    def __init__(self, learning_rate_init, *, lr_decay, lr_decay_epochs, **_):
        super().__init__(learning_rate_init)
        self.lr_decay = lr_decay
        self.lr_decay_epochs = lr_decay_epochs

    def __call__(self, epoch):
        return self.lr * self.lr_decay ** (epoch // self.lr_decay_epochs)


class Adaptive(Constant):
    """Constant until progress stalls, then divided by 5 (as in sklearn's MLP).

    Training stops once the rate would fall below a thousandth of its start
    (scikit-learn's MLP stops below 1e-6, which only suits rates near 1e-3).
    """

    min_factor = 1e-3

    def __init__(self, learning_rate_init, **_):
        super().__init__(learning_rate_init)
        self.start = learning_rate_init

    def on_plateau(self):
        if self.lr / 5.0 < self.min_factor * self.start:
            return False
        self.lr /= 5.0
        return True


SCHEDULES = {
    "constant": Constant,
    "invscaling": InvScaling,
    "step": Step,
    "adaptive": Adaptive,
}
"""Registry: schedule name -> class built from the estimator's parameters."""
