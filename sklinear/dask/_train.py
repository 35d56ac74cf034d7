"""The client side of distributed training: blocks, rounds and their results.

:class:`Blocks` knows where each row block of ``X`` lives (or, for data
larger than memory, computes each block on a worker when it is needed) and
runs a function of a block on the worker that holds it. The training
drivers below only ever gather small results: parameters, sums of the
shape of the parameters, and scores of a few rows.
"""

import asyncio
import copy
import time
from dataclasses import dataclass

import numpy as np
from dask.core import flatten
from distributed import futures_of, wait

from .._engine import apply_gradient
from .._learning_rate import statistics_rows
from .._recipe import weighted_accuracy
from . import _blocks

_WORKER_TIMEOUT = 60
# How often a wait for a round's results checks that the workers it depends
# on are still in the cluster (a task tied to a worker that left would wait
# for it forever).
_LIVENESS_SECONDS = 2.0


class DistributedTrainingError(RuntimeError):
    """A round of distributed training failed on every attempt.

    The message says which round and why (the last error, e.g. a worker that
    died); the estimator being fitted is left as it was before ``fit``.

    Examples
    --------
    >>> from sklinear.dask import DistributedTrainingError
    >>> issubclass(DistributedTrainingError, RuntimeError)
    True
    """


class LostWorkerError(RuntimeError):
    """A worker that holds blocks left the cluster while a round waited on it.

    Raised instead of waiting forever for tasks tied to that worker; the
    round is then retried on the blocks placed again (``max_retries``).
    """


@dataclass
class _Block:
    index: int
    start: int
    stop: int
    worker: str | None
    future: object  # of X[start:stop] when persisted, else None
    y_index: object  # future of the block's class indices
    weight: object  # future of the block's sample weights


