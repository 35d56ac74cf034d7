"""Linear probes: softmax on embedding-shaped data, per epoch and as a C sweep.

A linear probe is a softmax trained on fixed embeddings (512 to 2,048
features) with 10 to 1,000 classes, its regularization swept over a grid
(the CLIP paper swept ``LogisticRegression``'s C). Two sections, on
generated data (class centers in random directions plus Gaussian noise,
every row scaled to unit norm like a normalized embedding; float32):

1. ``epoch``: seconds per epoch of ``SoftmaxSGD`` and ``MulticlassSVMSGD``
   with their defaults (``batch_size="auto"``) for 512 and 2,048 features
   and 10, 100 and 1,000 classes (``--rows`` rows, 100,000 by default),
   against the matrix-product floor: ``X_b @ W`` and ``X_b.T @ G`` over
   the contiguous batches of one epoch, at 256 rows per batch (the floor of
   issue 22) and at the batch size ``"auto"`` chose; the floor with the
   rows of each batch gathered at random (what a shuffled epoch copies) is
   listed too. Per-epoch time is ``(time(3 epochs) - time(1 epoch)) / 2``
   with ``tol=None``; medians of ``--repeats`` interleaved rounds, wall and
   CPU seconds. That difference also holds the difference between the
   temperature fits of the two models (``MulticlassSVMSGD`` fits one after
   training, on up to 10,000 rows x all classes), so the training loop's
   own epoch time (the median of the 3-epoch fit's calls of the engine's
   ``run_epoch``) is listed beside it. ``--baseline CHECKOUT`` times another
   checkout's estimators in the same rounds.
2. ``sweep``: a probe's regularization sweep on ``--sweep-shape`` data
   (rows x features x classes), 20% held out for testing: ``SoftmaxSGDCV``
   over 8 alphas x 3 folds (one pass, then the refit) against
   ``LogisticRegression`` (lbfgs) fitted once per value of ``C = 1 / (alpha
   * n_train)``, the same 8 penalties, and ``LogisticRegressionCV`` over
   those 8 values with the same 3 folds. Time, test accuracy (of the
   search's refit model; of every C for ``LogisticRegression``, whose best
   is reported) and the peak resident memory of each search (Linux
   ``VmHWM``, reset before it; above the memory in use before it).
   ``--logistic-tol`` sets scikit-learn's ``tol`` (default 1e-4, at which
   lbfgs can stop at its first iteration with 1,000 classes: the report
   then says so).

3. ``groups`` (not run by default): the one-pass search trained fold by
   fold (each fold's models skip the rows they hold out; the rule of
   ``sklinear._recipe.fold_groups_pay`` decides where) against the shared
   pass of every model over every row, for ``--group-shapes``
   (rows x features x classes x folds x alphas, on Gaussian class
   clusters): ``SoftmaxSGDCV(max_iter=4, tol=None, refit=False)``, medians
   of ``--repeats`` interleaved rounds, the ratio and whether the rule
   chose the groups.

Run ``python benchmarks/bench_probe.py --help`` for the options; for
example, the per-epoch figures at 20,000 rows and the sweep at 20,000 x 512
x 100::

    flock /tmp/sklinear-bench.lock python benchmarks/bench_probe.py \\
        --rows 20000 --sweep-shape 20000 512 100 --threads 2
"""

import resource
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    base_parser,
    blas_threads,
    fmt,
    import_baseline,
    machine_info,
    machine_markdown,
    markdown_table,
    median,
    quiet_convergence,
    time_call_cpu,
    write_outputs,
)
from bench_speed import matmul_floor  # noqa: E402

NAME = "bench_probe"
FEATURES = (512, 2048)
CLASSES = (10, 100, 1000)
FLOOR_BATCH = 256
ALPHAS = tuple(float(a) for a in np.logspace(-7, -3.5, 8))
FOLDS = 3
LOGISTIC_TOL = 1e-4
TEST_FRACTION = 0.2
ESTIMATORS = ("SoftmaxSGD", "MulticlassSVMSGD")

