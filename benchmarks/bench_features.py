"""Benchmark the image feature transformers of sklinear.features.

1. HOG throughput against ``skimage.feature.hog`` called per image, in the
   same run, with a check that the outputs are equal (medians of repeats).
2. Wall time and peak traced memory (tracemalloc) of each transformer on a
   large batch (default 50,000 CIFAR-size images, the data tiled).
3. With ``--accuracy`` (needs ``--data``): validation accuracy of linear
   classifiers on raw pixels, HOG + color histogram, and bag of visual words.

Runs on synthetic 32x32x3 images unless ``--data`` points to an npz with
X_train, y_train, X_val, y_val (e.g. cifar10_dev.npz)::

    python benchmarks/bench_features.py
    python benchmarks/bench_features.py --data cifar10_dev.npz --out results
    python benchmarks/bench_features.py --data cifar10_dev.npz --accuracy
    python benchmarks/bench_features.py --quick   # seconds; for smoke tests
"""

import argparse
import json
import platform
import statistics
import time
import tracemalloc
from pathlib import Path

import numpy as np
import sklearn
from skimage.feature import hog as skimage_hog

from sklinear.features import HOG, BagOfVisualWords, ColorHistogram, hog_batch

HOG_SETTINGS = {
    "skimage default (color)": {"channel_axis": -1},
    "CS231n-like (gray, 1x1 L1 blocks)": {
        "cells_per_block": (1, 1),
        "block_norm": "L1",
        "gray": True,
    },
}


def synthetic_images(n, seed=0):
    """Smooth random color images with edges, CIFAR-sized, uint8."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(n, 8, 8, 3)).astype(np.float32)
    images = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)
    images += rng.normal(0, 12, size=images.shape)
    return np.clip(images, 0, 255).astype(np.uint8)


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


def large_transformers(n_fit, n_words):
    return {
        "HOG()": HOG(),
        "HOG(gray, block_norm=None)": HOG(color_mode="gray", block_norm=None),
        "ColorHistogram(hsv, 10)": ColorHistogram(),
        "ColorHistogram(rgb_joint, 8)": ColorHistogram(bins=8, color_space="rgb_joint"),
        f"BagOfVisualWords({n_words} words, stride 2, hard, 2x2)": BagOfVisualWords(
            n_words=n_words,
            stride=2,
            encoding="hard",
            max_patches=min(50_000, n_fit * 100),
            random_state=0,
        ),
    }


def bench_large(images, n_large, *, n_fit, n_words):
    """Wall time and peak traced memory of transform on n_large images."""
    reps = -(-n_large // len(images))
    large = np.tile(images, (reps, 1, 1, 1))[:n_large]
    results = []
    for name, transformer in large_transformers(n_fit, n_words).items():
        transformer.fit(images[:n_fit])
        tracemalloc.start()
        start = time.perf_counter()
        features = transformer.transform(large)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results.append(
            {
                "transformer": name,
                "n_images": n_large,
                "seconds": seconds,
                "images_per_s": n_large / seconds,
                "peak_traced_mb": peak / 2**20,
                "output_mb": features.nbytes / 2**20,
                "n_features": features.shape[1],
            }
        )
        del features
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


def _markdown(report):
    lines = ["# sklinear.features benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in report["environment"].items()]
    lines += ["", "## HOG throughput vs skimage.feature.hog per image", ""]
    lines += [
        "| setting | skimage img/s | sklinear img/s | speedup | max abs diff |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in report["hog_speed"]:
        lines.append(
            f"| {row['setting']} | {row['skimage_images_per_s']:,.0f} | "
            f"{row['sklinear_images_per_s']:,.0f} | {row['speedup']:.1f}x | "
            f"{row['max_abs_difference']:.1e} |"
        )
    lines += ["", "## Transform on a large batch", ""]
    lines += [
        "| transformer | images | seconds | img/s | peak traced MB | output MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in report["large"]:
        lines.append(
            f"| {row['transformer']} | {row['n_images']:,} | {row['seconds']:.2f} | "
            f"{row['images_per_s']:,.0f} | {row['peak_traced_mb']:.0f} | "
            f"{row['output_mb']:.0f} |"
        )
    if report.get("accuracy"):
        lines += ["", "## Validation accuracy", ""]
        lines += ["| model | val accuracy | fit seconds |", "|---|---:|---:|"]
        for row in report["accuracy"]:
            lines.append(
                f"| {row['model']} | {row['val_accuracy']:.3f} | {row['seconds']:.0f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="npz with X_train, y_train, X_val, y_val")
    parser.add_argument("--out", help="directory for results.json and results.md")
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-large", type=int, default=None)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument("--n-words", type=int, default=1600)
    args = parser.parse_args(argv)

    quick = args.quick
    repeats = args.repeats or (2 if quick else 5)
    n_large = args.n_large or (300 if quick else 50_000)
    data = dict(np.load(args.data)) if args.data else None
    images = data["X_train"] if data else synthetic_images(200 if quick else 5000)
    n_speed = 100 if quick else min(len(images), 5000)
    report = {
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "machine": platform.machine(),
            "data": args.data or "synthetic 32x32x3 uint8",
            "repeats (median)": repeats,
        }
    }
    print("HOG speed ...", flush=True)
    report["hog_speed"] = bench_hog_speed(
        images[:n_speed], n_reference=20 if quick else 300, repeats=repeats
    )
    print(f"transformers on {n_large} images ...", flush=True)
    report["large"] = bench_large(
        images, n_large, n_fit=20 if quick else 2000, n_words=8 if quick else 256
    )
    if args.accuracy:
        if data is None:
            parser.error("--accuracy needs --data")
        print("accuracy ...", flush=True)
        report["accuracy"] = bench_accuracy(data, n_words=args.n_words)
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
