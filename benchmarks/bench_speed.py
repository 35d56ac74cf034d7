"""Speed of MulticlassSVMSGD and SoftmaxSGD against scikit-learn's linear models.

Sections, all measured in one run so that ratios compare like with like:

1. **Acceptance figure**: per-epoch fit time on CIFAR-10-sized data (50,000 x
   3,072 float32, synthetic, or ``--data`` tiled to that size) with
   ``batch_size=256``, with ``shuffle=True`` and ``shuffle=False``, against
   ``SGDClassifier(loss="hinge")`` and ``(loss="log_loss")`` for the same
   epochs, and against the matrix-product floor: ``X_b @ W`` plus
   ``X_b.T @ G`` over the contiguous batches ``X[i:i + 256]`` of one epoch.
   The per-epoch time is ``(time(fit k epochs) - time(fit 1 epoch)) / (k -
   1)`` with ``tol=None``, which excludes the fixed costs of a fit (input
   validation, scikit-learn's float64 copy, the temperature fit); the time of
   a one-epoch fit is reported too.
2. **Scaling** of the per-epoch time with ``n_samples`` (1k to 50k) and with
   ``n_features``.
3. **float32 against float64** per-epoch time.
4. **Time to a target test accuracy** for every estimator, including
   ``LogisticRegression(solver="lbfgs")`` and
   ``LinearSVC(multi_class="crammer_singer")``: the fit time of the smallest
   iteration budget (epochs, or solver iterations) from 1, 2, 3, 5, 8, ... that
   reaches the target, on digits or on ``--data``.

Every timing is the median of ``--repeats`` runs, interleaved across the
candidates so that a change of machine load hits them all alike.

Run ``python benchmarks/bench_speed.py --help`` for the options.
"""

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    base_parser,
    blas_summary,
    blas_threads,
    fmt,
    import_baseline,
    load_cifar,
    load_digits_split,
    machine_info,
    machine_markdown,
    markdown_table,
    median,
    pyplot,
    quiet_convergence,
    standardize_inplace,
    synthetic_classification,
    tiled_cifar,
    time_call,
    time_call_cpu,
    write_outputs,
)

NAME = "bench_speed"
BATCH_SIZE = 256
BUDGETS = (1, 2, 3, 5, 8, 13, 20, 30, 50, 100, 200)
SECTIONS = ("acceptance", "scaling", "dtypes", "target")
TOLERANCES = (1.0, 0.3, 0.1, 0.03, 0.01, 1e-3, 1e-4)

FULL = {
    "n_samples": 50_000,
    "n_features": 3072,
    "epochs": 3,
    "repeats": 3,
    "scaling_n": (1000, 5000, 10_000, 50_000),
    "scaling_d": (64, 256, 1024, 3072),
    "scaling_d_rows": 10_000,
    "target_time_cap": 60.0,
}
QUICK = {
    "n_samples": 600,
    "n_features": 64,
    "epochs": 2,
    "repeats": 1,
    "scaling_n": (300, 600),
    "scaling_d": (32, 64),
    "scaling_d_rows": 300,
    "target_time_cap": 0.3,
}


# ------------------------------------------------------------- candidates


def sklinear_factory(name, shuffle=True, package=None, **params):
    """Callable ``max_iter -> estimator`` for one of sklinear's estimators.

    Parameters
    ----------
    name : {"MulticlassSVMSGD", "SoftmaxSGD"}
        Estimator.
    shuffle : bool, default=True
        Its ``shuffle`` parameter.
    package : module, default=None
        The ``sklinear`` package to take it from (another checkout's, see
        ``--baseline``); default the installed one.
    **params
        Further parameters; those the class does not have (an older
        checkout's) are left out.

    Returns
    -------
    callable
        Builds the estimator with ``tol=None`` and ``batch_size=256``.
    """
    if package is None:
        import sklinear as package

    cls = getattr(package, name)
    known = cls().get_params()
    params = {key: value for key, value in params.items() if key in known}

    def make(max_iter):
        return cls(
            max_iter=max_iter,
            tol=None,
            batch_size=BATCH_SIZE,
            shuffle=shuffle,
            random_state=0,
            **params,
        )

    return make


