"""Shared helpers of the benchmarks: data, timing, machine facts and output.

Every benchmark is a script with a ``main(argv=None)`` that takes ``--data
PATH`` (CIFAR-10 in the official format or an ``.npz`` such as
``cifar10_dev.npz``), ``--out DIR``, ``--quick`` and ``--threads``, and
writes ``<name>.json``, ``<name>.md`` and, when matplotlib is installed,
PNG plots into ``--out``.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def base_parser(description):
    """Argument parser with the options every benchmark shares.

    Parameters
    ----------
    description : str
        The benchmark's one-line description.

    Returns
    -------
    argparse.ArgumentParser
        Parser with ``--data``, ``--out``, ``--quick``, ``--threads`` and
        ``--repeats``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="CIFAR-10: the official cifar-10-batches-py directory or archive, "
        "or an .npz with X_train, y_train, X_val/X_test, y_val/y_test. "
        "Default: bundled or synthetic data, no download.",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=str(DEFAULT_OUT),
        help=f"Output folder for JSON, markdown and PNG (default: {DEFAULT_OUT}).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Tiny sizes and few repeats: a smoke test, not a measurement.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads (threadpoolctl); 0 keeps the library default. "
        "Default 1: scikit-learn's SGD is single-threaded, and on a shared "
        "machine a second BLAS thread makes timings erratic.",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="Repeats of every timing (median reported); default per benchmark.",
    )
    return parser