class Blocks:
    """The row blocks of a dask array and where to run work on each.

    Parameters
    ----------
    client : distributed.Client
        The client.
    X : dask.array.Array of shape (n_samples, n_features)
        Data, chunked along rows only.
    y_index, weight : ndarray of shape (n_samples,)
        Class indices and sample weights (small: held by the client and
        scattered next to the blocks).
    persist : bool
        Keep the blocks in the workers' memory, or compute each block where
        and when it is needed (data larger than the workers' memory).
    order : ndarray of shape (n_samples,) or None, default=None
        The rows of ``X`` in the order the blocks should hold them
        (:func:`block_shuffle`): the blocks keep ``X``'s sizes and are
        computed on the workers as ``X[order]``; ``y_index`` and ``weight``
        are taken in the same order, and every row index of the training is
        an index into ``X[order]``. None: the blocks as they are.
    """

    def __init__(self, client, X, y_index, weight, persist, order=None):
        self.client = client
        self.order, self.source_chunks = order, X.chunks[0]
        if order is not None:
            X = X[order].rechunk({0: X.chunks[0]})
            y_index, weight = y_index[order], weight[order]
        self.X = X
        self.persist = persist
        self.n_samples, self.n_features = X.shape
        self.y_index, self.weight = y_index, weight
        self.place()

    def place(self):
        """Find (or choose) the worker of every block; scatter labels and weights."""
        client = self.client
        bounds = np.cumsum((0, *self.X.chunks[0]))
        workers = self._wait_for_workers()
        if self.persist:
            X = client.persist(self.X)
            keys = list(flatten(X.__dask_keys__()))
            by_key = {future.key: future for future in futures_of(X)}
            futures = [by_key[key] for key in keys]
            self.wait(futures, workers)
            owners = client.who_has(futures)
            placed = [sorted(owners[future.key])[0] for future in futures]
            if self.order is not None:
                # The shuffled copy is ours to place: block i on worker
                # i mod n, as streamed blocks are, so that chains run side
                # by side wherever the shuffle's tasks happened to run.
                placed = [workers[i % len(workers)] for i in range(len(futures))]
            futures = [
                client.submit(aligned, future, workers=[worker], pure=False)
                for future, worker in zip(futures, placed, strict=True)
            ]
            self.wait(futures, placed)
        else:
            futures = [None] * len(bounds[:-1])
            placed = [workers[i % len(workers)] for i in range(len(futures))]
        self.blocks, self.held = [], {}
        for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            y_future, w_future = (
                client.submit(aligned, future, workers=[placed[i]], pure=False)
                for future in client.scatter(
                    [self.y_index[start:stop], self.weight[start:stop]],
                    workers=[placed[i]],
                    hash=False,
                )
            )
            self.blocks.append(
                _Block(
                    i, int(start), int(stop), placed[i], futures[i], y_future, w_future
                )
            )
        self.workers = sorted({block.worker for block in self.blocks})

    @property
    def n_chains(self):
        """Chains of the mixing mode: one per worker, at most one per block.

        Counted from the cluster, not from where the blocks are, so that the
        model does not depend on the placement.
        """
        return min(self.n_workers, len(self.blocks))

    def _wait_for_workers(self):
        """The workers' addresses, after waiting for those lost to come back.

        Waits up to a minute for as many workers as the fit started with (a
        restarted cluster brings them back), then goes on with those there.
        """
        expected = getattr(self, "n_workers", 1)
        deadline = time.monotonic() + _WORKER_TIMEOUT
        while True:
            workers = sorted(self.client.scheduler_info(n_workers=-1)["workers"])
            if len(workers) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if not workers:
            raise DistributedTrainingError(
                f"The dask cluster has no worker (waited {_WORKER_TIMEOUT} s)."
            )
        self.n_workers = max(expected, len(workers))
        return workers

    def lost_workers(self, workers=None):
        """Whether a worker that holds blocks (or of ``workers``) left the cluster."""
        try:
            present = set(self.client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # noqa: BLE001 - no scheduler to ask: lost
            return True
        return not set(self.workers if workers is None else workers) <= present

    def wait(self, futures, workers=None):
        """Wait for ``futures``; raise :class:`LostWorkerError` if a worker leaves.

        Tasks tied to a block's worker would wait forever for a worker that
        left (a restarted worker comes back under a new address), so the
        wait checks every ``_LIVENESS_SECONDS`` that the blocks' workers (or
        ``workers``) are still there, and cancels the tasks if not.
        """
        while True:
            try:
                wait(futures, timeout=_LIVENESS_SECONDS)
                return
            except (TimeoutError, asyncio.TimeoutError):
                if self.lost_workers(workers):
                    self.client.cancel(futures)
                    raise LostWorkerError(
                        "A worker that holds blocks left the cluster during the round."
                    ) from None

    def gather(self, futures):
        """The results of ``futures``, once :meth:`wait` has seen them finish."""
        self.wait(futures)
        return self.client.gather(futures)

    def source_of(self, row):
        """The row of the caller's ``X`` and its block, of the blocks' ``row``."""
        if self.order is not None:
            row = int(self.order[row])
        bounds = np.cumsum(self.source_chunks)
        return row, int(np.searchsorted(bounds, row, side="right"))

    def by_worker(self):
        """Blocks grouped by their worker, in block order."""
        groups = {worker: [] for worker in self.workers}
        for block in self.blocks:
            groups[block.worker].append(block)
        return groups

    def data(self, block):
        """A future of the block's rows: the persisted one, or computed now.

        A streamed block (``persist=False``) is computed once and held until
        :meth:`release`, so that several rounds on it compute it once.
        """
        if block.future is not None:
            return block.future
        if block.index not in self.held:
            computed = self.client.compute(
                self.X.blocks[block.index],
                workers=[block.worker],
                allow_other_workers=True,
            )
            self.held[block.index] = self.client.submit(
                aligned, computed, workers=[block.worker], pure=False
            )
        return self.held[block.index]

    def release(self, block):
        """Let the workers forget a streamed block's rows (no-op if persisted)."""
        self.held.pop(block.index, None)

    def submit(self, function, block, *args, data=True, **kwargs):
        """``function(*args, X_block, y_block, w_block, **kwargs)`` on its worker."""
        extra = (self.data(block), block.y_index, block.weight) if data else ()
        return self.client.submit(
            function,
            *args,
            *extra,
            **kwargs,
            workers=[block.worker],
            allow_other_workers=not self.persist,
            pure=False,
        )

    def local(self, rows, block):
        """The rows of ``rows`` (sorted global indices) inside ``block``, local."""
        lo, hi = np.searchsorted(rows, [block.start, block.stop])
        return rows[lo:hi] - block.start

    def map(self, function, *args, rows=None, parts=None):
        """``function(*args, X, y_index, weight[, rows=][, part=])`` on every block.

        With ``rows`` (sorted global indices), each block gets its own rows
        as local indices; with ``parts`` (one per block), its own part.
        Without persisted blocks, at most one block per worker is computed
        at a time (waves), so that memory stays bounded.
        """
        results = [None] * len(self.blocks)
        for group in self.waves():
            futures = []
            for block in group:
                kwargs = {} if rows is None else {"rows": self.local(rows, block)}
                if parts is not None:
                    kwargs["part"] = parts[block.index]
                futures.append(self.submit(function, block, *args, **kwargs))
            for block, value in zip(group, self.gather(futures), strict=True):
                results[block.index] = value
                self.release(block)
        return results

    def waves(self):
        """Groups of blocks to run together: all, or one per worker at a time."""
        if self.persist:
            return [self.blocks]
        groups = list(self.by_worker().values())
        depth = max(len(group) for group in groups)
        return [[group[i] for group in groups if i < len(group)] for i in range(depth)]


def aligned(array):
    """``array``, or an aligned C-contiguous copy of it where it is not.

    Arrays that travel between processes can arrive with their data at an
    address that is not a multiple of their itemsize. NumPy then takes the
    slow path for every minibatch gather (``np.take(..., out=)`` copies the
    whole block first: 22 ms instead of 0.3 ms per minibatch of a block of
    10,000 x 3,072 float32, measured by ``benchmarks/bench_dask.py``'s
    gather section). Run once on the worker that keeps the block.
    """
    if isinstance(array, np.ndarray):
        return np.require(array, requirements=["C", "A"])
    return array


def block_shuffle(chunks, rng):
    """A random partition of the rows into blocks of the sizes ``chunks``.

    Local SGD averages models that each saw one part of the data; it
    approaches the one-machine fit only when every part is a random sample
    of the data. Data on a cluster are often ordered (by class, by date, by
    source): CIFAR-10's training file holds its classes one after another,
    so four blocks of it hold two or three classes each, and mixing chains
    trained on such blocks cost 0.03 of held-out accuracy against one
    machine (Zhao et al. 2018, "Federated learning with non-IID data", find
    the same). Shuffling the rows between the blocks once before training
    is what the one-machine fit's shuffle does across its whole data.

    Parameters
    ----------
    chunks : tuple of int
        Rows of each block.
    rng : numpy.random.Generator
        Draws the partition.

    Returns
    -------
    ndarray of shape (sum(chunks),)
        Row indices: block ``j`` gets the rows
        ``order[bounds[j]:bounds[j + 1]]``, sorted (so that each block
        takes its rows from its sources in order).
    """
    bounds = np.cumsum((0, *chunks))
    shuffled = rng.permutation(bounds[-1])
    parts = zip(bounds[:-1], bounds[1:], strict=True)
    return np.concatenate([np.sort(shuffled[start:stop]) for start, stop in parts])


def label_skew(y_index, chunks):
    """p-value of the blocks' class counts under a random order of the rows.

    A chi-squared test of independence between block and class; a small
    value means the rows are ordered by class (or by something that goes
    with it), and local SGD over the blocks as they are will fall short of
    the one-machine fit. 1.0 when there is one block or one class.
    """
    from scipy.stats import chi2_contingency

    bounds = np.cumsum((0, *chunks))
    n_classes = int(y_index.max()) + 1 if len(y_index) else 0
    counts = np.array(
        [
            np.bincount(y_index[start:stop], minlength=n_classes)
            for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
        ]
    )
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0]
    if min(counts.shape) < 2:
        return 1.0
    return float(chi2_contingency(counts).pvalue)


