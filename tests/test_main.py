"""The ``python -m sklinear`` demo: runs offline and prints one row per model."""

import io
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from sklinear import _demo
from sklinear._demo import format_table, main, run

MODELS = [
    "MulticlassSVMSGD",
    "SoftmaxSGD",
    "SGDClassifier (hinge)",
    "LogisticRegression",
    "LinearSVC",
]


def test_quick_demo_prints_every_model_on_both_feature_sets(capsys):
    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out
    assert "BLAS" in out
    lines = out.splitlines()
    table_start = next(k for k, line in enumerate(lines) if line.startswith("features"))
    table_end = lines.index("", table_start)
    rows = lines[table_start + 2 : table_end]
    assert len(rows) == 2 * len(MODELS)
    assert lines[table_end + 1].startswith("Features 'raw pixels': extracted")
    for features in ("raw pixels", "HOG"):
        for model in MODELS:
            assert any(
                row.startswith(features) and f" {model} " in row for row in rows
            ), (features, model)


def test_run_returns_sensible_accuracies():
    rows, header = run(["--quick", "--features", "raw"])
    assert [row["model"] for row in rows] == MODELS
    assert {row["features"] for row in rows} == {"raw pixels"}
    for row in rows:
        assert row["n_features"] == 64
        assert row["fit_time"] >= 0
        # 300 training digits: far above chance (0.1) for every model.
        assert row["accuracy"] > 0.6, row


def test_hog_features_have_their_own_dimension():
    rows, _ = run(["--quick", "--features", "hog"])
    assert {row["features"] for row in rows} == {"HOG"}
    assert len({row["n_features"] for row in rows}) == 1
    assert rows[0]["n_features"] != 64


def test_cifar10_from_an_npz_path(tmp_path, capsys):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 32, 32, 3), dtype="uint8")
    labels = np.arange(40) % 10
    path = tmp_path / "tiny.npz"
    np.savez(
        path,
        X_train=images[:30],
        y_train=labels[:30],
        X_val=images[30:],
        y_val=labels[30:],
    )
    assert main(["--data", str(path), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "CIFAR-10" in out
    assert "30 training, 10 test images" in out
    assert "HOG + hue hist." in out


def test_cifar10_missing_from_cache_fails_without_download(tmp_path):
    with pytest.raises(SystemExit, match="--download"):
        main(["--cifar10", "--data-home", str(tmp_path), "--quick"])


def test_data_and_cifar10_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        main(["--data", "x.npz", "--cifar10"])
    assert "not allowed" in capsys.readouterr().err


def test_format_table_aligns_columns():
    rows = [
        {
            "features": "raw pixels",
            "model": name,
            "n_features": 64,
            "accuracy": 0.5,
            "fit_time": 1.25,
            "feature_time": 0.0,
        }
        for name in ("A", "LongerName")
    ]
    lines = format_table(rows).splitlines()
    assert len(lines) == 4
    assert len({line.index("accuracy") for line in lines[:1]}) == 1
    assert lines[2].endswith("1.250") and lines[3].endswith("1.250")
    assert len(lines[2]) == len(lines[3])


@pytest.mark.slow
def test_python_dash_m_runs_offline():
    # The module entry point itself, in a fresh interpreter.
    result = subprocess.run(
        [sys.executable, "-m", "sklinear", "--quick", "--features", "raw"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "SoftmaxSGD" in result.stdout


class _RecordedStdout(io.StringIO):
    """Standard output that logs its writes and flushes in `events`."""

    def __init__(self, events):
        super().__init__()
        self.events = events

    def write(self, text):
        self.events.append(("write", text))
        return super().write(text)

    def flush(self):
        self.events.append(("flush", None))
        super().flush()


class _LoggedClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the first class; logs the start and end of its fit in `events`."""

    events = []  # a class attribute: clone() copies parameters

    def __init__(self, name="model"):
        self.name = name

    def fit(self, X, y):
        self.events.append(("fit", self.name))
        self.classes_ = np.unique(y)
        self.events.append(("fitted", self.name))
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_header_then_each_row_is_flushed_before_the_next_fit(monkeypatch):
    events = []
    names = ["first model", "second model"]
    monkeypatch.setattr(_LoggedClassifier, "events", events)
    monkeypatch.setattr(
        _demo,
        "_classifiers",
        lambda *args, **kwargs: {n: _LoggedClassifier(n) for n in names},
    )
    monkeypatch.setattr(sys, "stdout", _RecordedStdout(events))
    assert main(["--quick"]) == 0

    def flushed_text(upto):
        """What was written and flushed before event `upto`."""
        last_flush = max(
            (k for k, event in enumerate(events[:upto]) if event[0] == "flush"),
            default=-1,
        )
        return "".join(text for kind, text in events[:last_flush] if kind == "write")

    fits = [k for k, (kind, _) in enumerate(events) if kind == "fit"]
    assert len(fits) == 4  # raw pixels and HOG, two models each
    before_first = flushed_text(fits[0])
    assert before_first.startswith("Data: scikit-learn's digits")
    assert "BLAS" in before_first and "fit time (s)" in before_first
    assert "first model" not in before_first
    for k, (features, model) in enumerate(
        [("raw pixels", names[0]), ("raw pixels", names[1]), ("HOG", names[0])]
    ):
        rows = flushed_text(fits[k + 1]).splitlines()
        assert rows[-1].startswith(features) and f" {model} " in rows[-1], rows
        assert sum(any(n in row for n in names) for row in rows) == k + 1
    assert "extracted from the training set" in sys.stdout.getvalue()


def test_verbose_prints_the_epochs_of_sklinear_classifiers(capsys):
    main(["--quick", "--features", "raw", "--verbose"])
    out = capsys.readouterr().out
    assert out.count("Initial loss") == 2  # MulticlassSVMSGD and SoftmaxSGD
    assert out.count("Epoch 1:") == 2 and "Epoch 5:" in out
    main(["--quick", "--features", "raw"])
    assert "Epoch" not in capsys.readouterr().out
