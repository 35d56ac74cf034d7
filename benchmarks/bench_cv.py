"""The one-pass grid search (SoftmaxSGDCV, MulticlassSVMSGDCV) against GridSearchCV.

Two sections:

- ``speed``: a grid of 4 learning rates x 4 alphas with 3-fold
  cross-validation and 10 epochs on CIFAR-10-sized data (``--data`` tiled to
  50,000 x 3,072 float32, standardized; synthetic without ``--data``):
  ``SoftmaxSGDCV`` against ``GridSearchCV(SoftmaxSGD)`` with ``n_jobs=1``
  and ``n_jobs=2``, and against ``GridSearchCV(SGDClassifier(max_iter=10,
  tol=None))`` over a grid of the same size (``eta0`` x ``alpha``, constant
  rate). SGDClassifier's 48 fits take many minutes, so ``--sgd-candidates``
  of its 16 candidates are timed (with their 3 folds) and the time is
  scaled to 16; the report says so. Peak memory (tracemalloc, NumPy's
  allocations) is reported against the size of ``X``.
- ``choice``: on the data as given (the CIFAR-10 dev subset's 10,000 rows),
  the candidate each search picks and its mean CV score, for both
  estimators, against ``GridSearchCV`` on the same grid and splits.

The one-pass search and GridSearchCV(SoftmaxSGD) are timed in ``--repeats``
interleaved rounds (medians; every round is listed); SGDClassifier's search
once. Wall-clock seconds, with the machine's load recorded before and after.
``--baseline PATH`` times the one-pass search of another checkout too, in
the same rounds (e.g. the commit before a change, from ``git worktree
add``); ``--one-pass-only`` times the one-pass searches alone::

    python benchmarks/bench_cv.py --data D --sections speed --one-pass-only \
        --baseline /tmp/base --repeats 5
"""

import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    base_parser,
    blas_threads,
    import_baseline,
    load_cifar,
    machine_info,
    machine_markdown,
    markdown_table,
    standardize_inplace,
    synthetic_classification,
    tiled_cifar,
    write_outputs,
)

NAME = "bench_cv"
ALPHAS = (1e-5, 1e-4, 1e-3, 1e-2)
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4)
SGD_ETA0 = (1e-5, 1e-4, 1e-3, 1e-2)
EPOCHS = 10
FOLDS = 3


def speed_data(path, n_samples, quick):
    """Standardized float32 data of CIFAR-10's size (or tiny with ``quick``)."""
    if quick:
        X, y = synthetic_classification(600, 64)
        return X, y, "synthetic 600 x 64"
    if path is None:
        X, y = synthetic_classification(n_samples, 3072)
        return X, y, f"synthetic {n_samples} x 3072"
    return tiled_cifar(path, n_samples)


