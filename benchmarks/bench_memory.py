"""Peak memory of fitting, and out-of-core partial_fit over a memory-mapped file.

1. **fit**: each estimator is fitted on float32 data (default 50,000 x 3,072,
   the size of CIFAR-10's training set) in a fresh subprocess. Reported: the
   data's size, the peak resident memory during ``fit`` above the resident
   memory before it (``VmHWM`` after resetting it through
   ``/proc/self/clear_refs``; ``ru_maxrss`` where that is not possible), and
   the peak of memory traced by ``tracemalloc`` (numpy's allocations), both
   as multiples of the size of ``X``. ``SGDClassifier`` is shown for
   comparison.
2. **partial_fit out of core**: a float32 file larger than the memory the
   child process may use is written to a temporary folder; the child limits
   its address space with ``resource.setrlimit(RLIMIT_AS)`` to what it had
   after its imports plus ``--budget-mb``, checks that mapping the whole file
   then fails, and trains ``SGD`` by ``partial_fit`` over ``np.memmap``
   chunks mapped one at a time. Reported: the file size, the budget and the
   peak resident memory; the file is deleted afterwards.

Default data is synthetic; with ``--data`` the fit section tiles the CIFAR-10
pixels to the requested size (the memory-mapped file stays synthetic).
Run ``python benchmarks/bench_memory.py --help`` for the options.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    base_parser,
    blas_threads,
    load_cifar,
    machine_info,
    machine_markdown,
    markdown_table,
    pyplot,
    write_outputs,
)

NAME = "bench_memory"
MIB = 2**20

FULL = {
    "n_samples": 50_000,
    "n_features": 3072,
    "memmap_samples": 50_000,
    "chunk_rows": 4096,
    "budget_mb": 256,
}
QUICK = {
    "n_samples": 2000,
    "n_features": 64,
    "memmap_samples": 4000,
    "chunk_rows": 1000,
    "budget_mb": 128,
    "fit_candidates": ["SoftmaxSGD shuffle=True"],
}

FIT_CANDIDATES = {
    "MulticlassSVMSGD shuffle=True": ("MulticlassSVMSGD", {"shuffle": True}),
    "MulticlassSVMSGD shuffle=False": ("MulticlassSVMSGD", {"shuffle": False}),
    "SoftmaxSGD shuffle=True": ("SoftmaxSGD", {"shuffle": True}),
    "SoftmaxSGD shuffle=False": ("SoftmaxSGD", {"shuffle": False}),
    "SGDClassifier hinge": ("SGDClassifier", {"loss": "hinge"}),
}


# -------------------------------------------------------------- the child


def _status(field):
    """A ``/proc/self/status`` field in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak():
    """Reset VmHWM to the current RSS; False if the kernel does not allow it.

    Free heap memory is first returned to the system (glibc ``malloc_trim``),
    so that the memory a fit needs shows up as RSS growth instead of reusing
    pages freed while the data was built.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _peak_since_reset(reset):
    """Peak resident bytes since :func:`_reset_peak` (or since start)."""
    peak = _status("VmHWM") if reset else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return peak


def _make_estimator(kind, params, max_iter):
    if kind == "SGDClassifier":
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(max_iter=max_iter, tol=None, random_state=0, **params)
    import sklinear

    return getattr(sklinear, kind)(
        max_iter=max_iter, tol=None, batch_size=256, random_state=0, **params
    )


def _data_chunk(rng, centers, rows):
    """Labels and float32 rows of the synthetic Gaussian-class problem."""
    y = rng.integers(0, len(centers), rows)
    X = rng.standard_normal((rows, centers.shape[1]), dtype=np.float32)
    X += centers[y]
    return X, y


def _centers(n_features, n_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features), dtype=np.float32)
    return centers * np.float32(2.0 / np.sqrt(n_features)), rng


def _make_data(spec):
    """The child's training data, built chunk by chunk into one array."""
    n, d = spec["n_samples"], spec["n_features"]
    X = np.empty((n, d), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    if spec.get("data"):
        X_small, y_small, _, _ = load_cifar(spec["data"])
        for start in range(0, n, len(X_small)):
            stop = min(start + len(X_small), n)
            X[start:stop] = X_small[: stop - start]
            y[start:stop] = y_small[: stop - start]
        mean = X[: len(X_small)].mean(axis=0, dtype=np.float64).astype(np.float32)
        X -= mean
        X /= np.float32(64.0)
        return X, y
    centers, rng = _centers(d)
    for start in range(0, n, 4096):
        stop = min(start + 4096, n)
        X[start:stop], y[start:stop] = _data_chunk(rng, centers, stop - start)
    return X, y


def child_fit(spec):
    """Fit one estimator and measure its peak memory (runs in a subprocess)."""
    import tracemalloc

    with blas_threads(spec["threads"]):
        X, y = _make_data(spec)
        model = _make_estimator(spec["kind"], spec["params"], spec["max_iter"])
        reset = _reset_peak()
        rss_before = _status("VmRSS")
        tracemalloc.start()
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = _peak_since_reset(reset)
    return {
        "x_bytes": X.nbytes,
        "rss_before": rss_before,
        "peak_rss": peak,
        "peak_above_before": None if rss_before is None else peak - rss_before,
        "peak_method": "VmHWM reset" if reset else "ru_maxrss",
        "tracemalloc_peak": traced_peak,
        "fit_s": seconds,
    }


def _map_rows(path, first, rows, n_features):
    """Memory-map ``rows`` float32 rows of the file, starting at row ``first``."""
    return np.memmap(
        path,
        dtype=np.float32,
        mode="r",
        offset=first * n_features * 4,
        shape=(rows, n_features),
    )


def child_memmap(spec):
    """partial_fit over memmap chunks under an address-space limit (subprocess)."""
    from sklinear import SoftmaxSGD

    n, d, chunk = spec["n_samples"], spec["n_features"], spec["chunk_rows"]
    y = np.load(spec["labels"])
    n_test = spec["n_test"]
    n_fit = n - n_test
    classes = np.unique(y)
    with blas_threads(spec["threads"]):
        # Warm up: BLAS buffers and lazily imported modules, before the limit.
        warm = SoftmaxSGD(max_iter=1, tol=None, random_state=0)
        warm.fit(np.eye(20, d, dtype=np.float32), np.arange(20) % 2)
        base = _status("VmSize")
        limit = None
        if base is not None:
            limit = base + spec["budget_mb"] * MIB
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        whole_file_refused = None
        if limit is not None:
            try:
                whole = np.memmap(
                    spec["path"], dtype=np.float32, mode="r", shape=(n, d)
                )
                float(whole[-1, -1])
                del whole
                whole_file_refused = False
            except (MemoryError, OSError, ValueError):
                whole_file_refused = True
        model = SoftmaxSGD(random_state=0, tol=None)
        reset = _reset_peak()
        rss_before = _status("VmRSS")
        start = time.perf_counter()
        for _ in range(spec["epochs"]):
            for first in range(0, n_fit, chunk):
                rows = min(chunk, n_fit - first)
                X_chunk = _map_rows(spec["path"], first, rows, d)
                model.partial_fit(X_chunk, y[first : first + rows], classes=classes)
                del X_chunk
        seconds = time.perf_counter() - start
        correct = 0
        for first in range(n_fit, n, chunk):
            rows = min(chunk, n - first)
            X_chunk = _map_rows(spec["path"], first, rows, d)
            correct += int((model.predict(X_chunk) == y[first : first + rows]).sum())
            del X_chunk
        peak = _peak_since_reset(reset)
    return {
        "address_space_limit": limit,
        "address_space_base": base,
        "whole_file_mapping_refused": whole_file_refused,
        "rss_before": rss_before,
        "peak_rss": peak,
        "peak_above_before": None if rss_before is None else peak - rss_before,
        "peak_method": "VmHWM reset" if reset else "ru_maxrss",
        "partial_fit_calls": spec["epochs"] * -(-n_fit // chunk),
        "fit_s": seconds,
        "test_accuracy": correct / max(n_test, 1),
    }


def _run_child(mode, spec):
    """Run this file in a subprocess in ``mode`` and return its JSON answer."""
    result = subprocess.run(
        [sys.executable, __file__, "--child", mode, json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"child {mode} failed ({result.returncode}):\n{result.stderr[-3000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------- the parent


def fit_memory(config, threads, data):
    """Peak memory of a fit of every candidate, each in a fresh process."""
    results = {}
    candidates = FIT_CANDIDATES
    if config.get("fit_candidates"):
        candidates = {name: FIT_CANDIDATES[name] for name in config["fit_candidates"]}
    for name, (kind, params) in candidates.items():
        spec = {
            "kind": kind,
            "params": params,
            "n_samples": config["n_samples"],
            "n_features": 3072 if data else config["n_features"],
            "max_iter": 1,
            "threads": threads,
            "data": data,
        }
        print(f"  {name} ...", file=sys.stderr)
        results[name] = _run_child("fit", spec)
    return results


def write_memmap_file(path, n_samples, n_features, seed=0):
    """Write the synthetic problem to ``path`` (float32 rows) chunk by chunk.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        The labels.
    """
    centers, rng = _centers(n_features, seed=seed)
    labels = []
    with open(path, "wb") as f:
        for start in range(0, n_samples, 4096):
            X, y = _data_chunk(rng, centers, min(4096, n_samples - start))
            f.write(X.tobytes())
            labels.append(y)
    return np.concatenate(labels)


def memmap_partial_fit(config, threads):
    """Out-of-core training over a temporary file, which is then deleted."""
    n, d = config["memmap_samples"], config["n_features"]
    if n * d * 4 < config["budget_mb"] * MIB:
        print(
            "  note: the file is smaller than the budget (a --quick run)",
            file=sys.stderr,
        )
    with tempfile.TemporaryDirectory(prefix="sklinear-bench-") as folder:
        path = os.path.join(folder, "X.f32")
        labels_path = os.path.join(folder, "y.npy")
        y = write_memmap_file(path, n, d)
        np.save(labels_path, y)
        spec = {
            "path": path,
            "labels": labels_path,
            "n_samples": n,
            "n_features": d,
            "n_test": n // 10,
            "chunk_rows": config["chunk_rows"],
            "budget_mb": config["budget_mb"],
            "epochs": 1,
            "threads": threads,
        }
        result = _run_child("memmap", spec)
        result.update(
            file_bytes=os.path.getsize(path),
            chunk_bytes=config["chunk_rows"] * d * 4,
            budget_bytes=config["budget_mb"] * MIB,
            temp_folder=folder,
        )
    return result


def report(results):
    """Markdown report."""
    config = results["config"]
    mib = lambda value: "–" if value is None else f"{value / MIB:.1f}"  # noqa: E731
    fits = results["fit"]
    any_fit = next(iter(fits.values()))
    lines = [
        "# Memory benchmark",
        "",
        machine_markdown(results["machine"], config["threads"]),
        "",
        f"## Peak memory of fit (1 epoch), float32 X of {any_fit['x_bytes'] / MIB:.0f}"
        f" MiB ({results['fit_data']})",
        "",
        "Peak RSS above the RSS before `fit` (X already in memory), and peak of "
        "the memory traced by tracemalloc during `fit`, each also over the size "
        "of X.",
        "",
        markdown_table(
            [
                "estimator",
                "peak RSS above before (MiB)",
                "/ X size",
                "tracemalloc peak (MiB)",
                "/ X size",
                "fit (s)",
            ],
            [
                [
                    name,
                    mib(entry["peak_above_before"]),
                    "–"
                    if entry["peak_above_before"] is None
                    else f"{entry['peak_above_before'] / entry['x_bytes']:.3f}",
                    mib(entry["tracemalloc_peak"]),
                    f"{entry['tracemalloc_peak'] / entry['x_bytes']:.3f}",
                    f"{entry['fit_s']:.2f}",
                ]
                for name, entry in fits.items()
            ],
        ),
    ]
    mm = results["memmap"]
    lines += [
        "",
        "## partial_fit over np.memmap chunks (SoftmaxSGD, synthetic file)",
        "",
        markdown_table(
            ["quantity", "value"],
            [
                ["file size (MiB)", mib(mm["file_bytes"])],
                ["chunk (MiB)", mib(mm["chunk_bytes"])],
                [
                    "address-space budget above the process's own (MiB)",
                    mib(mm["budget_bytes"]),
                ],
                ["mapping the whole file refused", mm["whole_file_mapping_refused"]],
                ["partial_fit calls", mm["partial_fit_calls"]],
                ["peak RSS above before (MiB)", mib(mm["peak_above_before"])],
                [
                    "peak RSS above before / file size",
                    "–"
                    if mm["peak_above_before"] is None
                    else f"{mm['peak_above_before'] / mm['file_bytes']:.3f}",
                ],
                ["time (s)", f"{mm['fit_s']:.2f}"],
                ["held-out accuracy", f"{mm['test_accuracy']:.3f}"],
            ],
        ),
    ]
    return "\n".join(lines)


def plot(results, out_dir):
    """Bar chart of the peak memory over the size of X."""
    plt = pyplot()
    if plt is None:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = list(results["fit"])
    ratios = [
        (entry["peak_above_before"] or 0) / entry["x_bytes"]
        for entry in results["fit"].values()
    ]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(names, ratios)
    ax.axvline(1.0, color="gray", linestyle="--", label="size of X")
    ax.set_xlabel("peak RSS during fit above RSS before, / size of X")
    ax.legend()
    fig.tight_layout()
    path = out_dir / f"{NAME}_fit.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [str(path)]


def main(argv=None):
    """Run the memory benchmark.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    dict
        The results, also written to ``--out``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:
        mode, spec = argv[1], json.loads(argv[2])
        answer = child_fit(spec) if mode == "fit" else child_memmap(spec)
        print(json.dumps(answer))
        return answer
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--budget-mb",
        type=int,
        default=None,
        help="Address space the partial_fit child may add to its own after "
        f"imports (default {FULL['budget_mb']} MiB).",
    )
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.budget_mb:
        config["budget_mb"] = args.budget_mb
    config["threads"] = args.threads
    results = {"machine": machine_info(), "config": config, "data": args.data}
    results["fit_data"] = (
        f"{Path(args.data).name} tiled" if args.data else "synthetic Gaussian classes"
    )
    print("peak memory of fit ...", file=sys.stderr)
    results["fit"] = fit_memory(config, args.threads, args.data)
    print("partial_fit over a memory-mapped file ...", file=sys.stderr)
    results["memmap"] = memmap_partial_fit(config, args.threads)
    results["plots"] = plot(results, args.out)
    write_outputs(args.out, NAME, results, report(results))
    return results


if __name__ == "__main__":
    main()