def sgd_classifier_factory(loss):
    """Callable ``max_iter -> SGDClassifier(loss=loss, tol=None)``.

    Parameters
    ----------
    loss : str
        ``"hinge"`` or ``"log_loss"``.

    Returns
    -------
    callable
        The factory.
    """
    from sklearn.linear_model import SGDClassifier

    def make(max_iter):
        return SGDClassifier(loss=loss, max_iter=max_iter, tol=None, random_state=0)

    return make


def matmul_floor(X, n_classes, batch_size=BATCH_SIZE, gather=False, seed=0):
    """Time of the bare matrix products of one epoch.

    ``S = X_b @ W`` and ``G = X_b.T @ S`` for every batch ``X_b``: the
    contiguous slices ``X[i:i + batch_size]``, or with ``gather=True`` rows
    drawn at random (sorted within a batch) and copied into a buffer, which is
    what a shuffled epoch has to do.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data.
    n_classes : int
        Columns of ``W``.
    batch_size : int, default=256
        Rows per batch.
    gather : bool, default=False
        Gather random rows instead of slicing.
    seed : int, default=0
        Seed of ``W`` and of the permutation.

    Returns
    -------
    float
        Seconds.
    """
    rng = np.random.default_rng(seed)
    n_samples, n_features = X.shape
    W = rng.standard_normal((n_features, n_classes)).astype(X.dtype)
    G = np.empty((n_features, n_classes), dtype=X.dtype)
    buffer = np.empty((batch_size, n_features), dtype=X.dtype)
    order = rng.permutation(n_samples) if gather else None
    start_time = time.perf_counter()
    for start in range(0, n_samples, batch_size):
        if gather:
            rows = np.sort(order[start : start + batch_size])
            # mode="clip": the default "raise" copies through a temporary.
            X_batch = np.take(X, rows, axis=0, out=buffer[: len(rows)], mode="clip")
        else:
            X_batch = X[start : start + batch_size]
        S = X_batch @ W
        np.dot(X_batch.T, S, out=G)
    return time.perf_counter() - start_time


def per_epoch_times(candidates, X, y, epochs, repeats):
    """Median per-epoch wall and CPU time of every candidate, interleaved.

    Parameters
    ----------
    candidates : dict
        Name -> ``max_iter -> estimator`` factory, or name -> ``("floor",
        callable)`` for a function of no argument timing one epoch itself.
    X, y : ndarray
        Training data.
    epochs : int
        ``k`` in ``(time(k epochs) - time(1 epoch)) / (k - 1)``.
    repeats : int
        Repeats; the median is reported.

    Returns
    -------
    dict
        Per candidate: ``epoch_s`` and ``epoch_cpu_s`` (median per-epoch wall
        and CPU seconds), ``fit1_s`` and ``fit1_cpu_s`` (median time of a
        one-epoch fit), ``epoch_runs_s`` and ``epoch_cpu_runs_s`` (each
        repeat).
    """
    keys = ("epoch", "epoch_cpu", "fit1", "fit1_cpu")
    runs = {name: {key: [] for key in keys} for name in candidates}
    for _ in range(repeats):
        for name, candidate in candidates.items():
            run = runs[name]
            if isinstance(candidate, tuple):
                wall, cpu, _ = time_call_cpu(candidate[1])
                for key, value in zip(keys, (wall, cpu, wall, cpu), strict=True):
                    run[key].append(value)
                continue
            one_wall, one_cpu, _ = time_call_cpu(candidate(1).fit, X, y)
            k_wall, k_cpu, _ = time_call_cpu(candidate(epochs).fit, X, y)
            run["epoch"].append((k_wall - one_wall) / (epochs - 1))
            run["epoch_cpu"].append((k_cpu - one_cpu) / (epochs - 1))
            run["fit1"].append(one_wall)
            run["fit1_cpu"].append(one_cpu)
    return {
        name: {
            "epoch_s": median(run["epoch"]),
            "epoch_cpu_s": median(run["epoch_cpu"]),
            "fit1_s": median(run["fit1"]),
            "fit1_cpu_s": median(run["fit1_cpu"]),
            "epoch_runs_s": [round(value, 5) for value in run["epoch"]],
            "epoch_cpu_runs_s": [round(value, 5) for value in run["epoch_cpu"]],
        }
        for name, run in runs.items()
    }