def _timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def _peak(function):
    """Peak traced memory of ``function()`` (tracemalloc slows it: not timed)."""
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def speed(X, y, sgd_candidates, repeats, quick, baseline=None, one_pass_only=False):
    """Wall time and peak memory of each search on the same grid and folds.

    The one-pass search and GridSearchCV with 1 and 2 jobs are timed in
    ``repeats`` interleaved rounds (medians reported); peak memory is
    measured in a separate, untimed run, because tracemalloc slows every
    allocation. With ``baseline`` (another checkout's package) its one-pass
    search is timed in the same rounds; ``one_pass_only`` leaves out the
    other searches.
    """
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from sklinear import SoftmaxSGD, SoftmaxSGDCV

    cv = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    plain = {"max_iter": EPOCHS, "tol": None, "random_state": 0}
    grid = {"alpha": list(ALPHAS), "learning_rate_init": list(LEARNING_RATES)}
    searches = {
        "SoftmaxSGDCV (one pass)": lambda: SoftmaxSGDCV(
            alphas=ALPHAS, learning_rates=LEARNING_RATES, cv=cv, **plain
        ),
    }
    if baseline is not None:
        searches["baseline SoftmaxSGDCV (one pass)"] = lambda: baseline.SoftmaxSGDCV(
            alphas=ALPHAS, learning_rates=LEARNING_RATES, cv=cv, **plain
        )
    if not one_pass_only:
        searches["GridSearchCV(SoftmaxSGD), n_jobs=1"] = lambda: GridSearchCV(
            SoftmaxSGD(**plain), grid, cv=cv, n_jobs=1
        )
        searches["GridSearchCV(SoftmaxSGD), n_jobs=2"] = lambda: GridSearchCV(
            SoftmaxSGD(**plain), grid, cv=cv, n_jobs=2
        )
    times = {name: [] for name in searches}
    fitted = {}
    for round_ in range(repeats):
        for name, make in searches.items():
            print(f"  {name}, round {round_ + 1} ...", file=sys.stderr, flush=True)
            seconds, fitted[name] = _timed(lambda make=make: make().fit(X, y))
            times[name].append(seconds)
    results = {}
    for name, search in fitted.items():
        results[name] = {
            "seconds": float(np.median(times[name])),
            "all_seconds": times[name],
            "best_params": _plain_params(search.best_params_),
            "best_score": search.best_score_,
        }
    for name in ("SoftmaxSGDCV (one pass)", "GridSearchCV(SoftmaxSGD), n_jobs=1"):
        if name not in searches:
            continue
        print(f"  {name}, peak memory ...", file=sys.stderr, flush=True)
        results[name]["peak_bytes"] = _peak(
            lambda name=name: searches[name]().fit(X, y)
        )
    ours = results["SoftmaxSGDCV (one pass)"]["seconds"]
    if one_pass_only:
        for entry in results.values():
            entry["x_one_pass"] = entry["seconds"] / ours
        return results
    n_sgd = len(SGD_ETA0) * len(ALPHAS)
    timed = min(sgd_candidates, n_sgd)
    sgd_grid = [
        {"alpha": [alpha], "eta0": [eta0]} for eta0 in SGD_ETA0 for alpha in ALPHAS
    ][:timed]
    print(f"  GridSearchCV(SGDClassifier), {timed} candidates ...", file=sys.stderr)
    seconds, _ = _timed(
        lambda: GridSearchCV(
            SGDClassifier(
                loss="log_loss",
                learning_rate="constant",
                max_iter=EPOCHS,
                tol=None,
                random_state=0,
            ),
            sgd_grid,
            cv=cv,
            refit=False,
        ).fit(X, y)
    )
    results["GridSearchCV(SGDClassifier), n_jobs=1"] = {
        "seconds": seconds * n_sgd / timed,
        "all_seconds": [seconds * n_sgd / timed],
        "timed_candidates": timed,
    }
    ours = results["SoftmaxSGDCV (one pass)"]["seconds"]
    for entry in results.values():
        entry["x_one_pass"] = entry["seconds"] / ours
    return results


def _plain_params(params):
    return {k: v for k, v in params.items() if k in ("alpha", "learning_rate_init")}


