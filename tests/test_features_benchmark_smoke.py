"""The feature benchmark runs end to end in its tiny configuration."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "bench_features.py"


@pytest.mark.slow
def test_benchmark_quick_run_writes_results(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_features", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    report = bench.main(["--quick", "--n-large", "120", "--out", str(tmp_path)])
    assert all(row["equal_within_1e-6"] for row in report["hog_speed"])
    assert {row["n_images"] for row in report["large"]} == {120}
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["hog_speed"][0]["speedup"] > 0
    assert "| HOG() |" in (tmp_path / "results.md").read_text()
    assert np.isfinite([row["peak_traced_mb"] for row in report["large"]]).all()
