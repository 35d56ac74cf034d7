"""The ``python -m sklinear`` demo: what sklinear is for, in three measurements.

1. **Accuracy at the defaults.** :class:`~sklinear.MulticlassSVMSGD` and
   :class:`~sklinear.SoftmaxSGD` untuned, beside scikit-learn's
   ``LogisticRegression``, ``SGDClassifier`` and ``LinearSVC`` untuned, on raw
   pixels and on HOG features, each accuracy with a 95 % interval and a mark
   saying whether it is a tie with the best row.
2. **Tuning.** :class:`~sklinear.SoftmaxSGDCV` and
   :class:`~sklinear.MulticlassSVMSGDCV` (the whole grid and its folds
   trained in one pass) against ``GridSearchCV`` over ``LogisticRegression``
   and ``SGDClassifier``, on grids of the same size: time, chosen value,
   cross-validated and held-out accuracy.
3. **Scale.** Each model at its defaults on image-sized data (3,072
   features): fit time, passes over the data and seconds per pass.

By default it needs no download: scikit-learn's bundled 8x8 digits for parts
1 and 2, and for part 3 the same digits upsampled and placed at random
offsets on 32x32 RGB canvases. ``--data PATH`` (or ``--cifar10``) runs the
three parts on the CIFAR-10 training set instead, scoring on a held-out
split of it.
"""

import argparse
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

_DIGITS_HOG = {"pixels_per_cell": (2, 2), "cells_per_block": (1, 1)}
_PROG = "python -m sklinear"
_N_GRID = 8  # candidates of every search in part 2
_CIFAR_N_TEST = 10_000
_CIFAR_N_TUNE = 10_000
_MIN_PER_CLASS = 10
# The advice load_cifar10 ends its file errors with, for callers of the
# function; the command line has its own way to download.
_LIBRARY_ADVICE = (
    "(load_cifar10() without `path` downloads the official archive into "
    "scikit-learn's data home)"
)
_CLI_ADVICE = f"({_PROG} --cifar10 --download fetches the official archive)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on standard error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _n_train(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be 0 (all images) or a positive number of training images; "
            f"got {text!r}"
        )
    return value


def _n_threads(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be 0 (the library's default) or a positive number; got {text!r}"
        )
    return value


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}")
    return value


def _parser():
    parser = _Parser(
        prog=_PROG,
        description=(
            "Three measurements of sklinear's MulticlassSVMSGD and SoftmaxSGD "
            "beside scikit-learn's LogisticRegression, SGDClassifier and "
            "LinearSVC: accuracy at the defaults, tuning a grid (SoftmaxSGDCV, "
            "MulticlassSVMSGDCV against GridSearchCV) and fit time on "
            "image-sized data. Default data: scikit-learn's bundled digits, "
            "no download (about 20 s on 2 cores)."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        metavar="PATH",
        help="CIFAR-10 at PATH: the cifar-10-batches-py directory, the "
        "cifar-10-python.tar.gz archive, or an .npz with X_train and y_train. "
        f"Only its training set is read; the last {_CIFAR_N_TEST} images of a "
        "fixed permutation (a fifth, if fewer than 50,000) are held out for "
        "scoring.",
    )
    source.add_argument(
        "--cifar10",
        action="store_true",
        help="CIFAR-10 from scikit-learn's data home (see load_cifar10), as "
        "--data; downloaded (about 163 MB) only with --download.",
    )
    parser.add_argument(
        "--download",
        action="store_true",
        help="With --cifar10, download the data set if it is not cached.",
    )
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        default=None,
        help="With --cifar10, scikit-learn's data folder (default: "
        "~/scikit_learn_data or $SCIKIT_LEARN_DATA).",
    )
    parser.add_argument(
        "--n-train",
        type=_n_train,
        default=0,
        metavar="N",
        help="Use at most N training images (default 0: all of them; at "
        f"least {_MIN_PER_CLASS} per class).",
    )
    parser.add_argument(
        "--features",
        choices=["raw", "hog", "both"],
        default="both",
        help="Part 1 on raw pixels, HOG features, or both (default).",
    )
    parser.add_argument(
        "--time-cap",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="Stop a fit of part 1 or 3 that runs longer than this and report "
        "'> SECONDS' (default: 90 for CIFAR-10, 3 for the scale part of the "
        "default run). The fit runs in a forked process; where the platform "
        "cannot fork, fits are not stopped.",
    )
    parser.add_argument(
        "--threads",
        type=_n_threads,
        default=1,
        metavar="N",
        help="BLAS threads of every model (default 1: scikit-learn's SGD and "
        "LinearSVC use one core, and on a busy machine a second BLAS thread "
        "can slow small products several times over); 0 keeps the library's "
        "default.",
    )
    parser.add_argument(
        "--plot",
        metavar="FILE",
        default=None,
        help="Save a figure of accuracy against time for the three parts to "
        "FILE (.png, .pdf, .svg; needs matplotlib).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Few images, epochs and candidates: checks that everything runs, "
        "in a few seconds. Not a measurement.",
    )
    parser.add_argument(
        "--random-state", type=int, default=0, help="Seed of the models and splits."
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Print the epochs of sklinear's classifiers while they train.",
    )
    return parser