FULL = {
    "rows": 100_000,
    "repeats": 3,
    "sweep_shape": (100_000, 2048, 1000),
}
QUICK = {
    "rows": 600,
    "repeats": 1,
    "sweep_shape": (600, 32, 5),
}
QUICK_SHAPES = ((32, 5), (64, 20))
GROUP_SHAPES = (
    (20_000, 512, 100, 3, 8),
    (20_000, 512, 25, 3, 8),
    (20_000, 512, 10, 3, 8),
    (20_000, 512, 10, 3, 4),
    (20_000, 512, 100, 5, 4),
    (20_000, 512, 50, 5, 4),
    (10_000, 3072, 10, 5, 4),
)
QUICK_GROUP_SHAPES = ((300, 16, 30, 3, 8), (300, 16, 5, 3, 2))
GROUP_EPOCHS = 4


def embedding_data(n_samples, n_features, n_classes, *, separation=5.0, seed=0):
    """Embedding-shaped float32 data: noisy class centers, rows of unit norm.

    The noise has standard deviation ``1 / sqrt(n_features)`` per feature
    (a norm of about 1) and the class centers, in random directions, have
    norm ``separation / sqrt(n_features)``: two classes are ``separation``
    noise deviations apart along the line between their centers, whatever
    the number of features. Each row is then scaled to unit norm, like a
    normalized embedding.

    Parameters
    ----------
    n_samples, n_features, n_classes : int
        Shape of the problem.
    separation : float, default=5.0
        Distance of two centers over the noise's deviation; larger is easier.
    seed : int, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
        Rows of unit Euclidean norm.
    y : ndarray of shape (n_samples,), int64
        Labels ``0..n_classes-1``, balanced in expectation.
    """
    rng = np.random.default_rng(seed)
    scale = np.float32(1.0 / np.sqrt(n_features))
    centers = rng.standard_normal((n_classes, n_features), dtype=np.float32)
    centers *= np.float32(separation) * scale / np.linalg.norm(centers, axis=1)[:, None]
    y = rng.integers(0, n_classes, n_samples)
    X = np.empty((n_samples, n_features), dtype=np.float32)
    chunk = 8192
    for start in range(0, n_samples, chunk):
        block = X[start : start + chunk]
        rng.standard_normal(block.shape, dtype=np.float32, out=block)
        block *= scale
        block += centers[y[start : start + chunk]]
        block /= np.linalg.norm(block, axis=1, keepdims=True)
    return X, y


def _estimator(package, name, max_iter, batch_size="auto"):
    return getattr(package, name)(
        max_iter=max_iter, tol=None, random_state=0, batch_size=batch_size
    )


def loop_epoch_seconds(package, estimator, X, y):
    """Fit ``estimator``; the median wall time of its calls of ``run_epoch``.

    The training loop's own time per epoch, without the fixed costs of a
    fit before and after it. ``package`` is the estimator's ``sklinear``
    (its ``_engine.run_epoch`` is wrapped during the fit).
    """
    engine = package._engine
    run_epoch, seconds = engine.run_epoch, []

    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = run_epoch(*args, **kwargs)
        seconds.append(time.perf_counter() - start)
        return result

    engine.run_epoch = timed
    try:
        estimator.fit(X, y)
    finally:
        engine.run_epoch = run_epoch
    return median(seconds)


def auto_batch_size(package, n_samples, n_features, n_classes):
    """The rows per batch that ``batch_size="auto"`` gives for this shape."""
    from sklinear._base import model_spec

    spec = model_spec(package.SoftmaxSGD())
    try:
        return spec.rows_per_batch(n_samples, n_features, n_classes)
    except TypeError:  # a checkout whose rule reads only the rows
        return spec.rows_per_batch(n_samples)


