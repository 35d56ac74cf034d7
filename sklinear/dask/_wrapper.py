"""DaskSGD: fit a sklinear classifier on a dask array across a cluster."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._base import BaseLinearSGD, restored_on_failure, store_fit, validated_spec
from .._engine import History
from .._recipe import (
    check_classes,
    check_weighted_classes,
    column_scales,
    convergence_warning,
    epoch_printer,
    finish,
    history_attributes,
    initial_loss_attributes,
    initial_loss_rows,
    initial_losses,
    leaves_stopped_models_out,
    plan,
    running_part,
    train_run,
)
from ._blocks import BlockSpec, sparse_message
from ._train import (
    Blocks,
    DistributedTrainingError,
    accuracy,
    all_scores_finite,
    block_shuffle,
    check_blocks,
    distributed_feature_scales,
    gather_scores,
    gradient_round,
    gradient_step,
    label_skew,
    mixing_epoch,
)

# Chains mix after every this many of their minibatches (parts of whole
# minibatches, see ._train._parts). Without block momentum the interval
# mattered little on CIFAR-10 (raw pixels, 40,000 training rows, 2 workers
# x 4 blocks, SoftmaxSGD, 5 / 10 epochs; one machine 0.4124 / 0.4157): every
# 2 minibatches 0.4095 / 0.4144, every 8 0.4096 / 0.4144, every 32 0.4093 /
# 0.4139. With the block momentum, rounds of few steps overshoot: on the dev
# subset's 2,500-row blocks every 4 / 8 / 16 minibatches left raw-pixel
# SoftmaxSGD 0.025 / 0.008 / 0.000 short at 10 epochs (mean of 3 seeds),
# while on the whole file 8 and 16 are both within 0.0025 (benchmarks/README).
_MIXING_BATCHES = 16

# Below this p-value of the blocks' class counts (:func:`._train.label_skew`)
# the rows are taken to be ordered by class. Rows in random order give
# p-values spread uniformly over [0, 1]: a false warning once in 1,000 fits.
_ORDERED_P_VALUE = 1e-3

_RETRYABLE_NAMES = (
    "LostWorkerError",
    "KilledWorker",
    "CommClosedError",
    "CancelledError",
    "FutureCancelledError",
    "StreamClosedError",
    "TimeoutError",
    "OSError",
)


class DaskSGD(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Train a sklinear classifier on a dask array spread over a cluster.

    The data stays where it is: each block of rows lives on a worker
    (persisted in memory, or with ``persist=False`` computed on a worker when
    it is needed, for data larger than the cluster's memory), the engine runs
    on the workers, and only parameters and sums of their size travel to the
    client. The result, ``estimator_``, is a plain fitted estimator: it
    pickles and predicts without dask. The wrapper also predicts on dask
    arrays block by block, lazily, as dask-ml's ``ParallelPostFit``.

    Two modes:

    ``"mixing"``
        Iterative parameter mixing, or local SGD (McDonald et al. 2010,
        Zinkevich et al. 2010, Lin et al. 2020). First the rows are
        shuffled between the blocks, once, on the workers
        (``shuffle_blocks``): each block is then a random sample of the
        data, as each minibatch of the one-machine fit is. The blocks form
        one chain per worker (consecutive blocks); each epoch, every chain
        runs the estimator's minibatch optimizer over its blocks in a random
        order, starting from the current parameters, and after every
        sixteen of its minibatches the client averages the
        chains' parameters, optimizer states (Adam's moments, velocities)
        and running averages, weighted by their training weight, and moves
        the parameters by the averaged move plus a block momentum of the
        moves before (``block_momentum``). Chains are
        defined by the blocks' order, not by where they live, and their
        results are averaged in chain order: with a fixed ``random_state``
        and the same numbers of workers and blocks, two fits give the same
        model whatever the placement of the blocks and the order in which
        results arrive. Early stopping, ``tol``, the schedules and
        ``loss_curve_`` work per epoch as in the plain estimator. With one
        worker holding one block it is exactly the plain fit.
    ``"full_batch"``
        Synchronous gradients. Each round, every worker returns the loss and
        gradient sums of its blocks and the client adds them: the exact objective. With
        ``solver="lbfgs"`` the client runs ``scipy.optimize.minimize(...,
        method="L-BFGS-B")`` on it, which reaches the optimum of a smooth
        objective (log-loss or squared hinge with an L2 or no penalty) in a
        few dozen rounds; with ``solver="gd"`` it takes the estimator's own
        optimizer step, exactly the plain estimator's full-batch descent.

    Parameters
    ----------
    estimator : MulticlassSVMSGD, SoftmaxSGD or their ``*CV`` searches
        The classifier to train (cloned). A search trains its candidates
        times folds side by side on the workers, scores each fold's test
        rows where they live and refits the best candidate on the cluster
        (``mode="mixing"`` only).
    mode : {"mixing", "full_batch"}, default="mixing"
        Parameter mixing of local minibatch epochs, or exact full-batch
        gradients.
    solver : {"lbfgs", "gd"}, default="lbfgs"
        The full-batch solver.
    persist : bool, default=True
        Persist the blocks in the workers' memory. False computes each block
        on a worker each time it is needed, at most one block per worker at
        a time: for data larger than the cluster's memory.
    shuffle_blocks : bool or "auto", default="auto"
        Shuffle the rows between the blocks once before mixing (the blocks
        keep their sizes; rows move between workers, never to the client,
        and the workers hold the shuffled copy during the fit). Mixing
        models trained on blocks that each hold a few classes (rows sorted
        by class, by date, by source) falls short of the one-machine fit: on
        CIFAR-10's class-sorted file by 0.03 of accuracy. ``"auto"``
        shuffles persisted blocks when the estimator shuffles
        (``shuffle=True``); with ``persist=False``, where a shuffled block
        is computed from every block of ``X``, it only warns when the
        blocks' class counts show an order. Unused by
        ``mode="full_batch"``, whose gradients do not depend on the order.
    block_momentum : float in [0, 1) or "auto", default="auto"
        Momentum of the mixed parameters' moves (blockwise model-update
        filtering, BMUF: Chen & Huo 2016). Each mixing round moves the
        parameters by ``v = block_momentum * v + (average - parameters)``
        instead of the plain average's move. Averaging ``K`` chains that
        each took ``S`` steps is about one chain of ``S`` steps, not ``K *
        S``; a block momentum of ``1 - 1/K`` makes the mixed steps add up
        as the one-machine fit's do. ``"auto"``: ``1 - 1/K`` for ``K``
        chains (0 with one chain: the plain fit). 0: plain averaging.
        Unused by ``mode="full_batch"``.
    max_retries : int, default=2
        Rounds that fail (a worker dies, a connection drops) are retried
        from the state before the round after placing the blocks again; a
        round that fails this many more times raises
        :class:`DistributedTrainingError`.

    Attributes
    ----------
    estimator_ : MulticlassSVMSGD, SoftmaxSGD or their ``*CV`` searches
        The fitted classifier (or search, with ``cv_results_``), a plain
        estimator.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features.
    n_retries_ : int
        Rounds retried during the fit.

    See Also
    --------
    sklinear.dask : The scale-out user guide page links here.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from distributed import Client, LocalCluster
    >>> from sklearn.datasets import load_digits
    >>> from sklinear import SoftmaxSGD
    >>> from sklinear.dask import DaskSGD
    >>> X, y = load_digits(return_X_y=True)
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
    ...                        dashboard_address=None)
    >>> client = Client(cluster)
    >>> X_dask = da.from_array(X, chunks=(450, 64))
    >>> model = DaskSGD(SoftmaxSGD(random_state=0)).fit(X_dask, y)
    >>> bool(model.score(X, y) > 0.9), type(model.estimator_).__name__
    (True, 'SoftmaxSGD')
    >>> model.predict(X_dask[:5]).compute().shape
    (5,)
    >>> client.close(); cluster.close()
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "mode": [StrOptions({"mixing", "full_batch"})],
        "solver": [StrOptions({"lbfgs", "gd"})],
        "persist": ["boolean"],
        "shuffle_blocks": ["boolean", StrOptions({"auto"})],
        "block_momentum": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "max_retries": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator,
        *,
        mode="mixing",
        solver="lbfgs",
        persist=True,
        shuffle_blocks="auto",
        block_momentum="auto",
        max_retries=2,
    ):
        self.estimator = estimator
        self.mode = mode
        self.solver = solver
        self.persist = persist
        self.shuffle_blocks = shuffle_blocks
        self.block_momentum = block_momentum
        self.max_retries = max_retries

    def fit(self, X, y, sample_weight=None):
        """Train on the workers; the client only mixes parameters or sums gradients.

        A failed fit leaves the wrapper as it was before.

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Training data, chunked along rows (columns are rechunked into
            one chunk if needed). A NumPy array is wrapped in a single block.
        y : dask.array.Array or array-like of shape (n_samples,)
            Labels; computed and kept on the client (one small vector). A
            column vector is raveled with a ``DataConversionWarning``, as
            scikit-learn's estimators do.
        sample_weight : dask.array.Array or array-like, default=None
            Non-negative weights.

        Returns
        -------
        self : object
            The fitted wrapper.

        Raises
        ------
        ValueError
            If no dask.distributed client is running, if ``X`` has unknown
            chunk sizes (call ``X.compute_chunk_sizes()``), or if it holds
            NaN or infinity (checked on the workers, block by block).
        TypeError
            If the blocks of ``X`` are sparse matrices (not supported) or
            not NumPy arrays.
        DistributedTrainingError
            If a round fails more than ``max_retries`` times.
        """
        self._validate_params()
        if not isinstance(self.estimator, BaseLinearSGD):
            raise TypeError(
                "DaskSGD trains MulticlassSVMSGD, SoftmaxSGD or their *CV "
                f"searches; got {type(self.estimator).__name__}."
            )
        with restored_on_failure(self):
            client = _client()
            X = _check_X(X)
            y = _check_y(y)
            if sample_weight is not None and hasattr(sample_weight, "compute"):
                sample_weight = sample_weight.compute()
            self.estimator_ = self._fit_estimator(client, X, y, sample_weight)
            self.classes_ = self.estimator_.classes_
            self.n_features_in_ = X.shape[1]
        return self

    def _fit_estimator(self, client, X, y, sample_weight):
        """The training recipe, with the data's passes on the workers."""
        estimator = clone(self.estimator)
        if hasattr(estimator, "cv"):
            return self._fit_search(estimator, client, X, y, sample_weight)
        spec = validated_spec(estimator)
        classes, y_index, weight = _encoded(spec, X, y, sample_weight)
        lbfgs = self.mode == "full_batch" and self.solver == "lbfgs"
        if lbfgs:
            _check_lbfgs(spec.objective(len(classes)))
        blocks = self._blocks(client, X, spec, y_index, weight)
        run, history, done, fitted = self._train(
            blocks, [spec], len(classes), lbfgs=lbfgs
        )
        if done.diverged[0]:
            raise spec.divergence_error(run.state.epoch, run.learning_rates[0])
        convergence_warning(spec, history, run.learning_rates[0], stacklevel=5)
        fitted.update(history_attributes(run, history))
        store_fit(estimator, run, done, classes, fitted)
        estimator.n_features_in_ = X.shape[1]
        return estimator

    def _blocks(self, client, X, spec, y_index, weight):
        """The blocks of ``X`` on the workers (shuffled if so), checked."""
        order = self._block_order(spec, X.chunks[0], y_index)
        blocks = Blocks(client, X, y_index, weight, self.persist, order=order)
        self.n_retries_ = 0
        self._retrying(0, lambda: check_blocks(blocks), blocks)
        return blocks

    def _train(self, blocks, specs, n_classes, *, lbfgs=False):
        """The recipe's run of ``len(specs)`` models on the blocks' weight columns.

        Returns the run, its history, :func:`sklinear._recipe.finish`'s
        models and, for one model, its initial-loss attributes. With more
        (a search), a model that diverges is frozen while the others go on.
        """
        n_models = len(specs)
        weights = blocks.weight
        scales = column_scales(
            weights,
            lambda column: self._retrying(
                0, lambda: distributed_feature_scales(blocks, column), blocks
            ),
        )
        dtype = blocks.X.dtype
        run = plan(
            specs, blocks.n_features, dtype, blocks.y_index, weights, n_classes, scales
        )
        block_spec = BlockSpec(specs, n_classes, run.offset, dtype, run.rows_per_batch)

        def scores(params, rows):
            return self._retrying(
                0, lambda: gather_scores(blocks, params, block_spec, rows), blocks
            )

        def all_finite(params):
            return self._retrying(
                0, lambda: all_scores_finite(blocks, params, block_spec), blocks
            )

        rows = initial_loss_rows(run)
        initial = scores(run.state.params, rows)
        fitted = {}
        if n_models == 1:
            fitted = initial_loss_attributes(run, initial, rows)
            initial = [fitted["initial_loss_"]]
        else:
            initial = initial_losses(run, initial, rows)
        validate = None
        if run.val_rows is not None:

            def validate(params):
                return self._retrying(
                    0,
                    lambda: accuracy(blocks, params, block_spec, run.val_rows),
                    blocks,
                )

        if lbfgs:
            history = self._lbfgs(run, blocks, block_spec)
        else:
            history = train_run(
                run,
                epoch=self._epoch(run, blocks, block_spec),
                validate=validate,
                on_epoch=epoch_printer(run.spec) if n_models == 1 else None,
                initial=initial,
                stop_on_divergence=n_models == 1,
            )
        return run, history, finish(run, history, scores, all_finite), fitted

    def _fit_search(self, search, client, X, y, sample_weight):
        """A ``*CV`` search: its candidates times folds trained on the blocks.

        The search's own steps (candidates, folds, scoring, ``cv_results_``,
        refit) with the training of its ``K`` models on the workers
        (:meth:`_train`), their scores computed where the test rows live,
        and the best candidate refitted by this wrapper.
        """
        if self.mode != "mixing":
            raise ValueError(
                f"DaskSGD trains a search ({type(search).__name__}) with "
                f"mode='mixing' only, got mode={self.mode!r}: the search trains "
                "its candidates with minibatch steps. Use mode='mixing', or "
                "fit DaskSGD(mode='full_batch') on the plain estimator with "
                "the chosen parameters."
            )
        search._validate_params()
        search._search(X, y, sample_weight, backend=_ClusterSearch(self, client, X))
        search.n_features_in_ = X.shape[1]
        return search

    def _block_order(self, spec, chunks, y_index):
        """The rows' order for the blocks (:func:`._train.block_shuffle`), or None.

        Drawn from the estimator's ``random_state`` (a stream of its own),
        so that a fixed ``random_state`` gives the same blocks.
        """
        shuffle = self.shuffle_blocks
        if shuffle == "auto":
            shuffle = self.persist and spec.shuffle
            if not shuffle and self.mode == "mixing":
                _warn_if_ordered(y_index, chunks)
        if not shuffle or self.mode != "mixing" or len(chunks) < 2:
            return None
        seed = check_random_state(spec.random_state).randint(np.iinfo(np.int32).max)
        return block_shuffle(chunks, np.random.default_rng([seed, 1]))

    def _epoch(self, run, blocks, block_spec):
        """One round: a mixing round, or one full-batch gradient step.

        The engine's :func:`~sklinear._engine.train` calls it as its epoch
        function, under its stopping rule.
        """
        state = run.state
        generators = []
        n_chains = blocks.n_chains
        if self.mode == "mixing" and n_chains > 1:
            seeds = state.rng.integers(np.iinfo(np.int32).max, size=n_chains)
            generators = [np.random.default_rng(seed) for seed in seeds[1:]]
        mixing_rows = _MIXING_BATCHES * block_spec.batch_size
        momentum = self.block_momentum
        if momentum == "auto":
            momentum = 1.0 - 1.0 / n_chains
        velocity = []  # the block momentum's moves, kept between epochs
        rounds = [0]
        last = {}

        def epoch(lr, frozen):
            rounds[0] += 1
            if (
                self.mode == "mixing"
                and frozen.any()
                and leaves_stopped_models_out(run)
            ):
                value, diverged = running_epoch(lr, frozen)
                last["value"] = value
                return value, diverged
            if self.mode == "mixing":
                new, value, diverged = mixed(
                    state, block_spec, lr, run.preconditioner, run.objective,
                    velocity, frozen,
                )  # fmt: skip
                # The stopping rule holds the state: update it in place.
                vars(state).update(vars(new))
                last["value"] = value
                return value, diverged
            loss, grad, _ = self._retrying(
                rounds[0],
                lambda: gradient_round(
                    blocks, state.params, block_spec, run.train_rows
                ),
                blocks,
            )
            before = state.params.copy()
            value = gradient_step(
                state,
                run.objective,
                run.optimizer,
                lr,
                run.preconditioner,
                loss,
                grad,
                run.n_training_rows,
            )
            state.epoch += 1
            diverged = ~np.isfinite(value) | ~np.isfinite(state.params).all()
            if diverged.any():
                state.params[...] = before
            return value, diverged

        def mixed(start, spec, lr, preconditioner, objective, moves, frozen=None):
            # One mixing epoch from ``start`` (retried from it after a lost
            # worker); ``moves`` holds the block momentum's moves.
            return self._retrying(
                rounds[0],
                lambda: mixing_epoch(
                    blocks,
                    start,
                    spec,
                    lr,
                    preconditioner,
                    run.train_rows,
                    generators,
                    n_chains=n_chains,
                    mixing_rows=mixing_rows,
                    frozen=frozen,
                    objective=objective,
                    block_momentum=momentum,
                    velocity=moves,
                ),
                blocks,
            )

        def running_epoch(lr, frozen):
            # Once some of a search's models have stopped, the rounds train
            # the running models' columns alone, as the recipe's local
            # epochs do (sklinear._recipe.running_part); the workers take
            # their weight columns.
            running = ~frozen
            part = last.get("part")
            if part is None or not np.array_equal(part.running, running):
                part = last["part"] = running_part(run, None, running)
                last["spec"] = BlockSpec(
                    part.specs,
                    block_spec.n_classes,
                    part.offset,
                    block_spec.dtype,
                    block_spec.batch_size,
                    weight_columns=np.flatnonzero(running),
                )
            columns = part.columns
            start = part.take(state)
            moves = [np.take(velocity[0], columns, axis=-1)] if velocity else []
            new, value, diverged = mixed(
                start, last["spec"], part.learning_rate(lr),
                part.preconditioner, part.objective, moves,
            )  # fmt: skip
            part.put(new, state)
            if moves:
                if not velocity:
                    velocity.append(np.zeros_like(state.params))
                velocity[0][..., columns] = moves[0]
            return part.spread(value, diverged, last.get("value"))

        return epoch

    def _lbfgs(self, run, blocks, block_spec):
        """L-BFGS-B on the exact objective, summed over the cluster."""
        from scipy.optimize import minimize

        state, objective, spec = run.state, run.objective, run.spec
        shape, dtype = state.params.shape, state.params.dtype
        history = History(
            n_iter=np.zeros(1, dtype=int),
            converged=np.zeros(1, dtype=bool),
            diverged=np.zeros(1, dtype=bool),
            best=np.full(1, np.inf),
        )
        calls = [0]

        def value_and_grad(theta):
            params = theta.reshape(shape).astype(dtype)
            calls[0] += 1
            loss, grad, _ = self._retrying(
                calls[0],
                lambda: gradient_round(blocks, params, block_spec, run.train_rows),
                blocks,
            )
            grad = grad.astype(np.float64)
            value = loss + objective.smooth_penalty(params, grad)[0]
            return float(value), grad.ravel()

        def record(intermediate_result):
            history.loss_curve.append(np.array([intermediate_result.fun]))
            history.best[0] = min(history.best[0], intermediate_result.fun)

        result = minimize(
            value_and_grad,
            state.params.astype(np.float64).ravel(),
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options={
                "maxiter": spec.max_iter,
                "ftol": 1e-12 if spec.tol is None else spec.tol * 1e-3,
                "gtol": 1e-10,
            },
        )
        state.params[...] = result.x.reshape(shape).astype(dtype)
        if not history.loss_curve:
            history.loss_curve.append(np.array([result.fun]))
            history.best[0] = result.fun
        history.n_iter[0] = max(result.nit, 1)
        history.converged[0] = bool(result.success) or spec.tol is None
        history.diverged[0] = not np.isfinite(result.fun)
        state.epoch += history.n_iter[0]
        return history

    def _retrying(self, round_index, work, blocks):
        """``work()``, retried after placing the blocks again if a round fails."""
        for attempt in range(self.max_retries + 1):
            try:
                if attempt:
                    blocks.place()
                return work()
            except Exception as error:
                if not (_is_retryable(error) or blocks.lost_workers()):
                    raise
                if attempt == self.max_retries:
                    raise DistributedTrainingError(
                        f"Round {round_index} of the distributed fit failed "
                        f"{attempt + 1} times; the last error was "
                        f"{type(error).__name__}: {error}. Check the workers "
                        "(memory limits, restarts) or raise max_retries."
                    ) from error
                self.n_retries_ += 1
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ prediction

    def _blockwise(self, method, X, **chunks):
        import dask.array as da

        check_is_fitted(self)
        function = getattr(self.estimator_, method)
        if not isinstance(X, da.Array):
            return function(X)
        if X.numblocks[1] != 1:
            X = X.rechunk({1: -1})
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        chunks.setdefault("dtype", dtype)
        return X.map_blocks(function, **chunks)

    def decision_function(self, X):
        """Scores, block by block for a dask array (lazily).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        dask.array.Array or ndarray
            As the estimator's ``decision_function``.
        """
        check_is_fitted(self)
        if len(self.classes_) == 2:
            return self._blockwise("decision_function", X, drop_axis=1)
        return self._blockwise(
            "decision_function", X, chunks=(_rows(X), (len(self.classes_),))
        )

    def predict(self, X):
        """Labels, block by block for a dask array (lazily).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        dask.array.Array or ndarray
            Predicted labels.
        """
        check_is_fitted(self)
        return self._blockwise("predict", X, drop_axis=1, dtype=self.classes_.dtype)

    def predict_proba(self, X):
        """Probabilities, block by block for a dask array (lazily).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        dask.array.Array or ndarray of shape (n_samples, n_classes)
            Probabilities.
        """
        check_is_fitted(self)
        return self._blockwise(
            "predict_proba", X, chunks=(_rows(X), (len(self.classes_),))
        )

    def predict_log_proba(self, X):
        """Log-probabilities, block by block for a dask array (lazily).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        dask.array.Array or ndarray of shape (n_samples, n_classes)
            Log-probabilities.
        """
        check_is_fitted(self)
        return self._blockwise(
            "predict_log_proba", X, chunks=(_rows(X), (len(self.classes_),))
        )

    def score(self, X, y, sample_weight=None):
        """Accuracy (computed, for dask arrays).

        Parameters
        ----------
        X : dask.array.Array or array-like of shape (n_samples, n_features)
            Samples.
        y : dask.array.Array or array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights.

        Returns
        -------
        float
            Weighted accuracy.
        """
        from sklearn.metrics import accuracy_score

        predicted = self.predict(X)
        if hasattr(predicted, "compute"):
            predicted = predicted.compute()
        y = y.compute() if hasattr(y, "compute") else y
        return accuracy_score(y, predicted, sample_weight=sample_weight)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")


