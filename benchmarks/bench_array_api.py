"""The classifiers on NumPy, PyTorch and CuPy arrays, beside LogisticRegression.

With ``sklearn.set_config(array_api_dispatch=True)`` sklinear's estimators
train in the namespace and on the device of their input. For each backend
(NumPy without dispatch; PyTorch on the CPU; with ``--device cuda`` or
``mps`` PyTorch on that device, and CuPy on CUDA; array-api-strict on
request) this measures, on the same data:

1. **Plain fit**: seconds per epoch of ``SoftmaxSGD`` and
   ``MulticlassSVMSGD`` (defaults, ``tol=None``): ``(time(fit k epochs) -
   time(fit 1 epoch)) / (k - 1)``, which leaves out the fixed costs of a fit;
   the held-out accuracy of the ``k``-epoch fit and how many of its held-out
   predictions equal the NumPy fit's; beside them the backend's
   matrix-product floor, the bare products ``X_b @ W`` and ``X_b.T @ S`` of
   one epoch over contiguous batches (what the library's own matrix product
   costs, apart from sklinear).
2. **One-pass search**: the time of ``SoftmaxSGDCV`` over 16 values of
   ``alpha`` with 3-fold cross-validation (48 models trained together, a
   fixed number of epochs, ``tol=None``; the refit of the best included),
   its pick, its cross-validated and held-out accuracy.
3. **LogisticRegression** (``solver="lbfgs"``, the solver of scikit-learn
   1.9 that supports the array API) under the same dispatch on the same
   device, with ``C = 1 / (alpha n_samples)`` (the objective of
   ``SoftmaxSGD``'s default ``alpha``) and a fixed ``max_iter`` (``tol`` so
   small that it runs them): fit time, iterations, seconds per iteration,
   held-out accuracy.

Data: 50,000 x 3,072 float32 by default: synthetic Gaussian classes, or
``--data`` (CIFAR-10 standardized pixels). A file with a test split
(``cifar10_dev.npz``: ``X_val``) is scored on it; one without
(``cifar10_train.npz``) is split as ``python -m sklinear`` does: the last
10,000 of a fixed permutation are held out, the others train (40,000 for the
full training set). Training rows are never repeated, so that the folds of
the search do not share rows; ``--n-samples`` caps them.

On a GPU the clock is read after a device synchronisation
(``torch.cuda.synchronize()``, ``torch.mps.synchronize()``, CuPy's
``deviceSynchronize``), and every backend fits a small problem once,
untimed, before the timings (CUDA context, kernels). All candidates are
timed in turn within each of ``--repeats`` rounds; medians are reported,
with wall-clock and process CPU seconds. ``--threads`` limits the BLAS
(threadpoolctl) and PyTorch's CPU threads (``torch.set_num_threads``).

scikit-learn enables dispatch only when scipy's array API support is on
(``SCIPY_ARRAY_API=1`` before scipy is imported): run as a script, this sets
it; a process that imported scipy without it runs the NumPy backend only
and says why. A backend whose library is missing (or whose device is) is
skipped with a message; one that fails is reported with its error.

Run ``python benchmarks/bench_array_api.py --help`` for the options.
"""

import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
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
    median,
    quiet_convergence,
    standardize_inplace,
    synthetic_classification,
    write_outputs,
)

NAME = "bench_array_api"
LIBRARIES = ("numpy", "torch", "cupy", "array-api-strict")
DEFAULT_LIBRARIES = ("numpy", "torch", "cupy")
DEVICES = ("cpu", "cuda", "mps")
ESTIMATORS = ("SoftmaxSGD", "MulticlassSVMSGD")
N_CANDIDATES = 16
FOLDS = 3
ALPHAS = tuple(float(alpha) for alpha in np.logspace(-6, 1.5, N_CANDIDATES))
ALPHA = 1e-4  # SoftmaxSGD's default, for LogisticRegression's C
N_HELD_OUT = 10_000  # held out of a file without a test split, as the demo

