"""Benchmark the image feature transformers of sklinear.features.

Sections (``--sections``, default ``hog throughput bovw``):

hog
    HOG throughput against ``skimage.feature.hog`` called per image, in the
    same run, with a check that the outputs are equal (medians of repeats).
throughput
    For each transformer: images/s with 1 and 2 threads, and one run on
    ``--n-large`` images (default 60,000, the size of CIFAR-10; the data
    tiled) with 2 threads: wall time and peak memory traced by tracemalloc.
bovw
    ``BagOfVisualWords`` at its defaults against the frozen copy of its
    transform before issue 12 (``_transform_before_issue12``), in the same
    run: images/s, speed-up, the difference of the outputs, and the floor of
    its two matrix products (patches x whitening, patches x codebook) with 1
    and 2 BLAS threads.
accuracy (or ``--accuracy``; needs ``--data``)
    Validation accuracy of linear classifiers on raw pixels, HOG + color
    histogram, and bag of visual words.
ablation (needs ``--data``)
    Bag-of-visual-words codebook and preprocessing variants, one change at a
    time, each measured by the same converged classifier.
recipe (needs ``--data``)
    The documented pipeline BagOfVisualWords -> StandardScaler ->
    MulticlassSVMSGD / SoftmaxSGD against LinearSVC and LogisticRegression
    on the same features, with training accuracy.

Runs on synthetic 32x32x3 images unless ``--data`` points to an npz with
X_train, y_train, X_val, y_val (e.g. cifar10_dev.npz)::

    python benchmarks/bench_features.py
    python benchmarks/bench_features.py --data cifar10_dev.npz --out results
    python benchmarks/bench_features.py --data cifar10_dev.npz --sections recipe
    python benchmarks/bench_features.py --quick   # seconds; for smoke tests
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy.linalg
import sklearn
from skimage.feature import hog as skimage_hog
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from sklinear.features import HOG, BagOfVisualWords, ColorHistogram, hog_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import synthetic_images  # noqa: E402

HOG_SETTINGS = {
    "skimage default (color)": {"channel_axis": -1},
    "CS231n-like (gray, 1x1 L1 blocks)": {
        "cells_per_block": (1, 1),
        "block_norm": "L1",
        "gray": True,
    },
}


def _median_time(func, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_hog_speed(images, *, n_reference, repeats):
    """Images per second of hog_batch and of skimage's hog per image."""
    from skimage.color import rgb2gray

    results = []
    for name, setting in HOG_SETTINGS.items():
        setting = dict(setting)
        gray = setting.pop("gray", False)
        channel_axis = setting.pop("channel_axis", None)
        reference_images = images[:n_reference]
        if gray:
            reference_inputs = [
                rgb2gray(x.astype(np.float64)) for x in reference_images
            ]
        else:
            reference_inputs = list(reference_images)

        def run_skimage(inputs=reference_inputs, setting=setting, axis=channel_axis):
            return [skimage_hog(x, channel_axis=axis, **setting) for x in inputs]

        mode = "gray" if gray else "max_gradient"

        def run_ours(setting=setting, mode=mode):
            return hog_batch(images, color_mode=mode, **setting)

        max_error = float(
            np.abs(
                hog_batch(reference_images, color_mode=mode, **setting)
                - np.stack(run_skimage())
            ).max()
        )
        skimage_seconds = _median_time(run_skimage, repeats) / n_reference
        ours_seconds = _median_time(run_ours, repeats) / len(images)
        results.append(
            {
                "setting": name,
                "skimage_images_per_s": 1 / skimage_seconds,
                "sklinear_images_per_s": 1 / ours_seconds,
                "speedup": skimage_seconds / ours_seconds,
                "max_abs_difference": max_error,
                "equal_within_1e-6": max_error <= 1e-6,
            }
        )
    return results


# --------------------------------------------------------------------------
# Throughput of every transformer: 1 and 2 threads, peak memory, 60,000 images
# --------------------------------------------------------------------------