class _ClusterSearch:
    """How a ``*CV`` search trains and scores on the blocks of a cluster.

    The backend of :meth:`sklinear._cv.BaseLinearSGDCV._search` for
    :class:`DaskSGD`: the candidates times folds are trained side by side on
    the workers (:meth:`DaskSGD._train`), each fold's test rows are scored
    where they live (only predictions travel), and the best candidate is
    refitted by the wrapper.
    """

    def __init__(self, wrapper, client, X):
        self.wrapper, self.client, self.X = wrapper, client, X
        self.blocks = None

    def train(self, models, y_index, weights, n_classes):
        """The models trained on the workers, as ``train_models`` returns them."""
        specs = [validated_spec(model) for model in models]
        if len(specs) == 1:  # one trainable fold of one candidate
            weights = weights[:, 0]
        self.blocks = self.wrapper._blocks(
            self.client, self.X, specs[0], y_index, weights
        )
        _, history, done, _ = self.wrapper._train(self.blocks, specs, n_classes)
        return done.models, done.diverged, done.temperatures, history.n_iter

    def test_rows(self, y, test):
        """A fold's test rows, lazily (never computed here), and their labels."""
        return self.X[test], y[test]

    def scored(self, model, test, X_test):
        """A stand-in for ``model`` that predicts ``X_test`` on the workers."""
        return _FoldPredictions(model, self.blocks, test, X_test)

    def refit(self, model, labels, sample_weight):
        """``model`` fitted on the cluster by the wrapper's settings."""
        self.blocks = None  # the search's blocks go before the refit's come
        wrapper = clone(self.wrapper).set_params(estimator=model)
        return wrapper.fit(self.X, labels, sample_weight=sample_weight).estimator_


