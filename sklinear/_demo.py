"""The ``python -m sklinear`` demo: sklinear's classifiers beside scikit-learn's.

By default it needs no download: it trains :class:`~sklinear.MulticlassSVMSGD`
and :class:`~sklinear.SoftmaxSGD` on scikit-learn's bundled 8x8 digits, on
standardized raw pixels and on HOG features, next to scikit-learn's
``SGDClassifier``, ``LogisticRegression`` and ``LinearSVC``, and prints one
table of test accuracy and fit time, a row as soon as each model is trained.
``--data PATH`` or ``--cifar10`` run it on CIFAR-10 instead (raw pixels, and
HOG plus hue-histogram features); ``--verbose`` shows the epochs of
sklinear's classifiers.
"""

import argparse
import time
import warnings

import numpy as np

_DIGITS_HOG = {"pixels_per_cell": (2, 2), "cells_per_block": (1, 1)}
_CIFAR_DEFAULT_TRAIN = 10_000


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m sklinear",
        description=(
            "Train sklinear's MulticlassSVMSGD and SoftmaxSGD next to "
            "scikit-learn's SGDClassifier, LogisticRegression and LinearSVC, on "
            "raw pixels and on HOG features, and print test accuracy and fit "
            "time. Default data: scikit-learn's bundled 8x8 digits (no download)."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data",
        metavar="PATH",
        help="CIFAR-10 at PATH: the cifar-10-batches-py directory, the "
        "cifar-10-python.tar.gz archive, or an .npz with X_train, y_train and "
        "X_test, y_test (or X_val, y_val).",
    )
    source.add_argument(
        "--cifar10",
        action="store_true",
        help="CIFAR-10 from scikit-learn's data home (see load_cifar10); "
        "downloaded (about 163 MB) only with --download.",
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
        type=int,
        default=None,
        help="Use at most this many training images (default: all for digits, "
        f"{_CIFAR_DEFAULT_TRAIN} for CIFAR-10; 0 means all).",
    )
    parser.add_argument(
        "--features",
        choices=["raw", "hog", "both"],
        default="both",
        help="Raw pixels, HOG features, or both (default).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A few hundred training images and few epochs: checks that "
        "everything runs, in about a second.",
    )
    parser.add_argument(
        "--random-state", type=int, default=0, help="Seed of the models and split."
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Print the initial loss and one line per epoch of sklinear's "
        "classifiers while they train.",
    )
    return parser


def _load(args):
    """Train and test pixels, image shape and a description of the data."""
    if args.data is None and not args.cifar10:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=args.random_state
        )
        description = "scikit-learn's digits (8x8 grayscale, 10 classes)"
        image_shape = (8, 8)
        default_train = None
    else:
        from .datasets import load_cifar10

        options = {"return_X_y": True}
        if args.data is None:
            options.update(data_home=args.data_home, download_if_missing=args.download)
        try:
            X_train, y_train = load_cifar10(args.data, subset="train", **options)
            X_test, y_test = load_cifar10(args.data, subset="test", **options)
        except FileNotFoundError as error:
            hint = "" if args.data else " Pass --download to fetch it (163 MB)."
            raise SystemExit(f"CIFAR-10 not found: {error}{hint}") from None
        description = "CIFAR-10 (32x32 RGB, 10 classes)"
        image_shape = (32, 32, 3)
        default_train = _CIFAR_DEFAULT_TRAIN
    n_train = default_train if args.n_train is None else (args.n_train or None)
    if args.quick:
        n_train = min(n_train or len(X_train), 300)
        X_test, y_test = X_test[:300], y_test[:300]
    if n_train is not None and n_train < len(X_train):
        from sklearn.model_selection import train_test_split

        X_train, _, y_train, _ = train_test_split(
            X_train,
            y_train,
            train_size=n_train,
            stratify=y_train,
            random_state=args.random_state,
        )
    return X_train, y_train, X_test, y_test, image_shape, description


def _featurizers(kind, image_shape):
    """Name -> unfitted transformer producing the classifiers' input."""
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from .features import HOG, ColorHistogram

    to_float = FunctionTransformer(_to_float32 if len(image_shape) == 3 else None)
    out = {}
    if kind in ("raw", "both"):
        out["raw pixels"] = make_pipeline(to_float, StandardScaler())
    if kind in ("hog", "both"):
        if len(image_shape) == 2:
            hog = HOG(image_shape=image_shape, **_DIGITS_HOG)
            out["HOG"] = make_pipeline(hog, StandardScaler())
        else:
            hog = HOG(color_mode="gray", block_norm=None, image_shape=image_shape)
            color = ColorHistogram(image_shape=image_shape)
            out["HOG + hue hist."] = make_pipeline(
                make_union(hog, color), StandardScaler()
            )
    return out


def _to_float32(X):
    return np.asarray(X, dtype=np.float32)


def _classifiers(quick, random_state, n_features, verbose=False):
    """Name -> unfitted classifier, sklinear's first."""
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.svm import LinearSVC

    from .linear import MulticlassSVMSGD, SoftmaxSGD

    epochs = 5 if quick else 100
    many_features = n_features > 500
    shared = {"max_iter": epochs, "random_state": random_state, "verbose": int(verbose)}
    if many_features:
        # Raw CIFAR-10 pixels: a smaller Adam step and more regularization.
        shared.update(learning_rate_init=1e-3, alpha=1e-2)
    return {
        "MulticlassSVMSGD": MulticlassSVMSGD(**shared),
        "SoftmaxSGD": SoftmaxSGD(**shared),
        "SGDClassifier (hinge)": SGDClassifier(
            max_iter=epochs, random_state=random_state
        ),
        "LogisticRegression": LogisticRegression(
            max_iter=10 if quick else 200, C=1e-2 if many_features else 1.0
        ),
        "LinearSVC": LinearSVC(
            max_iter=10 if quick else 1000,
            C=1e-4 if many_features else 1.0,
            random_state=random_state,
        ),
    }