# --------------------------------------------------------------- sections


def acceptance_data(path, n_samples, n_features):
    """CIFAR-10-sized float32 data: ``--data`` tiled to ``n_samples``, or synthetic.

    Parameters
    ----------
    path : str or None
        ``--data``.
    n_samples, n_features : int
        Shape wanted (``n_features`` is 3072 with real data).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
        Standardized data.
    y : ndarray of shape (n_samples,)
        Labels.
    source : str
        Where the data came from.
    """
    if path is None:
        X, y = synthetic_classification(n_samples, n_features)
        return X, y, f"synthetic Gaussian classes, {n_samples} x {n_features}"
    return tiled_cifar(path, n_samples)


def acceptance(X, y, epochs, repeats, baseline=None, params=None):
    """Per-epoch times on the big data set: sklinear, SGDClassifier and floors.

    With ``baseline`` (another checkout's package), its estimators are timed
    too, interleaved with ours, and each of ours gets ``x_baseline``: its
    per-epoch time over the baseline's. ``params`` are passed to every
    sklinear estimator.
    """
    params = params or {}
    n_classes = len(np.unique(y))
    candidates = {
        "matmul floor (contiguous)": ("floor", lambda: matmul_floor(X, n_classes)),
        "matmul floor + row gather": (
            "floor",
            lambda: matmul_floor(X, n_classes, gather=True),
        ),
    }
    for shuffle in (True, False):
        for name in ("MulticlassSVMSGD", "SoftmaxSGD"):
            candidates[f"{name} shuffle={shuffle}"] = sklinear_factory(
                name, shuffle, **params
            )
            if baseline is not None:
                candidates[f"baseline {name} shuffle={shuffle}"] = sklinear_factory(
                    name, shuffle, package=baseline, **params
                )
    for loss in ("hinge", "log_loss"):
        candidates[f"SGDClassifier {loss}"] = sgd_classifier_factory(loss)
    times = per_epoch_times(candidates, X, y, epochs, repeats)
    for clock in ("", "_cpu"):
        key = f"epoch{clock}_s"
        floor = times["matmul floor (contiguous)"][key]
        gather = times["matmul floor + row gather"][key]
        hinge = times["SGDClassifier hinge"][key]
        log_loss = times["SGDClassifier log_loss"][key]
        for entry in times.values():
            entry[f"x_floor{clock}"] = entry[key] / floor
            entry[f"x_gather_floor{clock}"] = entry[key] / gather
            entry[f"speedup_vs_sgd_hinge{clock}"] = hinge / entry[key]
            entry[f"speedup_vs_sgd_log_loss{clock}"] = log_loss / entry[key]
        for name, entry in times.items():
            reference = times.get(f"baseline {name}")
            if reference is not None:
                entry[f"x_baseline{clock}"] = entry[key] / reference[key]
    return times