class _FoldPredictions(ClassifierMixin, BaseEstimator):
    """A fitted model's outputs on one fold's test rows, computed on the workers.

    What the search's scorer calls: ``predict``, ``predict_proba``,
    ``predict_log_proba`` and ``decision_function`` of the fold's test rows
    (``X_test``, a lazy dask array that is never computed), each the fitted
    model's own method applied where the rows live; only the outputs travel.
    """

    def __init__(self, model, blocks, test, X_test):
        self.model = model
        self.blocks = blocks
        self.test = test
        self.X_test = X_test

    @property
    def classes_(self):
        return self.model.classes_

    def predict(self, X):
        return self._on_workers("predict", X)

    def predict_proba(self, X):
        return self._on_workers("predict_proba", X)

    def predict_log_proba(self, X):
        return self._on_workers("predict_log_proba", X)

    def decision_function(self, X):
        return self._on_workers("decision_function", X)

    def _on_workers(self, method, X):
        if X is not self.X_test:
            raise ValueError(
                "The search's scorer can only score the fold's test rows it was given."
            )
        blocks = self.blocks
        rows = np.asarray(self.test)
        if blocks.order is not None:  # positions in the shuffled blocks
            rows = np.argsort(blocks.order)[rows]
        by_position = np.argsort(rows, kind="stable")
        parts = blocks.map(_predict_pass, self.model, method, rows=rows[by_position])
        outputs = np.concatenate([p for p in parts if p is not None])
        result = np.empty_like(outputs)
        result[by_position] = outputs
        return result


