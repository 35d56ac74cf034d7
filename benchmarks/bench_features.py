"""Benchmark the image feature transformers of sklinear.features.

Sections (``--sections``, default ``hog throughput bovw``; every figure is
recorded with the load average and the BLAS threads):

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

full (needs ``--data`` and ``--cache``)
    Issue 19, on the full training set: BagOfVisualWords(``--n-words``)
    fit on the training split, standardized in float32, then each of
    ``--classifiers`` (``linearsvc`` is Coates et al.'s own classifier,
    ``LinearSVC(C=100 / n_samples, dual=False)``): train accuracy on 10,000
    random training rows, held-out accuracy with one binomial standard error, fit
    seconds, load and BLAS threads, appended to ``<out>/full.jsonl``.
full-ablation (needs ``--data`` and ``--cache``)
    ``FULL_ABLATIONS``: one change each from the defaults towards (or
    around) Coates et al.'s ``kmeans_demo.m``, measured by the exact ridge
    on the same split, with the paired standard error of each difference.
jpeg (needs ``--data``, ``--cache`` and Pillow)
    Every image re-encoded at each of ``--qualities``, the same pipeline and
    ridge, and the accuracy of the originals estimated by extrapolation
    (method in :func:`bench_jpeg`).

Runs on synthetic 32x32x3 images unless ``--data`` points to an npz with
X_train, y_train, X_val, y_val (e.g. cifar10_dev.npz), or with X_train and
y_train only (cifar10_train.npz), of which ``--holdout`` rows (10,000) of a
permutation seeded with ``--split-seed`` (0) are held out::

    python benchmarks/bench_features.py
    python benchmarks/bench_features.py --data cifar10_dev.npz --out results
    python benchmarks/bench_features.py --data cifar10_dev.npz --sections recipe
    python benchmarks/bench_features.py --quick   # seconds; for smoke tests
    python benchmarks/bench_features.py --sections bovw --bovw-words 1600 4000 \
        --encodings triangle --no-before
    python benchmarks/bench_features.py --data cifar10_train.npz \
        --sections full --cache /tmp/features --classifiers linearsvc softmax
"""

import argparse
import ast
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
from sklearn.base import BaseEstimator, ClassifierMixin
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


def throughput_transformers(quick, word_counts=(1600,), only_bovw=False):
    """The transformers of the throughput table, BoVW at its defaults.

    One BoVW row per codebook size in `word_counts` (16 words when `quick`);
    `only_bovw` leaves out HOG and ColorHistogram.
    """
    transformers = {}
    if not only_bovw:
        transformers = {
            "HOG()": HOG(),
            "HOG(gray, block_norm=None)": HOG(color_mode="gray", block_norm=None),
            "ColorHistogram(hsv, 10)": ColorHistogram(),
            "ColorHistogram(rgb_joint, 8)": ColorHistogram(
                bins=8, color_space="rgb_joint"
            ),
        }
    for n_words in [16] if quick else word_counts:
        transformers[f"BagOfVisualWords({n_words} words, defaults)"] = BagOfVisualWords(
            n_words=n_words, max_patches=20 * n_words, random_state=0
        )
    return transformers


def _set_jobs(transformer, n_jobs):
    if "n_jobs" in transformer.get_params():
        transformer.set_params(n_jobs=n_jobs)
    return transformer


def _timed_transform(transformer, images, threads, *, keep=False):
    """Seconds of transform with `threads` threads: n_jobs and BLAS threads.

    With `keep`, ``(seconds, features)``.
    """
    _set_jobs(transformer, 1 if threads == 1 else threads)
    with threadpool_limits(limits=threads, user_api="blas"):
        start = time.perf_counter()
        features = transformer.transform(images)
        seconds = time.perf_counter() - start
    return (seconds, features) if keep else seconds