def scaling(X, y, config, repeats):
    """Per-epoch time against n_samples (all columns) and n_features."""
    candidates = {
        "MulticlassSVMSGD": sklinear_factory("MulticlassSVMSGD"),
        "SoftmaxSGD": sklinear_factory("SoftmaxSGD"),
        "SGDClassifier hinge": sgd_classifier_factory("hinge"),
    }
    by_n = {}
    for n in config["scaling_n"]:
        if n > len(X):
            continue
        chosen = dict(candidates)
        if n == len(X) and n > 10_000:
            # The acceptance section already timed SGDClassifier at this size.
            chosen.pop("SGDClassifier hinge")
        epochs = max(config["epochs"], min(20, 30_000 // n))
        by_n[n] = per_epoch_times(chosen, X[:n], y[:n], epochs, repeats)
    by_d = {}
    rows = min(config["scaling_d_rows"], len(X))
    for d in config["scaling_d"]:
        if d > X.shape[1]:
            continue
        X_d = np.ascontiguousarray(X[:rows, :d])
        epochs = max(config["epochs"], min(20, 30_000 // rows))
        by_d[d] = per_epoch_times(candidates, X_d, y[:rows], epochs, repeats)
    return {"n_samples": by_n, "n_features": by_d, "n_features_rows": rows}


def dtypes(X, y, epochs, repeats):
    """Per-epoch time of float32 against float64 data (shuffle=True)."""
    X64 = X.astype(np.float64)
    results = {}
    for name in ("MulticlassSVMSGD", "SoftmaxSGD"):
        make = sklinear_factory(name)
        runs = {"float32": [], "float64": [], "float32_cpu": [], "float64_cpu": []}
        for _ in range(repeats):
            for label, data in (("float32", X), ("float64", X64)):
                times = per_epoch_times({label: make}, data, y, epochs, 1)[label]
                runs[label].append(times["epoch_s"])
                runs[f"{label}_cpu"].append(times["epoch_cpu_s"])
        results[name] = {label: median(values) for label, values in runs.items()}
        for clock in ("", "_cpu"):
            results[name][f"float64_over_float32{clock}"] = (
                results[name][f"float64{clock}"] / results[name][f"float32{clock}"]
            )
    del X64
    return results


def target_data(path):
    """Standardized train / test data for the time-to-accuracy section."""
    if path is None:
        X_train, y_train, X_test, y_test = load_digits_split()
        return X_train, y_train, X_test, y_test, "digits (8x8, 64 pixels)"
    X_train, y_train, X_test, y_test = load_cifar(path)
    X_train = X_train.astype(np.float32)
    X_test = X_test.astype(np.float32)
    standardize_inplace(X_test, X_train)
    standardize_inplace(X_train)
    return X_train, y_train, X_test, y_test, f"{Path(path).name} raw pixels"


def target_candidates(n_features):
    """Name -> ``(budget -> estimator, budgets, budget kind)`` for time-to-accuracy.

    liblinear's Crammer–Singer solver ignores ``max_iter`` (it has its own
    fixed cap), so its budget is the stopping tolerance ``tol`` instead.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    epochs = (BUDGETS, "epochs")
    candidates = {
        "MulticlassSVMSGD": (sklinear_factory("MulticlassSVMSGD"), *epochs),
        "SoftmaxSGD": (sklinear_factory("SoftmaxSGD"), *epochs),
    }
    if n_features > 500:
        # Raw CIFAR-10 pixels: Adam's default step (0.01) is too large there.
        for name in ("MulticlassSVMSGD", "SoftmaxSGD"):
            candidates[f"{name} lr=1e-3"] = (
                sklinear_factory(name, learning_rate_init=1e-3),
                *epochs,
            )
    return candidates | {
        "SGDClassifier hinge": (sgd_classifier_factory("hinge"), *epochs),
        "SGDClassifier log_loss": (sgd_classifier_factory("log_loss"), *epochs),
        "LogisticRegression lbfgs": (
            lambda budget: LogisticRegression(max_iter=budget, tol=1e-8),
            BUDGETS,
            "iterations",
        ),
        "LinearSVC crammer_singer": (
            lambda budget: LinearSVC(
                multi_class="crammer_singer", tol=budget, random_state=0
            ),
            TOLERANCES,
            "tol",
        ),
    }


def _fit_and_score(make, budget, data):
    """Fit time and test accuracy of ``make(budget)`` on ``data``."""
    X_train, y_train, X_test, y_test = data
    seconds, model = time_call(make(budget).fit, X_train, y_train)
    return seconds, float(model.score(X_test, y_test))


def _fit_and_score_with_timeout(make, budget, data, timeout):
    """:func:`_fit_and_score` in a forked process; None after ``timeout`` s.

    liblinear's Crammer–Singer solver cannot be stopped by ``max_iter``, and
    one fit on CIFAR-sized data can take many minutes.
    """
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork (Windows): no timeout
        return _fit_and_score(make, budget, data)
    receiver, sender = context.Pipe(duplex=False)

    def target():
        sender.send(_fit_and_score(make, budget, data))

    process = context.Process(target=target, daemon=True)
    process.start()
    answer = receiver.recv() if receiver.poll(timeout) else None
    process.join(1.0)
    if process.is_alive():
        process.terminate()
        process.join()
    return answer


def time_to_target(data, target, repeats, time_cap):
    """Smallest budget reaching ``target`` test accuracy, and its median fit time.

    Each candidate may spend about ``time_cap`` seconds in total; a fit of
    liblinear's Crammer–Singer solver is stopped after the time left.
    """
    results = {}
    n_features = data[0].shape[1]
    for name, (make, budgets, kind) in target_candidates(n_features).items():
        spent, reached, history, timed_out = 0.0, None, [], False

        def fit(budget, make=make, kind=kind, spent_so_far=0.0):
            if kind != "tol":
                return _fit_and_score(make, budget, data)
            left = max(time_cap - spent_so_far, 1.0)
            return _fit_and_score_with_timeout(make, budget, data, left)

        for budget in budgets:
            answer = fit(budget, spent_so_far=spent)
            if answer is None:
                timed_out = True
                break
            seconds, accuracy = answer
            history.append({"budget": budget, "fit_s": seconds, "accuracy": accuracy})
            spent += seconds
            if accuracy >= target:
                reached = budget
                break
            if spent > time_cap:
                break
        entry = {
            "history": history,
            "budget": reached,
            "budget_kind": kind,
            "timed_out": timed_out,
            "time_cap_s": time_cap,
        }
        if reached is not None:
            seconds = [history[-1]["fit_s"]]
            for _ in range(repeats - 1):
                answer = fit(reached)
                if answer is not None:
                    seconds.append(answer[0])
            entry["fit_s"] = median(seconds)
            entry["accuracy"] = history[-1]["accuracy"]
        else:
            entry["fit_s"] = None
            entry["accuracy"] = max(
                (step["accuracy"] for step in history), default=float("nan")
            )
        results[name] = entry
    return results


# ---------------------------------------------------------------- reports


def report(results):
    """Markdown report of all sections."""
    config = results["config"]
    lines = [
        "# Speed benchmark",
        "",
        machine_markdown(results["machine"], config["threads"]),
        f"- load average at end: {results['load_average_end']}",
        "",
    ]
    if "acceptance" in results:
        lines += _acceptance_report(results)
    if "scaling" in results:
        lines += _scaling_report(results)
    if "dtypes" in results:
        lines += _dtypes_report(results)
    if "target" in results:
        lines += _target_report(results)
    return "\n".join(lines)


def _acceptance_report(results):
    config = results["config"]
    lines = [
        "",
        f"## Per-epoch fit time, {results['acceptance_source']}, float32, "
        f"batch_size={BATCH_SIZE}",
        "",
        f"Per epoch = (fit {config['epochs']} epochs - fit 1 epoch) / "
        f"{config['epochs'] - 1}, tol=None; median of {config['repeats']} "
        "interleaved repeats, in wall-clock seconds and in CPU seconds of the "
        "process (`time.process_time`; with one BLAS thread the CPU time is "
        "the wall time without the other processes' interference). "
        "x floor: per-epoch time over the bare matrix products `X_b @ W` and "
        "`X_b.T @ G` of one epoch on the contiguous batches `X[i:i+256]`; "
        "x gather floor: the same with random rows gathered into the batch, "
        "which is the floor of a shuffled epoch. Speed-up: SGDClassifier's "
        "per-epoch time over this row's. Fit 1 epoch: the whole fit with "
        "max_iter=1, fixed costs included.",
        "",
    ]
    baseline = "baseline" in results
    if baseline:
        lines[-1:-1] = [
            f"Rows named `baseline ...` are the checkout `{results['baseline']}` "
            "timed in the same run; x baseline (CPU): our per-epoch CPU time "
            "over the baseline's.",
            "",
        ]
    rows = []
    for name, entry in results["acceptance"].items():
        floor = name.startswith("matmul")
        rows.append(
            [
                name,
                f"{entry['epoch_s']:.3f}",
                f"{entry['epoch_cpu_s']:.3f}",
                f"{entry['x_floor']:.2f}",
                f"{entry['x_floor_cpu']:.2f}",
                f"{entry['x_gather_floor_cpu']:.2f}",
                "–" if floor else f"{entry['speedup_vs_sgd_hinge']:.1f}",
                "–" if floor else f"{entry['speedup_vs_sgd_hinge_cpu']:.1f}",
                "–" if floor else f"{entry['speedup_vs_sgd_log_loss_cpu']:.1f}",
                "–" if floor else f"{entry['fit1_s']:.2f}",
            ]
            + [f"{entry.get('x_baseline_cpu', float('nan')):.3f}"] * baseline
        )
    lines.append(
        markdown_table(
            [
                "estimator",
                "s / epoch",
                "CPU s / epoch",
                "x floor",
                "x floor (CPU)",
                "x gather floor (CPU)",
                "speed-up vs SGD hinge",
                "speed-up vs SGD hinge (CPU)",
                "speed-up vs SGD log_loss (CPU)",
                "fit 1 epoch (s)",
            ]
            + ["x baseline (CPU)"] * baseline,
            rows,
        )
    )
    return lines


def _clock(results):
    if results["config"]["threads"] == 1:
        return "_cpu", "CPU seconds"
    return "", "Seconds"


def _scaling_report(results):
    clock, clock_name = _clock(results)
    lines = []
    scaling_results = results["scaling"]
    for key, title in (
        ("n_samples", "n_samples (all features)"),
        (
            "n_features",
            f"n_features ({scaling_results['n_features_rows']} samples)",
        ),
    ):
        lines += ["", f"## {clock_name} per epoch against {title}", ""]
        sizes = list(scaling_results[key])
        names = sorted({name for size in sizes for name in scaling_results[key][size]})
        table = []
        for size in sizes:
            row = [size]
            for name in names:
                entry = scaling_results[key][size].get(name)
                if entry is None and name == "SGDClassifier hinge":
                    entry = results["acceptance"].get(name)
                row.append(fmt(entry[f"epoch{clock}_s"]) if entry else "–")
            table.append(row)
        lines.append(markdown_table([key, *names], table))
    return lines


def _dtypes_report(results):
    clock, clock_name = _clock(results)
    lines = [
        "",
        f"## float32 against float64 ({clock_name.lower()} per epoch, shuffle=True)",
        "",
    ]
    lines.append(
        markdown_table(
            ["estimator", "float32", "float64", "float64 / float32"],
            [
                [
                    name,
                    fmt(entry[f"float32{clock}"]),
                    fmt(entry[f"float64{clock}"]),
                    f"{entry[f'float64_over_float32{clock}']:.2f}",
                ]
                for name, entry in results["dtypes"].items()
            ],
        )
    )
    return lines


def _target_report(results):
    config = results["config"]
    target = results["target"]
    lines = [
        "",
        f"## Time to {target['accuracy']:.2f} test accuracy, {target['source']}",
        "",
        "Smallest budget among " + ", ".join(map(str, BUDGETS)) + " (epochs, or "
        "lbfgs iterations; for liblinear's Crammer–Singer solver, which ignores "
        "max_iter, the largest tol among "
        + ", ".join(map(str, TOLERANCES))
        + ") reaching the target; fit time is the median of "
        f"{config['repeats']} fits at that budget.",
        "",
    ]
    rows = []
    for name, entry in target["results"].items():
        rows.append(
            [
                name,
                (
                    f"not reached in {entry['time_cap_s']:.0f} s"
                    + (" (a fit was stopped)" if entry.get("timed_out") else "")
                )
                if entry["budget"] is None
                else f"{entry['budget']} {entry['budget_kind']}",
                fmt(entry["fit_s"]),
                fmt(entry["accuracy"]),
            ]
        )
    lines.append(
        markdown_table(["estimator", "budget", "fit time (s)", "accuracy"], rows)
    )
    return lines


def plot(results, out_dir):
    """PNG of the scaling curves; returns the paths written."""
    plt = pyplot()
    if plt is None:
        return []
    scaling_results = results["scaling"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("n_samples", "n_features"), strict=True):
        sizes = list(scaling_results[key])
        names = sorted({name for size in sizes for name in scaling_results[key][size]})
        for name in names:
            points = [
                (size, scaling_results[key][size][name]["epoch_cpu_s"])
                for size in sizes
                if name in scaling_results[key][size]
            ]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(key)
        ax.set_ylabel("CPU seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle(f"Per-epoch time, {blas_summary(results['machine'], 1)}")
    fig.tight_layout()
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    path = Path(out_dir) / f"{NAME}_scaling.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [str(path)]


def main(argv=None):
    """Run the speed benchmark.

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
        "--target",
        type=float,
        default=None,
        help="Test accuracy of the time-to-accuracy section (default 0.95 on "
        "digits, 0.35 on CIFAR-10 raw pixels).",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="Sections to run (default: all).",
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        default=None,
        help="Another checkout of sklinear (e.g. a git worktree of the commit "
        "before a change): the acceptance section times its estimators too, "
        "in the same run, and reports our time over theirs.",
    )
    parser.add_argument(
        "--params",
        metavar="JSON",
        default="{}",
        help="Parameters of every sklinear estimator of the acceptance section, "
        'as JSON (e.g. \'{"learning_rate_init": 0.01, "average": false}\' for '
        "the rate and averaging of version 0.1); default: the defaults.",
    )
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.repeats:
        config["repeats"] = args.repeats
    config["threads"] = args.threads
    repeats = config["repeats"]
    sections = set(args.sections)
    with blas_threads(args.threads), quiet_convergence():
        results = {"machine": machine_info(), "config": config, "data": args.data}
        if sections & {"acceptance", "scaling", "dtypes"}:
            X, y, source = acceptance_data(
                args.data, config["n_samples"], config["n_features"]
            )
            results["acceptance_source"] = source
        if "acceptance" in sections:
            print(f"acceptance figure on {source} ...", file=sys.stderr)
            baseline = None
            if args.baseline:
                baseline = import_baseline(args.baseline)
                results["baseline"] = str(Path(args.baseline).resolve())
            params = json.loads(args.params)
            results["acceptance_params"] = params
            results["acceptance"] = acceptance(
                X, y, config["epochs"], repeats, baseline, params
            )
        if "scaling" in sections:
            print("scaling ...", file=sys.stderr)
            results["scaling"] = scaling(X, y, config, repeats)
        if "dtypes" in sections:
            print("float32 / float64 ...", file=sys.stderr)
            results["dtypes"] = dtypes(X, y, config["epochs"], repeats)
        X = y = None
        if "target" in sections:
            *data, target_source = target_data(args.data)
            if args.quick:
                data[0], data[1] = data[0][:400], data[1][:400]
            target = args.target
            if target is None:
                target = 0.95 if args.data is None else 0.35
            if args.quick:
                target = min(target, 0.9)
            print(f"time to {target} accuracy on {target_source} ...", file=sys.stderr)
            results["target"] = {
                "accuracy": target,
                "source": target_source,
                "results": time_to_target(
                    data, target, repeats, config["target_time_cap"]
                ),
            }
        results["load_average_end"] = machine_info()["load_average"]
    results["plots"] = plot(results, args.out) if "scaling" in results else []
    write_outputs(args.out, NAME, results, report(results))
    return results


if __name__ == "__main__":
    main()