def _predict_pass(model, method, X, y_index, weight, rows):
    if len(rows) == 0:
        return None
    return getattr(model, method)(X[rows])


def _encoded(spec, X, y, sample_weight):
    """Classes, class indices and the sample weights of a plain fit."""
    n_samples = X.shape[0]
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} labels but X has {n_samples} rows.")
    check_classification_targets(y)
    classes = np.unique(y)
    check_classes(spec.name, classes)
    y_index = np.searchsorted(classes, y)
    weight = spec.sample_weights(n_samples, X.dtype, y_index, sample_weight, classes)
    check_weighted_classes(weight, y_index, classes)
    return classes, y_index, weight


def _client():
    """The dask.distributed client of the fit, or an error saying how to start one."""
    from distributed import get_client

    try:
        return get_client()
    except ValueError as error:
        raise ValueError(
            "DaskSGD.fit trains on a dask.distributed cluster, and no client is "
            "running. Start one before fit: `from distributed import Client; "
            "client = Client()` starts a local cluster on this machine, "
            "`Client('tcp://<scheduler>:8786')` connects to a running one."
        ) from error


def _check_X(X):
    """``X`` as a 2-D float dask array of dense blocks with known row counts.

    Only what the client knows is checked here (shape, chunks, the type of
    the blocks as dask records it); the values are checked on the workers,
    block by block (:func:`._train.check_blocks`).
    """
    import dask.array as da

    if not isinstance(X, da.Array):
        if sparse.issparse(X):
            raise TypeError(sparse_message(type(X)))
        X = da.from_array(np.asarray(X))
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got {X.ndim} dimension(s).")
    if any(math.isnan(size) for size in X.shape):
        raise ValueError(
            f"X has unknown chunk sizes (shape {X.shape}), as after boolean "
            "indexing or converting a dask DataFrame: DaskSGD needs the number "
            "of rows of each block. Call X.compute_chunk_sizes() before fit "
            "(or convert a DataFrame with df.to_dask_array(lengths=True))."
        )
    if sparse.issparse(getattr(X, "_meta", None)):
        raise TypeError(sparse_message(type(X._meta)))
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def _check_y(y):
    """The labels as a 1-d NumPy array; a column vector is raveled, with a warning.

    As scikit-learn's estimators do (a ``DataConversionWarning``).
    """
    y = np.asarray(y.compute() if hasattr(y, "compute") else y)
    return column_or_1d(y, warn=True)


