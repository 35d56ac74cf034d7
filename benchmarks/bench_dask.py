"""Distributed training with sklinear.dask against the in-memory fit.

Three sections, each on ``distributed.LocalCluster`` workers that are
separate processes with one thread each (BLAS limited to one thread too):

- ``epoch``: wall time per epoch of ``DaskSGD(SoftmaxSGD())`` in mixing mode
  with 1 and 2 workers (the data persisted on them, 4 blocks), against the
  plain in-memory fit, on 50,000 x 3,072 float32 (``--data`` tiled and
  standardized, synthetic without it). This machine has 2 cores: 2 workers
  cannot beat one process by more than 2x, and the client and scheduler
  share the cores.
- ``accuracy``: on the CIFAR-10 file given with ``--data`` (raw pixels
  standardized, and HOG + color histogram standardized), the test accuracy
  of 2 workers x 4 blocks against the single-machine fit, for the same
  epochs.
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
    load_cifar,
    machine_info,
    machine_markdown,
    markdown_table,
    standardize_inplace,
    synthetic_classification,
    tiled_cifar,
    write_outputs,
)

NAME = "bench_dask"
DISTRIBUTED = "2 workers x 4 blocks"


def _cluster(n_workers, memory_limit="auto"):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=None,
        silence_logs=50,
        env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
    )
    return cluster, Client(cluster)


def epoch_times(X, y, epochs, workers):
    """Per-epoch wall time: in memory, then with 1 and 2 workers."""
    import dask.array as da

    from sklinear import SoftmaxSGD
    from sklinear.dask import DaskSGD

    def per_epoch(fit):
        one = fit(1)
        many = fit(epochs)
        return (many - one) / (epochs - 1)

    def plain(max_iter):
        start = time.perf_counter()
        SoftmaxSGD(max_iter=max_iter, tol=None, random_state=0).fit(X, y)
        return time.perf_counter() - start

    results = {"in memory": {"epoch_s": per_epoch(plain)}}
    for n_workers in workers:
        cluster, client = _cluster(n_workers)
        try:
            X_dask = client.persist(da.from_array(X, chunks=(-(-len(X) // 4), -1)))

            def distributed_fit(max_iter, X_dask=X_dask):
                start = time.perf_counter()
                DaskSGD(SoftmaxSGD(max_iter=max_iter, tol=None, random_state=0)).fit(
                    X_dask, y
                )
                return time.perf_counter() - start

            results[f"{n_workers} worker(s)"] = {"epoch_s": per_epoch(distributed_fit)}
        finally:
            client.close()
            cluster.close()
    base = results["in memory"]["epoch_s"]
    for entry in results.values():
        entry["x_in_memory"] = entry["epoch_s"] / base
    return results


def accuracy(path, epochs):
    """2 workers x 4 blocks against one machine, raw pixels and HOG + color."""
    import dask.array as da
    from sklearn.pipeline import make_union
    from sklearn.preprocessing import StandardScaler

    from sklinear import MulticlassSVMSGD, SoftmaxSGD
    from sklinear.dask import DaskSGD
    from sklinear.features import HOG, ColorHistogram

    X, y, X_test, y_test = load_cifar(path)
    union = make_union(
        HOG(image_shape=(32, 32, 3)), ColorHistogram(image_shape=(32, 32, 3))
    )
    F, F_test = union.fit_transform(X), union.transform(X_test)
    pixels = X.astype(np.float32), X_test.astype(np.float32)
    standardize_inplace(pixels[1], reference=pixels[0])
    standardize_inplace(pixels[0])
    scaler = StandardScaler().fit(F)
    features = (
        scaler.transform(F).astype(np.float32),
        scaler.transform(F_test).astype(np.float32),
    )
    results = {}
    cluster, client = _cluster(2)
    try:
        for data_name, (train, test) in (
            ("raw pixels", pixels),
            ("HOG + color", features),
        ):
            for Estimator in (SoftmaxSGD, MulticlassSVMSGD):
                params = {"max_iter": epochs, "tol": None, "random_state": 0}
                plain = Estimator(**params).fit(train, y)
                chunks = (-(-len(train) // 4), -1)
                model = DaskSGD(Estimator(**params)).fit(
                    da.from_array(train, chunks=chunks), y
                )
                results[f"{data_name}, {Estimator.__name__}"] = {
                    "one machine": plain.score(test, y_test),
                    DISTRIBUTED: model.score(test, y_test),
                }
    finally:
        client.close()
        cluster.close()
    return results


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


def report(results):
    """Markdown."""
    lines = [
        "# Distributed training (sklinear.dask)",
        "",
        machine_markdown(results["machine"], 1),
        f"- load average at end: {results['load_average_end']}",
        "",
    ]
    if "epoch" in results:
        lines += [
            f"## Seconds per epoch, {results['epoch_source']} (mixing mode, "
            "4 blocks, workers of one thread)",
            "",
            markdown_table(
                ["run", "s / epoch", "x in memory"],
                [
                    [name, f"{e['epoch_s']:.3f}", f"{e['x_in_memory']:.2f}"]
                    for name, e in results["epoch"].items()
                ],
            ),
            "",
        ]
    if "accuracy" in results:
        lines += [
            f"## Test accuracy, {results['accuracy_epochs']} epochs",
            "",
            markdown_table(
                ["data, model", "one machine", "2 workers x 4 blocks"],
                [
                    [
                        name,
                        f"{e['one machine']:.3f}",
                        f"{e['2 workers x 4 blocks']:.3f}",
                    ]
                    for name, e in results["accuracy"].items()
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
        choices=("epoch", "accuracy", "memory"),
        default=["epoch", "accuracy", "memory"],
    )
    parser.add_argument("--large-gib", type=float, default=4.0)
    parser.add_argument("--memory-limit", default="1GiB")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    results = {"machine": machine_info()}
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
        results["epoch"] = epoch_times(X, y, 3, (1, 2))
        del X, y
    if "accuracy" in args.sections and args.data is not None and not args.quick:
        results["accuracy_epochs"] = 10
        results["accuracy"] = accuracy(args.data, 10)
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