def throughput_transformers(quick):
    """The transformers of the throughput table, BoVW at its defaults."""
    n_words = 16 if quick else 1600
    return {
        "HOG()": HOG(),
        "HOG(gray, block_norm=None)": HOG(color_mode="gray", block_norm=None),
        "ColorHistogram(hsv, 10)": ColorHistogram(),
        "ColorHistogram(rgb_joint, 8)": ColorHistogram(bins=8, color_space="rgb_joint"),
        f"BagOfVisualWords({n_words} words, defaults)": BagOfVisualWords(
            n_words=n_words, max_patches=20 * n_words, random_state=0
        ),
    }


def _set_jobs(transformer, n_jobs):
    if "n_jobs" in transformer.get_params():
        transformer.set_params(n_jobs=n_jobs)
    return transformer


def _timed_transform(transformer, images, threads):
    """Seconds of transform with `threads` threads: n_jobs and BLAS threads."""
    _set_jobs(transformer, 1 if threads == 1 else threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        start = time.perf_counter()
        transformer.transform(images)
        return time.perf_counter() - start


def bench_throughput(images, *, n_large, n_speed, repeats, quick):
    """img/s with 1 and 2 threads, then one traced run on n_large images.

    "1 thread" is ``n_jobs=1`` with one BLAS thread; "2 threads" is
    ``n_jobs=2`` (each worker then uses one BLAS thread). Transformers
    without `n_jobs` (ColorHistogram here) get the BLAS threads only.
    """
    reps = -(-n_large // len(images))
    large = np.tile(images, (reps, 1, 1, 1))[:n_large]
    results = []
    for name, transformer in throughput_transformers(quick).items():
        transformer.fit(images[: min(len(images), 2000)])
        learned = isinstance(transformer, BagOfVisualWords)
        n = min(n_speed // 10 if learned else n_speed, n_large)
        sample = large[:n]
        rates = {}
        for threads in (1, 2):
            seconds = statistics.median(
                _timed_transform(transformer, sample, threads) for _ in range(repeats)
            )
            rates[threads] = n / seconds
        _set_jobs(transformer, 2)
        tracemalloc.start()
        seconds = _timed_transform(transformer, large, 2)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out_mb = n_large * transformer.n_features_out_ * 4 / 2**20
        results.append(
            {
                "transformer": name,
                "n_images": n_large,
                "images_per_s_1_thread": rates[1],
                "images_per_s_2_threads": rates[2],
                "seconds": seconds,
                "images_per_s": n_large / seconds,
                "seconds_per_60000": 60_000 * seconds / n_large,
                "peak_traced_mb": peak / 2**20,
                "peak_above_output_mb": peak / 2**20 - out_mb,
                "output_mb": out_mb,
                "n_features": transformer.n_features_out_,
            }
        )
        print(f"  {results[-1]}", flush=True)
    return results


# --------------------------------------------------------------------------
# BagOfVisualWords before and after issue 12, in the same run
# --------------------------------------------------------------------------


def _transform_before_issue12(bovw, images, chunk_size=None):
    """BagOfVisualWords.transform as it was before issue 12 (frozen copy).

    Uses the fitted ``patch_mean_``, ``whitening_`` and ``codebook_`` of
    `bovw`. Each step is a separate full-size pass over chunks whose codes
    take about 64 MB; kept here so that the speed-up is measured in one run.
    """
    from sklinear.features._bovw import _patch_grid, _region_starts

    images = np.asarray(images)
    p, stride = bovw.patch_size, bovw.stride
    n_rows, n_cols = _patch_grid(images.shape[1:], p, stride)
    n_words = len(bovw.codebook_)
    chunk_size = chunk_size or max(1, (1 << 24) // (n_rows * n_cols * n_words))
    codebook = bovw.codebook_
    codebook_sq = np.einsum("ij,ij->i", codebook, codebook)
    grid = bovw.pooling_grid
    grid = (grid, grid) if isinstance(grid, int) else tuple(grid)
    rows_at = _region_starts(n_rows, grid[0], "rows")
    cols_at = _region_starts(n_cols, grid[1], "columns")
    out = np.empty((len(images), bovw.n_features_out_), dtype=np.float32)
    for start in range(0, len(images), chunk_size):
        chunk = images[start : start + chunk_size]
        windows = np.lib.stride_tricks.sliding_window_view(chunk, (p, p), axis=(1, 2))
        windows = windows[:, : n_rows * stride : stride, : n_cols * stride : stride]
        windows = np.moveaxis(windows, 3, -1)
        patches = windows.reshape(*windows.shape[:3], -1).astype(np.float32)
        patches -= patches.mean(axis=-1, keepdims=True)
        scale = (patches * patches).mean(axis=-1, keepdims=True)
        scale += bovw.contrast_eps
        patches /= np.sqrt(scale, out=scale)
        patches = patches.reshape(-1, patches.shape[-1])
        if bovw.whiten:
            patches -= bovw.patch_mean_
            patches = patches @ bovw.whitening_
        distances = patches @ codebook.T
        distances *= -2
        distances += codebook_sq
        distances += np.einsum("ij,ij->i", patches, patches)[:, None]
        distances = np.maximum(distances, 0, out=distances)
        if bovw.encoding == "hard":
            nearest = distances.argmin(axis=1)
            codes = np.zeros((len(patches), n_words), dtype=np.float32)
            codes[np.arange(len(patches)), nearest] = 1
        else:
            distances = np.sqrt(distances)
            mean = distances.mean(axis=1, keepdims=True)
            np.subtract(mean, distances, out=distances)
            codes = np.maximum(distances, 0, out=distances)
        codes = codes.reshape(-1, n_rows, n_cols, n_words)
        pooled = np.add.reduceat(
            np.add.reduceat(codes, rows_at, axis=1), cols_at, axis=2
        )
        if bovw.pooling == "mean":
            sizes = np.diff(np.append(rows_at, n_rows))[:, None] * np.diff(
                np.append(cols_at, n_cols)
            )
            pooled = pooled / sizes[..., None]
        out[start : start + len(chunk)] = pooled.reshape(len(chunk), -1)
    return out


def _matmul_floor(bovw, n_images, threads, repeats):
    """Seconds of BoVW's two products (patches x whitening, x codebook)."""
    n_rows, n_cols = (
        (s - bovw.patch_size) // bovw.stride + 1 for s in bovw.image_shape_[:2]
    )
    chunk = 3
    rng = np.random.default_rng(0)
    patches = rng.normal(size=(chunk * n_rows * n_cols, bovw.codebook_.shape[1]))
    patches = patches.astype(np.float32)
    whitened = np.empty_like(patches)
    distances = np.empty((len(patches), len(bovw.codebook_)), dtype=np.float32)
    codebook_t = bovw.codebook_.T

    def products():
        for _ in range(-(-n_images // chunk)):
            np.matmul(patches, bovw.whitening_, out=whitened)
            np.matmul(whitened, codebook_t, out=distances)

    with threadpool_limits(limits=threads, user_api="blas"):
        return (
            statistics.median(_seconds(products) for _ in range(repeats))
            * n_images
            / (-(-n_images // chunk) * chunk)
        )


def _seconds(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _bovw_run(bovw, images, n_jobs, blas_threads):
    bovw.set_params(n_jobs=n_jobs)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _seconds(lambda: bovw.transform(images))


def _before_run(bovw, images, blas_threads):
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        return _seconds(lambda: _transform_before_issue12(bovw, images))


def bench_bovw_before_after(images, *, n_images, repeats, quick):
    """Today's transform against the frozen pre-issue-12 one, same run.

    Per repeat, in turn: the old transform with 2 BLAS threads (as it ran
    before: the library's default), the new one with ``n_jobs=1`` and 1 or
    2 BLAS threads, and with ``n_jobs=2``; then the two matrix products
    alone with 1 and 2 BLAS threads. Medians of the repeats.
    """
    n_words = 16 if quick else 1600
    sample = images[:n_images]
    results = []
    for encoding in ("triangle", "hard"):
        bovw = BagOfVisualWords(
            n_words=n_words,
            encoding=encoding,
            max_patches=20 * n_words,
            random_state=0,
        ).fit(images[: min(len(images), 2000)])
        old = _transform_before_issue12(bovw, sample)
        new = bovw.set_params(n_jobs=2).transform(sample)
        scale = np.abs(old).max(axis=1, keepdims=True)
        row_relative = float((np.abs(new - old) / scale).max())
        runs = {
            "before issue 12 (2 BLAS threads)": lambda b=bovw: _before_run(
                b, sample, 2
            ),
            "n_jobs=1, 1 BLAS thread": lambda b=bovw: _bovw_run(b, sample, 1, 1),
            "n_jobs=1, 2 BLAS threads": lambda b=bovw: _bovw_run(b, sample, 1, 2),
            "n_jobs=2": lambda b=bovw: _bovw_run(b, sample, 2, 2),
        }
        times = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                times[name].append(run())
        medians = {name: statistics.median(t) for name, t in times.items()}
        floor = {t: _matmul_floor(bovw, n_images, t, repeats) for t in (1, 2)}
        before = medians["before issue 12 (2 BLAS threads)"]
        row = {
            "encoding": encoding,
            "n_words": n_words,
            "n_images": n_images,
            "max_row_relative_difference": row_relative,
            "equal_within_1e-5": row_relative <= 1e-5,
            "floor_images_per_s_1_blas_thread": n_images / floor[1],
            "floor_images_per_s_2_blas_threads": n_images / floor[2],
            "runs": {
                name: {
                    "images_per_s": n_images / median,
                    "speedup_vs_before": before / median,
                    "x_floor_same_threads": median
                    / floor[1 if "1 BLAS thread" in name else 2],
                }
                for name, median in medians.items()
            },
        }
        results.append(row)
        print(f"  {row}", flush=True)
    return results


def bench_accuracy(data, *, n_words):
    """Validation accuracy of linear classifiers on three feature sets."""
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from sklearn.svm import LinearSVC

    X_train, y_train = data["X_train"], data["y_train"]
    X_val, y_val = data["X_val"], data["y_val"]
    flatten = FunctionTransformer(lambda X: X.reshape(len(X), -1).astype(np.float64))
    models = {
        "raw pixels + StandardScaler + LinearSVC(C=1e-4)": make_pipeline(
            flatten, StandardScaler(), LinearSVC(C=1e-4, dual=False)
        ),
        "raw pixels + StandardScaler + SGDClassifier(hinge)": make_pipeline(
            flatten, StandardScaler(), SGDClassifier(alpha=0.1, random_state=0)
        ),
        "HOG(gray, None) + ColorHistogram(hsv) + LinearSVC(C=1e-3)": make_pipeline(
            FeatureUnion(
                [
                    ("hog", HOG(color_mode="gray", block_norm=None)),
                    ("color", ColorHistogram()),
                ]
            ),
            StandardScaler(),
            LinearSVC(C=1e-3, dual=False),
        ),
        "HOG() + HOG(4x4 cells) + ColorHistogram(hsv) + LinearSVC(C=1e-3)": (
            make_pipeline(
                FeatureUnion(
                    [
                        ("hog", HOG()),
                        ("hog4", HOG(pixels_per_cell=4, cells_per_block=2)),
                        ("color", ColorHistogram()),
                    ]
                ),
                StandardScaler(),
                LinearSVC(C=1e-3, dual=False),
            )
        ),
        f"BagOfVisualWords({n_words} words, triangle, 2x2) + LinearSVC(C=1e-3)": (
            make_pipeline(
                BagOfVisualWords(n_words=n_words, random_state=0),
                StandardScaler(),
                LinearSVC(C=1e-3, dual=False),
            )
        ),
    }
    results = []
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(X_train, y_train)
        results.append(
            {
                "model": name,
                "val_accuracy": float(model.score(X_val, y_val)),
                "seconds": time.perf_counter() - start,
            }
        )
        print(f"  {results[-1]}", flush=True)
    return results


# --------------------------------------------------------------------------
# Accuracy of the bag of visual words: ablations and the documented recipe
# --------------------------------------------------------------------------


def ridge_accuracies(F_train, y_train, F_val, y_val, alphas=(30, 300, 3000)):
    """(train, val) accuracy of a one-vs-rest ridge classifier per alpha.

    The fixed instrument of the ablations: standardized features, targets
    +-1, the exact solution of the normal equations (so it is converged by
    construction) for a few strengths of the penalty ``alpha * ||W||^2``.
    """
    mean, std = F_train.mean(axis=0), F_train.std(axis=0) + 1e-6
    A = np.hstack([(F_train - mean) / std, np.ones((len(F_train), 1))])
    B = np.hstack([(F_val - mean) / std, np.ones((len(F_val), 1))])
    A, B = A.astype(np.float64), B.astype(np.float64)
    classes, y_index = np.unique(y_train, return_inverse=True)
    targets = 2.0 * np.eye(len(classes))[y_index] - 1
    gram, rhs = A.T @ A, A.T @ targets
    results = {}
    for alpha in alphas:
        W = scipy.linalg.solve(gram + alpha * np.eye(len(gram)), rhs, assume_a="pos")
        results[alpha] = (
            float((classes[(A @ W).argmax(axis=1)] == y_train).mean()),
            float((classes[(B @ W).argmax(axis=1)] == y_val).mean()),
        )
    return results


class _AblatedBoVW(BagOfVisualWords):
    """BagOfVisualWords whose codebook comes from one of the ablation learners."""

    codebook_learner = "default"

    def _learn_codebook(self, patches, seed):
        learner = self.codebook_learner
        if learner == "default":
            return super()._learn_codebook(patches, seed)
        if learner == "minibatch":  # the codebook of BagOfVisualWords before issue 12
            kmeans = MiniBatchKMeans(
                self.n_words, batch_size=2048, n_init=1, random_state=seed
            )
        elif learner == "minibatch, 30 epochs":
            kmeans = MiniBatchKMeans(
                self.n_words,
                batch_size=2048,
                n_init=1,
                max_no_improvement=None,
                max_iter=30,
                random_state=seed,
            )
        elif learner == "lloyd":
            kmeans = KMeans(self.n_words, n_init=1, max_iter=50, random_state=seed)
        elif learner == "coates":
            self.codebook_ = _coates_kmeans(patches, self.n_words, seed)
            return
        elif learner == "random patches":
            rng = np.random.default_rng(seed)
            picked = rng.choice(len(patches), self.n_words, replace=False)
            self.codebook_ = patches[picked].astype(np.float32)
            return
        self.codebook_ = kmeans.fit(patches).cluster_centers_.astype(np.float32)


def _coates_kmeans(patches, n_words, seed, n_iter=50, batch=50_000):
    """run_kmeans.m of Coates et al.: randn * 0.1 start, empty words zeroed."""
    rng = np.random.default_rng(seed)
    words = (rng.normal(size=(n_words, patches.shape[1])) * 0.1).astype(np.float32)
    for _ in range(n_iter):
        half_sq = 0.5 * np.einsum("ij,ij->i", words, words)
        labels = np.concatenate(
            [
                np.argmax(patches[i : i + batch] @ words.T - half_sq, axis=1)
                for i in range(0, len(patches), batch)
            ]
        )
        counts = np.bincount(labels, minlength=n_words)
        sums = np.zeros(words.shape)
        np.add.at(sums, labels, patches)
        words = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    return words


#: name -> (BagOfVisualWords parameters, codebook learner); one change each
#: from the first row, the transformer before issue 12.
ABLATIONS = {
    "before issue 12: MiniBatchKMeans, 100k patches": ({}, "minibatch"),
    "MiniBatchKMeans run 30 epochs": ({}, "minibatch, 30 epochs"),
    "k-means (Lloyd, k-means++), 100k patches": ({}, "lloyd"),
    "k-means (Lloyd, k-means++), 400k patches": (
        {"max_patches": 400_000},
        "lloyd",
    ),
    "Coates' k-means (randn start, 50 iterations), 400k patches": (
        {"max_patches": 400_000},
        "coates",
    ),
    "random patches as words": ({}, "random patches"),
}


def _bovw_features(bovw, data, cache, name):
    """Train and validation features of a fitted-on-train BoVW, maybe cached."""
    path = Path(cache) / f"{name}.npz" if cache else None
    if path is not None and path.exists():
        saved = np.load(path)
        return saved["train"], saved["val"], float(saved["fit_seconds"])
    start = time.perf_counter()
    bovw.fit(data["X_train"])
    fit_seconds = time.perf_counter() - start
    train, val = bovw.transform(data["X_train"]), bovw.transform(data["X_val"])
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, train=train, val=val, fit_seconds=fit_seconds)
    return train, val, fit_seconds


def bench_ablation(data, *, quick, cache):
    """Each BoVW variant measured by the same converged ridge classifier."""
    n_words = 16 if quick else 1600
    results = []
    for name, (params, learner) in ABLATIONS.items():
        bovw = _AblatedBoVW(n_words=n_words, random_state=0, n_jobs=-1)
        bovw.set_params(**params)
        if quick:
            bovw.set_params(max_patches=min(bovw.max_patches, 2000))
        bovw.codebook_learner = learner
        key = "ablation_" + "".join(c if c.isalnum() else "_" for c in name)
        train, val, fit_seconds = _bovw_features(bovw, data, cache, key)
        accuracies = ridge_accuracies(train, data["y_train"], val, data["y_val"])
        results.append(
            {
                "variant": name,
                "fit_seconds": fit_seconds,
                "ridge": {str(alpha): acc for alpha, acc in accuracies.items()},
            }
        )
        print(f"  {results[-1]}", flush=True)
    return results


def _ablation_markdown(rows):
    alphas = list(rows[0]["ridge"])
    lines = [
        "| variant | fit s | "
        + " | ".join(f"val (train), ridge alpha={a}" for a in alphas)
        + " |",
        "|---|---:|" + "---:|" * len(alphas),
    ]
    for row in rows:
        cells = [f"{row['ridge'][a][1]:.3f} ({row['ridge'][a][0]:.3f})" for a in alphas]
        lines.append(
            f"| {row['variant']} | {row['fit_seconds']:.0f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


#: The documented training recipe of the sklinear classifiers on standardized
#: BoVW features (see docs/user_guide/features.rst), and the C of the
#: references (Coates et al.'s C = 100 on 50,000 images is LinearSVC's
#: C = 100 / n_samples).
RECIPE = {
    "alpha": 0.01,
    "learning_rate_init": 3e-4,
    "average": True,
    "tol": None,
}
RECIPE_EPOCHS = 60
SVC_C = 0.01
LOGREG_C = 0.01


def recipe_classifiers(quick):
    """The documented classifiers on standardized BoVW features, and references."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from sklinear import MulticlassSVMSGD, SoftmaxSGD

    epochs = 3 if quick else RECIPE_EPOCHS
    return {
        "MulticlassSVMSGD(loss='squared_hinge'), recipe": MulticlassSVMSGD(
            loss="squared_hinge", **RECIPE, max_iter=epochs, random_state=0
        ),
        "SoftmaxSGD, recipe": SoftmaxSGD(**RECIPE, max_iter=epochs, random_state=0),
        "MulticlassSVMSGD(loss='squared_hinge'), defaults": MulticlassSVMSGD(
            loss="squared_hinge", random_state=0
        ),
        "SoftmaxSGD, defaults": SoftmaxSGD(random_state=0),
        f"LogisticRegression(C={LOGREG_C})": LogisticRegression(
            C=LOGREG_C, max_iter=2000
        ),
        f"LinearSVC(C={SVC_C})": LinearSVC(C=SVC_C, max_iter=2000),
    }


def bench_recipe(data, *, quick, cache):
    """BagOfVisualWords() -> StandardScaler -> each classifier, on the dev subset."""
    from sklearn.preprocessing import StandardScaler

    bovw = BagOfVisualWords(random_state=0, n_jobs=-1)
    if quick:
        bovw.set_params(n_words=16, max_patches=2000)
    train, val, _ = _bovw_features(
        bovw, data, cache, "recipe_features" + ("_quick" if quick else "")
    )
    scaler = StandardScaler().fit(train)
    train, val = scaler.transform(train), scaler.transform(val)
    y_train, y_val = data["y_train"], data["y_val"]
    results = []
    for name, model in recipe_classifiers(quick).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(train, y_train)
            seconds = time.perf_counter() - start
        curve = getattr(model, "loss_curve_", None)
        results.append(
            {
                "model": name,
                "train_accuracy": float(model.score(train, y_train)),
                "val_accuracy": float(model.score(val, y_val)),
                "seconds": seconds,
                "iterations": int(np.max(model.n_iter_)),
                # Relative change of the epoch objective over the last tenth
                # of the epochs: how far from a plateau training stopped.
                "objective_change_last_tenth": (
                    abs(curve[-1] - curve[-1 - len(curve) // 10]) / curve[-1]
                    if curve is not None and len(curve) >= 10
                    else None
                ),
            }
        )
        print(f"  {results[-1]}", flush=True)
    return results


def _table(rows, columns):
    """Markdown table of dict rows; columns maps header -> (key, format)."""
    lines = ["| " + " | ".join(columns) + " |"]
    lines.append(
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(columns))) + "|"
    )
    for row in rows:
        cells = []
        for key, fmt in columns.values():
            value = row
            for part in key.split("/"):
                value = value.get(part, "") if isinstance(value, dict) else ""
            cells.append("" if value in ("", None) else format(value, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _markdown(report):
    lines = ["# sklinear.features benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in report["environment"].items()]
    if report.get("hog_speed"):
        lines += ["", "## HOG throughput vs skimage.feature.hog per image", ""]
        lines += _table(
            report["hog_speed"],
            {
                "setting": ("setting", "s"),
                "skimage img/s": ("skimage_images_per_s", ",.0f"),
                "sklinear img/s": ("sklinear_images_per_s", ",.0f"),
                "speedup": ("speedup", ".1f"),
                "max abs diff": ("max_abs_difference", ".1e"),
            },
        )
    if report.get("large"):
        n_large = report["large"][0]["n_images"]
        lines += ["", f"## Throughput, and one run on {n_large:,} images", ""]
        lines += _table(
            report["large"],
            {
                "transformer": ("transformer", "s"),
                "img/s 1 thread": ("images_per_s_1_thread", ",.0f"),
                "img/s 2 threads": ("images_per_s_2_threads", ",.0f"),
                f"s for {n_large:,} (2 threads)": ("seconds", ".1f"),
                "s per 60,000": ("seconds_per_60000", ".0f"),
                "peak traced MB": ("peak_traced_mb", ",.0f"),
                "output MB": ("output_mb", ",.0f"),
            },
        )
    for row in report.get("bovw", []):
        lines += [
            "",
            f"## BagOfVisualWords before and after issue 12 ({row['encoding']}, "
            f"{row['n_words']} words, {row['n_images']} images)",
            "",
            f"Largest difference of the outputs, relative to each image's "
            f"largest feature: {row['max_row_relative_difference']:.1e}. "
            f"Matrix-product floor: {row['floor_images_per_s_1_blas_thread']:,.0f}"
            f" img/s with 1 BLAS thread, "
            f"{row['floor_images_per_s_2_blas_threads']:,.0f} with 2.",
            "",
        ]
        runs = [{"run": name, **values} for name, values in row["runs"].items()]
        lines += _table(
            runs,
            {
                "run": ("run", "s"),
                "img/s": ("images_per_s", ",.0f"),
                "speed-up vs before": ("speedup_vs_before", ".2f"),
                "x floor (same BLAS threads)": ("x_floor_same_threads", ".2f"),
            },
        )
    if report.get("accuracy"):
        lines += ["", "## Validation accuracy", ""]
        lines += _table(
            report["accuracy"],
            {
                "model": ("model", "s"),
                "val accuracy": ("val_accuracy", ".3f"),
                "fit seconds": ("seconds", ".0f"),
            },
        )
    if report.get("ablation"):
        lines += ["", "## Bag-of-visual-words ablations (dev subset)", ""]
        lines += _ablation_markdown(report["ablation"])
    if report.get("recipe"):
        lines += ["", "## Recipe: BagOfVisualWords -> StandardScaler -> classifier", ""]
        lines += _table(
            report["recipe"],
            {
                "classifier": ("model", "s"),
                "train accuracy": ("train_accuracy", ".3f"),
                "val accuracy": ("val_accuracy", ".3f"),
                "epochs / iterations": ("iterations", "d"),
                "objective change, last tenth": ("objective_change_last_tenth", ".1e"),
                "fit seconds": ("seconds", ".1f"),
            },
        )
    return "\n".join(lines) + "\n"


SECTIONS = ("hog", "throughput", "bovw", "accuracy", "ablation", "recipe")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="npz with X_train, y_train, X_val, y_val")
    parser.add_argument("--out", help="directory for results.json and results.md")
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--n-large", type=int, default=None, help="images of the traced run"
    )
    parser.add_argument(
        "--n-bovw", type=int, default=None, help="images of the bovw section"
    )
    parser.add_argument(
        "--sections", nargs="+", choices=SECTIONS, default=None, metavar="SECTION"
    )
    parser.add_argument("--accuracy", action="store_true", help="add 'accuracy'")
    parser.add_argument("--n-words", type=int, default=1600)
    parser.add_argument(
        "--cache", help="directory to keep the dev-subset BoVW features in"
    )
    args = parser.parse_args(argv)

    quick = args.quick
    sections = list(args.sections or ["hog", "throughput", "bovw"])
    if args.accuracy and "accuracy" not in sections:
        sections.append("accuracy")
    repeats = args.repeats or (2 if quick else 5)
    n_large = args.n_large or (300 if quick else 60_000)
    data = dict(np.load(args.data)) if args.data else None
    if data is None and {"accuracy", "ablation", "recipe"} & set(sections):
        parser.error("the accuracy, ablation and recipe sections need --data")
    images = data["X_train"] if data else synthetic_images(200 if quick else 5000)
    n_speed = 100 if quick else min(len(images), 5000)
    report = {
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "BLAS": ", ".join(
                f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                for i in threadpool_info()
                if i["user_api"] == "blas"
            ),
            "data": args.data or "synthetic 32x32x3 uint8",
            "repeats (median)": repeats,
        }
    }
    if "hog" in sections:
        print("HOG speed ...", flush=True)
        report["hog_speed"] = bench_hog_speed(
            images[:n_speed], n_reference=20 if quick else 300, repeats=repeats
        )
    if "throughput" in sections:
        print(f"throughput, and transformers on {n_large} images ...", flush=True)
        report["large"] = bench_throughput(
            images,
            n_large=n_large,
            n_speed=n_speed if quick else 10_000,
            repeats=repeats,
            quick=quick,
        )
    if "bovw" in sections:
        print("BagOfVisualWords before and after issue 12 ...", flush=True)
        report["bovw"] = bench_bovw_before_after(
            images,
            n_images=args.n_bovw or (20 if quick else 600),
            repeats=repeats,
            quick=quick,
        )
    if "accuracy" in sections:
        print("accuracy ...", flush=True)
        report["accuracy"] = bench_accuracy(data, n_words=args.n_words)
    if "ablation" in sections:
        print("ablations ...", flush=True)
        report["ablation"] = bench_ablation(data, quick=quick, cache=args.cache)
    if "recipe" in sections:
        print("recipe ...", flush=True)
        report["recipe"] = bench_recipe(data, quick=quick, cache=args.cache)
    report["environment"]["load average at end"] = " ".join(
        f"{x:.2f}" for x in os.getloadavg()
    )
    markdown = _markdown(report)
    print(markdown)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(report, indent=2))
        (out / "results.md").write_text(markdown)
    return report


if __name__ == "__main__":
    main()