# Data ------------------------------------------------------------------------


@dataclass
class _Plan:
    """What the three parts train on; built by :func:`_digits_plan` or
    :func:`_cifar_plan`."""

    title: str
    image_shape: tuple
    X: np.ndarray  # part 1: images as rows
    y: np.ndarray
    folds: list  # part 1: (train, test) index pairs
    evaluation: str
    tune: tuple  # part 2: X_train, y_train, X_test, y_test (features)
    tune_text: str
    scale: tuple | None  # part 3: X_train, y_train, X_test, y_test, or None
    scale_text: str
    cap: float | None  # part 1
    scale_cap: float | None
    progress: bool = False  # lines on standard error before long steps
    notes: list = field(default_factory=list)


def _fail(argument, message):
    message = " ".join(str(message).split()).replace(_LIBRARY_ADVICE, _CLI_ADVICE)
    sys.stderr.write(f"{_PROG}: error: argument {argument}: {message}\n")
    raise SystemExit(2)


def _check_n_train(args, y):
    n_classes = len(np.unique(y))
    needed = _MIN_PER_CLASS * n_classes
    if args.n_train and args.n_train < needed:
        _fail(
            "--n-train",
            f"{args.n_train} training image(s) are too few for {n_classes} "
            f"classes and cross-validation: use at least {needed} "
            f"({_MIN_PER_CLASS} per class), or 0 for all",
        )


def _subset(y, n, random_state):
    """Indices of a stratified subset of `n` rows (all rows if n >= len(y))."""
    if not n or n >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    rows, _ = train_test_split(
        np.arange(len(y)), train_size=n, stratify=y, random_state=random_state
    )
    return np.sort(rows)


def _digits_plan(args):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    _check_n_train(args, y)
    n = 300 if args.quick and not args.n_train else args.n_train
    rows = _subset(y, n, args.random_state)
    X, y = X[rows], y[rows]
    k = 3
    folds = list(
        StratifiedKFold(k, shuffle=True, random_state=args.random_state).split(X, y)
    )
    tr, te = train_test_split(
        np.arange(len(y)), test_size=0.25, stratify=y, random_state=args.random_state
    )
    scaler = StandardScaler().fit(X[tr])
    tune = (scaler.transform(X[tr]), y[tr], scaler.transform(X[te]), y[te])
    copies = 1
    rng = np.random.default_rng(args.random_state)
    S_train = _digit_canvases(X[tr], copies, rng)
    S_test = _digit_canvases(X[te], 1, rng)
    scaler = StandardScaler().fit(S_train)
    scale = (
        scaler.transform(S_train).astype(np.float32),
        np.tile(y[tr], copies),
        scaler.transform(S_test).astype(np.float32),
        y[te],
    )
    return _Plan(
        title=f"scikit-learn's digits ({len(y):,} 8x8 grayscale images, "
        "10 classes; bundled, no download)",
        image_shape=(8, 8),
        X=X,
        y=y,
        folds=folds,
        evaluation=f"{k}-fold stratified cross-validation: each of the "
        f"{len(y):,} images is predicted once, by a model that did not see it",
        tune=tune,
        tune_text=f"standardized raw pixels, {len(tr):,} training images, "
        f"scored on {len(te):,} held out",
        scale=scale,
        scale_text=(
            "image-sized data made from the digits, no download: each digit "
            "upsampled to 24x24 and put at a random offset on a 32x32 RGB "
            "canvas with random colours and pixel noise (3,072 features, "
            f"standardized); {len(scale[1]):,} training canvases (one per "
            f"training digit), {len(te):,} test canvases of the held-out digits"
        ),
        cap=args.time_cap,
        scale_cap=args.time_cap or (2.0 if args.quick else 3.0),
    )