def _rows(X):
    return X.chunks[0] if hasattr(X, "chunks") else (X.shape[0],)


def _warn_if_ordered(y_index, chunks):
    """Warn when the blocks' class counts show that the rows are ordered."""
    p_value = label_skew(y_index, chunks)
    if p_value < _ORDERED_P_VALUE:
        warnings.warn(
            "The classes are not spread at random over the blocks of X (a "
            f"chi-squared test gives p = {p_value:.1e}): the rows look sorted, "
            "and local SGD over such blocks falls short of the one-machine "
            "fit. Shuffle the rows once where the data are written, or set "
            "shuffle_blocks=True (with persist=False each block is then "
            "computed from all the blocks of X).",
            UserWarning,
            stacklevel=5,
        )


def _is_retryable(error):
    names = {type(error).__name__} | {c.__name__ for c in type(error).__mro__}
    return bool(names & set(_RETRYABLE_NAMES))


def _check_lbfgs(objective):
    """L-BFGS needs a smooth objective: a smooth loss, no proximal step."""
    if objective.step_terms or not objective.loss.smooth:
        raise ValueError(
            "solver='lbfgs' needs a smooth objective: a smooth loss (not "
            "loss='hinge'), penalty='l2' or None and max_norm=None; or use "
            "solver='gd' (proximal and subgradient steps)."
        )


__all__ = ["DaskSGD", "DistributedTrainingError"]
