"""The HOG speed benchmark runs end to end in its quick configuration."""

import importlib.util
import json
from pathlib import Path

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "bench_hog_speed.py"


def test_hog_speed_benchmark_quick_run(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_hog_speed", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = tmp_path / "rows.json"
    rows = bench.main(["--quick", "--n-jobs", "1", "2", "--json", str(out)])
    assert [(row["setting"], row["n_jobs"]) for row in rows] == [
        (setting, jobs) for setting in bench.SETTINGS for jobs in (1, 2)
    ]
    assert all(row["max_abs_difference"] <= 1e-6 for row in rows)
    assert all(row["ratio"] > 0 for row in rows)
    assert json.loads(out.read_text()) == rows
    printed = capsys.readouterr().out
    assert "load average" in printed and "| setting | n_jobs |" in printed
