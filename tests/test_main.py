"""The ``python -m sklinear`` demo: three parts, offline, and one-line errors."""

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from sklinear import _demo
from sklinear._demo import confidence, main, run

MODELS = [
    "MulticlassSVMSGD",
    "SoftmaxSGD",
    "LogisticRegression",
    "SGDClassifier",
    "LinearSVC",
]
SEARCHES = [
    "SoftmaxSGDCV (one pass)",
    "MulticlassSVMSGDCV (one pass)",
    "GridSearchCV(LogisticRegression)",
    "GridSearchCV(SGDClassifier)",
]
PARTS = ["1. Accuracy at the defaults", "2. Tuning", "3. Scale"]


def _table_rows(out, title):
    """The rows of the table under the line starting with `title`."""
    lines = out.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith(title))
    rule = next(k for k in range(start, len(lines)) if lines[k].startswith("---"))
    end = next(
        (k for k in range(rule + 1, len(lines)) if not lines[k] or lines[k][0] == " "),
        len(lines),
    )
    return lines[rule + 1 : end]


def _tiny_cifar(path, n=300, seed=0, **extra):
    """A learnable CIFAR-10-like .npz: the class shifts one colour channel."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    images = rng.integers(0, 160, size=(n, 32, 32, 3)).astype(np.int64)
    images[np.arange(n), :, :, y % 3] += 10 * y[:, None, None]
    np.savez(path, X_train=images.astype(np.uint8), y_train=y, **extra)
    return path


def test_quick_run_prints_the_three_parts(capsys):
    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "BLAS" in out and "no download" in out
    for part in PARTS:
        assert part in out
    accuracy = _table_rows(out, "features")
    assert len(accuracy) == 2 * len(MODELS)
    for features in ("raw pixels", "HOG"):
        for model in MODELS:
            assert any(
                row.startswith(features) and f" {model} " in row for row in accuracy
            ), (features, model)
    # Exactly one best row per feature set, the others a tie or lower.
    verdicts = [re.search(r"\b(best|tie|lower)\b", row).group(1) for row in accuracy]
    assert verdicts[:5].count("best") == 1 and verdicts[5:].count("best") == 1
    tuning = _table_rows(out, "search")
    assert [row.split("  ")[0] for row in tuning] == SEARCHES
    scale = _table_rows(out, "model  ")
    assert [row.split()[0] for row in scale] == MODELS
    assert "32x32 RGB canvas" in out and "3,072 features" in out


def test_run_returns_rows_of_every_part():
    rows = run(["--quick", "--features", "raw"])
    part1 = [row for row in rows if row["part"] == 1]
    assert [row["model"] for row in part1] == MODELS
    for row in part1:
        assert row["n_features"] == 64
        # 300 digits: far above chance (0.1) for every model.
        assert row["accuracy"] > 0.6, row
        assert 0 < row["half_width"] < 0.1
    part2 = [row for row in rows if row["part"] == 2]
    assert [row["model"] for row in part2] == SEARCHES
    for row in part2:
        assert row["fit_time"] > 0 and 0.5 < row["cv_accuracy"] <= 1
    part3 = [row for row in rows if row["part"] == 3]
    assert [row["model"] for row in part3] == MODELS
    assert all(row["n_features"] == 3072 for row in part3)


def test_confidence_reads_ties_as_ties():
    best = np.arange(1000) % 10 != 0  # 0.9
    close = best.copy()
    close[:4] = ~close[:4]  # one more right and three more wrong
    accuracy, half, tie = confidence(close, best=best)
    assert accuracy == pytest.approx(0.898)
    assert half == pytest.approx(1.96 * np.sqrt(0.898 * 0.102 / 1000))
    assert tie
    worse = best.copy()
    worse[1:101] = False  # 100 more wrong
    assert not confidence(worse, best=best)[2]
    assert confidence(best)[2] is None


class _Sleeper(ClassifierMixin, BaseEstimator):
    def __init__(self, seconds=30.0, fail=False):
        self.seconds = seconds
        self.fail = fail

    def fit(self, X, y):
        if self.fail:
            raise ValueError("this fit fails")
        time.sleep(self.seconds)
        self.classes_ = np.unique(y)
        self.n_iter_ = 3
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_a_fit_past_the_time_cap_is_stopped():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    start = time.perf_counter()
    assert _demo._fit(_Sleeper(30.0), X, y, cap=0.5) == (None, None)
    assert time.perf_counter() - start < 10
    model, seconds = _demo._fit(_Sleeper(0.0), X, y, cap=20)
    assert model.n_iter_ == 3 and seconds >= 0
    with pytest.raises(ValueError, match="this fit fails"):
        _demo._fit(_Sleeper(fail=True), X, y, cap=20)


def test_cifar10_from_an_npz_with_a_plot(tmp_path, capsys):
    path = _tiny_cifar(tmp_path / "tiny.npz")
    figure = tmp_path / "time_vs_accuracy.png"
    assert main(["--data", str(path), "--quick", "--plot", str(figure)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "CIFAR-10" in out
    assert "240 training images, scored on 60 held out" in out
    assert "HOG + hue hist." in out
    for part in PARTS:
        assert part in out
    assert "raw-pixel fits of part 1" in out
    # Progress on the long steps goes to standard error.
    assert "fitting LogisticRegression on 240 x 3,072" in captured.err
    assert figure.stat().st_size > 10_000
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_held_out_images_of_an_npz_are_never_read(tmp_path, capsys):
    # X_val in the file: the demo scores on a split of X_train all the same.
    path = _tiny_cifar(
        tmp_path / "with_val.npz",
        X_val=np.zeros((20, 32, 32, 3), np.uint8),
        y_val=np.arange(20) % 10,
    )
    assert main(["--data", str(path), "--quick", "--features", "hog"]) == 0
    assert "scored on 60 held out" in capsys.readouterr().out


def _error_line(capsys, argv):
    """Run the demo on bad arguments; return its one line of standard error."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("python -m sklinear: error: argument ")
    return err