FULL = {
    "n_samples": 50_000,
    "n_features": 3072,
    "n_test": 10_000,
    "epochs": 3,
    "repeats": 3,
    "cv_epochs": 5,
    "lr_max_iter": 100,
}
QUICK = {
    "n_samples": 600,
    "n_features": 64,
    "n_test": 200,
    "epochs": 2,
    "repeats": 1,
    "cv_epochs": 2,
    "lr_max_iter": 5,
}


# ---------------------------------------------------------------- backends


@dataclass
class Backend:
    """One array library on one device, and how to feed and time it.

    Parameters
    ----------
    name : str
        Label in the reports, e.g. ``"torch cpu"``.
    library : str
        One of ``LIBRARIES``.
    device : str
        Device of its arrays.
    asarray : callable
        NumPy array -> array of the library on the device.
    sync : callable
        Waits until the device has finished its queued work.
    dispatch : bool
        Whether scikit-learn's array API dispatch is on for it.
    """

    name: str
    library: str
    device: str
    asarray: Callable
    sync: Callable = field(default=lambda: None)
    dispatch: bool = True


def _numpy_backend():
    return Backend("numpy", "numpy", "cpu", np.asarray, dispatch=False)


def _torch_backends(device, threads):
    """PyTorch on the CPU, and on ``device`` if it is not the CPU."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    backends, skipped = [], {}
    for dev in ("cpu", device) if device != "cpu" else ("cpu",):
        name = f"torch {dev}"
        if dev == "cuda" and not torch.cuda.is_available():
            skipped[name] = "torch.cuda.is_available() is False"
            continue
        if dev == "mps" and not torch.backends.mps.is_available():
            skipped[name] = "torch.backends.mps.is_available() is False"
            continue
        sync = {
            "cuda": torch.cuda.synchronize,
            "mps": lambda: torch.mps.synchronize(),
        }.get(dev, lambda: None)
        backends.append(
            Backend(
                name,
                "torch",
                dev,
                lambda a, dev=dev: torch.asarray(a, device=dev),
                sync,
            )
        )
    return backends, skipped


def _cupy_backend():
    import cupy

    return Backend(
        "cupy cuda",
        "cupy",
        "cuda",
        cupy.asarray,
        cupy.cuda.runtime.deviceSynchronize,
    )


def _strict_backend():
    import array_api_strict

    return Backend(
        "array-api-strict", "array-api-strict", "cpu", array_api_strict.asarray
    )


def make_backends(libraries, device, threads):
    """The backends to time, and the reason each skipped one is skipped.

    Parameters
    ----------
    libraries : list of str
        ``--backends``.
    device : {"cpu", "cuda", "mps"}
        ``--device``.
    threads : int
        ``--threads`` (PyTorch's CPU threads too, when not 0).

    Returns
    -------
    backends : list of Backend
        NumPy first when asked for: the other backends are compared to it.
    skipped : dict
        Backend name -> why it was not run.
    """
    backends, skipped = [], {}
    dispatch_ok = os.environ.get("SCIPY_ARRAY_API") == "1"
    for library in libraries:
        if library == "numpy":
            backends.insert(0, _numpy_backend())
            continue
        if not dispatch_ok:
            skipped[library] = (
                "array API dispatch needs SCIPY_ARRAY_API=1 set before scipy is "
                "imported (run the script directly, or set it in the environment)"
            )
            continue
        if library == "cupy" and device != "cuda":
            skipped["cupy"] = "CuPy runs on CUDA: pass --device cuda"
            continue
        try:
            if library == "torch":
                found, why = _torch_backends(device, threads)
                backends += found
                skipped.update(why)
            elif library == "cupy":
                backends.append(_cupy_backend())
            else:
                backends.append(_strict_backend())
        except ImportError as error:
            skipped[library] = f"not installed ({error})"
    return backends, skipped


def to_numpy(array):
    """A NumPy copy of an array of any of the backends.

    Parameters
    ----------
    array : array
        NumPy, PyTorch (any device), CuPy or array-api-strict array.

    Returns
    -------
    ndarray
        The values on the host.
    """
    if isinstance(array, np.ndarray | np.generic | int | float):
        return np.asarray(array)
    module = type(array).__module__
    if module.startswith("cupy"):
        return array.get()
    if module.startswith("torch"):
        return array.detach().cpu().numpy()
    return np.from_dlpack(array)


def _describe(array):
    """``"torch cuda:0"``: the library and device of a fitted array."""
    module = type(array).__module__.split(".")[0]
    device = getattr(array, "device", "cpu")
    return f"{module} {device}"


def _dispatch(backend):
    import sklearn

    return sklearn.config_context(array_api_dispatch=backend.dispatch)


def timed(backend, function):
    """Wall and CPU seconds of ``function()``, the device synchronised around it.

    Parameters
    ----------
    backend : Backend
        Whose device to wait for before starting and before stopping the clock.
    function : callable
        Called with no argument.

    Returns
    -------
    wall, cpu : float
        ``time.perf_counter`` and ``time.process_time`` seconds.
    result : object
        What the call returned.
    """
    backend.sync()
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    backend.sync()
    return time.perf_counter() - wall, time.process_time() - cpu, result


# -------------------------------------------------------------------- data


def load_data(path, n_samples, n_features, n_test):
    """Standardized float32 training and held-out rows, on the host.

    Parameters
    ----------
    path : str or None
        ``--data``; synthetic Gaussian classes when None.
    n_samples : int
        Training rows at most (all of a real file's when it has fewer).
    n_features : int
        Columns of the synthetic data (3,072 with CIFAR-10).
    n_test : int
        Held-out rows of the synthetic data.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        float32 rows and int64 labels.
    source : str
        What the data is, for the reports.
    """
    if path is None:
        X, y = synthetic_classification(n_samples + n_test, n_features)
        source = (
            f"synthetic Gaussian classes, {n_samples:,} x {n_features:,} training "
            f"rows, {n_test:,} held out"
        )
        return X[:n_samples], y[:n_samples], X[n_samples:], y[n_samples:], source
    try:
        X_train, y_train, X_test, y_test = load_cifar(path)
        split = "its test split"
    except ValueError:  # no test split in the file: hold some rows out
        from sklinear.datasets import load_cifar10

        X, y = load_cifar10(
            path, subset="train", download_if_missing=False, return_X_y=True
        )
        held_out = min(N_HELD_OUT, len(y) // 5)
        order = np.random.default_rng(0).permutation(len(y))
        X_train, y_train = X[order[:-held_out]], y[order[:-held_out]]
        X_test, y_test = X[order[-held_out:]], y[order[-held_out:]]
        split = "the last of a fixed permutation of its training rows"
    X_train, y_train = X_train[:n_samples], y_train[:n_samples]
    X_train = X_train.astype(np.float32)
    X_test = X_test.astype(np.float32)
    standardize_inplace(X_test, reference=X_train)
    standardize_inplace(X_train)
    source = (
        f"{Path(path).name}: {len(y_train):,} x {X_train.shape[1]:,} training "
        f"rows (standardized pixels), {len(y_test):,} held out ({split})"
    )
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64), source


# ---------------------------------------------------------------- measures


def _plain(name, max_iter, batch_size):
    import sklinear

    return getattr(sklinear, name)(
        max_iter=max_iter, tol=None, batch_size=batch_size, random_state=0
    )


def _search(max_iter, batch_size):
    from sklinear import SoftmaxSGDCV

    return SoftmaxSGDCV(
        alphas=ALPHAS,
        cv=FOLDS,
        max_iter=max_iter,
        tol=None,
        batch_size=batch_size,
        random_state=0,
    )


def _logistic(n_samples, max_iter):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        solver="lbfgs", C=1 / (ALPHA * n_samples), max_iter=max_iter, tol=1e-12
    )


def _error(error):
    return f"{type(error).__name__}: {error}".splitlines()[0][:200]


def warm_up(backends, data, batch_size):
    """Fit each estimator once on a few rows, untimed; return failures.

    Parameters
    ----------
    backends : list of Backend
        With their data already converted.
    data : dict
        Backend name -> ``(X_train, y_train, X_test, y_test)`` in its library.
    batch_size : int or "auto"
        Of the plain fits.

    Returns
    -------
    dict
        Backend name -> error message, for the backends that failed.
    """
    failed = {}
    for backend in backends:
        X, y = data[backend.name][:2]
        rows = min(X.shape[0], 500)
        try:
            with _dispatch(backend):
                for name in ESTIMATORS:
                    _plain(name, 1, batch_size).fit(X[:rows, ...], y[:rows])
                _logistic(rows, 2).fit(X[:rows, ...], y[:rows])
            backend.sync()
        except Exception as error:  # noqa: BLE001 - reported, not raised
            failed[backend.name] = _error(error)
            traceback.print_exc()
    return failed


def matmul_floors(backends, data, repeats, batch_size, n_classes):
    """Time of the bare matrix products of one epoch, in each backend.

    ``S = X_b @ W`` and ``X_b.T @ S`` over the contiguous batches
    ``X[i:i + batch_size]``: what any minibatch epoch must compute, in the
    backend's own matrix product (its BLAS, or its GPU kernels).

    Parameters
    ----------
    backends : list of Backend
        Backends.
    data : dict
        Backend name -> its ``(X_train, y_train, X_test, y_test)``.
    repeats : int
        Rounds; medians are reported.
    batch_size : int or "auto"
        Rows per batch (256 for "auto", the estimators' choice).
    n_classes : int
        Columns of ``W``.

    Returns
    -------
    dict
        Backend -> ``epoch_s``, ``epoch_cpu_s`` and ``x_numpy``.
    """
    rows = 256 if batch_size == "auto" else batch_size
    runs = {backend.name: ([], []) for backend in backends}
    for _ in range(repeats):
        for backend in backends:
            X = data[backend.name][0]
            n_samples, n_features = X.shape
            W = np.random.default_rng(0).standard_normal((n_features, n_classes))
            W = backend.asarray(W.astype(np.float32))

            def epoch(X=X, W=W, n_samples=n_samples):
                for start in range(0, n_samples, rows):
                    X_batch = X[start : min(start + rows, n_samples), ...]
                    S = X_batch @ W
                    X_batch.T @ S

            epoch()  # first use of the kernels, untimed
            wall, cpu, _ = timed(backend, epoch)
            runs[backend.name][0].append(wall)
            runs[backend.name][1].append(cpu)
    results = {
        name: {"epoch_s": median(walls), "epoch_cpu_s": median(cpus)}
        for name, (walls, cpus) in runs.items()
    }
    return _ratios(results, "epoch_s", backends)


def plain_fits(backends, data, epochs, repeats, batch_size):
    """Per-epoch time and held-out accuracy of the plain fits, interleaved.

    Parameters
    ----------
    backends : list of Backend
        Backends, NumPy first if present.
    data : dict
        Backend name -> its ``(X_train, y_train, X_test, y_test)``.
    epochs : int
        ``k`` of the per-epoch formula.
    repeats : int
        Rounds; medians are reported.
    batch_size : int or "auto"
        Minibatch size.

    Returns
    -------
    dict
        Estimator -> backend -> ``epoch_s``, ``epoch_cpu_s``, ``fit1_s``,
        ``epoch_runs_s``, ``accuracy``, ``agreement_with_numpy``,
        ``coef_in``, or ``error``.
    """
    results = {name: {} for name in ESTIMATORS}
    runs = {
        (name, backend.name): {"epoch": [], "epoch_cpu": [], "fit1": []}
        for name in ESTIMATORS
        for backend in backends
    }
    models = {}
    for round_ in range(repeats):
        for name in ESTIMATORS:
            for backend in backends:
                if "error" in results[name].get(backend.name, {}):
                    continue
                print(
                    f"  {name} on {backend.name}, round {round_ + 1} ...",
                    file=sys.stderr,
                    flush=True,
                )
                X, y = data[backend.name][:2]
                run = runs[name, backend.name]
                try:
                    with _dispatch(backend):
                        one, one_cpu, _ = timed(
                            backend,
                            lambda name=name, X=X, y=y: _plain(name, 1, batch_size).fit(
                                X, y
                            ),
                        )
                        k, k_cpu, model = timed(
                            backend,
                            lambda name=name, X=X, y=y: _plain(
                                name, epochs, batch_size
                            ).fit(X, y),
                        )
                except Exception as error:  # noqa: BLE001 - reported
                    results[name][backend.name] = {"error": _error(error)}
                    traceback.print_exc()
                    continue
                run["epoch"].append((k - one) / (epochs - 1))
                run["epoch_cpu"].append((k_cpu - one_cpu) / (epochs - 1))
                run["fit1"].append(one)
                models[name, backend.name] = model
    for name in ESTIMATORS:
        reference = None
        for backend in backends:
            if "error" in results[name].get(backend.name, {}):
                continue
            run = runs[name, backend.name]
            model = models[name, backend.name]
            X_test, y_test = data[backend.name][2:]
            with _dispatch(backend):
                accuracy = float(model.score(X_test, y_test))
                predicted = to_numpy(model.predict(X_test))
            if reference is None and backend.library == "numpy":
                reference = predicted
            results[name][backend.name] = {
                "epoch_s": median(run["epoch"]),
                "epoch_cpu_s": median(run["epoch_cpu"]),
                "fit1_s": median(run["fit1"]),
                "epoch_runs_s": [round(value, 5) for value in run["epoch"]],
                "accuracy": accuracy,
                "agreement_with_numpy": None
                if reference is None
                else float(np.mean(predicted == reference)),
                "coef_in": _describe(model.coef_),
            }
        results[name] = _ratios(results[name], "epoch_s", backends)
    return results


def _ratios(entries, key, backends):
    """The entries in the order of ``backends``, each with ``x_numpy``.

    ``x_numpy``: the entry's ``key`` over NumPy's (None without NumPy).
    """
    base = entries.get("numpy", {}).get(key)
    for entry in entries.values():
        if key in entry:
            entry["x_numpy"] = entry[key] / base if base else None
    return {backend.name: entries[backend.name] for backend in backends}


def _interleaved_fits(backends, data, repeats, label, fit):
    """``fit(X, y)`` on every backend's training data, in interleaved rounds.

    Returns
    -------
    results : dict
        Backend name -> ``{"error": ...}`` for a backend that failed.
    times : dict
        Backend name -> (wall seconds, CPU seconds) of each round.
    fitted : dict
        Backend name -> the last fitted model.
    """
    results = {}
    times = {backend.name: ([], []) for backend in backends}
    fitted = {}
    for round_ in range(repeats):
        for backend in backends:
            if "error" in results.get(backend.name, {}):
                continue
            print(
                f"  {label} on {backend.name}, round {round_ + 1} ...",
                file=sys.stderr,
                flush=True,
            )
            X, y = data[backend.name][:2]
            try:
                with _dispatch(backend):
                    wall, cpu, fitted[backend.name] = timed(
                        backend, lambda X=X, y=y: fit(X, y)
                    )
            except Exception as error:  # noqa: BLE001 - reported
                results[backend.name] = {"error": _error(error)}
                traceback.print_exc()
                continue
            times[backend.name][0].append(wall)
            times[backend.name][1].append(cpu)
    return results, times, fitted


def searches(backends, data, cv_epochs, repeats, batch_size):
    """Time and results of the one-pass 16-candidate x 3-fold search.

    Parameters
    ----------
    backends : list of Backend
        Backends.
    data : dict
        Backend name -> its ``(X_train, y_train, X_test, y_test)``.
    cv_epochs : int
        ``max_iter`` of every candidate (``tol=None``).
    repeats : int
        Rounds; medians are reported.
    batch_size : int or "auto"
        Minibatch size.

    Returns
    -------
    dict
        Backend -> ``seconds``, ``cpu_seconds``, ``all_seconds``,
        ``best_alpha``, ``best_score``, ``accuracy``, ``x_numpy``, or
        ``error``.
    """
    results, times, fitted = _interleaved_fits(
        backends,
        data,
        repeats,
        "SoftmaxSGDCV",
        lambda X, y: _search(cv_epochs, batch_size).fit(X, y),
    )
    for backend in backends:
        if backend.name in results:
            continue
        search = fitted[backend.name]
        X_test, y_test = data[backend.name][2:]
        with _dispatch(backend):
            accuracy = float(search.score(X_test, y_test))
        walls, cpus = times[backend.name]
        results[backend.name] = {
            "seconds": median(walls),
            "cpu_seconds": median(cpus),
            "all_seconds": [round(value, 3) for value in walls],
            "best_alpha": float(search.best_params_["alpha"]),
            "best_score": float(search.best_score_),
            "accuracy": accuracy,
        }
    return _ratios(results, "seconds", backends)


def logistic(backends, data, max_iter, repeats):
    """LogisticRegression(lbfgs) under the same dispatch: time and accuracy.

    Parameters
    ----------
    backends : list of Backend
        Backends.
    data : dict
        Backend name -> its ``(X_train, y_train, X_test, y_test)``.
    max_iter : int
        L-BFGS iterations (``tol`` is tiny, so it runs them all).
    repeats : int
        Rounds; medians are reported.

    Returns
    -------
    dict
        Backend -> ``seconds``, ``cpu_seconds``, ``n_iter``,
        ``s_per_iter``, ``accuracy``, ``coef_in``, ``x_numpy``, or ``error``.
    """
    results, times, fitted = _interleaved_fits(
        backends,
        data,
        repeats,
        "LogisticRegression",
        lambda X, y: _logistic(X.shape[0], max_iter).fit(X, y),
    )
    for backend in backends:
        if backend.name in results:
            continue
        model = fitted[backend.name]
        X_test, y_test = data[backend.name][2:]
        with _dispatch(backend):
            accuracy = float(model.score(X_test, y_test))
        walls, cpus = times[backend.name]
        n_iter = int(np.max(to_numpy(model.n_iter_)))
        results[backend.name] = {
            "seconds": median(walls),
            "cpu_seconds": median(cpus),
            "all_seconds": [round(value, 3) for value in walls],
            "n_iter": n_iter,
            "s_per_iter": median(walls) / max(n_iter, 1),
            "accuracy": accuracy,
            "coef_in": _describe(model.coef_),
        }
    return _ratios(results, "seconds", backends)


# ------------------------------------------------------------------ report


def library_versions(backends):
    """Versions of the array libraries used, and the devices' names."""
    import sklearn

    versions = {}
    try:
        from sklearn.externals import array_api_compat

        versions["array-api-compat (vendored by scikit-learn)"] = (
            array_api_compat.__version__
        )
    except ImportError:  # pragma: no cover - vendored since scikit-learn 1.6
        pass
    versions["scikit-learn"] = sklearn.__version__
    versions["scipy"] = __import__("scipy").__version__
    libraries = {backend.library for backend in backends}
    if "torch" in libraries:
        import torch

        versions["torch"] = torch.__version__
        versions["torch CPU threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            versions["CUDA device"] = torch.cuda.get_device_name()
            versions["CUDA (torch)"] = torch.version.cuda
    if "cupy" in libraries:
        import cupy

        versions["cupy"] = cupy.__version__
        properties = cupy.cuda.runtime.getDeviceProperties(0)
        versions["CuPy device"] = properties["name"].decode()
    if "array-api-strict" in libraries:
        import array_api_strict

        versions["array-api-strict"] = array_api_strict.__version__
    return versions


def _cell(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def _ratio(entry):
    ratio = entry.get("x_numpy")
    return "–" if ratio is None else f"{ratio:.2f}"


def report(results):
    """Markdown report.

    Parameters
    ----------
    results : dict
        What :func:`main` collected.

    Returns
    -------
    str
        Markdown.
    """
    config = results["config"]
    lines = [
        "# sklinear on array API backends",
        "",
        machine_markdown(results["machine"], config["threads"]),
        f"- load average at end: {results['load_average_end']}",
        f"- device: {config['device']}; SCIPY_ARRAY_API="
        f"{results['scipy_array_api']}; NumPy runs without dispatch, the "
        "others with `array_api_dispatch=True`",
    ]
    lines += [f"- {name}: {value}" for name, value in results["versions"].items()]
    lines += [f"- skipped {name}: {why}" for name, why in results["skipped"].items()]
    lines += [
        f"- warm-up failed on {name}: {why}"
        for name, why in results["warm_up_errors"].items()
    ]
    lines += ["", f"Data: {results['source']}.", ""]
    lines += [
        "## Plain fit: seconds per epoch",
        "",
        f"Per epoch = (fit {config['epochs']} epochs - fit 1 epoch) / "
        f"{config['epochs'] - 1}, defaults (batch_size={config['batch_size']}), "
        f"tol=None; median of {config['repeats']} rounds; x NumPy: wall time "
        "over NumPy's (the same row of NumPy). Matmul floor: the bare products "
        "`X_b @ W` and `X_b.T @ S` of one epoch over contiguous batches, in the "
        "backend's own matrix product; x floor: the row's time over its "
        "backend's floor. Accuracy: held-out, of the "
        f"{config['epochs']}-epoch fit; = NumPy: the fraction of its held-out "
        "predictions equal to the NumPy fit's.",
        "",
    ]
    rows = [
        [
            "matmul floor",
            backend,
            f"{entry['epoch_s']:.3f}",
            f"{entry['epoch_cpu_s']:.3f}",
            _ratio(entry),
            "1.00",
        ]
        + ["–"] * 4
        for backend, entry in results["floor"].items()
    ]
    for name, entries in results["plain"].items():
        for backend, entry in entries.items():
            if "error" in entry:
                rows.append([name, backend, "failed: " + entry["error"]] + ["–"] * 7)
                continue
            agreement = entry["agreement_with_numpy"]
            rows.append(
                [
                    name,
                    backend,
                    f"{entry['epoch_s']:.3f}",
                    f"{entry['epoch_cpu_s']:.3f}",
                    _ratio(entry),
                    f"{entry['x_floor']:.2f}",
                    f"{entry['fit1_s']:.2f}",
                    f"{entry['accuracy']:.3f}",
                    _cell(agreement),
                    entry["coef_in"],
                ]
            )
    lines.append(
        markdown_table(
            [
                "estimator",
                "backend",
                "s / epoch",
                "CPU s / epoch",
                "x NumPy",
                "x floor",
                "fit 1 epoch (s)",
                "accuracy",
                "= NumPy",
                "coef_ in",
            ],
            rows,
        )
    )
    lines += [
        "",
        f"## One-pass search: SoftmaxSGDCV, {N_CANDIDATES} alphas x {FOLDS} folds",
        "",
        f"alphas: {N_CANDIDATES} values from {ALPHAS[0]:g} to {ALPHAS[-1]:g} "
        f"(log-spaced), cv={FOLDS}, max_iter={config['cv_epochs']}, tol=None; "
        "the time includes the refit of the best candidate on all rows; median "
        f"of {config['repeats']} rounds.",
        "",
    ]
    rows = []
    for backend, entry in results["search"].items():
        if "error" in entry:
            rows.append([backend, "failed: " + entry["error"]] + ["–"] * 5)
            continue
        rows.append(
            [
                backend,
                f"{entry['seconds']:.1f}",
                f"{entry['cpu_seconds']:.1f}",
                _ratio(entry),
                f"{entry['best_alpha']:.2g}",
                f"{entry['best_score']:.3f}",
                f"{entry['accuracy']:.3f}",
            ]
        )
    lines.append(
        markdown_table(
            [
                "backend",
                "seconds",
                "CPU seconds",
                "x NumPy",
                "best alpha",
                "CV accuracy",
                "held-out accuracy",
            ],
            rows,
        )
    )
    lines += [
        "",
        "## LogisticRegression(solver='lbfgs') under the same dispatch",
        "",
        f"C = 1 / (alpha n_samples) with alpha = {ALPHA:g} (SoftmaxSGD's "
        f"default objective), max_iter={config['lr_max_iter']}, tol=1e-12; "
        f"median of {config['repeats']} rounds.",
        "",
    ]
    rows = []
    for backend, entry in results["logistic"].items():
        if "error" in entry:
            rows.append([backend, "failed: " + entry["error"]] + ["–"] * 5)
            continue
        rows.append(
            [
                backend,
                f"{entry['seconds']:.1f}",
                str(entry["n_iter"]),
                f"{entry['s_per_iter']:.3f}",
                _ratio(entry),
                f"{entry['accuracy']:.3f}",
                entry["coef_in"],
            ]
        )
    lines.append(
        markdown_table(
            [
                "backend",
                "fit (s)",
                "iterations",
                "s / iteration",
                "x NumPy",
                "accuracy",
                "coef_ in",
            ],
            rows,
        )
    )
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
        "--backends",
        nargs="+",
        choices=LIBRARIES,
        default=list(DEFAULT_LIBRARIES),
        help="Array libraries to time (default: numpy torch cupy; each missing "
        "one is skipped with a message). PyTorch runs on the CPU and, with "
        "--device cuda or mps, on that device too; CuPy only with --device cuda.",
    )
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="cpu",
        help="Accelerator for PyTorch (and CuPy with cuda); default cpu.",
    )
    parser.add_argument(
        "--n-samples",
        type=int,
        default=None,
        help="Training rows at most (default 50,000; a file's rows are never "
        "repeated, so a smaller file gives fewer).",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="k of the per-epoch time (fit k epochs - fit 1) / (k - 1); default 3.",
    )
    parser.add_argument(
        "--cv-epochs",
        type=int,
        default=None,
        help="max_iter of the one-pass search (tol=None); default 5.",
    )
    parser.add_argument(
        "--lr-max-iter",
        type=int,
        default=None,
        help="max_iter of LogisticRegression (lbfgs); default 100.",
    )
    parser.add_argument(
        "--batch-size",
        default="auto",
        help="batch_size of sklinear's estimators; default 'auto' (256).",
    )
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    for key in ("n_samples", "epochs", "cv_epochs", "lr_max_iter", "repeats"):
        if getattr(args, key):
            config[key] = getattr(args, key)
    if config["epochs"] < 2:
        parser.error("--epochs must be at least 2")
    batch_size = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    config.update(threads=args.threads, device=args.device, batch_size=batch_size)
    warnings.simplefilter("ignore", FutureWarning)
    with blas_threads(args.threads), quiet_convergence():
        results = {
            "machine": machine_info(),
            "config": config,
            "data": args.data,
            "scipy_array_api": os.environ.get("SCIPY_ARRAY_API"),
        }
        backends, skipped = make_backends(args.backends, args.device, args.threads)
        for name, why in skipped.items():
            print(f"skipping {name}: {why}", file=sys.stderr)
        results["skipped"] = skipped
        results["versions"] = library_versions(backends)
        X_train, y_train, X_test, y_test, source = load_data(
            args.data, config["n_samples"], config["n_features"], config["n_test"]
        )
        results["source"] = source
        results["train_shape"] = list(X_train.shape)
        print(f"data: {source}", file=sys.stderr)
        data = {}
        for backend in list(backends):
            try:
                data[backend.name] = tuple(
                    backend.asarray(array)
                    for array in (X_train, y_train, X_test, y_test)
                )
            except Exception as error:  # noqa: BLE001 - e.g. out of device memory
                skipped[backend.name] = f"could not take the data: {_error(error)}"
                backends.remove(backend)
        results["backends"] = [backend.name for backend in backends]
        results["warm_up_errors"] = warm_up(backends, data, batch_size)
        print("matrix-product floors ...", file=sys.stderr)
        results["floor"] = matmul_floors(
            backends,
            data,
            config["repeats"],
            batch_size,
            len(np.unique(y_train)),
        )
        print("plain fits ...", file=sys.stderr)
        results["plain"] = plain_fits(
            backends, data, config["epochs"], config["repeats"], batch_size
        )
        for entries in results["plain"].values():
            for name, entry in entries.items():
                if "epoch_s" in entry:
                    entry["x_floor"] = (
                        entry["epoch_s"] / results["floor"][name]["epoch_s"]
                    )
        print("one-pass search ...", file=sys.stderr)
        results["search"] = searches(
            backends, data, config["cv_epochs"], config["repeats"], batch_size
        )
        print("LogisticRegression ...", file=sys.stderr)
        results["logistic"] = logistic(
            backends, data, config["lr_max_iter"], config["repeats"]
        )
        results["load_average_end"] = machine_info()["load_average"]
    write_outputs(args.out, NAME, results, report(results))
    return results


if __name__ == "__main__":
    # scikit-learn enables array API dispatch only if scipy's own support was
    # switched on before scipy was imported (nothing has imported it yet).
    os.environ.setdefault("SCIPY_ARRAY_API", "1")
    main()