def distributed_feature_scales(blocks, weight):
    """:func:`sklinear._learning_rate.feature_scales`, the passes on the workers.

    ``weight`` (n_samples,) are the weights the statistics are weighted by
    (one model's column); only those of the statistics rows travel.
    """
    rows = statistics_rows(blocks.n_samples)
    w = np.asarray(weight[rows], dtype=np.float64)
    if w.sum() > 0:
        rows, w = rows[w > 0], w[w > 0]
    else:  # as feature_scales: no weight on these rows, count them all
        w = np.ones(len(rows))
    bounds = np.searchsorted(rows, [[b.start, b.stop] for b in blocks.blocks])
    weights = [w[lo:hi] for lo, hi in bounds]
    peaks = blocks.map(_statistics_pass, None, None, rows=rows, parts=weights)
    peak = np.max([p for p, _ in peaks], axis=0)
    total = sum(t for _, t in peaks)
    peak[peak == 0] = 1.0
    sums = blocks.map(_statistics_pass, peak, None, rows=rows, parts=weights)
    mean = np.sum(sums, axis=0) / total
    deviations = blocks.map(_statistics_pass, peak, mean, rows=rows, parts=weights)
    absolute = np.sum([a for a, _ in deviations], axis=0) / total
    squared = np.sum([s for _, s in deviations], axis=0) / total
    return mean * peak, absolute * peak, np.sqrt(squared) * peak