def _digit_canvases(X, copies, rng):
    """8x8 digits (rows of 0-16) -> 32x32x3 uint8 canvases, as rows."""
    side = 24
    digits = np.kron(X.reshape(-1, 8, 8) / 16.0, np.ones((1, 3, 3)))
    digits = np.tile(digits, (copies, 1, 1)).astype(np.float32)
    n = len(digits)
    offsets = rng.integers(0, 32 - side + 1, size=(n, 2))
    canvas = np.zeros((n, 32, 32), np.float32)
    for k, (i, j) in enumerate(offsets):
        canvas[k, i : i + side, j : j + side] = digits[k]
    ink = rng.uniform(0.2, 1.0, size=(n, 1, 1, 3)).astype(np.float32)
    paper = rng.uniform(0.0, 0.5, size=(n, 1, 1, 3)).astype(np.float32)
    canvas = canvas[..., None]
    images = 255 * (canvas * ink + (1 - canvas) * paper)
    images += rng.normal(0, 30, size=images.shape).astype(np.float32)
    return np.clip(images, 0, 255).astype(np.uint8).reshape(n, -1)


def _load_cifar(args):
    """The CIFAR-10 training set, or one clean error line naming the argument."""
    from .datasets import load_cifar10

    argument = "--data" if args.data is not None else "--cifar10"
    options = {"subset": "train", "return_X_y": True}
    if args.data is None:
        options.update(data_home=args.data_home, download_if_missing=args.download)
    try:
        return load_cifar10(args.data, **options)
    except FileNotFoundError as error:
        if args.data is not None:
            _fail(
                argument,
                f"{error} Pass the cifar-10-batches-py directory, the "
                "cifar-10-python.tar.gz archive or an .npz with X_train and "
                "y_train.",
            )
        from sklearn.datasets import get_data_home

        home = os.path.join(get_data_home(args.data_home), "cifar10")
        _fail(
            argument,
            f"CIFAR-10 not found in {home!r} (no cifar-10-batches-py directory "
            "or cifar-10-python.tar.gz archive there). Add --download to fetch "
            "it (about 163 MB), or pass --data PATH to a copy you have.",
        )
    except (OSError, ValueError) as error:
        _fail(argument, error)


def _cifar_plan(args):
    X, y = _load_cifar(args)
    _check_n_train(args, y)
    n_test = min(_CIFAR_N_TEST, len(y) // 5)
    order = np.random.default_rng(args.random_state).permutation(len(y))
    test, train = order[-n_test:], order[:-n_test]
    needed = _MIN_PER_CLASS * len(np.unique(y))
    if len(train) < needed:
        _fail(
            "--data" if args.data is not None else "--cifar10",
            f"{len(y)} images are too few: {len(train)} remain for training "
            f"once {n_test} are held out, and {len(np.unique(y))} classes need "
            f"at least {needed}; use the full CIFAR-10 training set",
        )
    n_train = args.n_train or (2000 if args.quick else 0)
    train = train[_subset(y[train], n_train, args.random_state)]
    n_tune = min(len(train), 1000 if args.quick else _CIFAR_N_TUNE)
    tune_rows = train[_subset(y[train], n_tune, args.random_state)]
    rows = np.concatenate([train, test])
    folds = [(np.arange(len(train)), np.arange(len(train), len(rows)))]
    plan = _Plan(
        title=f"CIFAR-10 training set ({len(y):,} 32x32 RGB images, "
        f"{len(np.unique(y))} classes)",
        image_shape=(32, 32, 3),
        X=X[rows],
        y=y[rows],
        folds=folds,
        evaluation=f"{len(train):,} training images, scored on {n_test:,} held "
        "out (the last of a fixed permutation; the official test set is never "
        "read)",
        tune=None,
        tune_text=f"HOG + hue histogram features of {n_tune:,} of the training "
        f"images (a subset, so that GridSearchCV finishes in minutes), scored "
        f"on the {n_test:,} held out",
        scale=None,
        scale_text=f"the raw-pixel fits of part 1: {len(train):,} x 3,072 "
        "standardized pixels",
        cap=args.time_cap or 90.0,
        scale_cap=None,
        progress=True,
    )
    plan.tune_rows = (tune_rows, test)
    plan.X_all, plan.y_all = X, y
    return plan


# Models ----------------------------------------------------------------------


def _classifiers(args):
    """Name -> unfitted classifier at its defaults, sklinear's first."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    from .linear import MulticlassSVMSGD, SoftmaxSGD

    seed = {"random_state": args.random_state}
    ours = {**seed, "verbose": int(args.verbose)}
    if args.quick:
        return {
            "MulticlassSVMSGD": MulticlassSVMSGD(max_iter=5, **ours),
            "SoftmaxSGD": SoftmaxSGD(max_iter=5, **ours),
            "LogisticRegression": LogisticRegression(max_iter=20),
            "SGDClassifier": SGDClassifier(max_iter=5, **seed),
            "LinearSVC": LinearSVC(max_iter=20, **seed),
        }
    return {
        "MulticlassSVMSGD": MulticlassSVMSGD(**ours),
        "SoftmaxSGD": SoftmaxSGD(**ours),
        "LogisticRegression": LogisticRegression(),
        "SGDClassifier": SGDClassifier(**seed),
        "LinearSVC": LinearSVC(**seed),
    }


def _featurizers(kind, image_shape):
    """Name -> unfitted transformer producing the classifiers' input."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    to_float = FunctionTransformer(_to_float32)
    out = {}
    if kind in ("raw", "both"):
        out["raw pixels"] = make_pipeline(to_float, StandardScaler())
    if kind in ("hog", "both"):
        out[_hog_name(image_shape)] = _hog(image_shape)
    return out


def _hog_name(image_shape):
    return "HOG" if len(image_shape) == 2 else "HOG + hue hist."


def _hog(image_shape):
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import StandardScaler

    from .features import HOG, ColorHistogram

    if len(image_shape) == 2:
        return make_pipeline(
            HOG(image_shape=image_shape, **_DIGITS_HOG), StandardScaler()
        )
    hog = HOG(color_mode="gray", block_norm=None, image_shape=image_shape)
    color = ColorHistogram(image_shape=image_shape)
    return make_pipeline(make_union(hog, color), StandardScaler())


def _to_float32(X):
    return np.asarray(X, dtype=np.float32)


def _n_passes(model):
    """Passes over the training data of a fitted model (epochs, iterations)."""
    n_iter = getattr(model, "n_iter_", None)
    if n_iter is None:
        return None
    return int(np.max(n_iter))


def _at_max_iter(model):
    """Whether a fitted model ran all its `max_iter` passes."""
    passes = _n_passes(model)
    max_iter = model.get_params().get("max_iter")
    return passes is not None and max_iter is not None and passes >= max_iter


def _fit(model, X, y, cap):
    """Fit and time `model`; ``(None, None)`` if it runs longer than `cap`.

    With a cap, the fit runs in a forked process that is stopped at the
    cap (where the platform can fork); the fitted model comes back pickled.
    """
    import multiprocessing

    if cap is None or "fork" not in multiprocessing.get_all_start_methods():
        return _timed_fit(model, X, y)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_fit_child, args=(model, X, y, send))
    process.start()
    send.close()
    try:
        if not receive.poll(cap):
            return None, None
        status, payload = receive.recv()
    except EOFError:  # the child died without an answer
        status, payload = "error", RuntimeError("the fit's process ended early")
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        receive.close()
    if status == "error":
        raise payload
    return payload


