"""``benchmarks/bench_probe.py`` runs in its ``--quick`` configuration.

As ``tests/test_benchmarks_smoke.py`` does for the other benchmarks: the
module is imported from ``benchmarks/`` and its ``main(argv)`` called with
``tmp_path`` as ``--out``; the test checks the JSON and markdown it writes.
"""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load_bench_probe():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(
            "_bench_probe", BENCHMARKS / "bench_probe.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def test_bench_probe_quick(tmp_path):
    bench = _load_bench_probe()
    bench.main(["--quick", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "bench_probe.json").read_text())
    markdown = (tmp_path / "bench_probe.md").read_text()
    assert [[e["n_features"], e["n_classes"]] for e in results["epoch"]] == [
        list(shape) for shape in bench.QUICK_SHAPES
    ]
    for entry in results["epoch"]:
        times = entry["times"]
        assert {"SoftmaxSGD", "MulticlassSVMSGD", "floor, batch 256"} <= set(times)
        assert times["floor, batch 256"]["x_floor_256"] == 1.0
        assert all(np.isfinite(t["epoch_cpu_s"]) for t in times.values())
        assert times["SoftmaxSGD"]["loop_epoch_s"] > 0
    sweep = results["sweep"]
    assert len(sweep["alphas"]) == len(sweep["Cs"]) == 8
    assert len(sweep["LogisticRegression"]["per_C"]) == 8
    for name in ("SoftmaxSGDCV", "LogisticRegression", "LogisticRegressionCV"):
        assert 0.0 <= sweep[name]["test_accuracy"] <= 1.0
        assert sweep[name]["peak_bytes"] >= 0
        assert name in markdown
    best = max(entry["test_accuracy"] for entry in sweep["LogisticRegression"]["per_C"])
    assert sweep["LogisticRegression"]["test_accuracy"] == best
    ours = sweep["SoftmaxSGDCV"]
    assert 0.0 < ours["refit_seconds"] < ours["seconds"]
    assert "for the refit of the chosen alpha" in markdown


def test_embedding_data_has_unit_rows_and_every_class():
    bench = _load_bench_probe()
    X, y = bench.embedding_data(2000, 64, 10)
    assert X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    assert set(np.unique(y)) == set(range(10))


def test_the_sweeps_logistic_tol_is_recorded_and_makes_lbfgs_train_longer():
    bench = _load_bench_probe()
    kwargs = {"alphas": (1e-4, 1e-2), "skip_logistic_cv": True}
    default = bench.sweep(300, 16, 3, **kwargs)
    tight = bench.sweep(300, 16, 3, logistic_tol=1e-10, **kwargs)
    assert default["logistic_tol"] == 1e-4 and tight["logistic_tol"] == 1e-10
    for loose, strict in zip(
        default["LogisticRegression"]["per_C"],
        tight["LogisticRegression"]["per_C"],
        strict=True,
    ):
        assert strict["n_iter"] >= loose["n_iter"]
    assert sum(e["n_iter"] for e in tight["LogisticRegression"]["per_C"]) > sum(
        e["n_iter"] for e in default["LogisticRegression"]["per_C"]
    )


def test_the_groups_section_times_both_and_reports_the_rule(tmp_path):
    bench = _load_bench_probe()
    bench.main(["--quick", "--sections", "groups", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "bench_probe.json").read_text())
    groups = results["groups"]
    assert [entry["shape"] for entry in groups] == [
        list(shape) for shape in bench.QUICK_GROUP_SHAPES
    ]
    # 30 classes x 8 alphas = 240 columns per fold: by fold; 10: shared pass.
    assert [entry["rule_uses_groups"] for entry in groups] == [True, False]
    for entry in groups:
        assert entry["by_fold_s"] > 0 and entry["shared_pass_s"] > 0
        assert entry["ratio"] == entry["by_fold_s"] / entry["shared_pass_s"]
    assert "by fold / shared" in (tmp_path / "bench_probe.md").read_text()