def test_corrupt_npz_is_one_line(tmp_path, capsys):
    path = _tiny_cifar(tmp_path / "corrupt.npz", n=40)
    data = bytearray(path.read_bytes())
    data[200:260] = bytes(60)
    path.write_bytes(bytes(data))
    err = _error_line(capsys, ["--data", str(path), "--quick"])
    assert "argument --data:" in err and str(path) in err
    assert "corrupted" in err and "--cifar10 --download" in err
    assert "load_cifar10()" not in err


def test_text_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("not images\n" * 100)
    err = _error_line(capsys, ["--data", str(path)])
    assert "argument --data:" in err and "neither a tar archive nor an .npz" in err


def test_npz_without_the_arrays_is_one_line(tmp_path, capsys):
    path = tmp_path / "other.npz"
    np.savez(path, images=np.zeros((2, 3072), np.uint8))
    err = _error_line(capsys, ["--data", str(path)])
    assert "argument --data:" in err and "'X_train'" in err and "images" in err


def test_too_few_images_is_one_line(tmp_path, capsys):
    err = _error_line(capsys, ["--data", str(_tiny_cifar(tmp_path / "t.npz", n=40))])
    assert "argument --data: 40 images are too few" in err


def test_missing_path_is_one_line(tmp_path, capsys):
    err = _error_line(capsys, ["--data", str(tmp_path / "nowhere.npz")])
    assert "does not exist" in err and "cifar-10-batches-py" in err


@pytest.mark.parametrize("value", ["-5", "many"])
def test_n_train_not_a_count_is_one_line(capsys, value):
    err = _error_line(capsys, ["--n-train", value])
    assert "argument --n-train:" in err and "0 (all images)" in err


@pytest.mark.parametrize("source", ["digits", "npz"])
def test_n_train_too_small_is_one_line(tmp_path, capsys, source):
    argv = ["--n-train", "1"]
    if source == "npz":
        argv += ["--data", str(_tiny_cifar(tmp_path / "tiny.npz", n=40))]
    err = _error_line(capsys, argv)
    assert "argument --n-train: 1 training image(s) are too few" in err
    assert "at least 100" in err


def test_cifar10_missing_from_cache_names_one_fix(tmp_path, capsys):
    err = _error_line(capsys, ["--cifar10", "--data-home", str(tmp_path)])
    assert err.count("not found") == 1
    assert "argument --cifar10:" in err and str(tmp_path) in err
    assert "--download" in err and "download_if_missing" not in err


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["--time-cap", "0"], "--time-cap"),
        (["--threads", "-1"], "--threads"),
        (["--plot", "/no/such/folder/figure.png"], "--plot"),
    ],
)
def test_other_bad_arguments_are_one_line(capsys, argv, argument):
    assert f"argument {argument}:" in _error_line(capsys, argv)


def test_data_and_cifar10_are_exclusive(capsys):
    err = _error_line(capsys, ["--data", "x.npz", "--cifar10"])
    assert "not allowed" in err


def test_verbose_prints_the_epochs_of_sklinear_classifiers(capsys):
    main(["--quick", "--features", "raw", "--verbose"])
    assert "Epoch 1:" in capsys.readouterr().out
    main(["--quick", "--features", "raw"])
    assert "Epoch" not in capsys.readouterr().out


@pytest.mark.slow
def test_python_dash_m_sklinear_runs_offline_in_time(tmp_path):
    # The default run, in a fresh interpreter, from a folder with no ../shared.
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "sklinear"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    for part in PARTS:
        assert part in result.stdout
    assert "Total time" in result.stdout
    # 30 s on an idle 2-core machine; leave room for a busy one.
    assert seconds < 90, seconds


def _readme_quickstart_snippets():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_readme_quickstart_has_two_snippets():
    snippets = _readme_quickstart_snippets()
    assert len(snippets) == 2
    assert "import StandardScaler" in snippets[1] and ".fit(" in snippets[1]


@pytest.mark.slow
@pytest.mark.parametrize("k", [0, 1])
def test_readme_quickstart_snippet_runs_when_pasted(k, tmp_path):
    # Each snippet alone, in a fresh interpreter: nothing defined elsewhere.
    code = _readme_quickstart_snippets()[k]
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