def bench_throughput(
    images, *, n_large, n_speed, repeats, quick, word_counts=(1600,), only_bovw=False
):
    """img/s with 1 and 2 threads, then one traced run on n_large images.

    "1 thread" is ``n_jobs=1`` with one BLAS thread; "2 threads" is
    ``n_jobs=2`` (each worker then uses one BLAS thread). Transformers
    without `n_jobs` (ColorHistogram here) get the BLAS threads only.
    """
    reps = -(-n_large // len(images))
    large = np.tile(images, (reps, 1, 1, 1))[:n_large]
    results = []
    transformers = throughput_transformers(quick, word_counts, only_bovw)
    for name, transformer in transformers.items():
        state = machine_state()
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
        seconds, features = _timed_transform(transformer, large, 2, keep=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out_mb = features.nbytes / 2**20
        dtype = str(features.dtype)
        del features
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
                "output_dtype": dtype,
                "state_before": state,
                "state_after": machine_state(),
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


def _matmul_floor(bovw, n_images, threads, repeats, *, workers=1):
    """Seconds of BoVW's two products (patches x whitening, x codebook).

    Chunks of as many images as the transform's default chunk holds (3 at
    1600 words, 1 at 4000), the product shapes of the transform: patches x
    whitening (patch_dim x patch_dim), then the patches with their two extra
    columns x the augmented words ((patch_dim + 2) x n_words). With
    ``workers=2`` two threads share the chunks, each on one BLAS thread (the
    floor of ``n_jobs=2``); otherwise one thread with `threads` BLAS threads.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sklinear.features._bovw import _default_chunk_size

    n_rows, n_cols = (
        (s - bovw.patch_size) // bovw.stride + 1 for s in bovw.image_shape_[:2]
    )
    n_words, patch_dim = bovw.codebook_.shape
    chunk = _default_chunk_size(n_rows * n_cols, n_words, patch_dim)
    n_chunks = -(-n_images // chunk)
    rng = np.random.default_rng(0)
    words = rng.normal(size=(patch_dim + 2, n_words)).astype(np.float32)

    def buffers():
        patches = rng.normal(size=(chunk * n_rows * n_cols, patch_dim + 2))
        patches = patches.astype(np.float32)
        return (
            patches,
            np.empty((len(patches), patch_dim), np.float32),
            np.empty((len(patches), n_words), np.float32),
        )

    per_worker = [buffers() for _ in range(workers)]

    def products(worker):
        patches, whitened, distances = per_worker[worker]
        for _ in range(worker, n_chunks, workers):
            np.matmul(patches[:, :patch_dim], bovw.whitening_, out=whitened)
            np.matmul(patches, words, out=distances)

    def run():
        if workers == 1:
            products(0)
            return
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(products, range(workers)))

    with threadpool_limits(limits=1 if workers > 1 else threads, user_api="blas"):
        return (
            statistics.median(_seconds(run) for _ in range(repeats))
            * n_images
            / (n_chunks * chunk)
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


def bench_bovw_before_after(
    images,
    *,
    n_images,
    repeats,
    quick,
    word_counts=(1600,),
    encodings=("triangle", "hard"),
    before=True,
):
    """Today's transform against the frozen pre-issue-12 one, same run.

    For each codebook size in `word_counts` and each encoding, per repeat,
    in turn: the old transform with 2 BLAS threads (as it ran before: the
    library's default; left out when `before` is False), the new one with
    ``n_jobs=1`` and 1 or 2 BLAS threads, and with ``n_jobs=2``; then the
    two matrix products alone (:func:`_matmul_floor`) with 1 and 2 BLAS
    threads and with 2 workers of 1 BLAS thread each. Medians of the
    repeats; the load average and BLAS threads are recorded per row.
    """
    sample = images[:n_images]
    results = []
    for n_words in [16] if quick else word_counts:
        for encoding in encodings:
            state = machine_state()
            bovw = BagOfVisualWords(
                n_words=n_words,
                encoding=encoding,
                max_patches=20 * n_words,
                random_state=0,
            ).fit(images[: min(len(images), 2000)])
            new = bovw.set_params(n_jobs=2).transform(sample)
            runs = {
                "n_jobs=1, 1 BLAS thread": lambda b=bovw: _bovw_run(b, sample, 1, 1),
                "n_jobs=1, 2 BLAS threads": lambda b=bovw: _bovw_run(b, sample, 1, 2),
                "n_jobs=2": lambda b=bovw: _bovw_run(b, sample, 2, 2),
            }
            row_relative = None
            if before:
                old = _transform_before_issue12(bovw, sample)
                scale = np.abs(old).max(axis=1, keepdims=True)
                row_relative = float((np.abs(new - old) / scale).max())
                runs = {
                    "before issue 12 (2 BLAS threads)": lambda b=bovw: _before_run(
                        b, sample, 2
                    ),
                    **runs,
                }
            times = {name: [] for name in runs}
            for _ in range(repeats):
                for name, run in runs.items():
                    times[name].append(run())
            medians = {name: statistics.median(t) for name, t in times.items()}
            floor = {
                "1 BLAS thread": _matmul_floor(bovw, n_images, 1, repeats),
                "2 BLAS threads": _matmul_floor(bovw, n_images, 2, repeats),
                "n_jobs=2": _matmul_floor(bovw, n_images, 1, repeats, workers=2),
            }
            before_seconds = medians.get("before issue 12 (2 BLAS threads)")
            row = {
                "encoding": encoding,
                "n_words": n_words,
                "n_images": n_images,
                "max_row_relative_difference": row_relative,
                "equal_within_1e-5": None
                if row_relative is None
                else row_relative <= 1e-5,
                "floor_images_per_s_1_blas_thread": n_images / floor["1 BLAS thread"],
                "floor_images_per_s_2_blas_threads": n_images / floor["2 BLAS threads"],
                "floor_images_per_s_2_workers": n_images / floor["n_jobs=2"],
                "runs": {
                    name: {
                        "images_per_s": n_images / median,
                        "speedup_vs_before": None
                        if before_seconds is None
                        else before_seconds / median,
                        "x_floor_same_threads": median
                        / floor[
                            "n_jobs=2"
                            if name == "n_jobs=2"
                            else "1 BLAS thread"
                            if "1 BLAS thread" in name
                            else "2 BLAS threads"
                        ],
                    }
                    for name, median in medians.items()
                },
                "state_before": state,
                "state_after": machine_state(),
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


# --------------------------------------------------------------------------
# Full training set (issue 19): a fixed held-out split, cached features
# --------------------------------------------------------------------------


def load_split(path, *, holdout=10_000, seed=0):
    """The npz at `path` as X_train, y_train, X_val, y_val.

    An npz with ``X_val`` is returned as it is; one with only ``X_train``
    (``cifar10_train.npz``) is split: the last `holdout` rows of the
    permutation ``np.random.default_rng(seed).permutation(n)`` are held out.
    """
    saved = np.load(path)
    data = {key: saved[key] for key in saved.files}
    if "X_val" in data:
        return data
    order = np.random.default_rng(seed).permutation(len(data["X_train"]))
    train, val = np.sort(order[:-holdout]), np.sort(order[-holdout:])
    X, y = data["X_train"], data["y_train"]
    return {"X_train": X[train], "y_train": y[train], "X_val": X[val], "y_val": y[val]}


def machine_state():
    """Load average and BLAS threads now, for the record of each figure."""
    return {
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "blas_threads": [
            i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"
        ],
    }


def cached_features(bovw, data, cache, key, *, verbose=1, parts=("train", "val")):
    """Train and validation features of `bovw` fit on X_train, as float32.

    Saved to ``<cache>/<key>_{train,val}.npy`` with ``<key>.json`` (times,
    load, threads) and read back memory-mapped, so that a second section or
    run does not recompute them and a 50,000 x 16,000 array is not copied.
    """
    cache = Path(cache)
    meta_path = cache / f"{key}.json"
    if not meta_path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        meta = {"params": {k: repr(v) for k, v in bovw.get_params().items()}}
        meta["state_before"] = machine_state()
        bovw.set_params(verbose=verbose)
        start = time.perf_counter()
        bovw.fit(data["X_train"])
        meta["fit_seconds"] = time.perf_counter() - start
        for part in parts:
            start = time.perf_counter()
            features = bovw.transform(data[f"X_{part}"])
            meta[f"transform_{part}_seconds"] = time.perf_counter() - start
            assert features.dtype == np.float32
            np.save(cache / f"{key}_{part}.npy", features)
            del features
        meta["state_after"] = machine_state()
        meta_path.write_text(json.dumps(meta, indent=2))
    meta = json.loads(meta_path.read_text())
    arrays = [np.load(cache / f"{key}_{part}.npy", mmap_mode="r") for part in parts]
    return (*arrays, meta)


def standardize(train, val, *, chunk=4096):
    """Standardized float32 copies of `train` and `val`, statistics of `train`.

    Means and variances are accumulated in float64 over row chunks, so no
    float64 array of the full size is made (StandardScaler's fit on float32
    makes one: ``X - mean`` with a float64 mean).
    """
    n, d = train.shape
    total, squares = np.zeros(d), np.zeros(d)
    for start in range(0, n, chunk):
        block = np.asarray(train[start : start + chunk], dtype=np.float64)
        total += block.sum(axis=0)
    mean = total / n
    for start in range(0, n, chunk):
        block = np.asarray(train[start : start + chunk], dtype=np.float64) - mean
        squares += np.einsum("ij,ij->j", block, block)
    scale = np.sqrt(squares / n)
    scale[scale == 0] = 1
    mean, scale = mean.astype(np.float32), scale.astype(np.float32)

    def apply(features):
        out = np.empty(features.shape, dtype=np.float32)
        for start in range(0, len(features), chunk):
            rows = slice(start, start + chunk)
            np.subtract(features[rows], mean, out=out[rows])
            out[rows] /= scale
        return out

    return apply(train), apply(val)


def training_rows(n, size=10_000, seed=1):
    """A fixed random subset of `size` of `n` training rows, sorted.

    The training split keeps the order of the file, which
    ``cifar10_train.npz`` has sorted by class: its first rows are not a
    sample of the training set.
    """
    return np.sort(np.random.default_rng(seed).permutation(n)[:size])


def binomial_se(accuracy, n):
    """One standard error of an accuracy measured on `n` independent images."""
    return float(np.sqrt(accuracy * (1 - accuracy) / n))


def paired_se(correct_a, correct_b):
    """One standard error of the difference of two accuracies, same images."""
    diff = np.asarray(correct_a, float) - np.asarray(correct_b, float)
    return float(diff.std(ddof=1) / np.sqrt(len(diff)))


def ridge_full(train, y_train, val, alphas, *, chunk=4096):
    """Held-out predictions of one-vs-rest ridge on standardized features.

    The converged instrument of the ablations at full scale: targets +-1, a
    bias column, the normal equations accumulated over row chunks in float32
    products summed in float64, solved exactly for each penalty
    ``alpha * ||W||^2``. Returns ``{alpha: (train_pred, val_pred)}``, the
    training predictions on the rows :func:`training_rows` picks.
    """
    classes, y_index = np.unique(y_train, return_inverse=True)
    d = train.shape[1] + 1
    gram, rhs = np.zeros((d, d)), np.zeros((d, len(classes)))
    targets = 2.0 * np.eye(len(classes), dtype=np.float32)[y_index] - 1
    for start in range(0, len(train), chunk):
        rows = train[start : start + chunk]
        block = np.hstack([rows, np.ones((len(rows), 1), np.float32)])
        gram += block.T @ block
        rhs += block.T @ targets[start : start + chunk]
    results = {}
    for alpha in alphas:
        W = scipy.linalg.solve(
            gram + alpha * np.eye(d), rhs, assume_a="pos", overwrite_a=False
        ).astype(np.float32)

        def predict(features, W=W):
            scores = features @ W[:-1] + W[-1]
            return classes[scores.argmax(axis=1)]

        results[alpha] = (predict(train[training_rows(len(train))]), predict(val))
    return results


class ExactOptimum(ClassifierMixin, BaseEstimator):
    """A loss of :data:`sklinear.losses.LOSSES` minimized exactly: the reference.

    Minimizes ``mean loss + alpha / 2 * ||W||**2`` (the intercept is not
    penalized), the objective :class:`sklinear.SoftmaxSGD` and
    :class:`sklinear.MulticlassSVMSGD` descend by minibatches, with
    L-BFGS-B on the whole data (products in the data's float32, the
    parameters and the optimizer in float64). What minibatch SGD ends short
    of this model's accuracy is optimization; what this model ends short of
    another loss's is the loss. ``log_loss`` is ``LogisticRegression`` with
    ``C = 1 / (alpha * n_samples)``; ``ovr_squared_hinge`` is ``LinearSVC``
    with the intercept unpenalized.

    Parameters
    ----------
    loss : str, default="log_loss"
        A key of ``LOSSES`` (at its default parameters).
    alpha : float, default=1e-3
        Strength of the L2 penalty on the mean loss.
    max_iter : int, default=600
        L-BFGS-B iterations at most.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> model = ExactOptimum(alpha=1e-2).fit(X, y)
    >>> model.n_iter_ < 600, model.score(X, y) > 0.9
    (True, True)
    """

    def __init__(self, loss="log_loss", alpha=1e-3, max_iter=600):
        self.loss = loss
        self.alpha = alpha
        self.max_iter = max_iter

    def fit(self, X, y):
        import scipy.optimize

        from sklinear.losses import LOSSES

        loss = LOSSES[self.loss]
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        self.classes_, labels = np.unique(y, return_inverse=True)
        n_features, n_classes = X.shape[1], len(self.classes_)
        n_weights = n_features * n_classes
        ones = np.ones(len(labels))

        def objective(theta):
            W = theta[:n_weights].reshape(n_features, n_classes)
            scores = (X @ W.astype(X.dtype) + theta[n_weights:]).astype(np.float64)
            value, dscores = loss(scores, labels, ones)
            grad_W = (X.T @ dscores.astype(X.dtype)).astype(np.float64)
            grad_W += self.alpha * W
            value = float(value) + 0.5 * self.alpha * float(
                np.dot(W.ravel(), W.ravel())
            )
            return value, np.concatenate([grad_W.ravel(), dscores.sum(axis=0)])

        result = scipy.optimize.minimize(
            objective,
            np.zeros(n_weights + n_classes),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter, "gtol": 1e-7, "ftol": 1e-13},
        )
        self.coef_ = result.x[:n_weights].reshape(n_features, n_classes).T.copy()
        self.intercept_ = result.x[n_weights:].copy()
        self.objective_ = float(result.fun)
        self.n_iter_ = int(result.nit)
        self.converged_ = bool(result.success)
        return self

    def decision_function(self, X):
        X = np.asarray(X)
        return X @ self.coef_.T.astype(X.dtype, copy=False) + self.intercept_

    def predict(self, X):
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


def full_classifiers(n_samples, names):
    """The classifiers of the ``full`` section, by short name.

    A name may carry parameter overrides, ``softmax+tol=None+max_iter=40``.
    ``linearsvc`` is Coates et al.'s own classifier: a one-vs-rest L2-SVM
    (squared hinge) with their C = 100 on the mean loss, which is
    LinearSVC's C = 100 / n_samples (their bias is a regularized constant
    feature, as liblinear's); ``svm_ovr`` is the same loss trained by
    minibatch SGD at the defaults (``svm_ovr+alpha=0.01`` is their C).
    ``optimum`` is :class:`ExactOptimum`, a loss minimized to its optimum
    (``optimum+loss='squared_hinge'+alpha=0.01``).
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from sklinear import MulticlassSVMSGD, SoftmaxSGD, SoftmaxSGDCV

    factories = {
        "linearsvc": lambda: LinearSVC(C=100 / n_samples, dual=False),
        "softmax": lambda: SoftmaxSGD(random_state=0),
        "svm_sq": lambda: MulticlassSVMSGD(loss="squared_hinge", random_state=0),
        "svm_ovr": lambda: MulticlassSVMSGD(loss="ovr_squared_hinge", random_state=0),
        "softmax_cv": lambda: SoftmaxSGDCV(random_state=0),
        "recipe_svm": lambda: MulticlassSVMSGD(
            loss="squared_hinge", **RECIPE, max_iter=RECIPE_EPOCHS, random_state=0
        ),
        "softmax_long": lambda: SoftmaxSGD(
            alpha=1e-4, average=True, max_iter=100, tol=None, random_state=0
        ),
        "logreg": lambda: LogisticRegression(C=0.02, max_iter=1000),
        "optimum": ExactOptimum,
    }
    models = {}
    for name in names:
        base, *overrides = name.split("+")
        if base not in factories:
            raise ValueError(f"unknown classifier {base!r}: {sorted(factories)}")
        models[name] = factories[base]().set_params(
            **{
                key: ast.literal_eval(value)
                for key, value in (item.split("=", 1) for item in overrides)
            }
        )
    return models


def _append_jsonl(out, name, row):
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        with open(Path(out) / f"{name}.jsonl", "a") as file:
            file.write(json.dumps(row) + "\n")


def bench_full(data, *, n_words, cache, classifiers, out=None, max_train=None):
    """BagOfVisualWords(n_words) -> standardized -> each classifier, full data.

    The features are fit on X_train only (``random_state=0``) and cached;
    each classifier's row (train accuracy on 10,000 random training rows,
    held-out accuracy with one binomial standard error, fit seconds, load and
    BLAS threads) is appended to ``<out>/full.jsonl`` as soon as it is done.
    """
    bovw = BagOfVisualWords(n_words=n_words, random_state=0, n_jobs=-1)
    train, val, meta = cached_features(bovw, data, cache, f"full_K{n_words}")
    y_train, y_val = data["y_train"], data["y_val"]
    if max_train:
        rows = training_rows(len(train), max_train, seed=2)
        train, y_train = train[rows], y_train[rows]
    train, val = standardize(train, val)
    seen = training_rows(len(train))
    results = []
    for name, model in full_classifiers(len(train), classifiers).items():
        state = machine_state()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(train, y_train)
            seconds = time.perf_counter() - start
        predictions = model.predict(val)
        np.save(Path(cache) / f"pred_full_K{n_words}_{name}.npy", predictions)
        accuracy = float((predictions == y_val).mean())
        curve = getattr(model, "loss_curve_", None)
        row = {
            "model": repr(model),
            "name": name,
            "n_words": n_words,
            "n_train": len(train),
            "n_val": len(val),
            "train_accuracy_10k": float(model.score(train[seen], y_train[seen])),
            "val_accuracy": accuracy,
            "val_se": binomial_se(accuracy, len(val)),
            "seconds": seconds,
            "n_iter": np.asarray(getattr(model, "n_iter_", -1)).max().item(),
            "alpha_": getattr(model, "alpha_", None),
            "loss_curve": None if curve is None else [float(c) for c in curve],
            "state_before": state,
            "state_after": machine_state(),
            "features": {k: v for k, v in meta.items() if k != "params"},
        }
        results.append(row)
        _append_jsonl(out, "full", row)
        print(
            f"  { ({k: v for k, v in row.items() if k != 'loss_curve'}) }", flush=True
        )
    return results


#: name -> BagOfVisualWords parameters: one change each from our defaults,
#: towards Coates et al.'s kmeans_demo.m (or around it).
FULL_ABLATIONS = {
    "ours (defaults)": {},
    "400,000 k-means patches (kmeans_demo.m)": {"max_patches": 400_000},
    "whitening eps 0.01": {"whiten_eps": 0.01},
    "whitening eps 1": {"whiten_eps": 1.0},
    "pooling grid 3x3": {"pooling_grid": (3, 3)},
}

#: Ridge penalties of the full-data instrument (40,000 rows).
FULL_RIDGE_ALPHAS = (30, 100, 300, 1000, 3000, 10_000)


def _variant_key(n_words, params):
    key = f"full_K{n_words}"
    for name, value in params.items():
        value = "x".join(map(str, value)) if isinstance(value, tuple) else value
        key += f"_{name}{value}"
    return key


def bench_full_ablation(data, *, n_words, cache, variants, out=None, max_train=None):
    """Each BoVW variant on the full split, measured by the exact ridge.

    The baseline row shares the features of the ``full`` section. Each row
    gives, per ridge penalty, the held-out accuracy, its binomial standard
    error and the paired standard error of its difference to the baseline
    (the first row), from the per-image correctness of both.
    """
    rows, correct = [], []
    for name in variants:
        params = FULL_ABLATIONS[name]
        bovw = BagOfVisualWords(n_words=n_words, random_state=0, n_jobs=-1)
        bovw.set_params(**params)
        row, row_correct = _ridge_row(
            name, bovw, data, cache, _variant_key(n_words, params), max_train=max_train
        )
        for alpha, cell in row["ridge"].items():
            cell["paired_se_vs_first"] = paired_se(
                row_correct[alpha], (correct or [row_correct])[0][alpha]
            )
            cell["difference_vs_first"] = (
                cell["val_accuracy"]
                - (rows or [row])[0]["ridge"][alpha]["val_accuracy"]
            )
        rows.append(row)
        correct.append(row_correct)
        _append_jsonl(out, "full_ablation", row)
    return rows


def _ridge_row(name, bovw, data, cache, key, *, max_train=None):
    """The ridge instrument on cached features: (row, {alpha: correct}).

    Kept in ``<cache>/ridge_<key>.json`` and ``.npz`` (the per-image
    correctness) for the sections that share a variant.
    """
    saved = Path(cache) / f"ridge_{key}_{max_train or 'all'}"
    if saved.with_suffix(".json").exists():
        row = json.loads(saved.with_suffix(".json").read_text())
        if list(row["ridge"]) == [str(a) for a in FULL_RIDGE_ALPHAS]:
            row["variant"] = name
            correct = np.load(saved.with_suffix(".npz"))
            return row, {alpha: correct[alpha] for alpha in row["ridge"]}
    state = machine_state()
    train, val, meta = cached_features(bovw, data, cache, key)
    y_train, y_val = data["y_train"], data["y_val"]
    if max_train:
        rows = training_rows(len(train), max_train, seed=2)
        train, y_train = train[rows], y_train[rows]
    train, val = standardize(train, val)
    start = time.perf_counter()
    ridge = ridge_full(train, y_train, val, FULL_RIDGE_ALPHAS)
    row = {
        "variant": name,
        "key": key,
        "n_train": len(train),
        "n_features": train.shape[1],
        "ridge_seconds": time.perf_counter() - start,
        "features": {k: v for k, v in meta.items() if k != "params"},
        "state_before": state,
        "state_after": machine_state(),
        "ridge": {},
    }
    correct = {}
    for alpha, (train_pred, val_pred) in ridge.items():
        correct[str(alpha)] = val_pred == y_val
        accuracy = float(correct[str(alpha)].mean())
        row["ridge"][str(alpha)] = {
            "train_accuracy_10k": float(
                (train_pred == y_train[training_rows(len(y_train))]).mean()
            ),
            "val_accuracy": accuracy,
            "val_se": binomial_se(accuracy, len(y_val)),
        }
    print(f"  {row}", flush=True)
    saved.with_suffix(".json").write_text(json.dumps(row))
    np.savez(saved.with_suffix(".npz"), **correct)
    return row, correct


def jpeg_recompress(images, quality):
    """`images` (n, H, W, 3) uint8 encoded as JPEG at `quality` and decoded.

    Pillow's encoder at its defaults for `quality` (4:2:0 chroma subsampling
    below quality 95 ... as Pillow chooses), one image at a time.
    """
    import io

    from PIL import Image

    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        buffer.seek(0)
        out[i] = np.asarray(Image.open(buffer).convert("RGB"))
    return out


def jpeg_ghost(images, qualities=range(40, 101, 5)):
    """Mean squared pixel change of one re-compression at each quality.

    A JPEG-decoded image changes least when re-encoded at the quality (the
    quantization tables) it was saved with: the dip of this curve estimates
    the quality of the copy ("JPEG ghosts", Farid 2009).
    """
    reference = images.astype(np.float64)
    return {
        int(q): float(((jpeg_recompress(images, q) - reference) ** 2).mean())
        for q in qualities
    }


def fresh_compression_mse(images, quality, *, shift=4, size=24):
    """MSE of one compression at `quality` off the copy's 8x8 block grid.

    Crops of `size` pixels starting `shift` pixels into each image straddle
    the blocks of the copy's compression, so re-encoding them costs about
    what a first compression costs (a slight underestimate: the copy is
    already smoothed).
    """
    crops = np.ascontiguousarray(images[:, shift : shift + size, shift : shift + size])
    return jpeg_ghost(crops, [quality])[quality]


def jpeg_estimate(mse, accuracy, se, mse0):
    """Accuracy at ``-mse0`` of the least-squares line through the points.

    Returns the slope (per unit of MSE), the intercept (the data as it is),
    the estimate for the originals and its standard error, propagated from
    the points' standard errors taken as independent (the estimate is a
    fixed linear combination of the accuracies).
    """
    design = np.column_stack([np.ones(len(mse)), mse])
    weights = np.array([1.0, -mse0]) @ np.linalg.pinv(design)
    (intercept, slope), *_ = np.linalg.lstsq(design, np.asarray(accuracy), rcond=None)
    return {
        "slope_per_mse": float(slope),
        "intercept": float(intercept),
        "estimated_original": float(weights @ np.asarray(accuracy)),
        "estimated_original_se": float(np.sqrt(weights**2 @ np.asarray(se) ** 2)),
    }


def bench_jpeg(data, *, n_words, cache, qualities, out=None):
    """Accuracy against added JPEG distortion, extrapolated to the originals.

    For each quality, every image (training and held-out) is re-encoded with
    Pillow; the BoVW is fit on the re-encoded training images and measured
    by the exact ridge (the ablation instrument), on the re-encoded held-out
    images and on the unchanged ones. The rows, with the mean squared pixel
    change of the re-encoding (MSE), give a line accuracy = a + b * MSE
    (least squares over the qualities and the unchanged data at MSE 0).
    The copy itself carries an unknown distortion MSE0 from the originals:
    the quality of the copy is the dip of :func:`jpeg_ghost`, and MSE0 is
    what one compression at that quality does to images that were not
    compressed on the same block grid (:func:`fresh_compression_mse`). With
    independent errors adding in MSE, the originals would give about
    ``a - b * MSE0``: a linear extrapolation beyond MSE 0.
    """
    try:
        import PIL  # noqa: F401
    except ImportError:
        print("  Pillow is not installed: the jpeg section is skipped.", flush=True)
        return None
    rng = np.random.default_rng(0)
    n_sample = min(2000, len(data["X_train"]))
    sample = data["X_train"][rng.choice(len(data["X_train"]), n_sample, replace=False)]
    ghost = jpeg_ghost(sample)
    print(f"  ghost (MSE of one re-compression by quality): {ghost}", flush=True)
    base, _ = _ridge_row(
        "unchanged",
        BagOfVisualWords(n_words=n_words, random_state=0, n_jobs=-1),
        data,
        cache,
        f"full_K{n_words}",
    )
    rows = [{"quality": None, "mse": 0.0, "ridge": base["ridge"]}]
    for quality in qualities:
        changed = {
            "X_train": jpeg_recompress(data["X_train"], quality),
            "X_val": jpeg_recompress(data["X_val"], quality),
            "X_val_orig": data["X_val"],
            "y_train": data["y_train"],
            "y_val": data["y_val"],
        }
        mse = float(
            np.mean(
                [
                    ((changed[k][:2000].astype(float) - data[k][:2000]) ** 2).mean()
                    for k in ("X_train", "X_val")
                ]
            )
        )
        bovw = BagOfVisualWords(n_words=n_words, random_state=0, n_jobs=-1)
        train, val, val_orig, meta = cached_features(
            bovw,
            changed,
            cache,
            f"jpeg_q{quality}_K{n_words}",
            parts=("train", "val", "val_orig"),
        )
        train_s, val_s = standardize(train, val)
        _, val_orig_s = standardize(train, val_orig)
        # One solve for both held-out sets: the re-encoded and the unchanged.
        both = ridge_full(
            train_s, data["y_train"], np.vstack([val_s, val_orig_s]), FULL_RIDGE_ALPHAS
        )
        n_val = len(val_s)
        ridge = {a: (t, v[:n_val]) for a, (t, v) in both.items()}
        ridge_orig = {a: (t, v[n_val:]) for a, (t, v) in both.items()}
        row = {"quality": quality, "mse": mse, "ridge": {}, "state": machine_state()}
        for alpha in FULL_RIDGE_ALPHAS:
            acc = float((ridge[alpha][1] == data["y_val"]).mean())
            acc_orig = float((ridge_orig[alpha][1] == data["y_val"]).mean())
            row["ridge"][str(alpha)] = {
                "val_accuracy": acc,
                "val_se": binomial_se(acc, len(data["y_val"])),
                "val_accuracy_unchanged_val": acc_orig,
            }
        rows.append(row)
        _append_jsonl(out, "jpeg", row)
        print(f"  {row}", flush=True)
    estimate = {}
    q0 = min(ghost, key=ghost.get)
    mse0 = fresh_compression_mse(sample, q0)
    for alpha in map(str, FULL_RIDGE_ALPHAS):
        estimate[alpha] = jpeg_estimate(
            [r["mse"] for r in rows],
            [r["ridge"][alpha]["val_accuracy"] for r in rows],
            [r["ridge"][alpha]["val_se"] for r in rows],
            mse0,
        )
    result = {
        "ghost": ghost,
        "copy_quality": q0,
        "mse0": mse0,
        "rows": rows,
        "estimate": estimate,
    }
    _append_jsonl(
        out,
        "jpeg",
        {"estimate": estimate, "ghost": ghost, "copy_quality": q0, "mse0": mse0},
    )
    return result


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
            f"## BagOfVisualWords transform ({row['encoding']}, "
            f"{row['n_words']} words, {row['n_images']} images; load "
            f"{row['state_before']['load']} at the start, "
            f"{row['state_after']['load']} at the end)",
            "",
        ]
        if row["max_row_relative_difference"] is not None:
            lines += [
                f"Largest difference from the transform before issue 12, "
                f"relative to each image's largest feature: "
                f"{row['max_row_relative_difference']:.1e}.",
                "",
            ]
        lines += [
            f"Matrix-product floor: {row['floor_images_per_s_1_blas_thread']:,.0f}"
            f" img/s with 1 BLAS thread, "
            f"{row['floor_images_per_s_2_blas_threads']:,.0f} with 2, "
            f"{row['floor_images_per_s_2_workers']:,.0f} with 2 workers of 1.",
            "",
        ]
        runs = [{"run": name, **values} for name, values in row["runs"].items()]
        lines += _table(
            runs,
            {
                "run": ("run", "s"),
                "img/s": ("images_per_s", ",.0f"),
                "speed-up vs before": ("speedup_vs_before", ".2f"),
                "x floor (same threads)": ("x_floor_same_threads", ".2f"),
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


SECTIONS = (
    "hog",
    "throughput",
    "bovw",
    "accuracy",
    "ablation",
    "recipe",
    "full",
    "full-ablation",
    "jpeg",
)
FULL_SECTIONS = {"full", "full-ablation", "jpeg"}


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
    parser.add_argument(
        "--bovw-words",
        nargs="+",
        type=int,
        default=[1600],
        help="codebook sizes of the bovw and throughput sections (default 1600)",
    )
    parser.add_argument(
        "--encodings",
        nargs="+",
        choices=["triangle", "hard"],
        default=["triangle", "hard"],
        help="encodings of the bovw section",
    )
    parser.add_argument(
        "--only-bovw",
        action="store_true",
        help="throughput section: BagOfVisualWords rows only",
    )
    parser.add_argument(
        "--no-before",
        action="store_true",
        help="bovw section without the frozen pre-issue-12 transform",
    )
    parser.add_argument(
        "--holdout",
        type=int,
        default=10_000,
        help="rows held out of an npz without X_val (default 10,000)",
    )
    parser.add_argument(
        "--split-seed", type=int, default=0, help="seed of the held-out split"
    )
    parser.add_argument(
        "--classifiers",
        nargs="+",
        default=["linearsvc"],
        help="classifiers of the full section (see full_classifiers)",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=None,
        help="rows of FULL_ABLATIONS for the full-ablation section (default all)",
    )
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="a fixed random subset of this many rows of the train split",
    )
    parser.add_argument(
        "--ridge-alphas",
        nargs="+",
        type=float,
        default=None,
        help="penalties of the ridge instrument (default FULL_RIDGE_ALPHAS)",
    )
    parser.add_argument(
        "--qualities",
        nargs="+",
        type=int,
        default=[90, 70, 50, 30],
        help="JPEG qualities of the jpeg section",
    )
    args = parser.parse_args(argv)

    quick = args.quick
    sections = list(args.sections or ["hog", "throughput", "bovw"])
    if args.accuracy and "accuracy" not in sections:
        sections.append("accuracy")
    repeats = args.repeats or (2 if quick else 5)
    n_large = args.n_large or (300 if quick else 60_000)
    data = (
        load_split(args.data, holdout=args.holdout, seed=args.split_seed)
        if args.data
        else None
    )
    if data is None and ({"accuracy", "ablation", "recipe"} | FULL_SECTIONS) & set(
        sections
    ):
        parser.error("the accuracy, ablation, recipe and full sections need --data")
    if FULL_SECTIONS & set(sections) and not args.cache:
        parser.error("the full sections need --cache (a directory for features)")
    if args.ridge_alphas:
        global FULL_RIDGE_ALPHAS
        FULL_RIDGE_ALPHAS = tuple(
            int(a) if float(a).is_integer() else a for a in args.ridge_alphas
        )
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
            word_counts=args.bovw_words,
            only_bovw=args.only_bovw,
        )
    if "bovw" in sections:
        print("BagOfVisualWords before and after issue 12 ...", flush=True)
        report["bovw"] = bench_bovw_before_after(
            images,
            n_images=args.n_bovw or (20 if quick else 600),
            repeats=repeats,
            quick=quick,
            word_counts=args.bovw_words,
            encodings=args.encodings,
            before=not args.no_before,
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
    if "full" in sections:
        print(f"full data, {args.n_words} words ...", flush=True)
        report["full"] = bench_full(
            data,
            n_words=args.n_words,
            cache=args.cache,
            classifiers=args.classifiers,
            out=args.out,
            max_train=args.max_train,
        )
    if "full-ablation" in sections:
        print("full-data ablations ...", flush=True)
        report["full_ablation"] = bench_full_ablation(
            data,
            n_words=args.n_words,
            cache=args.cache,
            variants=args.variants or list(FULL_ABLATIONS),
            out=args.out,
            max_train=args.max_train,
        )
    if "jpeg" in sections:
        print("JPEG re-compression ...", flush=True)
        report["jpeg"] = bench_jpeg(
            data,
            n_words=args.n_words,
            cache=args.cache,
            qualities=args.qualities,
            out=args.out,
        )
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