def _statistics_pass(peak, mean, X, y_index, weight, rows, part):
    return _blocks.statistics(X[rows], part, peak, mean)


def check_blocks(blocks):
    """Check every block where it lives: dense, no NaN, no infinity.

    Only the answer of each block travels to the client.

    Raises
    ------
    TypeError
        If a block is not a NumPy array (sparse chunks, ...).
    ValueError
        If a block holds NaN or infinity, as the estimators' own check
        ("Input X contains NaN").
    """
    problems = blocks.map(_check_pass)
    for block, problem in zip(blocks.blocks, problems, strict=True):
        if problem is None:
            continue
        kind, detail = problem
        if kind == "type":
            raise TypeError(_blocks.sparse_message(detail))
        row, source = blocks.source_of(block.start + detail)
        where = f"(first in row {row}, in block {source} of X)"
        if kind == "nan":
            raise ValueError(
                f"Input X contains NaN {where}. DaskSGD does not accept missing "
                "values: impute them (e.g. dask-ml's SimpleImputer) or drop the "
                "rows that hold them before fit."
            )
        raise ValueError(
            f"Input X contains infinity {where}. Replace the infinite values "
            "or drop the rows that hold them before fit."
        )


def _check_pass(X, y_index, weight):
    return _blocks.block_problem(X)


def gather_scores(blocks, params, spec, rows):
    """Scores of the global ``rows`` (sorted), computed where they live."""
    parts = blocks.map(_scores_pass, params, spec, rows=rows)
    return np.concatenate([p for p in parts if p is not None and len(p)])


def _scores_pass(params, spec, X, y_index, weight, rows):
    return _blocks.scores(params, spec, X, rows)


def all_scores_finite(blocks, params, spec):
    """Whether each model scores every row of every block finitely, (K,)."""
    return np.logical_and.reduce(blocks.map(_finite_pass, params, spec))


def _finite_pass(params, spec, X, y_index, weight):
    return _blocks.scores_are_finite(params, spec, X)


def accuracy(blocks, params, spec, rows):
    """Each model's weighted accuracy on the global ``rows``, (K,).

    As :func:`sklinear._recipe.validation`: unweighted where a model's
    weights of ``rows`` sum to zero.
    """
    parts = blocks.map(_accuracy_pass, params, spec, rows=rows)
    correct, total, count = (sum(p[i] for p in parts) for i in range(3))
    return weighted_accuracy(correct, total, count, len(rows))


def _accuracy_pass(params, spec, X, y_index, weight, rows):
    return _blocks.accuracy_sums(params, spec, X, y_index, weight, rows)


def chains_of(blocks, n_chains):
    """The blocks split into ``n_chains`` chains of consecutive blocks, by index.

    A chain is one model's epoch of local steps between mixings. Chains are
    defined by the blocks' order in ``X``, not by where the blocks live, so
    that the model does not depend on the placement of the blocks on the
    workers: each step of a chain runs on the worker of its block, and only
    the (small) training state travels between workers.
    """
    indices = np.array_split(np.arange(len(blocks.blocks)), n_chains)
    return [[blocks.blocks[i] for i in part] for part in indices if len(part)]


