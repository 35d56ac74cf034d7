"""The displays of sklinear.inspection: what they draw, and their errors."""

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklinear
from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear.features import HOG
from sklinear.inspection import (
    LossCurveDisplay,
    TuningHeatmapDisplay,
    WeightTemplatesDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.fixture(scope="module")
def early_stopped(digits):
    X, y = digits
    return SoftmaxSGD(early_stopping=True, max_iter=8, tol=None, random_state=0).fit(
        X, y
    )


def _rgb_data(n_classes=3, n_per_class=20, seed=0):
    """4x4 RGB images whose class is the brightness of one channel."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 0.5, size=(n_classes * n_per_class, 4, 4, 3))
    y = np.repeat(np.arange(n_classes), n_per_class)
    images[np.arange(len(y)), :, :, y % 3] += 0.5
    return images.reshape(len(y), -1), y


def _minmax(template):
    return (template - template.min()) / (template.max() - template.min())


# ---------------------------------------------------------------- import


def test_import_does_not_import_matplotlib():
    code = (
        "import sys, sklinear.inspection\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'matplotlib']\n"
        "assert not loaded, loaded\n"
    )
    root = Path(sklinear.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("MPLBACKEND", None)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "display",
    [
        LossCurveDisplay(loss_curve=[1.0, 0.5]),
        WeightTemplatesDisplay(np.zeros((2, 3, 3))),
        TuningHeatmapDisplay([[1.0]], x_values=[1], y_values=[2]),
    ],
)
def test_plot_without_matplotlib_says_what_to_install(display, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"\.plot requires matplotlib"):
        display.plot()


# ---------------------------------------------------------------- loss curve


def test_loss_curve_draws_objective_and_validation(early_stopped):
    clf = early_stopped
    display = LossCurveDisplay.from_estimator(clf)
    n = len(clf.loss_curve_)
    assert display.line_.get_xdata().tolist() == list(range(1, n + 1))
    assert display.line_.get_ydata().tolist() == clf.loss_curve_
    assert display.validation_line_.get_ydata().tolist() == clf.validation_scores_
    assert display.validation_ax_ is not display.ax_
    assert display.validation_line_ in display.validation_ax_.get_lines()
    assert display.validation_ax_.get_shared_x_axes().joined(
        display.validation_ax_, display.ax_
    )
    assert display.ax_.get_xlabel() == "Epoch"
    assert display.ax_.get_ylabel() == "Training objective"
    assert display.validation_ax_.get_ylabel() == "Validation accuracy"
    # Same color, dashed: one estimator, two curves.
    assert display.validation_line_.get_color() == display.line_.get_color()
    assert display.validation_line_.get_linestyle() == "--"
    legend = display.validation_ax_.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        "SoftmaxSGD: objective",
        "SoftmaxSGD: validation accuracy",
    ]
    best = int(
        np.flatnonzero(clf.validation_scores_ == np.max(clf.validation_scores_))[-1]
    )
    assert display.best_marker_.get_xdata().tolist() == [best + 1]
    assert display.best_marker_.get_ydata().tolist() == [clf.best_validation_score_]
    assert display.figure_ is display.ax_.figure


def test_loss_curve_without_validation_has_no_twin(digits):
    X, y = digits
    clf = MulticlassSVMSGD(max_iter=4, tol=None, random_state=0).fit(X, y)
    fig, ax = plt.subplots()
    display = LossCurveDisplay.from_estimator(clf, ax=ax, name="svm")
    assert display.ax_ is ax and display.figure_ is fig
    assert display.validation_line_ is None
    assert display.validation_ax_ is None
    assert display.best_marker_ is None
    assert fig.axes == [ax]
    assert ax.get_legend() is None  # a single curve needs no legend
    assert display.line_.get_label() == "svm: objective"
    assert display.line_.get_ydata().tolist() == clf.loss_curve_


def test_loss_curve_best_marker_is_the_last_of_ties():
    display = LossCurveDisplay(
        loss_curve=[3.0, 2.0, 1.0, 0.5], validation_scores=[0.5, 0.9, 0.9, 0.8]
    ).plot()
    assert display.best_marker_.get_xdata().tolist() == [3]
    assert display.estimator_name is None
    assert display.line_.get_label() == "objective"
    assert (
        LossCurveDisplay(loss_curve=[1.0], validation_scores=[0.5])
        .plot(mark_best=False)
        .best_marker_
        is None
    )


def test_loss_curves_of_several_estimators_share_the_axes():
    fig, ax = plt.subplots()
    first = LossCurveDisplay(loss_curve=[2.0, 1.0], validation_scores=[0.6, 0.7]).plot(
        ax=ax, name="a"
    )
    second = LossCurveDisplay(loss_curve=[2.5, 1.5], validation_scores=[0.5, 0.8]).plot(
        ax=ax, name="b"
    )
    assert second.validation_ax_ is first.validation_ax_
    assert len(fig.axes) == 2
    assert second.line_.get_color() != first.line_.get_color()
    labels = [
        text.get_text() for text in second.validation_ax_.get_legend().get_texts()
    ]
    assert labels == [
        "a: objective",
        "b: objective",
        "a: validation accuracy",
        "b: validation accuracy",
    ]
    assert ax.get_legend() is None


def test_loss_curve_style_keywords_and_aliases():
    display = LossCurveDisplay(
        loss_curve=[2.0, 1.0], validation_scores=[0.5, 0.6]
    ).plot(line_kw={"c": "k", "lw": 3}, validation_line_kw={"ls": ":"})
    assert display.line_.get_color() == "k"
    assert display.line_.get_linewidth() == 3
    assert display.validation_line_.get_linestyle() == ":"
    assert display.validation_line_.get_color() == "k"


def test_loss_curve_unwraps_pipelines_and_searches(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(), SoftmaxSGD(max_iter=3, tol=None, random_state=0)
    ).fit(X, y)
    display = LossCurveDisplay.from_estimator(pipe)
    assert display.line_.get_ydata().tolist() == pipe[-1].loss_curve_
    assert display.estimator_name == "SoftmaxSGD"

    search = GridSearchCV(pipe, {"softmaxsgd__alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    display = LossCurveDisplay.from_estimator(search)
    best = search.best_estimator_[-1]
    assert display.line_.get_ydata().tolist() == best.loss_curve_


def test_loss_curve_accepts_other_estimators_with_the_attributes(digits):
    from sklearn.neural_network import MLPClassifier

    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 5 epochs
        mlp = MLPClassifier(
            hidden_layer_sizes=(8,), early_stopping=True, max_iter=5, random_state=0
        ).fit(X, y)
    display = LossCurveDisplay.from_estimator(mlp)
    assert display.line_.get_ydata().tolist() == mlp.loss_curve_
    assert display.validation_line_.get_ydata().tolist() == mlp.validation_scores_


def test_loss_curve_errors(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(SoftmaxSGD())
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(make_pipeline(StandardScaler(), SoftmaxSGD()))
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(GridSearchCV(SoftmaxSGD(), {"alpha": [1.0]}))
    fitted = LogisticRegression(max_iter=1000).fit(X[:, :5], y)
    with pytest.raises(ValueError, match=r"loss_curve_.*LogisticRegression has none"):
        LossCurveDisplay.from_estimator(fitted)
    with pytest.raises(ValueError, match="loss_curve must be a non-empty 1-d"):
        LossCurveDisplay(loss_curve=[]).plot()
    with pytest.raises(ValueError, match="validation_scores must be a non-empty"):
        LossCurveDisplay(loss_curve=[1.0], validation_scores=[[0.5]]).plot()


# ---------------------------------------------------------------- templates


def test_templates_of_digits_are_the_rescaled_weights(digits):
    X, y = digits
    clf = MulticlassSVMSGD(max_iter=3, tol=None, random_state=0).fit(X, y)
    display = WeightTemplatesDisplay.from_estimator(clf, image_shape=(8, 8))
    assert display.images_.shape == (10,)
    assert display.axes_.shape == (1, 10)
    assert display.bounding_ax_ is not None and not display.bounding_ax_.axison
    for k, image in enumerate(display.images_):
        expected = _minmax(clf.coef_[k].reshape(8, 8))
        np.testing.assert_allclose(image.get_array(), expected, rtol=1e-12)
        assert image.axes is display.axes_[0, k]
        assert image.axes.get_title() == str(clf.classes_[k])
        assert image.get_cmap().name == "gray"
        assert image.get_clim() == (0.0, 1.0)
        assert image.axes.get_xticks().size == 0
    assert display.figure_ is display.bounding_ax_.figure


def test_rgb_templates_and_inferred_image_shape():
    X, y = _rgb_data()
    clf = SoftmaxSGD(max_iter=5, tol=None, random_state=0).fit(X, y)
    display = WeightTemplatesDisplay.from_estimator(
        clf, display_labels=["red", "green", "blue"]
    )
    for k, image in enumerate(display.images_):
        array = np.asarray(image.get_array())
        assert array.shape == (4, 4, 3)
        np.testing.assert_allclose(
            array, _minmax(clf.coef_[k].reshape(4, 4, 3)), rtol=1e-12
        )
    assert [image.axes.get_title() for image in display.images_] == [
        "red",
        "green",
        "blue",
    ]
    # The template of a class is brightest in that class's channel.
    channel_means = [
        np.asarray(image.get_array()).mean(axis=(0, 1)) for image in display.images_
    ]
    assert [int(np.argmax(means)) for means in channel_means] == [0, 1, 2]


def test_templates_with_one_channel_are_grayscale():
    templates = np.arange(18, dtype=float).reshape(2, 3, 3, 1)
    display = WeightTemplatesDisplay(templates).plot()
    assert display.images_[0].get_array().shape == (3, 3)
    assert [image.axes.get_title() for image in display.images_] == ["0", "1"]


@pytest.mark.parametrize(
    "rescale, expected",
    [
        ("template", [[[0, 1 / 3], [2 / 3, 1]], [[0.5, 0.5], [0.5, 0.5]]]),
        ("shared", [[[0.25, 0.5], [0.75, 1]], [[0, 0], [0, 0]]]),
        ("symmetric", [[[0.5, 4 / 6], [5 / 6, 1]], [[2 / 6, 2 / 6], [2 / 6, 2 / 6]]]),
    ],
)
def test_rescalings(rescale, expected):
    # The second template is constant: drawn as 0.5 on its own scale.
    templates = np.array([[[0.0, 1.0], [2.0, 3.0]], [[-1.0, -1.0], [-1.0, -1.0]]])
    display = WeightTemplatesDisplay(templates).plot(rescale=rescale)
    arrays = [np.asarray(image.get_array()) for image in display.images_]
    np.testing.assert_allclose(arrays, expected, atol=1e-12)
    cmap = "RdBu_r" if rescale == "symmetric" else "gray"
    assert display.images_[0].get_cmap().name == cmap


def test_binary_classifier_has_one_template():
    X, y = _rgb_data(n_classes=2)
    labels = np.array(["cat", "dog"])[y]
    clf = MulticlassSVMSGD(max_iter=3, tol=None, random_state=0).fit(X, labels)
    display = WeightTemplatesDisplay.from_estimator(clf, image_shape=(4, 4, 3))
    assert display.images_.shape == (1,)
    assert display.images_[0].axes.get_title() == "dog vs cat"
    np.testing.assert_allclose(
        display.images_[0].get_array(), _minmax(clf.coef_[0].reshape(4, 4, 3))
    )
    display = WeightTemplatesDisplay.from_estimator(
        clf, image_shape=(4, 4, 3), display_labels=["Cat", "Dog"]
    )
    assert display.images_[0].axes.get_title() == "Dog vs Cat"
    display = WeightTemplatesDisplay.from_estimator(
        clf, image_shape=(4, 4, 3), display_labels=["dog-ness"]
    )
    assert display.images_[0].axes.get_title() == "dog-ness"


def test_templates_through_a_scaling_pipeline_and_a_search(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(), SoftmaxSGD(max_iter=3, tol=None, random_state=0)
    )
    search = GridSearchCV(pipe, {"softmaxsgd__alpha": [1e-3, 1e-1]}, cv=2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # per-pixel scaling: no warning
        display = WeightTemplatesDisplay.from_estimator(search, image_shape=(8, 8))
    coef = search.best_estimator_[-1].coef_
    np.testing.assert_allclose(
        display.images_[9].get_array(), _minmax(coef[9].reshape(8, 8))
    )


def test_features_that_are_not_pixels_are_refused_or_warned(digits):
    X, y = digits
    images = np.repeat(np.repeat(X.reshape(-1, 8, 8), 2, axis=1), 2, axis=2)
    X16 = images.reshape(len(y), -1)
    hog = make_pipeline(
        HOG(pixels_per_cell=(8, 8), cells_per_block=(1, 1), image_shape=(16, 16)),
        SoftmaxSGD(max_iter=2, tol=None, random_state=0),
    ).fit(X16, y)
    with pytest.raises(
        ValueError, match=r"image_shape=\(16, 16\) holds 256 values.*hog"
    ):
        WeightTemplatesDisplay.from_estimator(hog, image_shape=(16, 16))

    pca = make_pipeline(
        PCA(random_state=0), SoftmaxSGD(max_iter=2, tol=None, random_state=0)
    ).fit(X, y)
    with pytest.warns(UserWarning, match=r"\['pca'\].*may not keep each pixel"):
        WeightTemplatesDisplay.from_estimator(pca, image_shape=(8, 8))


def test_templates_ax_arguments(digits):
    X, y = digits
    clf = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(X, y)
    fig, axes = plt.subplots(2, 5)
    display = WeightTemplatesDisplay.from_estimator(clf, ax=axes, image_shape=(8, 8))
    assert display.axes_.shape == (2, 5)
    assert display.bounding_ax_ is None
    assert display.figure_ is fig
    assert [image.axes for image in display.images_] == list(axes.ravel())

    fig, (left, right) = plt.subplots(1, 2)
    display = WeightTemplatesDisplay.from_estimator(clf, ax=right, n_cols=4)
    assert display.bounding_ax_ is right and not right.axison
    assert display.axes_.shape == (3, 4)
    assert display.axes_[2, 2] is None and display.axes_[2, 3] is None
    # The grid lies inside the divided axes.
    box = right.get_position()
    for image in display.images_:
        cell = image.axes.get_position()
        assert box.x0 - 1e-9 <= cell.x0 and cell.x1 <= box.x1 + 1e-9
    with pytest.raises(ValueError, match="already hidden"):
        WeightTemplatesDisplay.from_estimator(clf, ax=right)
    with pytest.raises(ValueError, match="expected 10, got 3"):
        WeightTemplatesDisplay.from_estimator(clf, ax=axes.ravel()[:3])
    with pytest.raises(ValueError, match="n_cols must be a positive integer"):
        WeightTemplatesDisplay.from_estimator(clf, n_cols=0)


def test_templates_errors(digits):
    X, y = digits
    clf = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"image_shape=\(8, 9\) holds 72 values"):
        WeightTemplatesDisplay.from_estimator(clf, image_shape=(8, 9))
    for bad in [(8, 8, 1, 1), (4, 4, 4), (8, -8), (8.0, 8)]:
        with pytest.raises(ValueError, match="image_shape must be"):
            WeightTemplatesDisplay.from_estimator(clf, image_shape=bad)
    narrow = SoftmaxSGD(max_iter=2, tol=None, random_state=0).fit(X[:, :10], y)
    with pytest.raises(ValueError, match="Cannot infer image_shape: 10"):
        WeightTemplatesDisplay.from_estimator(narrow)
    with pytest.raises(ValueError, match="display_labels has 3 labels"):
        WeightTemplatesDisplay.from_estimator(clf, display_labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="rescale must be one of"):
        WeightTemplatesDisplay.from_estimator(clf, rescale="minmax")
    with pytest.raises(NotFittedError):
        WeightTemplatesDisplay.from_estimator(SoftmaxSGD())
    knn = KNeighborsClassifier().fit(X, y)
    with pytest.raises(ValueError, match=r"`coef_`.*KNeighborsClassifier has none"):
        WeightTemplatesDisplay.from_estimator(knn)
    with pytest.raises(ValueError, match="templates must have shape"):
        WeightTemplatesDisplay(np.zeros((2, 4, 4, 2))).plot()
    with pytest.raises(ValueError, match="display_labels has 1 labels for 2"):
        WeightTemplatesDisplay(np.zeros((2, 4, 4)), display_labels=["a"]).plot()


# ---------------------------------------------------------------- heatmap


@pytest.fixture(scope="module")
def search(digits):
    X, y = digits
    pipe = make_pipeline(
        StandardScaler(), MulticlassSVMSGD(max_iter=3, tol=None, random_state=0)
    )
    grid = {
        "multiclasssvmsgd__learning_rate_init": [1e-3, 1e-2, 1e-1],
        "multiclasssvmsgd__alpha": [1e-4, 1e-2],
        "multiclasssvmsgd__learning_rate": ["constant"],
    }
    return GridSearchCV(pipe, grid, cv=2).fit(X, y)


def _pivot(cv_results, x, y, score="mean_test_score"):
    """Best score of each (y, x) pair, by a plain loop over the candidates."""
    best = {}
    for params, value in zip(cv_results["params"], cv_results[score], strict=True):
        if x in params and y in params:
            key = (params[y], params[x])
            best[key] = max(best.get(key, -np.inf), value)
    ys = sorted({key[0] for key in best})
    xs = sorted({key[1] for key in best})
    table = np.full((len(ys), len(xs)), np.nan)
    for (y_value, x_value), value in best.items():
        table[ys.index(y_value), xs.index(x_value)] = value
    return table, xs, ys


def test_heatmap_from_grid_search(search):
    display = TuningHeatmapDisplay.from_estimator(search)
    expected, xs, ys = _pivot(
        search.cv_results_,
        "multiclasssvmsgd__learning_rate_init",
        "multiclasssvmsgd__alpha",
    )
    np.testing.assert_array_equal(display.im_.get_array(), expected)
    assert display.x_values == xs and display.y_values == ys
    ax = display.ax_
    assert ax.get_xlabel() == "multiclasssvmsgd__learning_rate_init"
    assert ax.get_ylabel() == "multiclasssvmsgd__alpha"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "$10^{-3}$",
        "$10^{-2}$",
        "$10^{-1}$",
    ]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["$10^{-4}$", "$10^{-2}$"]
    assert display.im_.origin == "lower"
    assert display.colorbar_.ax.get_ylabel() == "Mean test score"
    for (i, j), value in np.ndenumerate(expected):
        assert display.text_[i, j].get_text() == f"{value:.2f}"
        assert display.text_[i, j].get_position() == (j, i)
    i, j = np.unravel_index(np.argmax(expected), expected.shape)
    assert display.best_marker_.get_xy() == (j - 0.5, i - 0.5)
    assert display.best_marker_ in ax.patches


def test_heatmap_takes_the_best_over_other_parameters():
    # Two optimizers per cell; one cell has no candidate; one candidate
    # (another grid) has no learning rate.
    mask = [False] * 6 + [True]
    cv_results = {
        "param_learning_rate_init": np.ma.masked_array(
            [0.1, 0.1, 0.01, 0.01, 0.1, 0.1, 0.0], mask=mask, dtype=object
        ),
        "param_alpha": np.ma.masked_array(
            [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1.0], mask=[False] * 7
        ),
        "param_optimizer": np.ma.masked_array(
            ["sgd", "adam", "sgd", "adam", "sgd", "adam", "sgd"], mask=[False] * 7
        ),
        "mean_test_score": np.array([0.5, 0.7, 0.6, 0.4, np.nan, 0.3, 0.99]),
    }
    display = TuningHeatmapDisplay.from_cv_results(cv_results)
    expected = [[0.6, 0.7], [np.nan, 0.3]]
    np.testing.assert_array_equal(display.im_.get_array(), expected)
    assert display.x_values == [0.01, 0.1] and display.y_values == [1.0, 2.0]
    assert display.text_[1, 0] is None
    assert display.best_marker_.get_xy() == (0.5, -0.5)
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["1", "2"]


def test_heatmap_of_categorical_parameters_and_explicit_names():
    cv_results = {
        "param_clf__optimizer": np.ma.masked_array(["sgd", "adam", "sgd", "adam"]),
        "param_clf__alpha": np.ma.masked_array([0.0316, 0.0316, 1e-5, 1e-5]),
        "mean_test_accuracy": np.array([0.1, 0.2, 0.3, 0.4]),
    }
    display = TuningHeatmapDisplay.from_cv_results(
        cv_results,
        x="clf__optimizer",
        y="param_clf__alpha",
        score="mean_test_accuracy",
        score_name="accuracy",
        annotate=False,
        colorbar=False,
        mark_best=False,
    )
    assert display.x_values == ["sgd", "adam"]  # in order of appearance
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["sgd", "adam"]
    assert [t.get_text() for t in display.ax_.get_yticklabels()] == ["1e-5", "0.0316"]
    np.testing.assert_array_equal(display.im_.get_array(), [[0.3, 0.4], [0.1, 0.2]])
    assert display.text_ is None and display.colorbar_ is None
    assert display.best_marker_ is None
    assert display.score_name == "accuracy"


def test_heatmap_accepts_a_dataframe(search):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(search.cv_results_)
    from_frame = TuningHeatmapDisplay.from_cv_results(frame)
    from_dict = TuningHeatmapDisplay.from_cv_results(search.cv_results_)
    np.testing.assert_array_equal(from_frame.im_.get_array(), from_dict.im_.get_array())


def test_heatmap_from_estimator_uses_the_refit_metric(digits):
    X, y = digits
    search = GridSearchCV(
        SoftmaxSGD(max_iter=2, tol=None, random_state=0),
        {"learning_rate_init": [1e-3, 1e-2], "alpha": [1e-4, 1e-2]},
        scoring={"acc": "accuracy", "nll": "neg_log_loss"},
        refit="nll",
        cv=2,
    ).fit(X, y)
    display = TuningHeatmapDisplay.from_estimator(search)
    expected, _, _ = _pivot(
        search.cv_results_, "learning_rate_init", "alpha", score="mean_test_nll"
    )
    np.testing.assert_array_equal(display.im_.get_array(), expected)
    assert display.score_name == "Mean test nll"


def test_heatmap_respects_ax_and_style():
    fig, (left, right) = plt.subplots(1, 2)
    display = TuningHeatmapDisplay(
        [[0.2, 0.8]], x_values=[0.5, 1.5], y_values=[3], x_name="lr"
    ).plot(
        ax=right,
        values_format=".0%",
        cmap="magma",
        imshow_kw={"cmap": "cividis"},
        text_kw={"size": 7},
    )
    assert display.ax_ is right and display.figure_ is fig
    assert display.im_.get_cmap().name == "cividis"
    assert [t.get_text() for t in display.text_.ravel()] == ["20%", "80%"]
    assert display.text_[0, 0].get_fontsize() == 7
    assert right.get_ylabel() == ""
    assert [t.get_text() for t in right.get_xticklabels()] == ["0.5", "1.5"]
    # Light text on the dark cell, dark text on the light one.
    dark, light = display.im_.cmap(0.0), display.im_.cmap(1.0)
    assert display.text_[0, 0].get_color() == light
    assert display.text_[0, 1].get_color() == dark
    # The threshold is the middle of the color scale, not of the scores.
    display = TuningHeatmapDisplay([[0.2, 0.8]], x_values=[1, 2], y_values=[3]).plot(
        imshow_kw={"vmin": 0.0, "vmax": 10.0}
    )
    light = display.im_.cmap(1.0)
    assert [t.get_color() for t in display.text_.ravel()] == [light, light]


def test_heatmap_parameter_detection_errors():
    base = {"mean_test_score": np.array([0.1, 0.2])}
    both = {
        **base,
        "param_a__learning_rate_init": np.ma.masked_array([0.1, 0.2]),
        "param_b__learning_rate_init": np.ma.masked_array([0.1, 0.2]),
        "param_alpha": np.ma.masked_array([1.0, 1.0]),
    }
    with pytest.raises(ValueError, match="x=None: found several"):
        TuningHeatmapDisplay.from_cv_results(both)
    # A fixed duplicate does not make it ambiguous.
    one_varies = {**both, "param_b__learning_rate_init": np.ma.masked_array([1, 1])}
    display = TuningHeatmapDisplay.from_cv_results(one_varies)
    assert display.x_name == "a__learning_rate_init"
    no_rate = {**base, "param_alpha": np.ma.masked_array([1.0, 2.0])}
    with pytest.raises(ValueError, match=r"x=None: found no .*pass x= one of"):
        TuningHeatmapDisplay.from_cv_results(no_rate)
    with pytest.raises(ValueError, match="cv_results has no column 'param_C'"):
        TuningHeatmapDisplay.from_cv_results(both, x="a__learning_rate_init", y="C")
    with pytest.raises(ValueError, match="same parameter"):
        TuningHeatmapDisplay.from_cv_results(both, x="param_alpha", y="alpha")
    with pytest.raises(ValueError, match="no column 'mean_test_f1'"):
        TuningHeatmapDisplay.from_cv_results(one_varies, score="mean_test_f1")


def test_heatmap_errors(digits):
    X, y = digits
    with pytest.raises(NotFittedError):
        TuningHeatmapDisplay.from_estimator(
            GridSearchCV(SoftmaxSGD(), {"alpha": [1.0]})
        )
    fitted = SoftmaxSGD(max_iter=1, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="needs a fitted hyperparameter search"):
        TuningHeatmapDisplay.from_estimator(fitted)
    with pytest.raises(ValueError, match=r"scores has shape \(1, 2\)"):
        TuningHeatmapDisplay([[0.1, 0.2]], x_values=[1], y_values=[1]).plot()
    with pytest.raises(ValueError, match="no finite value"):
        TuningHeatmapDisplay([[np.nan]], x_values=[1], y_values=[1]).plot()
    disjoint = {
        "param_lr": np.ma.masked_array([0.1, 0.0], mask=[False, True]),
        "param_alpha": np.ma.masked_array([0.0, 1.0], mask=[True, False]),
        "mean_test_score": np.array([0.1, 0.2]),
    }
    with pytest.raises(ValueError, match="No candidate of the search has values"):
        TuningHeatmapDisplay.from_cv_results(disjoint)


# ---------------------------------------------------------------- messages


def test_square_number_of_hog_features_is_refused_not_warned(digits):
    X, y = digits
    # 24x24 images, 6x6 cells of 9 orientations: 324 features, an 18x18 square.
    images = np.repeat(np.repeat(X.reshape(-1, 8, 8), 3, axis=1), 3, axis=2)
    X24 = images.reshape(len(y), -1)
    hog = make_pipeline(
        HOG(pixels_per_cell=(4, 4), cells_per_block=(1, 1), image_shape=(24, 24)),
        SoftmaxSGD(max_iter=2, tol=None, random_state=0),
    ).fit(X24, y)
    assert hog[-1].coef_.shape == (10, 324)
    message = (
        r"324 weights per class, one per feature made by the pipeline steps "
        r"before it \(hog\) from 576 input values.*pass as estimator a "
        r"classifier fitted on the pixels"
    )
    for image_shape in (None, (18, 18)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an error, not a warning
            with pytest.raises(ValueError, match=message):
                WeightTemplatesDisplay.from_estimator(hog, image_shape=image_shape)
    # A step that changes the number of values is refused the same way.
    pca = make_pipeline(
        PCA(n_components=49), SoftmaxSGD(max_iter=2, tol=None, random_state=0)
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"49 weights.*\(pca\) from 64 input"):
        WeightTemplatesDisplay.from_estimator(pca)


def test_heatmap_columns_of_unequal_length_are_named():
    results = {
        "param_learning_rate_init": [1e-3, 1e-2, 1e-3],
        "param_alpha": [1e-4, 1e-4, 1e-2, 1e-2],
        "mean_test_score": np.array([0.5, 0.6, 0.7, 0.8]),
    }
    message = (
        r"different lengths: \{'param_learning_rate_init': 3, 'param_alpha': 4, "
        r"'mean_test_score': 4\}"
    )
    with pytest.raises(ValueError, match=message):
        TuningHeatmapDisplay.from_cv_results(results)
    results["param_learning_rate_init"].append(1e-2)
    display = TuningHeatmapDisplay.from_cv_results(results, annotate=False)
    assert display.im_.get_array().shape == (2, 2)
