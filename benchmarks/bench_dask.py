"""Distributed training with sklinear.dask against the in-memory fit.

Four sections, each on ``distributed.LocalCluster`` workers that are
separate processes with one thread each (``OMP_NUM_THREADS`` and
``OPENBLAS_NUM_THREADS`` set to 1 in the workers):

- ``epoch``: seconds per epoch of ``DaskSGD(SoftmaxSGD())`` in mixing mode
  with 1 and 2 workers (the data persisted on them, 4 blocks), against the
  plain in-memory fit at ``--threads`` BLAS threads (default 1, the
  workers' count), on 50,000 x 3,072 float32 (``--data`` tiled and
  standardized, synthetic without it); medians over ``--repeats``. Beside
  the wall time, per epoch: the CPU seconds of the worker processes and of
  the client (which runs the scheduler), the time their threads waited for
  a core (``/proc/<pid>/task/*/schedstat``) and their minor page faults,
  which is what separates the cost of the work from the cost of waiting.
  This machine has 2 cores: 2 workers cannot beat one process by more than
  2x, and the client and scheduler share the cores.
- ``gather``: the cause of the workers' slow epochs. The engine gathers
  each minibatch with ``np.take(X, rows, axis=0, out=buffer,
  mode="clip")``, which copies the whole of ``X`` first when its data are
  not aligned; blocks that travelled between workers can arrive unaligned.
  Times the gather on an aligned and an unaligned block, and inspects the
  blocks as a mixing fit places them (rows shuffled between the workers).
- ``accuracy``: the acceptance of issue 20. On the dev subset (``--data``,
  its ``X_val`` held out) and on the whole training file (``--full-data``,
  the last 10,000 rows of a fixed permutation held out, the other 40,000
  trained on in the file's order, which CIFAR-10 sorts by class), raw
  pixels (minus the training mean, divided by 64) and HOG + color
  histogram (standardized, cached in ``--cache``), ``SoftmaxSGD`` and
  ``MulticlassSVMSGD``: the held-out accuracy of ``DaskSGD`` with
  ``--accuracy-workers`` workers x 4 blocks against the in-memory fit, at
  5 and 10 epochs (``tol=None``) and at the defaults (with each fit's
  ``n_iter_``); ``random_state=0`` everywhere. The difference is set
  against one binomial standard error of the held-out accuracy.
- ``search``: the one-pass search ``SoftmaxSGDCV()`` at its defaults (its
  4 alphas x 5 folds, 20 models side by side) on raw pixels of the dev
  subset (``--data``; rows in the file's order) in memory and through
  ``DaskSGD`` with 1 and 2 workers x 4 blocks: seconds, the chosen alpha,
  the best mean cross-validation score and the held-out accuracy of the
  refitted model.
- ``memory``: data larger than the workers' memory: 2 workers with
  ``memory_limit`` each (default 1 GiB) train on a lazily generated array
  of ``--large-gib`` GiB (synthetic Gaussian classes, every block made from
  its seed on a worker) with ``persist=False``; the peak resident memory of
  each worker (sampled every 0.2 s) and the accuracy on held-out rows.
"""

import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    base_parser,
    blas_threads,
    machine_info,
    machine_markdown,
    markdown_table,
    median,
    quiet_convergence,
    standardize_inplace,
    synthetic_classification,
    synthetic_images,
    tiled_cifar,
    time_call,
    write_outputs,
)

NAME = "bench_dask"
SETTINGS = ("5", "10", "default")
ESTIMATORS = ("SoftmaxSGD", "MulticlassSVMSGD")
FEATURES = ("raw pixels", "HOG + color")
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _cluster(n_workers, memory_limit="auto", malloc_trim="dask"):
    """A LocalCluster of one-thread worker processes and its client.

    Parameters
    ----------
    n_workers : int
        Worker processes.
    memory_limit : str or int, default="auto"
        Memory limit of each worker.
    malloc_trim : {"dask", "unset"}, default="dask"
        ``"unset"`` removes ``MALLOC_TRIM_THRESHOLD_`` from the environment
        distributed's nanny gives its workers (65536 by default,
        ``distributed.nanny.pre-spawn-environ``), so that glibc keeps its
        dynamic trim and mmap thresholds, as in a plain Python process.

    Returns
    -------
    cluster : distributed.LocalCluster
        The cluster.
    client : distributed.Client
        Its client.
    """
    import dask
    from distributed import Client, LocalCluster

    # dask.config.set merges dictionaries: a key is removed from the
    # configuration itself, and put back once the workers have started.
    environ = dask.config.config.get("distributed", {}).get("nanny", {})
    environ = environ.get("pre-spawn-environ", {})
    saved = {}
    if malloc_trim == "unset" and "MALLOC_TRIM_THRESHOLD_" in environ:
        saved["MALLOC_TRIM_THRESHOLD_"] = environ.pop("MALLOC_TRIM_THRESHOLD_")
    try:
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
            silence_logs=50,
            env=WORKER_ENV,
        )
    finally:
        environ.update(saved)
    return cluster, Client(cluster)