def epoch_times(shapes, n_rows, repeats, baseline=None):
    """Per-epoch seconds of both estimators against the floors, per shape.

    Parameters
    ----------
    shapes : list of (int, int)
        ``(n_features, n_classes)`` pairs.
    n_rows : int
        Rows generated for each shape.
    repeats : int
        Interleaved rounds; medians are reported.
    baseline : module, default=None
        Another checkout's ``sklinear``, timed in the same rounds.

    Returns
    -------
    list of dict
        One entry per shape: the batch size, and for each candidate its
        median wall and CPU seconds per epoch and their ratios to the floor
        at 256 rows and at the same batch size.
    """
    import sklinear

    packages = {"": sklinear}
    if baseline is not None:
        packages["baseline "] = baseline
    results = []
    for n_features, n_classes in shapes:
        print(f"  {n_features} x {n_classes} classes ...", file=sys.stderr, flush=True)
        X, y = embedding_data(n_rows, n_features, n_classes)
        batch = auto_batch_size(sklinear, n_rows, n_features, n_classes)
        floors = {
            f"floor, batch {FLOOR_BATCH}": partial(matmul_floor, X, n_classes),
            f"floor + gather, batch {FLOOR_BATCH}": partial(
                matmul_floor, X, n_classes, gather=True
            ),
        }
        if batch != FLOOR_BATCH:
            floors[f"floor, batch {batch}"] = partial(
                matmul_floor, X, n_classes, batch_size=batch
            )
            floors[f"floor + gather, batch {batch}"] = partial(
                matmul_floor, X, n_classes, batch_size=batch, gather=True
            )
        runs, loops = {}, {}
        for _ in range(repeats):
            for name, floor in floors.items():
                wall, cpu, _ = time_call_cpu(floor)
                runs.setdefault(name, []).append((wall, cpu))
            for prefix, package in packages.items():
                for name in ESTIMATORS:
                    one = time_call_cpu(_estimator(package, name, 1).fit, X, y)
                    three = time_call_cpu(_estimator(package, name, 3).fit, X, y)
                    runs.setdefault(prefix + name, []).append(
                        ((three[0] - one[0]) / 2, (three[1] - one[1]) / 2)
                    )
                    loop = _estimator(package, name, 3)
                    loops.setdefault(prefix + name, []).append(
                        loop_epoch_seconds(package, loop, X, y)
                    )
        entry = {
            "n_features": n_features,
            "n_classes": n_classes,
            "n_rows": n_rows,
            "batch_size": batch,
            "times": {},
        }
        floor_256 = median([wall for wall, _ in runs[f"floor, batch {FLOOR_BATCH}"]])
        floor_same = median([wall for wall, _ in runs[f"floor, batch {batch}"]])
        cpu_256 = median([cpu for _, cpu in runs[f"floor, batch {FLOOR_BATCH}"]])
        cpu_same = median([cpu for _, cpu in runs[f"floor, batch {batch}"]])
        for name, values in runs.items():
            wall = median([value for value, _ in values])
            cpu = median([value for _, value in values])
            entry["times"][name] = {
                "epoch_s": wall,
                "epoch_cpu_s": cpu,
                "x_floor_256": wall / floor_256,
                "x_floor_same_batch": wall / floor_same,
                "x_floor_256_cpu": cpu / cpu_256,
                "x_floor_same_batch_cpu": cpu / cpu_same,
                "runs_s": [round(value, 5) for value, _ in values],
            }
            if name in loops:
                loop = median(loops[name])
                entry["times"][name]["loop_epoch_s"] = loop
                entry["times"][name]["loop_x_floor_256"] = loop / floor_256
        results.append(entry)
    return results


# ------------------------------------------------------------------ sweep