def _fit_child(model, X, y, send):
    try:
        send.send(("ok", _timed_fit(model, X, y)))
    except BaseException as error:  # reported to the parent, raised there
        send.send(("error", error))
    finally:
        send.close()


def _timed_fit(model, X, y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        return model, time.perf_counter() - start


def _one_pass_time(model, X, y, cap):
    """Seconds per pass of a model whose fit was stopped at the cap.

    ``(time(max_iter=3) - time(max_iter=1)) / 2``: the fixed costs of a fit
    (checks, conversions, set-up) cancel. None if a fit runs longer than
    `cap`.
    """
    from sklearn.base import clone

    seconds = []
    for passes in (1, 3):
        _, elapsed = _fit(clone(model).set_params(max_iter=passes), X, y, cap)
        if elapsed is None:
            return None
        seconds.append(elapsed)
    return max(seconds[1] - seconds[0], 0.0) / 2


# Statistics ------------------------------------------------------------------


def confidence(correct, best=None, z=1.96):
    """Accuracy, its 95 % half-width, and whether it ties with `best`.

    Parameters
    ----------
    correct : ndarray of shape (n,), dtype bool
        Whether each test prediction is right.
    best : ndarray of shape (n,), dtype bool, default=None
        The same for the best model, predicting the same test rows.
    z : float, default=1.96
        The normal quantile of the interval (1.96: 95 %).

    Returns
    -------
    accuracy : float
        The fraction right.
    half_width : float
        ``z`` standard errors of the accuracy (binomial).
    tie : bool or None
        Whether the paired difference to `best` is within ``z`` of its
        standard errors (None without `best`).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.arange(1000) % 10 != 0  # 0.9 right
    >>> b = a.copy(); b[:5] = ~b[:5]  # 1 row more right, 4 more wrong
    >>> accuracy, half_width, tie = confidence(b, best=a)
    >>> round(accuracy, 3), round(half_width, 3), tie
    (0.897, 0.019, True)
    """
    correct = np.asarray(correct, dtype=float)
    n = len(correct)
    accuracy = float(correct.mean())
    half_width = z * math.sqrt(accuracy * (1 - accuracy) / n)
    if best is None:
        return accuracy, half_width, None
    diff = correct - np.asarray(best, dtype=float)
    spread = z * float(diff.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return accuracy, half_width, bool(abs(diff.mean()) <= spread)


# Output ----------------------------------------------------------------------


class _Table:
    """A plain-text table printed row by row, with fixed column widths."""

    def __init__(self, columns, out):
        # columns: (header, width, "<" or ">")
        self.columns = [
            (name, max(width, len(name)), align) for name, width, align in columns
        ]
        self.out = out

    def head(self):
        self.row([name for name, _, _ in self.columns])
        self.out("  ".join("-" * width for _, width, _ in self.columns))

    def row(self, values):
        cells = [
            f"{value:{align}{width}}"
            for value, (_, width, align) in zip(values, self.columns, strict=True)
        ]
        self.out("  ".join(cells).rstrip())


def _fmt_time(seconds, cap=None):
    if seconds is None:
        return f"> {cap:g}" if cap is not None else "-"
    return f"{seconds:.2f}" if seconds < 100 else f"{seconds:.0f}"


def _fmt_passes(row):
    if row["passes"] is None:
        return "-"
    return f"{row['passes']}{'!' if row.get('at_max_iter') else ''}"


def _fmt_value(value):
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def _progress(enabled, start, text):
    if enabled:
        print(
            f"  [{time.perf_counter() - start:5.0f} s] {text}",
            file=sys.stderr,
            flush=True,
        )


# The three parts ---------------------------------------------------------------


def _part_accuracy(plan, args, out, clock):
    """Part 1: every model at its defaults, per feature set."""
    from sklearn.base import clone

    models = _classifiers(args)
    out(
        "",
        "1. Accuracy at the defaults: no parameter tuned, every model as "
        "constructed with no arguments.",
        f"   Evaluation: {plan.evaluation}.",
        "   +/- is the 95 % interval of the accuracy; 'tie' means the paired "
        "difference to the best row of the",
        "   same features is within its 95 % interval (not a significant "
        "difference on these test images).",
    )
    table = _Table(
        [
            ("features", 15, "<"),
            ("model", 18, "<"),
            ("dims", 5, ">"),
            ("accuracy", 8, ">"),
            ("+/-", 5, ">"),
            ("vs best", 7, "<"),
            ("fit time (s)", 12, ">"),
        ],
        out,
    )
    table.head()
    rows = []
    names = _featurizers(args.features, plan.image_shape)
    extraction = dict.fromkeys(names, 0.0)
    for features, featurizer in names.items():
        correct = {name: np.zeros(len(plan.y), bool) for name in models}
        tested = np.zeros(len(plan.y), bool)
        block = {
            name: {"fit_time": 0.0, "passes": [], "capped": False} for name in models
        }
        n_features = None
        for train, test in plan.folds:
            _progress(plan.progress, clock, f"{features}: extracting features")
            featurizer = clone(featurizer)
            start = time.perf_counter()
            F_train = featurizer.fit_transform(plan.X[train])
            F_test = featurizer.transform(plan.X[test])
            extraction[features] += time.perf_counter() - start
            n_features = F_train.shape[1]
            tested[test] = True
            for name, model in models.items():
                if block[name]["capped"]:
                    continue
                _progress(
                    plan.progress,
                    clock,
                    f"{features}: fitting {name} on {F_train.shape[0]:,} x "
                    f"{n_features:,}",
                )
                fitted, seconds = _fit(clone(model), F_train, plan.y[train], plan.cap)
                if fitted is None:
                    block[name]["capped"] = True
                    block[name]["one_pass"] = _one_pass_time(
                        model, F_train, plan.y[train], plan.cap
                    )
                    continue
                block[name]["fit_time"] += seconds
                block[name]["passes"].append(_n_passes(fitted))
                block[name]["at_max_iter"] = block[name].get(
                    "at_max_iter", False
                ) or _at_max_iter(fitted)
                correct[name][test] = fitted.predict(F_test) == plan.y[test]
        finished = [name for name in models if not block[name]["capped"]]
        best = max(
            finished, key=lambda name: correct[name][tested].mean(), default=None
        )
        for name in models:
            info = block[name]
            row = {
                "part": 1,
                "features": features,
                "model": name,
                "n_features": n_features,
                "n_train": len(plan.folds[0][0]),
                "fit_time": None
                if info["capped"]
                else info["fit_time"] / len(plan.folds),
                "passes": None if info["capped"] else max(info["passes"], default=None),
                "one_pass": info.get("one_pass"),
                "at_max_iter": info.get("at_max_iter", False),
                "cap": plan.cap,
            }
            if info["capped"]:
                row.update(accuracy=None, half_width=None, tie=None)
                cells = ["-", "-", "-"]
            else:
                accuracy, half, tie = confidence(
                    correct[name][tested],
                    None if name == best or best is None else correct[best][tested],
                )
                row.update(accuracy=accuracy, half_width=half, tie=tie)
                verdict = "best" if name == best else ("tie" if tie else "lower")
                cells = [f"{accuracy:.3f}", f"{half:.3f}", verdict]
            table.row(
                [
                    features,
                    name,
                    str(n_features),
                    *cells,
                    _fmt_time(row["fit_time"], plan.cap),
                ]
            )
            rows.append(row)
    if any(row["fit_time"] is None for row in rows):
        out(
            f"   '> {plan.cap:g}': the fit ran longer than the time cap "
            "(--time-cap) and was stopped; no accuracy."
        )
    if len(plan.folds) > 1:
        out("   Fit time: the mean over the folds.")
    n_images = sum(len(train) + len(test) for train, test in plan.folds)
    folds = f" over the {len(plan.folds)} folds" if len(plan.folds) > 1 else ""
    out(
        *(
            f"   Features '{name}': {seconds:.2f} s to extract, standardization "
            f"included ({n_images:,} images{folds}: "
            f"{1e6 * seconds / n_images:.0f} us per image)."
            for name, seconds in extraction.items()
        )
    )
    return rows


def _searches(args):
    """Name -> (search, grid text), every grid of the same size."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from .linear import MulticlassSVMSGDCV, SoftmaxSGDCV

    n = 3 if args.quick else _N_GRID
    cv = StratifiedKFold(
        2 if args.quick else 3, shuffle=True, random_state=args.random_state
    )
    seed = {"random_state": args.random_state}
    epochs = {"max_iter": 5} if args.quick else {}
    alphas = np.logspace(-6, 1, n) if not args.quick else np.logspace(-4, -2, n)
    Cs = np.logspace(-3, 4, n) if not args.quick else np.logspace(-2, 0, n)
    sgd_alphas = np.logspace(-7, 0, n) if not args.quick else np.logspace(-5, -3, n)

    def span(name, values):
        return f"{name} {_fmt_value(values[0])}..{_fmt_value(values[-1])}"

    return {
        "SoftmaxSGDCV (one pass)": (
            SoftmaxSGDCV(alphas=list(alphas), cv=cv, **epochs, **seed),
            span("alpha", alphas),
            "alpha_",
        ),
        "MulticlassSVMSGDCV (one pass)": (
            MulticlassSVMSGDCV(alphas=list(alphas), cv=cv, **epochs, **seed),
            span("alpha", alphas),
            "alpha_",
        ),
        "GridSearchCV(LogisticRegression)": (
            GridSearchCV(
                LogisticRegression(**({"max_iter": 20} if args.quick else {})),
                {"C": list(Cs)},
                cv=cv,
            ),
            span("C", Cs),
            "C",
        ),
        "GridSearchCV(SGDClassifier)": (
            GridSearchCV(
                SGDClassifier(**epochs, **seed), {"alpha": list(sgd_alphas)}, cv=cv
            ),
            span("alpha", sgd_alphas),
            "alpha",
        ),
    }


def _part_tuning(plan, args, out, clock):
    """Part 2: the one-pass searches against GridSearchCV, same-size grids."""
    X_train, y_train, X_test, y_test = plan.tune
    searches = _searches(args)
    n_candidates = len(next(iter(searches.values()))[0].alphas)
    n_folds = next(iter(searches.values()))[0].cv.get_n_splits()
    out(
        "",
        f"2. Tuning: every search tries {n_candidates} values of its "
        f"regularization strength with {n_folds}-fold CV ({n_candidates * n_folds} "
        "fits), then refits the best on all its training rows.",
        f"   Data: {plan.tune_text}.",
        "   The one-pass searches train all candidates and folds together; "
        "GridSearchCV fits them one after the other.",
    )
    table = _Table(
        [
            ("search", 32, "<"),
            ("grid", 15, "<"),
            ("time (s)", 8, ">"),
            ("chosen", 11, "<"),
            ("CV acc.", 7, ">"),
            ("held-out acc.", 13, ">"),
        ],
        out,
    )
    table.head()
    rows = []
    for name, (search, grid, chosen) in searches.items():
        _progress(
            plan.progress,
            clock,
            f"tuning: {name} on {X_train.shape[0]:,} x {X_train.shape[1]:,}",
        )
        search, seconds = _timed_fit(search, X_train, y_train)
        value = (
            getattr(search, chosen)
            if chosen.endswith("_")
            else search.best_params_[chosen]
        )
        label = chosen.rstrip("_")
        accuracy = float(search.score(X_test, y_test))
        rows.append(
            {
                "part": 2,
                "model": name,
                "fit_time": seconds,
                "chosen": {label: float(value)},
                "cv_accuracy": float(search.best_score_),
                "accuracy": accuracy,
            }
        )
        table.row(
            [
                name,
                grid,
                _fmt_time(seconds),
                f"{label}={_fmt_value(value)}",
                f"{search.best_score_:.3f}",
                f"{accuracy:.3f}",
            ]
        )
    return rows


def _part_scale(plan, args, out, clock, part1_rows):
    """Part 3: fit time, passes and seconds per pass on image-sized data."""
    from sklearn.base import clone

    out(
        "",
        "3. Scale: each model at its defaults on image-sized data. A pass "
        "reads every training row once (an epoch;",
        "   for LogisticRegression an L-BFGS iteration, for LinearSVC a "
        "coordinate-descent pass); 'x SoftmaxSGD': its",
        "   seconds per pass over SoftmaxSGD's.",
        f"   Data: {plan.scale_text}.",
    )
    table = _Table(
        [
            ("model", 18, "<"),
            ("fit time (s)", 12, ">"),
            ("passes", 6, ">"),
            ("s / pass", 9, ">"),
            ("x SoftmaxSGD", 12, ">"),
            ("accuracy", 8, ">"),
        ],
        out,
    )
    table.head()
    if plan.scale is None:
        rows = [
            {**row, "part": 3}
            for row in part1_rows
            if row.get("features") == "raw pixels"
        ]
        if not rows:
            out("   (none: run with --features raw or both)")
    else:
        rows = []
        X_train, y_train, X_test, y_test = plan.scale
        for name, model in _classifiers(args).items():
            _progress(
                plan.progress,
                clock,
                f"scale: fitting {name} on {X_train.shape[0]:,} x {X_train.shape[1]:,}",
            )
            fitted, seconds = _fit(clone(model), X_train, y_train, plan.scale_cap)
            row = {
                "part": 3,
                "model": name,
                "n_features": X_train.shape[1],
                "n_train": X_train.shape[0],
                "fit_time": seconds,
                "cap": plan.scale_cap,
                "passes": None if fitted is None else _n_passes(fitted),
                "at_max_iter": fitted is not None and _at_max_iter(fitted),
                "one_pass": None,
                "accuracy": None
                if fitted is None
                else float(fitted.score(X_test, y_test)),
            }
            if fitted is None:
                row["one_pass"] = _one_pass_time(
                    model, X_train, y_train, plan.scale_cap
                )
            rows.append(row)
    for row in rows:
        if row["fit_time"] is not None:
            row["per_pass"] = row["fit_time"] / row["passes"] if row["passes"] else None
        else:
            row["per_pass"] = row["one_pass"]
    reference = next(
        (row["per_pass"] for row in rows if row["model"] == "SoftmaxSGD"), None
    )
    starred = False
    for row in rows:
        per_pass, ratio, star = "-", "-", ""
        if row["fit_time"] is None:
            starred, star = True, "*"
            per_pass = _fmt_time(row["one_pass"], row["cap"]) + star
        if row["per_pass"] is not None:
            per_pass = f"{row['per_pass']:.3f}{star}"
            if reference:
                ratio = f"{row['per_pass'] / reference:.1f}"
        table.row(
            [
                row["model"],
                _fmt_time(row["fit_time"], row["cap"]),
                _fmt_passes(row),
                per_pass,
                ratio,
                "-" if row["accuracy"] is None else f"{row['accuracy']:.3f}",
            ]
        )
    if any(row.get("at_max_iter") for row in rows):
        out(
            "   ! the fit reached its max_iter without meeting its stopping rule "
            "(a ConvergenceWarning)."
        )
    if starred:
        cap = next(row["cap"] for row in rows if row["fit_time"] is None)
        out(
            f"   '> {cap:g}': stopped at the time cap (--time-cap); * from two "
            "separate fits: (time of 3 passes - time of 1) / 2."
        )
    return rows


def _cifar_tuning_data(plan, clock, progress):
    tune_rows, test = plan.tune_rows
    _progress(progress, clock, "tuning: HOG + hue histogram features")
    featurizer = _hog(plan.image_shape)
    F_train = featurizer.fit_transform(plan.X_all[tune_rows])
    F_test = featurizer.transform(plan.X_all[test])
    return F_train, plan.y_all[tune_rows], F_test, plan.y_all[test]


def run(argv=None, *, out=None):
    """Run the three parts and return their results.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None); see
        ``python -m sklinear --help``.
    out : callable, default=None
        Called with lines of the report as soon as they are known (nothing
        is printed when None).

    Returns
    -------
    rows : list of dict
        One per model and part: ``part`` (1, 2 or 3), ``model``,
        ``fit_time`` (seconds, None if stopped at the time cap),
        ``accuracy`` (None if stopped), and per part ``features``,
        ``half_width``, ``tie`` (1), ``chosen``, ``cv_accuracy`` (2),
        ``passes``, ``one_pass`` (1 and 3).
    """
    args = _parser().parse_args(argv)
    if out is None:

        def out(*lines):
            pass

    if args.plot is not None:
        _check_plot_path(args.plot)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads or None, user_api="blas"):
        return _run(args, out)


def _run(args, out):
    clock = time.perf_counter()
    cifar = args.data is not None or args.cifar10
    plan = _cifar_plan(args) if cifar else _digits_plan(args)
    out(
        f"{_PROG}: what sklinear's classifiers do, beside scikit-learn's.",
        f"Data: {plan.title}.",
        _blas_line(),
    )
    if args.quick:
        out("--quick: few images, epochs and candidates; not a measurement.")
    times = [time.perf_counter()]
    rows = _part_accuracy(plan, args, out, clock)
    times.append(time.perf_counter())
    if plan.tune is None:
        plan.tune = _cifar_tuning_data(plan, clock, True)
    rows += _part_tuning(plan, args, out, clock)
    times.append(time.perf_counter())
    rows += _part_scale(plan, args, out, clock, rows)
    times.append(time.perf_counter())
    parts = ", ".join(
        f"part {k} {end - start:.1f} s"
        for k, (start, end) in enumerate(zip(times, times[1:], strict=False), 1)
    )
    out("", f"Total time: {times[-1] - clock:.1f} s ({parts}, the rest loading).")
    if args.plot is not None:
        plot(rows, args.plot, title=plan.title)
        out(f"Figure saved to {args.plot}.")
    return rows


def _check_plot_path(path):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        _fail("--plot", "needs matplotlib: pip install matplotlib")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        _fail("--plot", f"folder {folder!r} does not exist")


def plot(rows, path, title=""):
    """Save accuracy against time, one panel per part, to `path`.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`run`.
    path : str
        The figure's file; the format follows its extension.
    title : str, default=""
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure, already saved.
    """
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        (1, "1. Defaults (95 % intervals)", "fit time (s)"),
        (2, "2. Tuning (held-out accuracy)", "search time (s)"),
        (3, "3. Scale (image-sized data)", "fit time (s)"),
    ]
    colors = {}
    markers = {}
    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, (part, name, xlabel) in zip(axes, panels, strict=True):
        stopped = []
        for row in rows:
            if row["part"] != part:
                continue
            if row["fit_time"] is None:
                stopped.append(row["model"])
                continue
            color = colors.setdefault(row["model"], f"C{len(colors) % 10}")
            label = row["model"]
            marker = "o"
            if part == 1:
                marker = markers.setdefault(row["features"], "o^sD"[len(markers) % 4])
                label = f"{label}, {row['features']}"
            ax.errorbar(
                row["fit_time"],
                row["accuracy"],
                yerr=row.get("half_width"),
                fmt=marker,
                color=color,
                label=label,
                capsize=3,
            )
        if stopped:
            cap = next(r["cap"] for r in rows if r["part"] == part and r["cap"])
            ax.text(
                0.02,
                0.02,
                f"stopped at {cap:g} s, not shown: {', '.join(sorted(set(stopped)))}",
                transform=ax.transAxes,
                fontsize=7,
            )
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("accuracy")
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return fig


def _blas_line():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return "BLAS: unknown (threadpoolctl not installed)"
    libs = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    if not libs:
        return "BLAS: unknown"
    # numpy's BLAS is the one doing the products (scipy may ship another).
    lib = next((lib for lib in libs if "numpy" in lib.get("filepath", "")), libs[0])
    return (
        f"BLAS: {lib['internal_api']} {lib['version']}, {lib['num_threads']} "
        f"thread(s); {os.cpu_count()} CPU(s)."
    )


def main(argv=None):
    """Run the demo, printing each result as soon as it is known.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None); see
        ``python -m sklinear --help``.

    Returns
    -------
    int
        Exit status, 0 on success (a bad argument exits with status 2 and
        one line on standard error).
    """
    run(argv, out=_print)
    return 0


def _print(*lines):
    print("\n".join(lines), flush=True)