def process_counters(pid=None):
    """CPU seconds, seconds waited for a core and minor faults of a process.

    Parameters
    ----------
    pid : int, default=None
        The process (this one when None).

    Returns
    -------
    dict
        ``cpu_s`` (user + system), ``wait_s`` (time its threads were ready
        to run but waited for a core, summed over threads, from
        ``/proc/<pid>/task/*/schedstat``; None where unavailable) and
        ``minor_faults`` (None where unavailable).
    """
    import os

    pid = os.getpid() if pid is None else pid
    counters = {"cpu_s": None, "wait_s": None, "minor_faults": None}
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
        counters["cpu_s"] = times.user + times.system
    except (ImportError, OSError):  # pragma: no cover - psutil comes with dask
        pass
    try:
        waited = 0
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                waited += int(stat.read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        counters["wait_s"] = waited / 1e9
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        counters["minor_faults"] = int(fields[7])
    except OSError:  # not Linux
        pass
    return counters


def _subtract(after, before):
    return {
        key: None
        if after[key] is None or before[key] is None
        else after[key] - before[key]
        for key in after
    }


def _add(counters):
    keys = counters[0].keys()
    return {
        key: None
        if any(c[key] is None for c in counters)
        else sum(c[key] for c in counters)
        for key in keys
    }


def _measured(fit, counters):
    """Wall seconds of ``fit()`` and the change of ``counters()`` over it."""
    before = counters()
    start = time.perf_counter()
    fit()
    wall = time.perf_counter() - start
    return {"wall_s": wall} | _subtract(counters(), before)


def _per_epoch(short, long, epochs):
    """(long - short) / (epochs - 1), figure by figure."""
    return {
        key: None
        if short[key] is None or long[key] is None
        else (long[key] - short[key]) / (epochs - 1)
        for key in short
    }


def _median_entries(entries):
    keys = entries[0].keys()
    return {
        key: None
        if any(e[key] is None for e in entries)
        else median([e[key] for e in entries])
        for key in keys
    }


def epoch_times(X, y, epochs, workers, repeats, threads, malloc_trim=("dask",)):
    """Per-epoch wall time and where it goes: in memory, then 1 and 2 workers.

    Parameters
    ----------
    X, y : ndarray
        Data and labels.
    epochs : int
        Epochs of the long fit (the short one has one).
    workers : sequence of int
        Worker counts.
    repeats : int
        Repeats; medians are reported.
    threads : int
        BLAS threads of the in-memory fit.
    malloc_trim : sequence of {"dask", "unset"}, default=("dask",)
        The workers' ``MALLOC_TRIM_THRESHOLD_``: distributed's default
        (65536), or not set (see :func:`_cluster`); one run per value.

    Returns
    -------
    dict
        By run: medians of the per-epoch wall seconds, of the CPU seconds,
        core-wait seconds and minor faults of the fitting processes (the
        workers, and separately the client), the ratio of the wall time to
        the in-memory fit's, and the load averages around the run.
    """
    import dask.array as da

    from sklinear import SoftmaxSGD
    from sklinear.dask import DaskSGD

    def plain(max_iter):
        with blas_threads(threads):
            SoftmaxSGD(max_iter=max_iter, tol=None, random_state=0).fit(X, y)

    entries = []
    load = [machine_info()["load_average"]]
    for _ in range(repeats):
        short = _measured(lambda: plain(1), process_counters)
        long = _measured(lambda: plain(epochs), process_counters)
        entries.append(_per_epoch(short, long, epochs))
    results = {
        "in memory": _median_entries(entries)
        | {"blas_threads": threads, "processes": "this one"}
    }
    for n_workers, trim in [(n, t) for n in workers for t in malloc_trim]:
        name = f"{n_workers} worker(s)"
        if trim == "unset":
            name += ", MALLOC_TRIM_THRESHOLD_ unset"
        cluster, client = _cluster(n_workers, malloc_trim=trim)
        try:
            X_dask = client.persist(da.from_array(X, chunks=(-(-len(X) // 4), -1)))
            pids = list(client.run(lambda: __import__("os").getpid()).values())

            def workers_counters(pids=pids):
                return _add([process_counters(pid) for pid in pids])

            def distributed_fit(max_iter, X_dask=X_dask):
                DaskSGD(SoftmaxSGD(max_iter=max_iter, tol=None, random_state=0)).fit(
                    X_dask, y
                )

            distributed_fit(1)  # imports and first connections on the workers
            entries, client_entries = [], []
            for _ in range(repeats):
                runs = []
                for max_iter in (1, epochs):
                    before_client = process_counters()
                    runs.append(
                        _measured(
                            lambda max_iter=max_iter: distributed_fit(max_iter),
                            workers_counters,
                        )
                        | {
                            "client": _subtract(process_counters(), before_client),
                        }
                    )
                short, long = runs
                client_entries.append(
                    _per_epoch(short.pop("client"), long.pop("client"), epochs)
                )
                entries.append(_per_epoch(short, long, epochs))
            entry = _median_entries(entries)
            entry["client"] = _median_entries(client_entries)
            entry["blas_threads"] = 1
            entry["processes"] = f"{n_workers} worker(s)"
            entry["malloc_trim_threshold"] = client.run(
                lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_")
            ).popitem()[1]
            results[name] = entry
        finally:
            client.close()
            cluster.close()
        load.append(machine_info()["load_average"])
    base = results["in memory"]["wall_s"]
    for entry in results.values():
        entry["x_in_memory"] = entry["wall_s"] / base
    return {"runs": results, "load_average": load, "epochs": epochs, "repeats": repeats}


def _gather_times(X, n_rows, repeats, rng):
    """Median ms of the engine's gather and of fancy indexing on ``X``."""
    buffer = np.empty((n_rows, X.shape[1]), dtype=X.dtype)
    times = {"np.take(out=, mode='clip')": [], "X[rows]": []}
    for _ in range(repeats):
        rows = np.sort(rng.permutation(X.shape[0])[:n_rows])
        start = time.perf_counter()
        np.take(X, rows, axis=0, out=buffer, mode="clip")
        times["np.take(out=, mode='clip')"].append(time.perf_counter() - start)
        start = time.perf_counter()
        X[rows]
        times["X[rows]"].append(time.perf_counter() - start)
    return {name: 1e3 * median(values) for name, values in times.items()}


def gather_alignment(n_samples, n_features, repeats, batch=256):
    """The minibatch gather on an aligned and on an unaligned float32 block.

    ``sklinear._engine.BatchSource`` gathers each minibatch with
    ``np.take(X, rows, axis=0, out=buffer, mode="clip")``. NumPy's take
    wants an aligned C-contiguous source and otherwise copies the whole of
    ``X`` first, on every call; fancy indexing does not.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the block.
    repeats : int
        Gathers timed (medians reported).
    batch : int, default=256
        Rows per gather.

    Returns
    -------
    dict
        By layout, ``aligned`` or ``unaligned`` (the data one byte off), the
        median milliseconds of each gather; and of one aligned copy of the
        unaligned block.
    """
    raw = np.zeros(n_samples * n_features * 4 + 8, dtype=np.uint8)
    layouts = {
        "aligned": raw[:-8].view(np.float32).reshape(n_samples, n_features),
        "unaligned": raw[1:-7].view(np.float32).reshape(n_samples, n_features),
    }
    rng = np.random.default_rng(0)
    results = {}
    for name, X in layouts.items():
        X[...] = 1.0
        results[name] = {"flags.aligned": bool(X.flags.aligned)} | _gather_times(
            X, batch, repeats, rng
        )
    start = time.perf_counter()
    np.require(layouts["unaligned"], requirements="CA")
    results["aligned copy of the unaligned block, ms"] = 1e3 * (
        time.perf_counter() - start
    )
    return results


def _block_report(X, repeats=10):
    """Alignment of a block on its worker and its gather times (run there)."""
    return {
        "aligned": bool(X.flags.aligned),
        "c_contiguous": bool(X.flags.c_contiguous),
        "address_mod_64": int(X.ctypes.data % 64),
    } | _gather_times(X, min(256, len(X)), repeats, np.random.default_rng(0))


def block_alignment(X, y, n_workers, n_blocks=4):
    """The blocks as ``DaskSGD`` places them on the workers: are they aligned?

    Builds the blocks as a mixing fit does (``sklinear.dask._train.Blocks``
    with the block shuffle: rows move between the workers) and inspects each
    block where it lives. Private API: returns None if it changed.

    Parameters
    ----------
    X, y : ndarray
        Data and labels.
    n_workers : int
        Workers of the cluster.
    n_blocks : int, default=4
        Row blocks.

    Returns
    -------
    list of dict or None
        Per block: its worker, ``aligned``, the data's address modulo 64 and
        the median gather times on it.
    """
    import dask.array as da

    try:
        from sklinear.dask._train import Blocks, block_shuffle
    except ImportError:  # pragma: no cover - the private API moved
        return None
    cluster, client = _cluster(n_workers)
    try:
        X_dask = client.persist(da.from_array(X, chunks=(-(-len(X) // n_blocks), -1)))
        y_index = np.unique(y, return_inverse=True)[1]
        weight = np.ones(len(y), dtype=X.dtype)
        try:
            order = block_shuffle(X_dask.chunks[0], np.random.default_rng(0))
            blocks = Blocks(client, X_dask, y_index, weight, True, order=order)
        except TypeError:  # pragma: no cover - the private API changed
            return None
        reports = []
        for block in blocks.blocks:
            report = client.submit(
                _block_report, block.future, workers=[block.worker], pure=False
            ).result()
            reports.append({"block": block.index, "worker": block.worker} | report)
        return reports
    finally:
        client.close()
        cluster.close()


def dev_split(path):
    """The dev subset: training rows in the file's order, ``X_val`` held out.

    Parameters
    ----------
    path : str or path-like
        ``cifar10_dev.npz``.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        Rows of 3,072 uint8 pixels (height x width x channel) and labels.
    """
    with np.load(path) as data:
        X_test = data["X_val"] if "X_val" in data else data["X_test"]
        y_test = data["y_val"] if "y_val" in data else data["y_test"]
        X, y = data["X_train"], data["y_train"]
    return X.reshape(len(X), -1), y, X_test.reshape(len(X_test), -1), y_test


def full_split(path, n_test=10_000, seed=0):
    """The whole training file: a fixed held-out part, the rest in file order.

    Parameters
    ----------
    path : str or path-like
        ``cifar10_train.npz`` (``X_train``, ``y_train``).
    n_test : int, default=10_000
        Rows held out: the last ``n_test`` of ``permutation(seed)``.
    seed : int, default=0
        Seed of the permutation.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        The training rows keep the file's order (sorted indices), so a file
        sorted by class stays sorted: the case the block shuffle must handle.
    """
    with np.load(path) as data:
        X, y = data["X_train"], data["y_train"]
    X = X.reshape(len(X), -1)
    order = np.random.default_rng(seed).permutation(len(y))
    train, test = np.sort(order[:-n_test]), order[-n_test:]
    return X[train], y[train], X[test], y[test]


def quick_split(n_train=600, n_test=200):
    """Small synthetic images sorted by class, for the smoke test."""
    X = synthetic_images(n_train + n_test).reshape(n_train + n_test, -1)
    y = np.random.default_rng(1).integers(0, 3, n_train + n_test)
    X[:, :64] = (y[:, None] * 60).astype(np.uint8)  # a learnable corner
    order = np.argsort(y[:n_train], kind="stable")
    return X[:n_train][order], y[:n_train][order], X[n_train:], y[n_train:]


def feature_sets(name, split, features, cache=None):
    """The requested feature sets of a split, float32.

    Parameters
    ----------
    name : str
        Name of the split (the cache file's name).
    split : tuple
        ``X_train, y_train, X_test, y_test`` of uint8 pixels.
    features : sequence of str
        Among :data:`FEATURES`.
    cache : str or path-like, default=None
        Folder where HOG + color features are kept between runs.

    Returns
    -------
    dict
        By feature set: ``(train, test)``. Raw pixels minus the training
        mean, divided by 64; HOG + color histogram standardized on the
        training rows.
    """
    X, _, X_test, _ = split
    sets = {}
    if "raw pixels" in features:
        mean = X.mean(axis=0, dtype=np.float64).astype(np.float32)
        train = X.astype(np.float32)
        test = X_test.astype(np.float32)
        for array in (train, test):
            array -= mean
            array /= np.float32(64)
        sets["raw pixels"] = train, test
    if "HOG + color" in features:
        cached = None if cache is None else Path(cache) / f"hog_color_{name}.npz"
        if cached is not None and cached.exists():
            with np.load(cached) as data:
                F, F_test = data["train"], data["test"]
        else:
            from sklearn.pipeline import make_union

            from sklinear.features import HOG, ColorHistogram

            union = make_union(
                HOG(image_shape=(32, 32, 3)), ColorHistogram(image_shape=(32, 32, 3))
            )
            F = union.fit_transform(X).astype(np.float32)
            F_test = union.transform(X_test).astype(np.float32)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, train=F, test=F_test)
        F, F_test = F.copy(), F_test.copy()
        standardize_inplace(F_test, reference=F)
        standardize_inplace(F)
        sets["HOG + color"] = F, F_test
    return sets


def _setting_params(setting):
    if setting == "default":
        return {"random_state": 0}
    return {"max_iter": int(setting), "tol": None, "random_state": 0}


def accuracy(datasets, features, estimators, settings, workers, cache=None, threads=1):
    """``DaskSGD`` with ``workers`` x 4 blocks against the in-memory fit.

    Parameters
    ----------
    datasets : dict
        By name: ``X_train, y_train, X_test, y_test`` of uint8 pixels.
    features, estimators, settings : sequence of str
        Among :data:`FEATURES`, :data:`ESTIMATORS` and :data:`SETTINGS`
        (an epoch count, or ``"default"``).
    workers : sequence of int
        Worker counts of the distributed fits.
    cache : str or path-like, default=None
        Folder of the cached HOG + color features.
    threads : int, default=1
        BLAS threads of the in-memory fits.

    Returns
    -------
    list of dict
        One entry per dataset, features, estimator, setting and worker
        count: both accuracies, their difference, one binomial standard
        error of the held-out accuracy (of the in-memory fit's), both
        ``n_iter_``, both fit times and the load average after the fit; and
        the standard error of the difference itself (:func:`paired_se`).
    """
    import dask.array as da

    import sklinear
    from sklinear.dask import DaskSGD

    rows = []
    for data_name, split in datasets.items():
        y, y_test = split[1], split[3]
        sets = feature_sets(data_name, split, features, cache)
        plain = {}
        for feature_name, (train, test) in sets.items():
            for estimator in estimators:
                for setting in settings:
                    model = getattr(sklinear, estimator)(**_setting_params(setting))
                    with blas_threads(threads), quiet_convergence():
                        seconds, fitted = time_call(model.fit, train, y)
                    plain[feature_name, estimator, setting] = (
                        fitted.predict(test) == y_test,
                        int(fitted.n_iter_),
                        seconds,
                    )
        for n_workers in workers:
            cluster, client = _cluster(n_workers)
            try:
                for feature_name, (train, test) in sets.items():
                    X_dask = client.persist(
                        da.from_array(train, chunks=(-(-len(train) // 4), -1))
                    )
                    for estimator in estimators:
                        for setting in settings:
                            model = DaskSGD(
                                getattr(sklinear, estimator)(**_setting_params(setting))
                            )
                            with quiet_convergence():
                                seconds, fitted = time_call(model.fit, X_dask, y)
                            right = fitted.predict(test) == y_test
                            one_right, n_iter, one_s = plain[
                                feature_name, estimator, setting
                            ]
                            one, score = float(one_right.mean()), float(right.mean())
                            rows.append(
                                {
                                    "data": data_name,
                                    "n_train": len(y),
                                    "n_test": len(y_test),
                                    "features": feature_name,
                                    "estimator": estimator,
                                    "setting": setting,
                                    "workers": n_workers,
                                    "blocks": len(X_dask.chunks[0]),
                                    "one machine": one,
                                    "distributed": score,
                                    "difference": score - one,
                                    "standard_error": float(
                                        np.sqrt(one * (1 - one) / len(y_test))
                                    ),
                                    "paired_standard_error": paired_se(
                                        one_right, right
                                    ),
                                    "n_iter_one_machine": n_iter,
                                    "n_iter_distributed": int(
                                        fitted.estimator_.n_iter_
                                    ),
                                    "fit_s_one_machine": one_s,
                                    "fit_s_distributed": seconds,
                                    "load_average": machine_info()["load_average"],
                                }
                            )
                            print(_accuracy_line(rows[-1]), file=sys.stderr)
                    del X_dask
            finally:
                client.close()
                cluster.close()
    return rows


def search_times(split, workers, threads=1):
    """``SoftmaxSGDCV()`` in memory and through ``DaskSGD``, timed.

    Parameters
    ----------
    split : tuple
        ``X_train, y_train, X_test, y_test`` of uint8 pixels.
    workers : sequence of int
        Worker counts of the distributed searches (4 blocks each).
    threads : int, default=1
        BLAS threads of the in-memory search.

    Returns
    -------
    dict
        By run: seconds, chosen alpha, best mean CV score, held-out accuracy,
        the epochs of each candidate's longest fold.
    """
    import dask.array as da

    from sklinear import SoftmaxSGDCV
    from sklinear.dask import DaskSGD

    train, test = feature_sets("search", split, ["raw pixels"])["raw pixels"]
    y, y_test = split[1], split[3]

    def entry(seconds, search):
        return {
            "seconds": seconds,
            "alpha": search.best_params_["alpha"],
            "best_score": float(search.best_score_),
            "held_out": float(search.score(test, y_test)),
            "max_n_iter": [int(n) for n in search.cv_results_["max_n_iter"]],
            "load_average": machine_info()["load_average"],
        }

    with blas_threads(threads), quiet_convergence():
        seconds, fitted = time_call(SoftmaxSGDCV(random_state=0).fit, train, y)
    results = {f"in memory ({threads} BLAS thread(s))": entry(seconds, fitted)}
    for n_workers in workers:
        cluster, client = _cluster(n_workers)
        try:
            X_dask = client.persist(
                da.from_array(train, chunks=(-(-len(train) // 4), -1))
            )
            wrapper = DaskSGD(SoftmaxSGDCV(random_state=0))
            with quiet_convergence():
                seconds, fitted = time_call(wrapper.fit, X_dask, y)
            results[f"{n_workers} worker(s) x 4 blocks"] = entry(
                seconds, fitted.estimator_
            )
        finally:
            client.close()
            cluster.close()
    return results


def paired_se(right_a, right_b):
    """Standard error of the difference of two accuracies on the same rows.

    Parameters
    ----------
    right_a, right_b : ndarray of bool of shape (n,)
        Which held-out rows each model classifies correctly.

    Returns
    -------
    float
        ``sqrt(b + c - (b - c)**2 / n) / n`` with ``b`` and ``c`` the rows
        only one of the two gets right (McNemar's counts): the spread of the
        difference over resamplings of the held-out rows. It is much smaller
        than the standard error of either accuracy when the models agree on
        most rows.
    """
    n = len(right_a)
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    return float(np.sqrt(max(b + c - (b - c) ** 2 / n, 0.0)) / n)


def _accuracy_line(row):
    return (
        f"{row['data']}, {row['features']}, {row['estimator']}, {row['setting']}, "
        f"{row['workers']} worker(s): {row['one machine']:.4f} vs "
        f"{row['distributed']:.4f} ({row['difference']:+.4f}, "
        f"SE {row['standard_error']:.4f}, paired SE "
        f"{row['paired_standard_error']:.4f}), epochs {row['n_iter_one_machine']} / "
        f"{row['n_iter_distributed']}, load {row['load_average']}"
    )


def _generated(n_rows, n_features, rows_per_block, seed=0):
    """A lazy dask array of Gaussian classes, each block made from its seed."""
    import dask
    import dask.array as da

    centers = np.random.default_rng(seed).standard_normal((10, n_features)) * 0.05
    centers = centers.astype(np.float32)

    def labels(i, n):
        return np.random.default_rng((seed, i)).integers(0, 10, n)

    def block(i, n):
        # Drawn in float32: a float64 draw would double the block's memory on
        # workers whose limit is the point of the run.
        rng = np.random.default_rng((seed, i))
        y = rng.integers(0, 10, n)
        X = rng.standard_normal((n, n_features), dtype=np.float32)
        X += centers[y]
        return X

    sizes = [min(rows_per_block, n_rows - s) for s in range(0, n_rows, rows_per_block)]
    blocks = [
        da.from_delayed(dask.delayed(block)(i, n), (n, n_features), np.float32)
        for i, n in enumerate(sizes)
    ]
    y = np.concatenate([labels(i, n) for i, n in enumerate(sizes)])
    return da.concatenate(blocks), y, block, labels


def memory(large_gib, memory_limit, epochs):
    """Training on more data than the workers' memory, streamed block by block."""
    import psutil

    from sklinear import SoftmaxSGD
    from sklinear.dask import DaskSGD

    n_features = 3072
    n_rows = int(large_gib * 2**30 / (4 * n_features))
    X, y, block, labels = _generated(n_rows, n_features, 10_000)
    cluster, client = _cluster(2, memory_limit=memory_limit)
    peaks = {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                rss = client.run(lambda: psutil.Process().memory_info().rss)
            except Exception:  # noqa: BLE001 - a worker restarting
                rss = {}
            for worker, value in rss.items():
                peaks[worker] = max(peaks.get(worker, 0), value)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        start = time.perf_counter()
        model = DaskSGD(
            SoftmaxSGD(max_iter=epochs, tol=None, random_state=0), persist=False
        ).fit(X, y)
        seconds = time.perf_counter() - start
    finally:
        stop.set()
        sampler.join()
        client.close()
        cluster.close()
    X_test = block(10_000, 5000)
    y_test = labels(10_000, 5000)
    return {
        "data_gib": X.nbytes / 2**30,
        "rows": n_rows,
        "memory_limit": memory_limit,
        "epochs": epochs,
        "seconds": seconds,
        "peak_rss_gib": {w: p / 2**30 for w, p in peaks.items()},
        "test_accuracy": float(model.score(X_test, y_test)),
        "retries": model.n_retries_,
    }


def _seconds(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def _count(value):
    return "–" if value is None else f"{value:,.0f}"


def report(results):
    """The results as markdown.

    Parameters
    ----------
    results : dict
        What :func:`main` gathered.

    Returns
    -------
    str
        Markdown.
    """
    lines = [
        "# Distributed training (sklinear.dask)",
        "",
        machine_markdown(results["machine"], results.get("threads", 1)),
        f"- load average at end: {results['load_average_end']}",
        "- workers: LocalCluster processes, 1 thread each, "
        + ", ".join(f"{k}={v}" for k, v in WORKER_ENV.items()),
        "",
    ]
    if "epoch" in results:
        e = results["epoch"]
        runs = e["runs"]
        lines += [
            f"## Seconds per epoch, {results['epoch_source']} (mixing mode, "
            f"4 blocks persisted, medians of {e['repeats']}; "
            f"(fit of {e['epochs']} epochs - fit of 1) / {e['epochs'] - 1})",
            "",
            f"In memory at {runs['in memory']['blas_threads']} BLAS thread(s). "
            "CPU, core wait and faults are those of the processes that fit: this "
            "one in memory, the workers (summed) with dask; the client's, which "
            "also runs the scheduler, are beside them. Load averages (1, 5, 15 "
            f"min) before, and after each cluster: {e['load_average']}.",
            "",
            markdown_table(
                [
                    "run",
                    "s / epoch",
                    "x in memory",
                    "CPU s / epoch",
                    "waited for a core, s",
                    "minor faults",
                    "client CPU s",
                    "client waited, s",
                ],
                [
                    [
                        name,
                        _seconds(r["wall_s"]),
                        f"{r['x_in_memory']:.2f}",
                        _seconds(r["cpu_s"]),
                        _seconds(r["wait_s"]),
                        _count(r["minor_faults"]),
                        _seconds(r.get("client", {}).get("cpu_s")),
                        _seconds(r.get("client", {}).get("wait_s")),
                    ]
                    for name, r in runs.items()
                ],
            ),
            "",
        ]
    if "gather" in results:
        g = results["gather"]
        micro = g["micro"]
        methods = [k for k in micro["aligned"] if k != "flags.aligned"]
        lines += [
            "## The minibatch gather and the blocks' alignment",
            "",
            "Median ms per gather of 256 sorted random rows from one block "
            "(the engine's `np.take(X, rows, axis=0, out=buffer, mode='clip')`, "
            "and `X[rows]`), the block's data aligned or one byte off; load "
            f"{g['load_average']}. One aligned copy of the unaligned block takes "
            f"{micro['aligned copy of the unaligned block, ms']:.1f} ms.",
            "",
            markdown_table(
                ["block", *methods],
                [
                    [name, *(f"{micro[name][m]:.3f}" for m in methods)]
                    for name in ("aligned", "unaligned")
                ],
            ),
            "",
        ]
        for n_workers, blocks in g["blocks"].items():
            if not blocks:
                continue
            lines += [
                f"Blocks as a mixing fit places them ({n_workers} worker(s), "
                "rows shuffled between the blocks), inspected on their workers:",
                "",
                markdown_table(
                    ["block", "worker", "aligned", "address mod 64", *methods],
                    [
                        [
                            b["block"],
                            b["worker"],
                            b["aligned"],
                            b["address_mod_64"],
                            *(f"{b[m]:.3f}" for m in methods),
                        ]
                        for b in blocks
                    ],
                ),
                "",
            ]
    if "accuracy" in results:
        rows = results["accuracy"]
        for data_name in dict.fromkeys(row["data"] for row in rows):
            part = [row for row in rows if row["data"] == data_name]
            first = part[0]
            within = sum(abs(row["difference"]) <= 0.005 for row in part)
            lines += [
                f"## Held-out accuracy, {data_name} ({first['n_train']:,} training "
                f"rows, {first['n_test']:,} held out)",
                "",
                f"{results['datasets'][data_name]}",
                "",
                markdown_table(
                    [
                        "features",
                        "estimator",
                        "epochs",
                        "workers x blocks",
                        "one machine",
                        "distributed",
                        "difference",
                        "1 SE",
                        "SE of the difference",
                        "n_iter_ (one / dist.)",
                        "fit s (one / dist.)",
                    ],
                    [
                        [
                            row["features"],
                            row["estimator"],
                            row["setting"],
                            f"{row['workers']} x {row['blocks']}",
                            f"{row['one machine']:.4f}",
                            f"{row['distributed']:.4f}",
                            f"{row['difference']:+.4f}",
                            f"{row['standard_error']:.4f}",
                            f"{row['paired_standard_error']:.4f}",
                            f"{row['n_iter_one_machine']} / "
                            f"{row['n_iter_distributed']}",
                            f"{row['fit_s_one_machine']:.1f} / "
                            f"{row['fit_s_distributed']:.1f}",
                        ]
                        for row in part
                    ],
                ),
                "",
                f"Within 0.005 of one machine: {within} of {len(part)}; largest "
                f"gap {min(row['difference'] for row in part):+.4f}. Load average "
                f"after the fits: {first['load_average']} to "
                f"{part[-1]['load_average']}.",
                "",
            ]
    if "search" in results:
        lines += [
            "## The one-pass search, SoftmaxSGDCV() at its defaults",
            "",
            "Raw pixels (minus the training mean, /64) of the dev subset, "
            "rows in the file's order; 4 alphas x 5 folds trained side by side.",
            "",
            markdown_table(
                ["run", "seconds", "alpha", "best CV score", "held-out", "load"],
                [
                    [
                        name,
                        f"{e['seconds']:.1f}",
                        f"{e['alpha']:g}",
                        f"{e['best_score']:.4f}",
                        f"{e['held_out']:.4f}",
                        str(e["load_average"]),
                    ]
                    for name, e in results["search"].items()
                ],
            ),
            "",
        ]
    if "memory" in results:
        m = results["memory"]
        peaks = ", ".join(f"{v:.2f}" for v in m["peak_rss_gib"].values())
        lines += [
            "## Larger than memory",
            "",
            f"{m['data_gib']:.1f} GiB of float32 ({m['rows']} x 3072), generated "
            f"block by block on the workers; 2 workers with memory_limit="
            f"{m['memory_limit']}; {m['epochs']} epochs in {m['seconds']:.0f} s; "
            f"peak resident memory per worker {peaks} GiB; test accuracy "
            f"{m['test_accuracy']:.3f}; rounds retried {m['retries']}.",
        ]
    return "\n".join(lines)


DATA_NOTES = {
    "dev": "cifar10_dev.npz: X_train in the file's order (sorted by class), "
    "X_val held out.",
    "full": "cifar10_train.npz: the last 10,000 rows of "
    "default_rng(0).permutation(50000) held out, the other 40,000 in the file's "
    "order (sorted indices; the file is sorted by class).",
    "quick": "synthetic images, sorted by class (smoke test).",
}


def main(argv=None):
    """Run the benchmark.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    dict
        The results, also written to ``--out``.
    """
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=("epoch", "gather", "accuracy", "search", "memory"),
        default=["epoch", "gather", "accuracy", "search", "memory"],
    )
    parser.add_argument(
        "--full-data",
        metavar="PATH",
        default=None,
        help="The whole CIFAR-10 training file (cifar10_train.npz: X_train, "
        "y_train) for the accuracy section's 'full' dataset.",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=("dev", "full"),
        default=None,
        help="Datasets of the accuracy section: 'dev' (--data, its X_val held "
        "out) and 'full' (--full-data). Default: those whose file is given.",
    )
    parser.add_argument(
        "--features", nargs="+", choices=("raw", "hog"), default=["raw", "hog"]
    )
    parser.add_argument(
        "--estimators", nargs="+", choices=ESTIMATORS, default=list(ESTIMATORS)
    )
    parser.add_argument(
        "--settings",
        nargs="+",
        choices=SETTINGS,
        default=list(SETTINGS),
        help="Epochs of the accuracy fits (tol=None), or 'default'.",
    )
    parser.add_argument(
        "--accuracy-workers",
        nargs="+",
        type=int,
        default=[2],
        help="Worker counts of the accuracy section (4 blocks each).",
    )
    parser.add_argument("--epoch-workers", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--malloc-trim",
        nargs="+",
        choices=("dask", "unset"),
        default=["dask"],
        help="Epoch section: the workers' MALLOC_TRIM_THRESHOLD_, distributed's "
        "default (65536) and/or not set; one run per value.",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        default=None,
        help="Folder for the HOG + color features (computed once per dataset).",
    )
    parser.add_argument("--large-gib", type=float, default=4.0)
    parser.add_argument("--memory-limit", default="1GiB")
    parser.add_argument(
        "--epochs", type=int, default=5, help="Epochs of the memory section."
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    results = {"machine": machine_info(), "threads": args.threads}
    if "epoch" in args.sections:
        if args.quick:
            X, y = synthetic_classification(2000, 64)
            source = "synthetic 2000 x 64"
        elif args.data is None:
            X, y = synthetic_classification(50_000, 3072)
            source = "synthetic 50000 x 3072"
        else:
            X, y, source = tiled_cifar(args.data, 50_000)
        results["epoch_source"] = source
        results["epoch"] = epoch_times(
            X,
            y,
            2 if args.quick else 3,
            args.epoch_workers,
            args.repeats or (1 if args.quick else 3),
            args.threads,
            args.malloc_trim,
        )
        del X, y
    if "gather" in args.sections:
        if args.quick:
            X, y = synthetic_classification(2000, 64)
        elif args.data is None:
            X, y = synthetic_classification(50_000, 3072)
        else:
            X, y, _ = tiled_cifar(args.data, 50_000)
        rows = -(-len(X) // 4)
        results["gather"] = {
            "micro": gather_alignment(rows, X.shape[1], 5 if args.quick else 30),
            "blocks": {n: block_alignment(X, y, n) for n in args.epoch_workers},
            "load_average": machine_info()["load_average"],
        }
        del X, y
    if "accuracy" in args.sections:
        datasets = {}
        if args.quick:
            datasets["quick"] = quick_split()
        else:
            chosen = args.datasets or [
                name
                for name, path in (("dev", args.data), ("full", args.full_data))
                if path is not None
            ]
            if "dev" in chosen:
                if args.data is None:
                    parser.error("the 'dev' dataset needs --data")
                datasets["dev"] = dev_split(args.data)
            if "full" in chosen:
                if args.full_data is None:
                    parser.error("the 'full' dataset needs --full-data")
                datasets["full"] = full_split(args.full_data)
        if datasets:
            features = [
                {"raw": "raw pixels", "hog": "HOG + color"}[f] for f in args.features
            ]
            results["datasets"] = {name: DATA_NOTES[name] for name in datasets}
            results["accuracy"] = accuracy(
                datasets,
                features,
                ["SoftmaxSGD"] if args.quick else args.estimators,
                ["2"] if args.quick else args.settings,
                args.accuracy_workers,
                cache=args.cache,
                threads=args.threads,
            )
    if "search" in args.sections and (args.quick or args.data is not None):
        split = quick_split() if args.quick else dev_split(args.data)
        results["search"] = search_times(split, args.epoch_workers, args.threads)
    if "memory" in args.sections:
        gib = 0.05 if args.quick else args.large_gib
        results["memory"] = memory(
            gib, args.memory_limit, 2 if args.quick else args.epochs
        )
    results["load_average_end"] = machine_info()["load_average"]
    write_outputs(args.out, NAME, results, report(results))
    return results


if __name__ == "__main__":
    main()
