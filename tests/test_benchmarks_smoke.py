"""Every benchmark runs in its ``--quick`` configuration, so that none can rot.

Each is imported from ``benchmarks/`` and its ``main(argv)`` called in-process
with ``tmp_path`` as ``--out``; the test checks the JSON and markdown it
writes. No test reads ``../shared``: the benchmarks default to bundled or
synthetic data.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def load_benchmark(name):
    """Import ``benchmarks/<name>.py`` as a module."""
    path = BENCHMARKS / f"{name}.py"
    assert path.exists(), f"{path.name} is missing"
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def read_outputs(out, name):
    results = json.loads((out / f"{name}.json").read_text())
    markdown = (out / f"{name}.md").read_text()
    return results, markdown


def test_bench_speed_quick(tmp_path):
    bench = load_benchmark("bench_speed")
    bench.main(["--quick", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_speed")
    acceptance = results["acceptance"]
    for name in (
        "matmul floor (contiguous)",
        "MulticlassSVMSGD shuffle=True",
        "MulticlassSVMSGD shuffle=False",
        "SoftmaxSGD shuffle=True",
        "SoftmaxSGD shuffle=False",
        "SGDClassifier hinge",
        "SGDClassifier log_loss",
    ):
        assert name in acceptance
        assert set(acceptance[name]) >= {"epoch_s", "x_floor", "speedup_vs_sgd_hinge"}
    assert results["machine"]["blas"], "threadpoolctl found no BLAS"
    assert set(results["target"]["results"]) == {
        "MulticlassSVMSGD",
        "SoftmaxSGD",
        "SGDClassifier hinge",
        "SGDClassifier log_loss",
        "LogisticRegression lbfgs",
        "LinearSVC crammer_singer",
    }
    assert "x floor" in markdown and "BLAS" in markdown
    assert set(results["dtypes"]["SoftmaxSGD"]) >= {"float32", "float64"}


def test_bench_quality_quick(tmp_path):
    bench = load_benchmark("bench_quality")
    bench.main(["--quick", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_quality")
    gap = results["objective_gap"]
    assert gap["optimum"] > 0
    for run in gap["runs"].values():
        # The optimum is a lower bound of every objective (up to lbfgs' tol).
        assert run["objective"] >= gap["optimum"] - 1e-3
    assert set(results["optimizers"]) == set(bench.OPTIMIZER_LR)
    assert any("random search" in name for name in results["random_search"])
    for entry in results["calibration"].values():
        assert 0 <= entry["ece"] <= 1
        assert entry["log_loss"] > 0
    assert "Calibration" in markdown and "Objective gap" in markdown
    if results["plots"]:
        assert all(Path(path).exists() for path in results["plots"])


def test_bench_quality_ece_is_zero_when_confidence_matches_accuracy():
    import numpy as np

    bench = load_benchmark("bench_quality")
    y = np.array([0, 0, 1, 1])
    proba = np.array([[0.5, 0.5]] * 4)  # argmax 0: half right, confidence 0.5
    ece, bins = bench.expected_calibration_error(y, proba, np.array([0, 1]))
    assert ece == pytest.approx(0.0)
    assert bins == [{"confidence": 0.5, "accuracy": 0.5, "count": 4}]


def test_bench_memory_quick(tmp_path):
    bench = load_benchmark("bench_memory")
    bench.main(["--quick", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_memory")
    for entry in results["fit"].values():
        assert entry["x_bytes"] > 0
        assert entry["tracemalloc_peak"] >= 0
    memmap = results["memmap"]
    assert memmap["partial_fit_calls"] >= 1
    assert memmap["test_accuracy"] > 0.2  # 10 separable-ish classes
    assert "memmap" in markdown
    # The temporary data file and its folder are gone.
    assert not Path(memmap["temp_folder"]).exists()


def test_bench_features_quick(tmp_path):
    pytest.importorskip("skimage")
    bench = load_benchmark("bench_features")
    bench.main(["--quick", "--out", str(tmp_path)])
    assert any(tmp_path.iterdir())


def test_bench_speed_times_a_baseline_checkout_in_the_same_run(tmp_path):
    bench = load_benchmark("bench_speed")
    checkout = Path(__file__).resolve().parent.parent
    bench.main(
        [
            "--quick",
            "--sections",
            "acceptance",
            "--baseline",
            str(checkout),
            "--params",
            '{"average": false}',
            "--out",
            str(tmp_path),
        ]
    )
    results, markdown = read_outputs(tmp_path, "bench_speed")
    acceptance = results["acceptance"]
    assert "baseline SoftmaxSGD shuffle=True" in acceptance
    # At the quick sizes the per-epoch difference is noise and may be
    # negative: only check that the ratio was computed.
    assert np.isfinite(acceptance["SoftmaxSGD shuffle=True"]["x_baseline_cpu"])
    assert results["acceptance_params"] == {"average": False}
    assert "x baseline (CPU)" in markdown


def test_bench_defaults_report_when_every_c_of_the_search_failed():
    # Under load every LogisticRegression(C) of a dataset can hit the time
    # cap: the best-C entry is then None, and the report must still be
    # written (it raised KeyError: 'accuracy').
    bench = load_benchmark("bench_defaults")
    ours = {"accuracy": 0.5, "fit_s": 1.0, "n_iter": 3, "warnings": []}
    entries = {"MulticlassSVMSGD": ours, "SoftmaxSGD": ours}
    entries["LogisticRegression()"] = {"timed_out": True, "fit_s": 60.0}
    entries["LogisticRegression(best C)"] = None
    results = {
        "machine": {
            "cpu": "x",
            "cores": 2,
            "memory_gib": 1,
            "blas": [],
            "python": "3",
            "numpy": "2",
            "scikit-learn": "1",
            "sklinear": "0",
            "load_average": None,
            "time": "now",
        },
        "threads": 1,
        "command": "python benchmarks/bench_defaults.py",
        "datasets": {"d": entries},
        "targets": {"d": bench.check_targets("d", entries, cifar_sized=True)},
    }
    markdown = "\n".join(bench.report(results))
    assert "| d | LogisticRegression(best C) | no result |" in markdown


def test_bench_defaults_quick(tmp_path):
    bench = load_benchmark("bench_defaults")
    bench.main(["--quick", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_defaults")
    datasets = results["datasets"]
    assert set(datasets) == {
        "digits (0-16)",
        "make_classification x 0.001",
        "make_classification x 1000",
    }
    for entries in datasets.values():
        for name in ("MulticlassSVMSGD", "SoftmaxSGD", "LogisticRegression()"):
            assert 0 <= entries[name]["accuracy"] <= 1
        assert entries["LogisticRegression(best C)"]["C"] in (1e-4, 1e-3, 1e-2, 0.1, 1)
    assert set(results["targets"]["digits (0-16)"]) == {
        "MulticlassSVMSGD",
        "SoftmaxSGD",
    }
    assert "Targets of sklinear's defaults" in markdown


def test_bench_cv_quick(tmp_path):
    bench = load_benchmark("bench_cv")
    bench.main(["--quick", "--sgd-candidates", "1", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_cv")
    speed = results["speed"]
    assert speed["SoftmaxSGDCV (one pass)"]["x_one_pass"] == 1.0
    assert speed["GridSearchCV(SGDClassifier), n_jobs=1"]["timed_candidates"] == 1
    for entry in results["choice"].values():
        assert set(entry["one_pass_best"]) == {"alpha", "learning_rate_init"}
    assert "One-pass grid search" in markdown


def test_bench_dask_quick(tmp_path):
    pytest.importorskip("distributed")
    bench = load_benchmark("bench_dask")
    bench.main(["--quick", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_dask")
    runs = results["epoch"]["runs"]
    assert set(runs) == {"in memory", "1 worker(s)", "2 worker(s)"}
    assert all(run["wall_s"] is not None for run in runs.values())
    micro = results["gather"]["micro"]
    assert micro["aligned"]["flags.aligned"] and not micro["unaligned"]["flags.aligned"]
    rows = results["accuracy"]
    assert {row["features"] for row in rows} == {"raw pixels", "HOG + color"}
    assert all(0 <= row["distributed"] <= 1 for row in rows)
    search = results["search"]
    assert len(search) == 3 and all(0 <= e["held_out"] <= 1 for e in search.values())
    assert all(e["alpha"] in (1e-5, 1e-4, 1e-3, 1e-2) for e in search.values())
    memory = results["memory"]
    assert 0 <= memory["test_accuracy"] <= 1 and memory["peak_rss_gib"]
    assert "Larger than memory" in markdown and "Held-out accuracy" in markdown
    assert "The one-pass search" in markdown


def test_bench_array_api_quick(tmp_path):
    import importlib.util
    import os
    import subprocess

    bench = load_benchmark("bench_array_api")
    bench.main(["--quick", "--backends", "numpy", "--out", str(tmp_path)])
    results, markdown = read_outputs(tmp_path, "bench_array_api")
    for name in ("SoftmaxSGD", "MulticlassSVMSGD"):
        entry = results["plain"][name]["numpy"]
        assert np.isfinite(entry["epoch_s"]) and 0 <= entry["accuracy"] <= 1
    assert results["search"]["numpy"]["best_alpha"] in bench.ALPHAS
    assert results["logistic"]["numpy"]["n_iter"] >= 1
    assert results["floor"]["numpy"]["epoch_s"] > 0
    assert "One-pass search" in markdown and "LogisticRegression" in markdown
    # Dispatch needs SCIPY_ARRAY_API=1 before scipy is imported, which this
    # process did without it: the other namespaces run in a fresh process.
    pytest.importorskip("array_api_strict")
    libraries = {"array-api-strict": "array-api-strict"}
    if importlib.util.find_spec("torch") is not None:
        libraries["torch cpu"] = "torch"
    out = tmp_path / "dispatch"
    run = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "bench_array_api.py"),
            "--quick",
            "--backends",
            "numpy",
            *libraries.values(),
            "--out",
            str(out),
        ],
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results, _ = read_outputs(out, "bench_array_api")
    assert results["backends"] == ["numpy", *libraries]
    assert not results["warm_up_errors"]
    for backend, library in libraries.items():
        for name in ("SoftmaxSGD", "MulticlassSVMSGD"):
            entry = results["plain"][name][backend]
            assert "error" not in entry, entry
            assert entry["coef_in"].startswith(library.replace("-", "_"))
            # The same random_state gives the same model on every namespace.
            assert entry["agreement_with_numpy"] >= 0.95
        for section in ("search", "logistic"):
            assert "error" not in results[section][backend], results[section]