def run(argv=None, *, on_header=None, on_row=None):
    """Train every model and return the results with a description of the run.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None).
    on_header : callable, default=None
        Called with the header lines and the planned table layout (see
        :func:`format_table`) once the data is loaded, before any training.
    on_row : callable, default=None
        Called with each row as soon as its model is trained and scored.

    Returns
    -------
    rows : list of dict
        One per (features, model): ``features``, ``model``, ``n_features``,
        ``accuracy``, ``fit_time`` (seconds, classifier only) and
        ``feature_time`` (seconds to extract the features of the training
        set).
    header : list of str
        Lines describing the data and the machine.
    """
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    args = _parser().parse_args(argv)
    X_train, y_train, X_test, y_test, image_shape, description = _load(args)
    header = [
        f"Data: {description}; {len(X_train)} training, {len(X_test)} test images.",
        _blas_line(),
    ]
    featurizers = _featurizers(args.features, image_shape)
    if on_header is not None:
        # The model names do not depend on the number of features.
        names = list(_classifiers(args.quick, args.random_state, 0))
        on_header(header, _widths(list(featurizers), names))
    rows = []
    for name, featurizer in featurizers.items():
        start = time.perf_counter()
        F_train = featurizer.fit_transform(X_train)
        feature_time = time.perf_counter() - start
        F_test = featurizer.transform(X_test)
        models = _classifiers(
            args.quick, args.random_state, F_train.shape[1], args.verbose
        )
        for model_name, model in models.items():
            model = clone(model)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                model.fit(F_train, y_train)
                fit_time = time.perf_counter() - start
            row = {
                "features": name,
                "model": model_name,
                "n_features": F_train.shape[1],
                "accuracy": float(model.score(F_test, y_test)),
                "fit_time": fit_time,
                "feature_time": feature_time,
            }
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows, header


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
        f"BLAS: {lib['internal_api']} {lib['version']}, {lib['num_threads']} thread(s)"
    )


_HEADERS = ["features", "model", "dims", "accuracy", "fit time (s)"]
_N_TEXT_COLUMNS = 2  # the rest are numbers, right-aligned
_DIMS_WIDTH = 6  # room for up to 999999 features when rows are printed one by one


def _widths(feature_names, model_names, dims_width=_DIMS_WIDTH):
    """Column widths fitting these names, as :func:`format_table` uses them."""
    return [
        max(len(_HEADERS[0]), *map(len, feature_names)),
        max(len(_HEADERS[1]), *map(len, model_names)),
        max(len(_HEADERS[2]), dims_width),
        len(_HEADERS[3]),
        len(_HEADERS[4]),
    ]


def _cells(row):
    return [
        row["features"],
        row["model"],
        str(row["n_features"]),
        f"{row['accuracy']:.3f}",
        f"{row['fit_time']:.3f}",
    ]


def _line(values, widths):
    return "  ".join(
        value.ljust(width) if k < _N_TEXT_COLUMNS else value.rjust(width)
        for k, (value, width) in enumerate(zip(values, widths, strict=True))
    ).rstrip()


def _table_head(widths):
    return [_line(_HEADERS, widths), "  ".join("-" * width for width in widths)]


def format_table(rows):
    """The results as a plain-text table.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`run`.

    Returns
    -------
    str
        One line per model, with a header line and a rule.

    Examples
    --------
    >>> row = {"features": "raw pixels", "model": "SoftmaxSGD", "n_features": 64,
    ...        "accuracy": 0.9622, "fit_time": 0.0812, "feature_time": 0.001}
    >>> print(format_table([row]))
    features    model       dims  accuracy  fit time (s)
    ----------  ----------  ----  --------  ------------
    raw pixels  SoftmaxSGD    64     0.962         0.081
    """
    cells = [_cells(row) for row in rows]
    widths = _widths(
        [row["features"] for row in rows],
        [row["model"] for row in rows],
        dims_width=max(len(line[2]) for line in cells),
    )
    widths[3:] = [
        max(width, *(len(line[k]) for line in cells))
        for k, width in enumerate(widths[3:], start=3)
    ]
    return "\n".join([*_table_head(widths), *(_line(line, widths) for line in cells)])


def main(argv=None):
    """Run the demo, printing each result as soon as it is known.

    The header and the table's head are printed once the data is loaded,
    then one row per model as it finishes training (each line flushed, so
    the output can be followed through a pipe), then the feature extraction
    times.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None); see
        ``python -m sklinear --help``.

    Returns
    -------
    int
        Exit status, 0 on success.
    """
    widths = []

    def print_header(header, table_widths):
        widths.extend(table_widths)
        _print(*header, "", *_table_head(widths))

    rows, _ = run(
        argv,
        on_header=print_header,
        on_row=lambda row: _print(_line(_cells(row), widths)),
    )
    extraction = {row["features"]: row["feature_time"] for row in rows}
    _print(
        "",
        *(
            f"Features '{name}': extracted from the training set in {seconds:.2f} s."
            for name, seconds in extraction.items()
        ),
    )
    return 0


def _print(*lines):
    print("\n".join(lines), flush=True)