def mixing_epoch(
    blocks,
    state,
    spec,
    lr,
    preconditioner,
    train_rows,
    generators,
    *,
    n_chains,
    mixing_rows=None,
    frozen=None,
    objective,
    block_momentum=0.0,
    velocity=None,
):
    """One epoch of iterative parameter mixing; the mixed state and objective.

    Every chain of blocks (:func:`chains_of`) trains a copy of the state
    over its blocks, in a random order drawn by the chain's own generator
    (the state's for chain 0, ``generators`` for the others), each block's
    training rows in random parts of about ``mixing_rows`` rows (None: whole
    blocks). After each part (a round: every chain's next part, side by
    side) the client averages the chains' parameters, optimizer states and
    running averages, weighted by their training weight, in chain order: the
    result does not depend on which worker ran what or when its result
    arrived. With one chain it is exactly the plain fit's epoch over the
    blocks in that order (nothing to mix, so blocks are not split).

    With ``block_momentum`` (BMUF, Chen & Huo 2016), each mixing moves the
    parameters by ``v = block_momentum * v + (average - parameters)``; ``v``
    is kept in the list ``velocity`` between epochs (empty: no move yet),
    ``objective.after_step`` applies the penalty's projection (max-norm) to
    the moved parameters, and frozen or diverged models (their
    ``objective.model_columns``) lose their ``v``.

    With ``K`` models side by side (a search's candidates times folds, each
    with its column of sample weights), each model is mixed with its own
    shares, and ``frozen`` (K,) models are left as they are. Returns the
    state, each model's epoch objective (K,) and which diverged (K,).
    """
    client = blocks.client
    n_models = len(spec.models)
    frozen = np.zeros(n_models, dtype=bool) if frozen is None else frozen
    chains = chains_of(blocks, n_chains)
    # Copies: a round retried after a lost worker draws the same numbers.
    rngs = [copy.deepcopy(rng) for rng in (state.rng, *generators)]
    split = mixing_rows if len(chains) > 1 else None
    schedules = []
    for c, chain in enumerate(chains):
        order = chain
        if len(chain) > 1:
            order = [chain[i] for i in rngs[c].permutation(len(chain))]
        steps = []
        for block in order:
            rows = None if train_rows is None else blocks.local(train_rows, block)
            steps += _parts(block, rows, split, spec.batch_size, rngs[c])
        schedules.append(steps)
    value_sums, weight_sums = np.zeros(n_models), np.zeros(n_models)
    diverged = np.zeros(n_models, dtype=bool)
    # A copy: a retried round starts from the same moves.
    move = velocity[0].copy() if velocity else None
    if move is not None:
        move[..., objective.model_columns(frozen)] = 0
    current = state
    for position in range(max(len(steps) for steps in schedules)):
        submitted = []
        for c, steps in enumerate(schedules):
            if position >= len(steps):
                continue
            block, rows = steps[position]
            local = current.copy()
            local.rng = rngs[c]
            shipped = client.scatter(local, workers=[block.worker], hash=False)
            future = blocks.submit(
                _train_pass, block, shipped, spec, lr, preconditioner, rows, frozen
            )
            submitted.append((c, future))
        results = blocks.gather([future for _, future in submitted])
        finals, weights = [], []
        for (c, _), result in zip(submitted, results, strict=True):
            final, value_sum, weight_sum, failed = result
            rngs[c] = final.rng
            finals.append(final)
            weights.append(weight_sum)
            value_sums += value_sum
            weight_sums += weight_sum
            diverged |= failed
            block = schedules[c][position][0]
            following = schedules[c][position + 1 : position + 2]
            if not following or following[0][0] is not block:
                blocks.release(block)
        if len(finals) == 1:
            current = finals[0]
            continue
        mixed = _weighted_state(current, finals, _shares(weights))
        if block_momentum:
            move = _block_move(current.params, mixed.params, move, block_momentum)
            mixed.params = current.params + move
            objective.after_step(mixed.params, 0.0)
        current = mixed
    current.rng = rngs[0]
    generators[:] = rngs[1:]
    current.epoch = state.epoch + 1
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(weight_sums > 0, value_sums / weight_sums, np.nan)
    diverged |= ~np.isfinite(value) & ~frozen
    if velocity is not None and move is not None:
        move[..., objective.model_columns(diverged)] = 0
        velocity[:] = [move]
    return current, value, diverged