def import_baseline(checkout):
    """Import the ``sklinear`` package of another checkout as ``sklinear_baseline``.

    Lets a benchmark time the code before a change beside the code after it,
    in one run and one process (e.g. ``git worktree add /tmp/base HEAD~1``).

    Parameters
    ----------
    checkout : str or Path
        Root of the other checkout (the folder holding ``sklinear/``).

    Returns
    -------
    module
        The other version of the package.
    """
    import importlib.util

    package = Path(checkout).resolve() / "sklinear"
    spec = importlib.util.spec_from_file_location(
        "sklinear_baseline",
        package / "__init__.py",
        submodule_search_locations=[str(package)],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["sklinear_baseline"] = module
    spec.loader.exec_module(module)
    return module


@contextmanager
def blas_threads(n_threads):
    """Limit BLAS and OpenMP threads to ``n_threads`` (0 or None: no limit).

    Parameters
    ----------
    n_threads : int or None
        Number of threads.

    Yields
    ------
    None
    """
    if not n_threads:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with sklearn
        yield
        return
    with threadpool_limits(limits=n_threads):
        yield


def machine_info():
    """Facts about the machine and libraries that a timing depends on.

    Returns
    -------
    dict
        CPU model, core count, memory, load average, Python and library
        versions, the BLAS libraries seen by threadpoolctl and any
        ``OPENBLAS_*`` / ``OMP_*`` / ``MKL_*`` environment variables.
    """
    import sklearn

    import sklinear

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory_gib = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal"):
                    memory_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    blas = []
    try:
        from threadpoolctl import threadpool_info

        for lib in threadpool_info():
            blas.append(
                {
                    key: lib.get(key)
                    for key in (
                        "user_api",
                        "internal_api",
                        "version",
                        "num_threads",
                        "architecture",
                        "threading_layer",
                    )
                }
                | {"library": os.path.basename(lib.get("filepath", ""))}
            )
    except ImportError:  # pragma: no cover
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "load_average": _load_average(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "sklinear": sklinear.__version__,
        "blas": blas,
        "env": {
            key: value
            for key, value in os.environ.items()
            if key.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO"))
        },
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def _load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return None


def blas_summary(info, threads):
    """One line naming the numpy BLAS, its version and the threads used.

    Parameters
    ----------
    info : dict
        Output of :func:`machine_info`.
    threads : int
        The ``--threads`` option.

    Returns
    -------
    str
        E.g. ``"openblas 0.3.31 (Haswell kernels), 1 thread"``.
    """
    libs = [lib for lib in info["blas"] if lib["user_api"] == "blas"]
    numpy_libs = [lib for lib in libs if "64_" in lib["library"]] or libs
    if not numpy_libs:
        return "BLAS unknown"
    lib = numpy_libs[0]
    used = threads if threads else lib["num_threads"]
    return (
        f"{lib['internal_api']} {lib['version']} ({lib['architecture']} kernels), "
        f"{used} thread{'s' if used != 1 else ''}"
    )


def machine_markdown(info, threads):
    """The machine facts as a short markdown list.

    Parameters
    ----------
    info : dict
        Output of :func:`machine_info`.
    threads : int
        The ``--threads`` option.

    Returns
    -------
    str
        Markdown.
    """
    return "\n".join(
        [
            f"- CPU: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB",
            f"- BLAS: {blas_summary(info, threads)}",
            f"- Python {info['python']}, numpy {info['numpy']}, scikit-learn "
            f"{info['scikit-learn']}, sklinear {info['sklinear']}",
            f"- load average at start (1, 5, 15 min): {info['load_average']}",
            f"- run at {info['time']}",
        ]
    )


def median(values):
    """Median of a non-empty sequence of floats.

    Parameters
    ----------
    values : sequence of float
        Values.

    Returns
    -------
    float
        The median.
    """
    return float(statistics.median(values))


def time_call(function, *args, **kwargs):
    """Wall time of one call, in seconds, and its result.

    Parameters
    ----------
    function : callable
        Called as ``function(*args, **kwargs)``.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    seconds : float
        Elapsed ``time.perf_counter`` time.
    result : object
        What the call returned.
    """
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def time_call_cpu(function, *args, **kwargs):
    """Wall and CPU time of one call, in seconds, and its result.

    The CPU time (``time.process_time``, all threads of this process) equals
    the wall time of a single-threaded computation that was never preempted,
    so with one BLAS thread it is the figure that other processes' load
    disturbs least.

    Parameters
    ----------
    function : callable
        Called as ``function(*args, **kwargs)``.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    wall : float
        Elapsed ``time.perf_counter`` time.
    cpu : float
        Elapsed ``time.process_time`` time.
    result : object
        What the call returned.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


@contextmanager
def quiet_convergence():
    """Silence ConvergenceWarning (benchmarks stop early on purpose).

    Yields
    ------
    None
    """
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def load_cifar(path, max_train=None):
    """CIFAR-10 training and test rows as uint8 arrays.

    Parameters
    ----------
    path : str or path-like
        Anything :func:`sklinear.datasets.load_cifar10` reads. For an
        ``.npz`` with ``X_val`` but no ``X_test``, ``X_val`` is the test set.
    max_train : int, default=None
        Keep at most this many training rows.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        ``X_*`` of shape (n, 3072), uint8, height x width x channel order;
        the training rows in a fixed random order.
    """
    from sklinear.datasets import load_cifar10

    X_train, y_train = load_cifar10(
        path, subset="train", download_if_missing=False, return_X_y=True
    )
    X_test, y_test = load_cifar10(
        path, subset="test", download_if_missing=False, return_X_y=True
    )
    # Some copies (the dev subset) are sorted by class: mix the rows once,
    # so that prefixes and unshuffled epochs see every class.
    order = np.random.default_rng(0).permutation(len(y_train))
    if max_train is not None:
        order = order[:max_train]
    return X_train[order], y_train[order], X_test, y_test


def tiled_cifar(path, n_samples):
    """CIFAR-10's training rows repeated to ``n_samples``, float32, standardized.

    Parameters
    ----------
    path : str or path-like
        As :func:`load_cifar` (e.g. the dev subset).
    n_samples : int
        Rows wanted: the training rows (in :func:`load_cifar`'s order) are
        repeated as often as needed and the last repeat is cut.

    Returns
    -------
    X : ndarray of shape (n_samples, 3072), float32
        Standardized pixels, filled in place (no float64 copy of the tiling).
    y : ndarray of shape (n_samples,)
        Labels.
    source : str
        What the data is, for the reports.
    """
    X_small, y_small, _, _ = load_cifar(path)
    reps = -(-n_samples // len(X_small))
    X = np.empty((n_samples, X_small.shape[1]), dtype=np.float32)
    for k in range(reps):
        rows = slice(k * len(X_small), min((k + 1) * len(X_small), n_samples))
        X[rows] = X_small[: rows.stop - rows.start]
    y = np.tile(y_small, reps)[:n_samples]
    standardize_inplace(X)
    rows, features = X.shape
    return X, y, f"{Path(path).name} training rows tiled {reps}x to {rows} x {features}"


def load_digits_split(random_state=0):
    """scikit-learn's bundled 8x8 digits, split 75 / 25 (stratified).

    Parameters
    ----------
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        Pixel rows of 64 values in 0..16, as float64.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state
    )
    return X_train, y_train, X_test, y_test


def synthetic_images(n, seed=0):
    """Smooth random color images with edges, CIFAR-sized, uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(n, 8, 8, 3)).astype(np.float32)
    images = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)
    images += rng.normal(0, 12, size=images.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


def synthetic_classification(n_samples, n_features, n_classes=10, *, seed=0):
    """Gaussian classes in float32, standardized-looking, built without copies.

    Class ``k`` has mean ``mu_k`` (random, norm about 2) and unit noise, so a
    linear classifier reaches a moderate accuracy, as on image pixels.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        Shape of the problem.
    seed : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
        Data.
    y : ndarray of shape (n_samples,), int64
        Labels 0..n_classes-1.
    """
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_features), dtype=np.float32)
    centers *= np.float32(2.0 / np.sqrt(n_features))
    y = rng.integers(0, n_classes, n_samples)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    chunk = 4096
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        rng.standard_normal(
            (stop - start, n_features), dtype=np.float32, out=X[start:stop]
        )
        X[start:stop] += centers[y[start:stop]]
    return X, y


def standardize_inplace(X, reference=None):
    """Subtract the column means and divide by the column stds, in place.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), float
        Data, modified.
    reference : ndarray, default=None
        Rows whose statistics are used; ``X`` itself when None.

    Returns
    -------
    X : ndarray
        The same array.
    """
    reference = X if reference is None else reference
    mean = reference.mean(axis=0, dtype=np.float64).astype(X.dtype)
    std = reference.std(axis=0, dtype=np.float64).astype(X.dtype)
    std[std == 0] = 1
    X -= mean
    X /= std
    return X


def markdown_table(headers, rows):
    """A GitHub markdown table.

    Parameters
    ----------
    headers : list of str
        Column titles.
    rows : list of list
        Cells; floats are written as given (format them beforehand).

    Returns
    -------
    str
        The table, one line per row.
    """
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join(" --- " for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def fmt(value, digits=3):
    """Format a float with ``digits`` significant digits; None as a dash.

    Parameters
    ----------
    value : float or None
        Value.
    digits : int, default=3
        Significant digits.

    Returns
    -------
    str
        Formatted value.
    """
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def write_outputs(out_dir, name, results, markdown):
    """Write ``<name>.json`` and ``<name>.md`` into ``out_dir``.

    Parameters
    ----------
    out_dir : str or path-like
        Output folder, created if needed.
    name : str
        Base name of the files.
    results : dict
        JSON-serializable results.
    markdown : str
        The report.

    Returns
    -------
    dict
        Paths written, by kind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    md_path = out_dir / f"{name}.md"
    json_path.write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
    md_path.write_text(markdown.rstrip() + "\n")
    print(markdown)
    print(f"\nWrote {json_path} and {md_path}", file=sys.stderr)
    return {"json": str(json_path), "markdown": str(md_path)}


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def pyplot():
    """matplotlib's pyplot with the Agg backend, or None if not installed.

    Returns
    -------
    module or None
        ``matplotlib.pyplot``.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt
