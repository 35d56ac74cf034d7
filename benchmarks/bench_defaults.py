"""Accuracy, fit time and epochs of the classifiers at their defaults, and sklearn's.

Each of sklinear's classifiers is fitted with only ``random_state`` set, next
to ``LogisticRegression()`` at its defaults, ``LogisticRegression`` at the
best ``C`` of {1e-4, 1e-3, 1e-2, 1e-1, 1} (best on the evaluation set: an
oracle), ``SGDClassifier()`` at its defaults and ``LinearSVC()``, on:

- the CIFAR-10 file given with ``--data`` (train on its training rows, score
  its validation or test rows), raw pixels in three forms: 0-255 with the
  training mean subtracted (CS231n), divided by 255, and standardized;
  and the same images through ``FeatureUnion(HOG(), ColorHistogram())`` +
  ``StandardScaler``;
- scikit-learn's digits (raw 0-16 pixels);
- ``make_classification`` data with its features multiplied by 1e-3 and 1e3.

Every fit runs in a child process with a time limit (``--time-cap``), so that
a slow reference is reported as such instead of stalling the run. The report
checks the targets of sklinear's defaults on every dataset: accuracy at least
that of ``LogisticRegression()``, within 0.01 of the best ``C``, a fit at
most a tenth of ``LogisticRegression()``'s on the CIFAR-sized inputs, and no
warning but a ``ConvergenceWarning`` that names ``max_iter``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    base_parser,
    blas_threads,
    load_cifar,
    load_digits_split,
    machine_info,
    machine_markdown,
    markdown_table,
    write_outputs,
)

NAME = "bench_defaults"
C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
OURS = ("MulticlassSVMSGD", "SoftmaxSGD")


# ------------------------------------------------------------------ data


def cifar_datasets(path, quick=False):
    """The four CIFAR-10 inputs of the benchmark, float32.

    Parameters
    ----------
    path : str
        ``--data``.
    quick : bool, default=False
        Keep 600 training and 200 test rows.

    Returns
    -------
    dict
        Name -> ``(X_train, y_train, X_test, y_test)``.
    """
    from sklearn.pipeline import make_union
    from sklearn.preprocessing import StandardScaler

    from sklinear.features import HOG, ColorHistogram

    X_train, y_train, X_test, y_test = load_cifar(path)
    if quick:
        X_train, y_train, X_test, y_test = (
            X_train[:600],
            y_train[:600],
            X_test[:200],
            y_test[:200],
        )
    X_train = X_train.astype(np.float32)
    X_test = X_test.astype(np.float32)
    mean = X_train.mean(axis=0)
    scaler = StandardScaler().fit(X_train)
    features = make_union(
        HOG(image_shape=(32, 32, 3)), ColorHistogram(image_shape=(32, 32, 3))
    )
    F_train = features.fit_transform(X_train.astype(np.uint8))
    F_test = features.transform(X_test.astype(np.uint8))
    feature_scaler = StandardScaler().fit(F_train)
    return {
        "CIFAR raw 0-255 minus mean": (X_train - mean, y_train, X_test - mean, y_test),
        "CIFAR raw / 255": (X_train / 255, y_train, X_test / 255, y_test),
        "CIFAR raw standardized": (
            scaler.transform(X_train).astype(np.float32),
            y_train,
            scaler.transform(X_test).astype(np.float32),
            y_test,
        ),
        "CIFAR HOG + color standardized": (
            feature_scaler.transform(F_train).astype(np.float32),
            y_train,
            feature_scaler.transform(F_test).astype(np.float32),
            y_test,
        ),
    }


def small_datasets(quick=False):
    """Digits and ``make_classification`` rescaled by 1e-3 and 1e3.

    Parameters
    ----------
    quick : bool, default=False
        Fewer synthetic rows.

    Returns
    -------
    dict
        Name -> ``(X_train, y_train, X_test, y_test)``.
    """
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    datasets = {"digits (0-16)": load_digits_split()}
    X, y = make_classification(
        n_samples=600 if quick else 5000,
        n_features=40,
        n_informative=20,
        n_redundant=10,
        n_classes=5,
        class_sep=0.8,
        flip_y=0.05,
        random_state=0,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    for scale in (1e-3, 1e3):
        datasets[f"make_classification x {scale:g}"] = (
            X_train * scale,
            y_train,
            X_test * scale,
            y_test,
        )
    return datasets


# ------------------------------------------------------------------ models


def candidates():
    """Name -> estimator factory; the best-C search is handled apart."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    from sklinear import MulticlassSVMSGD, SoftmaxSGD

    return {
        "MulticlassSVMSGD": lambda: MulticlassSVMSGD(random_state=0),
        "SoftmaxSGD": lambda: SoftmaxSGD(random_state=0),
        "LogisticRegression()": lambda: LogisticRegression(),
        "SGDClassifier()": lambda: SGDClassifier(random_state=0),
        "LinearSVC()": lambda: LinearSVC(random_state=0),
    }


def _fit_and_score(make, data):
    X_train, y_train, X_test, y_test = data
    model = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
    n_iter = getattr(model, "n_iter_", None)
    if n_iter is not None:
        n_iter = int(np.max(n_iter))
    return {
        "accuracy": float(model.score(X_test, y_test)),
        "fit_s": seconds,
        "n_iter": n_iter,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }


def fit_with_cap(make, data, time_cap):
    """``_fit_and_score`` in a forked child; ``timed_out`` after ``time_cap`` s."""
    import multiprocessing

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork (Windows): no cap
        return _fit_and_score(make, data)
    receiver, sender = context.Pipe(duplex=False)

    def target():
        try:
            sender.send(_fit_and_score(make, data))
        except Exception as error:  # reported, not raised: the run goes on
            sender.send({"error": f"{type(error).__name__}: {error}"})

    process = context.Process(target=target, daemon=True)
    process.start()
    answer = receiver.recv() if receiver.poll(time_cap) else None
    process.join(1.0)
    if process.is_alive():
        process.terminate()
        process.join()
    if answer is None:
        return {"timed_out": True, "fit_s": time_cap}
    return answer