def _status_bytes(field):
    """A ``/proc/self/status`` field in bytes, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak():
    """Reset the peak resident size to the current one; False if not allowed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def measured(function):
    """Wall seconds, peak resident bytes above the start, and the result.

    The peak is ``VmHWM`` after a reset (Linux), else ``ru_maxrss`` (the
    peak of the whole process, an upper bound).
    """
    reset = _reset_peak()
    before = _status_bytes("VmRSS") or 0
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    peak = _status_bytes("VmHWM") if reset else None
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return seconds, max(peak - before, 0), result


def sweep(
    n_rows,
    n_features,
    n_classes,
    alphas=ALPHAS,
    skip_logistic_cv=False,
    logistic_tol=LOGISTIC_TOL,
):
    """The probe's sweep: SoftmaxSGDCV against LogisticRegression(CV).

    Parameters
    ----------
    n_rows, n_features, n_classes : int
        Shape of the generated data (``TEST_FRACTION`` of the rows held out).
    alphas : sequence of float
        The penalties; ``C = 1 / (alpha * n_train)`` for scikit-learn.
    skip_logistic_cv : bool, default=False
        Leave out ``LogisticRegressionCV`` (the slowest part).
    logistic_tol : float, default=1e-4
        ``tol`` of ``LogisticRegression`` and ``LogisticRegressionCV``
        (scikit-learn's default). With many classes and unit-norm rows the
        gradient of the mean loss at zero can be below it, and lbfgs stops
        at its first iteration; a smaller value makes the reference train.

    Returns
    -------
    dict
        Per method: seconds, test accuracy, peak bytes, the chosen penalty;
        ``LogisticRegression`` per C too.
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from sklinear import SoftmaxSGDCV

    X, y = embedding_data(n_rows, n_features, n_classes, seed=1)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_FRACTION, random_state=0
    )
    del X
    n_train = len(y_train)
    Cs = [1.0 / (alpha * n_train) for alpha in alphas]
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    results = {
        "shape": [n_rows, n_features, n_classes],
        "logistic_tol": logistic_tol,
        "n_train": n_train,
        "alphas": list(alphas),
        "Cs": Cs,
    }
    print("  SoftmaxSGDCV ...", file=sys.stderr, flush=True)
    seconds, peak, search = measured(
        lambda: SoftmaxSGDCV(alphas=alphas, cv=folds, random_state=0).fit(
            X_train, y_train
        )
    )
    results["SoftmaxSGDCV"] = {
        "seconds": seconds,
        "peak_bytes": peak,
        "test_accuracy": float(search.score(X_test, y_test)),
        "alpha": float(search.alpha_),
        "n_iter_refit": int(search.n_iter_),
        "refit_seconds": float(search.refit_time_),
        "batch_size": auto_batch_size(
            sys.modules["sklinear"], n_train, n_features, n_classes
        ),
    }
    per_C = []
    for alpha, C in zip(alphas, Cs, strict=True):
        print(f"  LogisticRegression C={C:.3g} ...", file=sys.stderr, flush=True)
        seconds, peak, model = measured(
            lambda C=C: LogisticRegression(C=C, tol=logistic_tol).fit(X_train, y_train)
        )
        per_C.append(
            {
                "alpha": alpha,
                "C": C,
                "seconds": seconds,
                "peak_bytes": peak,
                "n_iter": int(np.max(model.n_iter_)),
                "test_accuracy": float(model.score(X_test, y_test)),
            }
        )
    best = max(per_C, key=lambda entry: entry["test_accuracy"])
    results["LogisticRegression"] = {
        "seconds": float(sum(entry["seconds"] for entry in per_C)),
        "peak_bytes": max(entry["peak_bytes"] for entry in per_C),
        "test_accuracy": best["test_accuracy"],
        "alpha": best["alpha"],
        "per_C": per_C,
    }
    if not skip_logistic_cv:
        print("  LogisticRegressionCV ...", file=sys.stderr, flush=True)
        seconds, peak, model = measured(
            lambda: LogisticRegressionCV(Cs=Cs, cv=folds, tol=logistic_tol).fit(
                X_train, y_train
            )
        )
        results["LogisticRegressionCV"] = {
            "seconds": seconds,
            "peak_bytes": peak,
            "test_accuracy": float(model.score(X_test, y_test)),
            "alpha": float(1.0 / (np.ravel(model.C_)[0] * n_train)),
        }
    ours = results["SoftmaxSGDCV"]
    ours["accuracy_minus_best_logistic"] = (
        ours["test_accuracy"] - results["LogisticRegression"]["test_accuracy"]
    )
    ours["time_over_logistic_sweep"] = (
        ours["seconds"] / results["LogisticRegression"]["seconds"]
    )
    return results


# ----------------------------------------------------------------- report


def _group_search(folds, alphas):
    from sklinear import SoftmaxSGDCV

    return SoftmaxSGDCV(
        alphas=alphas, cv=folds, max_iter=GROUP_EPOCHS, tol=None, refit=False,
        random_state=0,
    )  # fmt: skip


def group_times(shapes, repeats):
    """The search by fold groups against the shared pass, per shape.

    Parameters
    ----------
    shapes : sequence of (int, int, int, int, int)
        ``(rows, features, classes, folds, alphas)``.
    repeats : int
        Interleaved rounds; medians are reported.

    Returns
    -------
    list of dict
        Per shape: columns (models x classes) per fold, whether the rule
        chose the groups, median seconds of both and their ratio.
    """
    from sklinear import _recipe

    results = []
    for n_rows, n_features, n_classes, n_folds, n_alphas in shapes:
        print(
            f"  {n_rows} x {n_features} x {n_classes}, {n_folds} folds x "
            f"{n_alphas} alphas ...",
            file=sys.stderr,
            flush=True,
        )
        rng = np.random.default_rng(0)
        centers = rng.standard_normal((n_classes, n_features)).astype(np.float32)
        y = rng.integers(0, n_classes, n_rows)
        noise = rng.standard_normal((n_rows, n_features), dtype=np.float32)
        X = centers[y] + 3 * noise
        alphas = tuple(float(a) for a in np.logspace(-7, -3, n_alphas))
        shipped = _recipe.FOLD_GROUP_MIN_COLUMNS
        seconds = {"by fold": [], "shared pass": []}
        try:
            for _ in range(repeats):
                for name, minimum in (("shared pass", np.inf), ("by fold", 0)):
                    _recipe.FOLD_GROUP_MIN_COLUMNS = minimum
                    wall, _, _ = time_call_cpu(_group_search(n_folds, alphas).fit, X, y)
                    seconds[name].append(wall)
        finally:
            _recipe.FOLD_GROUP_MIN_COLUMNS = shipped
        by_fold, shared = median(seconds["by fold"]), median(seconds["shared pass"])
        results.append(
            {
                "shape": [n_rows, n_features, n_classes, n_folds, n_alphas],
                "columns_per_fold": n_alphas * n_classes,
                # The search's models are candidates x folds, fold fastest.
                "rule_uses_groups": bool(
                    _recipe.fold_groups_pay(
                        np.arange(n_alphas * n_folds) % n_folds, n_classes
                    )
                ),
                "by_fold_s": by_fold,
                "shared_pass_s": shared,
                "ratio": by_fold / shared,
                "runs_s": {k: [round(v, 4) for v in s] for k, s in seconds.items()},
            }
        )
    return results


def report(results):
    """The markdown report of the results."""
    lines = [f"# {NAME}: linear probes", ""]
    lines += [machine_markdown(results["machine"], results["config"]["threads"]), ""]
    for entry in results.get("epoch", []):
        lines += [
            f"## {entry['n_features']} features x {entry['n_classes']} classes, "
            f"{entry['n_rows']} rows (batch_size='auto': {entry['batch_size']})",
            "",
        ]
        rows = [
            [
                name,
                fmt(values["epoch_s"]),
                fmt(values["x_floor_256"]),
                fmt(values["x_floor_same_batch"]),
                fmt(values["epoch_cpu_s"]),
                fmt(values["x_floor_256_cpu"]),
                fmt(values.get("loop_epoch_s")),
                fmt(values.get("loop_x_floor_256")),
            ]
            for name, values in entry["times"].items()
        ]
        lines += [
            markdown_table(
                [
                    "candidate",
                    "s / epoch",
                    "x floor (256)",
                    "x floor (same batch)",
                    "CPU s / epoch",
                    "x floor (256), CPU",
                    "loop s / epoch",
                    "loop x floor (256)",
                ],
                rows,
            ),
            "",
        ]
    if "sweep" in results:
        sweep_results = results["sweep"]
        n, d, c = sweep_results["shape"]
        tol = sweep_results.get("logistic_tol", LOGISTIC_TOL)
        lines += [
            f"## Sweep: {n} rows x {d} features x {c} classes, "
            f"{len(sweep_results['alphas'])} penalties, {FOLDS} folds "
            f"(LogisticRegression tol {tol})",
            "",
        ]
        rows = []
        for name in ("SoftmaxSGDCV", "LogisticRegression", "LogisticRegressionCV"):
            if name not in sweep_results:
                continue
            entry = sweep_results[name]
            rows.append(
                [
                    name,
                    fmt(entry["seconds"]),
                    fmt(entry["test_accuracy"], 4),
                    fmt(entry["alpha"]),
                    fmt(entry["peak_bytes"] / 2**20),
                ]
            )
        lines += [
            markdown_table(
                ["method", "seconds", "test accuracy", "alpha chosen", "peak MiB"],
                rows,
            ),
            "",
            markdown_table(
                ["C", "alpha", "seconds", "lbfgs iterations", "test accuracy"],
                [
                    [
                        fmt(e["C"]),
                        fmt(e["alpha"]),
                        fmt(e["seconds"]),
                        e["n_iter"],
                        fmt(e["test_accuracy"], 4),
                    ]
                    for e in sweep_results["LogisticRegression"]["per_C"]
                ],
            ),
            "",
        ]
        ours = sweep_results["SoftmaxSGDCV"]
        lines += [
            f"SoftmaxSGDCV's {fmt(ours['seconds'])} s: the one-pass search, then "
            f"{fmt(ours['refit_seconds'])} s for the refit of the chosen alpha "
            f"({ours['n_iter_refit']} epochs).",
            "",
        ]
        untrained = [
            e for e in sweep_results["LogisticRegression"]["per_C"] if e["n_iter"] <= 1
        ]
        if untrained:
            lines += [
                f"**{len(untrained)} of the LogisticRegression fits stopped at their "
                "first lbfgs iteration**: the gradient of the mean loss at zero was "
                "already below `tol` (many classes and unit-norm rows make it "
                "small), so those models are barely trained and their time is not "
                "that of a converged fit. `--logistic-tol` (e.g. 1e-10) makes them "
                "train.",
                "",
            ]
    if "groups" in results:
        lines += [
            f"## The search by fold groups against the shared pass "
            f"(SoftmaxSGDCV, {GROUP_EPOCHS} epochs, no refit)",
            "",
            markdown_table(
                [
                    "rows x features x classes",
                    "folds x alphas",
                    "columns per fold",
                    "by fold (s)",
                    "shared pass (s)",
                    "by fold / shared",
                    "the rule",
                ],
                [
                    [
                        "{} x {} x {}".format(*entry["shape"][:3]),
                        "{} x {}".format(*entry["shape"][3:]),
                        entry["columns_per_fold"],
                        fmt(entry["by_fold_s"]),
                        fmt(entry["shared_pass_s"]),
                        fmt(entry["ratio"]),
                        "by fold" if entry["rule_uses_groups"] else "shared pass",
                    ]
                    for entry in results["groups"]
                ],
            ),
            "",
        ]
    lines.append(f"Load average at the end: {results.get('load_average_end')}")
    return "\n".join(lines)


def main(argv=None):
    """Run the linear-probe benchmark.

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
        choices=("epoch", "sweep", "groups"),
        default=["epoch", "sweep"],
        help="Sections to run (default: epoch and sweep).",
    )
    parser.add_argument(
        "--group-shapes",
        nargs="+",
        default=None,
        metavar="NxDxCxFxA",
        help="Shapes of the groups section as ROWSxFEATURESxCLASSESxFOLDSxALPHAS "
        "(default: seven shapes around the rule's threshold).",
    )
    parser.add_argument(
        "--rows", type=int, default=None, help="Rows of the epoch section's data."
    )
    parser.add_argument(
        "--shapes",
        nargs="+",
        default=None,
        metavar="DxC",
        help="Shapes of the epoch section as FEATURESxCLASSES (default: 512 and "
        "2048 features times 10, 100 and 1000 classes).",
    )
    parser.add_argument(
        "--sweep-shape",
        nargs=3,
        type=int,
        default=None,
        metavar=("ROWS", "FEATURES", "CLASSES"),
        help="Shape of the sweep's data (default 100000 2048 1000: hours of "
        "LogisticRegression on two cores).",
    )
    parser.add_argument(
        "--skip-logistic-cv",
        action="store_true",
        help="Leave LogisticRegressionCV out of the sweep.",
    )
    parser.add_argument(
        "--logistic-tol",
        type=float,
        default=LOGISTIC_TOL,
        help="tol of LogisticRegression(CV) in the sweep (default: scikit-learn's "
        "1e-4; at 1,000 classes lbfgs may stop at its first iteration with it, "
        "and the report says so).",
    )
    parser.add_argument(
        "--baseline",
        metavar="CHECKOUT",
        default=None,
        help="Another checkout of sklinear, timed in the epoch section too.",
    )
    args = parser.parse_args(argv)
    config = dict(QUICK if args.quick else FULL)
    if args.rows:
        config["rows"] = args.rows
    if args.repeats:
        config["repeats"] = args.repeats
    if args.sweep_shape:
        config["sweep_shape"] = tuple(args.sweep_shape)
    if args.shapes:
        shapes = [tuple(int(v) for v in shape.split("x")) for shape in args.shapes]
    elif args.quick:
        shapes = list(QUICK_SHAPES)
    else:
        shapes = [(d, c) for d in FEATURES for c in CLASSES]
    config["shapes"] = shapes
    if args.group_shapes:
        config["group_shapes"] = [
            tuple(int(v) for v in shape.split("x")) for shape in args.group_shapes
        ]
    else:
        config["group_shapes"] = list(
            QUICK_GROUP_SHAPES if args.quick else GROUP_SHAPES
        )
    config["threads"] = args.threads
    results = {"machine": machine_info(), "config": config}
    with blas_threads(args.threads), quiet_convergence():
        if "epoch" in args.sections:
            print("seconds per epoch ...", file=sys.stderr)
            baseline = import_baseline(args.baseline) if args.baseline else None
            results["epoch"] = epoch_times(
                shapes, config["rows"], config["repeats"], baseline
            )
        if "sweep" in args.sections:
            print(f"sweep on {config['sweep_shape']} ...", file=sys.stderr)
            results["sweep"] = sweep(
                *config["sweep_shape"],
                skip_logistic_cv=args.skip_logistic_cv,
                logistic_tol=args.logistic_tol,
            )
        if "groups" in args.sections:
            print("the search by fold groups ...", file=sys.stderr)
            results["groups"] = group_times(config["group_shapes"], config["repeats"])
    results["load_average_end"] = machine_info()["load_average"]
    write_outputs(args.out, NAME, results, report(results))
    return results


if __name__ == "__main__":
    main()