def choice(X, y, X_test, y_test):
    """Which candidate each search picks, and its scores, on the same splits."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

    cv = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    plain = {"max_iter": EPOCHS, "tol": None, "random_state": 0}
    grid = {"alpha": list(ALPHAS), "learning_rate_init": list(LEARNING_RATES)}
    results = {}
    for Search, Plain in (
        (SoftmaxSGDCV, SoftmaxSGD),
        (MulticlassSVMSGDCV, MulticlassSVMSGD),
    ):
        name = Plain.__name__
        print(f"  {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        ours = Search(alphas=ALPHAS, learning_rates=LEARNING_RATES, cv=cv, **plain)
        ours.fit(X, y)
        ours_seconds = time.perf_counter() - start
        start = time.perf_counter()
        reference = GridSearchCV(Plain(**plain), grid, cv=cv).fit(X, y)
        reference_seconds = time.perf_counter() - start
        chosen = _plain_params(ours.best_params_)
        index = reference.cv_results_["params"].index(chosen)
        results[name] = {
            "one_pass_best": chosen,
            "one_pass_best_score": ours.best_score_,
            "grid_search_best": reference.best_params_,
            "grid_search_best_score": reference.best_score_,
            "grid_search_score_of_one_pass_choice": float(
                reference.cv_results_["mean_test_score"][index]
            ),
            "same_choice": chosen == reference.best_params_,
            "one_pass_test_accuracy": ours.score(X_test, y_test),
            "grid_search_test_accuracy": reference.score(X_test, y_test),
            "one_pass_seconds": ours_seconds,
            "grid_search_seconds": reference_seconds,
        }
    return results


def report(results):
    """Markdown."""
    lines = [
        "# One-pass grid search",
        "",
        machine_markdown(results["machine"], results["threads"]),
        f"- load average at end: {results['load_average_end']}",
        "",
        f"Grid: learning_rate_init in {list(LEARNING_RATES)} x alpha in "
        f"{list(ALPHAS)}, {FOLDS}-fold stratified CV, {EPOCHS} epochs "
        "(tol=None); SGDClassifier: eta0 in "
        f"{list(SGD_ETA0)} x the same alphas, constant rate.",
        "",
    ]
    if "speed" in results:
        size = results["speed_bytes"]
        lines += [
            f"## Speed, {results['speed_source']}, float32 ({size / 2**20:.0f} MiB)",
            "",
        ]
        rows = []
        for name, entry in results["speed"].items():
            note = ""
            if "timed_candidates" in entry:
                note = f" (scaled from {entry['timed_candidates']} of 16 candidates)"
            peak = entry.get("peak_bytes")
            rows.append(
                [
                    name + note,
                    f"{entry['seconds']:.2f}",
                    ", ".join(f"{s:.1f}" for s in entry["all_seconds"]),
                    f"{entry['x_one_pass']:.2f}",
                    "–" if peak is None else f"{peak / size:.2f}",
                ]
            )
        lines.append(
            markdown_table(
                [
                    "search",
                    "seconds (median)",
                    "each round",
                    "x the one-pass time",
                    "peak memory / X",
                ],
                rows,
            )
        )
        lines += [
            "",
            "Peak memory: tracemalloc in a separate untimed run (NumPy's "
            "allocations in this process; with n_jobs=2 the fits run in worker "
            "processes, not measured).",
        ]
        lines.append("")
    if "choice" in results:
        lines += [f"## Choice, {results['choice_source']}", ""]
        rows = []
        for name, entry in results["choice"].items():
            rows.append(
                [
                    name,
                    str(entry["one_pass_best"]),
                    f"{entry['one_pass_best_score']:.4f}",
                    str(entry["grid_search_best"]),
                    f"{entry['grid_search_best_score']:.4f}",
                    f"{entry['grid_search_score_of_one_pass_choice']:.4f}",
                    "yes" if entry["same_choice"] else "no",
                    f"{entry['one_pass_seconds']:.1f} / "
                    f"{entry['grid_search_seconds']:.1f}",
                ]
            )
        lines.append(
            markdown_table(
                [
                    "estimator",
                    "one pass picks",
                    "its CV score",
                    "GridSearchCV picks",
                    "its CV score",
                    "GridSearchCV's score of our pick",
                    "same",
                    "seconds (ours / GridSearchCV)",
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
        "--sections",
        nargs="+",
        choices=("speed", "choice"),
        default=["speed", "choice"],
    )
    parser.add_argument(
        "--sgd-candidates",
        type=int,
        default=2,
        help="SGDClassifier candidates (of 16) actually timed; the time is scaled.",
    )
    parser.add_argument("--n-samples", type=int, default=50_000)
    parser.add_argument(
        "--baseline",
        default=None,
        help="another checkout whose one-pass search is timed in the same rounds",
    )
    parser.add_argument(
        "--one-pass-only",
        action="store_true",
        help="time the one-pass searches only (no GridSearchCV, no SGDClassifier)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    results = {"threads": args.threads}
    with blas_threads(args.threads):
        results["machine"] = machine_info()
        if "speed" in args.sections:
            X, y, source = speed_data(args.data, args.n_samples, args.quick)
            results["speed_source"] = source
            results["speed_bytes"] = X.nbytes
            print(f"speed on {source} ...", file=sys.stderr)
            results["speed"] = speed(
                X,
                y,
                args.sgd_candidates,
                args.repeats or (1 if args.quick else 3),
                args.quick,
                baseline=None
                if args.baseline is None
                else import_baseline(args.baseline),
                one_pass_only=args.one_pass_only,
            )
            del X, y
        if "choice" in args.sections:
            if args.data is None or args.quick:
                from sklearn.datasets import load_digits
                from sklearn.model_selection import train_test_split

                X, y = load_digits(return_X_y=True)
                X, X_test, y, y_test = train_test_split(X, y, random_state=0)
                source = "digits (1,347 training rows)"
            else:
                X, y, X_test, y_test = load_cifar(args.data)
                X, X_test = X.astype(np.float32), X_test.astype(np.float32)
                standardize_inplace(X_test, reference=X)
                standardize_inplace(X)
                source = f"{Path(args.data).name}, {len(y)} training rows, standardized"
            results["choice_source"] = source
            print(f"choice on {source} ...", file=sys.stderr)
            results["choice"] = choice(X, y, X_test, y_test)
        results["load_average_end"] = machine_info()["load_average"]
    write_outputs(args.out, NAME, results, report(results))
    return results


if __name__ == "__main__":
    main()