def run_dataset(data, time_cap, reference=None):
    """Every candidate on one dataset; reference rows reused if given."""
    from sklearn.linear_model import LogisticRegression

    results = {}
    for name, make in candidates().items():
        if reference is not None and name not in OURS and name in reference:
            results[name] = reference[name]
            continue
        print(f"  {name} ...", file=sys.stderr, flush=True)
        results[name] = fit_with_cap(make, data, time_cap)
    if reference is not None and "LogisticRegression(best C)" in reference:
        results["LogisticRegression(best C)"] = reference["LogisticRegression(best C)"]
        return results
    best = None
    for C in C_GRID:
        print(f"  LogisticRegression(C={C:g}) ...", file=sys.stderr, flush=True)
        entry = fit_with_cap(lambda C=C: LogisticRegression(C=C), data, time_cap)
        entry["C"] = C
        if "accuracy" in entry and (
            best is None or entry["accuracy"] > best["accuracy"]
        ):
            best = entry
    results["LogisticRegression(best C)"] = best
    return results


# ------------------------------------------------------------------ report


def check_targets(name, results, cifar_sized):
    """The targets of sklinear's defaults on one dataset."""
    default = results.get("LogisticRegression()", {})
    best = results.get("LogisticRegression(best C)") or {}
    checks = {}
    for ours in OURS:
        entry = results[ours]
        if "accuracy" not in entry:
            checks[ours] = {"passed": False, "why": "no result"}
            continue
        failures = []
        if "accuracy" in default and entry["accuracy"] < default["accuracy"]:
            failures.append("below LogisticRegression()")
        if "accuracy" in best and entry["accuracy"] < best["accuracy"] - 0.01:
            failures.append("more than 0.01 below the best C")
        if (
            cifar_sized
            and "fit_s" in default
            and entry["fit_s"] > default["fit_s"] / 10
        ):
            failures.append("slower than 1/10 of LogisticRegression()")
        bad = [
            w
            for w in entry["warnings"]
            if not (w.startswith("ConvergenceWarning") and "max_iter" in w)
        ]
        if bad:
            failures.append(f"warnings: {bad}")
        checks[ours] = {"passed": not failures, "why": "; ".join(failures)}
    return checks


def report(results):
    """Markdown of the results."""
    info = results["machine"]
    lines = [
        "# Classifiers at their defaults",
        "",
        machine_markdown(info, results["threads"]),
        "",
        f"Command: `{results['command']}`. Accuracy on the evaluation rows; fit "
        "time in seconds (one fit, wall clock); epochs (`n_iter_`). "
        "LogisticRegression(best C): the best of C in "
        f"{list(C_GRID)} on the evaluation rows (an oracle).",
        "",
    ]
    models = list(candidates()) + ["LogisticRegression(best C)"]
    rows = []
    for dataset, entries in results["datasets"].items():
        for model in models:
            entry = entries.get(model) or {}
            if entry.get("timed_out"):
                cells = [f"> {entry['fit_s']:.0f} s cap", "", ""]
            elif "error" in entry:
                cells = [entry["error"][:60], "", ""]
            elif "accuracy" not in entry:
                # No result: every C of the best-C search failed or hit the cap.
                cells = ["no result", "", ""]
            else:
                label = model
                if "C" in entry:
                    label = f"LogisticRegression(C={entry['C']:g})"
                cells = [
                    f"{entry['accuracy']:.3f}",
                    f"{entry['fit_s']:.2f}",
                    "" if entry.get("n_iter") is None else str(entry["n_iter"]),
                ]
                model = label
            rows.append([dataset, model, *cells])
    lines.append(markdown_table(["data", "model", "accuracy", "fit s", "epochs"], rows))
    lines += ["", "## Targets of sklinear's defaults", ""]
    rows = []
    for dataset, checks in results["targets"].items():
        for model, check in checks.items():
            rows.append(
                [dataset, model, "yes" if check["passed"] else "no", check["why"]]
            )
    lines.append(markdown_table(["data", "model", "met", "why not"], rows))
    return lines


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
    import json

    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--time-cap",
        type=float,
        default=600.0,
        help="Seconds after which one fit is stopped and reported as such.",
    )
    parser.add_argument(
        "--reference",
        metavar="JSON",
        default=None,
        help="A previous run's JSON: reuse its scikit-learn rows, refit only ours.",
    )
    args = parser.parse_args(argv)
    reference = None
    if args.reference:
        reference = json.loads(Path(args.reference).read_text())["datasets"]
    command = "python benchmarks/bench_defaults.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    with blas_threads(args.threads):
        results = {
            "machine": machine_info(),
            "threads": args.threads,
            "command": command.strip(),
            "datasets": {},
            "targets": {},
        }
        datasets = {}
        if args.data:
            datasets.update(cifar_datasets(args.data, args.quick))
        datasets.update(small_datasets(args.quick))
        time_cap = 20.0 if args.quick else args.time_cap
        for name, data in datasets.items():
            print(f"{name} ...", file=sys.stderr, flush=True)
            entries = run_dataset(
                data, time_cap, None if reference is None else reference.get(name)
            )
            results["datasets"][name] = entries
            results["targets"][name] = check_targets(
                name, entries, cifar_sized=name.startswith("CIFAR")
            )
        results["load_average_end"] = machine_info()["load_average"]
    write_outputs(args.out, NAME, results, "\n".join(report(results)))
    return results


if __name__ == "__main__":
    main()