def _block_move(before, mixed, move, momentum):
    """The block momentum's next move: ``momentum * move + (mixed - before)``."""
    step = mixed - before
    if move is None:
        return step
    move *= momentum
    move += step
    return move


def _parts(block, rows, mixing_rows, batch_size, rng):
    """``(block, rows)`` steps of about ``mixing_rows`` random training rows each.

    ``rows`` are the block's local training rows (None: all); each part's
    rows are sorted, for memory locality. Parts hold whole minibatches of
    ``batch_size`` rows, the last part the rest: equal parts would end
    each part with a partial minibatch (a 5-row step in every part of
    3,333 rows), a full step of the optimizer on a handful of rows.
    """
    n_rows = block.stop - block.start if rows is None else len(rows)
    if mixing_rows is None or n_rows <= mixing_rows:
        return [(block, rows)]
    shuffled = rng.permutation(np.arange(n_rows) if rows is None else rows)
    batch_size = batch_size or 1  # None: full-batch steps, parts of equal size
    n_batches = -(-n_rows // batch_size)
    n_parts = -(-n_rows // mixing_rows)
    part_rows = -(-n_batches // n_parts) * batch_size
    parts = np.split(shuffled, np.arange(part_rows, n_rows, part_rows))
    return [(block, np.sort(part)) for part in parts]


def _train_pass(state, spec, lr, preconditioner, rows, frozen, X, y_index, weight):
    return _blocks.train_block(
        state, spec, lr, preconditioner, X, y_index, weight, rows, frozen
    )


def _shares(weights):
    """Each chain's share of each model, (n_chains, K), from their weights.

    A model no chain had weight for this round is unchanged in every chain:
    equal shares keep it so.
    """
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum(axis=0)
    return np.where(
        total > 0, weights / np.where(total > 0, total, 1.0), 1.0 / len(weights)
    )


def _weighted_state(state, finals, share):
    """The chains' states averaged, model by model, with ``share`` (n_chains, K).

    Parameters, arrays of the optimizer state and running averages all have
    the models' ``K * C`` columns last: each column takes its model's share.
    """
    n_columns = finals[0].params.shape[-1]
    share = np.repeat(share, n_columns // share.shape[1], axis=1)
    mixed = finals[0].copy()
    mixed.params = _average([f.params for f in finals], share)
    for name, value in mixed.optimizer_state.items():
        if isinstance(value, np.ndarray):
            values = [f.optimizer_state[name] for f in finals]
            mixed.optimizer_state[name] = _average(values, share).astype(value.dtype)
    if mixed.average is not None:
        mixed.average = _average([f.average for f in finals], share)
        mixed.n_averaged = np.rint(
            _average([f.n_averaged.astype(float) for f in finals], share)
        ).astype(mixed.n_averaged.dtype)
    mixed.samples = state.samples + sum(f.samples - state.samples for f in finals)
    return mixed


def _average(arrays, share):
    out = np.zeros_like(arrays[0], dtype=np.result_type(arrays[0], np.float64))
    for array, s in zip(arrays, share, strict=True):
        out += s * array
    return out.astype(arrays[0].dtype)


def gradient_round(blocks, params, spec, train_rows):
    """Weighted mean data loss and gradient over all training rows."""
    parts = blocks.map(_gradient_pass, params, spec, rows=train_rows)
    total = sum(p[2] for p in parts)
    loss = sum(p[0] for p in parts) / total
    grad = np.sum([p[1].astype(np.float64) for p in parts], axis=0) / total
    return loss, grad.astype(params.dtype), total


def _gradient_pass(params, spec, X, y_index, weight, rows=None):
    return _blocks.gradient_sums(params, spec, X, y_index, weight, rows)


def gradient_step(state, objective, optimizer, lr, preconditioner, loss, grad, n_rows):
    """The plain full-batch step from a gradient summed over the cluster."""
    grad = grad.copy()
    value = np.array([loss]) + objective.smooth_penalty(state.params, grad)
    return apply_gradient(
        state, objective, optimizer, grad, value, lr, preconditioner, n_rows
    )


__all__ = ["Blocks", "DistributedTrainingError", "check_blocks"]
