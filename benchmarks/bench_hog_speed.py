"""HOG throughput of sklinear against scikit-image's per-image loop.

Times ``hog_batch`` (all images at once, ``n_jobs`` threads) and
``skimage.feature.hog`` called per image, alternating in rounds so that
both see the same machine load, with BLAS held to one thread. Reports the
median images/s of each and the median of the per-round ratios, after
checking that the outputs agree to 1e-6. Run it under the shared lock::

    flock /tmp/sklinear-bench.lock python benchmarks/bench_hog_speed.py \\
        --data /work/shared/data/cifar10_dev.npz --n-jobs 1 2

Without ``--data`` it uses synthetic CIFAR-sized images; ``--quick`` runs
in seconds (smoke tests).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from sklinear.features import hog_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import synthetic_images  # noqa: E402

SETTINGS = {
    "default (color, 3x3 L2-Hys blocks)": ({}, {"channel_axis": -1}),
    "CS231n-like (gray, 1x1 L1 blocks)": (
        {"color_mode": "gray", "cells_per_block": (1, 1), "block_norm": "L1"},
        {"cells_per_block": (1, 1), "block_norm": "L1"},
    ),
}


def _skimage_inputs(images, gray):
    from skimage.color import rgb2gray

    if gray:
        return [rgb2gray(image.astype(np.float64)) for image in images]
    return list(images)


def _seconds(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def bench(images, *, n_reference, rounds, n_jobs):
    """Rows of images/s for every setting and thread count."""
    from skimage.feature import hog

    rows = []
    for name, (ours, theirs) in SETTINGS.items():
        gray = ours.get("color_mode") == "gray"
        reference = _skimage_inputs(images[:n_reference], gray)

        def run_skimage(reference=reference, theirs=theirs):
            return [hog(image, **theirs) for image in reference]

        expected = np.stack(run_skimage())
        error = float(np.abs(hog_batch(images[:n_reference], **ours) - expected).max())
        for jobs in n_jobs:

            def run_ours(ours=ours, jobs=jobs):
                return hog_batch(images, n_jobs=jobs, **ours)

            run_ours()  # buffers, lookup tables
            ours_rate, skimage_rate = [], []
            for _ in range(rounds):
                ours_rate.append(len(images) / _seconds(run_ours))
                skimage_rate.append(n_reference / _seconds(run_skimage))
            ratios = [a / b for a, b in zip(ours_rate, skimage_rate, strict=True)]
            rows.append(
                {
                    "setting": name,
                    "n_jobs": jobs,
                    "sklinear_images_per_s": statistics.median(ours_rate),
                    "skimage_images_per_s": statistics.median(skimage_rate),
                    "ratio": statistics.median(ratios),
                    "max_abs_difference": error,
                }
            )
            print(_row(rows[-1]), flush=True)
    return rows


def _row(row):
    return (
        f"| {row['setting']} | {row['n_jobs']} | {row['sklinear_images_per_s']:,.0f} "
        f"| {row['skimage_images_per_s']:,.0f} | {row['ratio']:.1f}x "
        f"| {row['max_abs_difference']:.1e} |"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="npz with X_train (n, 32, 32, 3) uint8")
    parser.add_argument("--n-images", type=int, default=5000)
    parser.add_argument("--n-reference", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", help="write the rows to this file")
    parser.add_argument("--quick", action="store_true", help="seconds; smoke tests")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_images, args.n_reference, args.rounds = 200, 20, 2
    if args.data:
        images = np.load(args.data)["X_train"][: args.n_images]
    else:
        images = synthetic_images(args.n_images)
    with threadpool_limits(1):
        blas = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
        print(f"load average {os.getloadavg()}, BLAS threads {blas}")
        print(
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"{len(images)} images (ours), {args.n_reference} (skimage), "
            f"{args.rounds} rounds, medians"
        )
        print(
            "| setting | n_jobs | sklinear img/s | skimage img/s | ratio | max diff |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        rows = bench(
            images,
            n_reference=args.n_reference,
            rounds=args.rounds,
            n_jobs=args.n_jobs,
        )
        print(f"load average {os.getloadavg()}")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(rows, file, indent=2)
    return rows


if __name__ == "__main__":
    main()
