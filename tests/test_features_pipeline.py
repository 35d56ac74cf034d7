"""Feature transformers feeding sklinear's classifiers, end to end."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from sklinear import MulticlassSVMSGD, SoftmaxSGD
from sklinear.features import HOG, ColorHistogram


def _toy_images(n_per_class=40, seed=0):
    """32x32 RGB images of three classes: horizontal stripes, vertical
    stripes and a colored blob, with noise; flattened as loaders pass them."""
    rng = np.random.default_rng(seed)
    grid = np.arange(32)
    images, labels = [], []
    for label in range(3):
        for _ in range(n_per_class):
            phase = rng.integers(0, 8)
            if label == 0:
                pattern = np.sin((grid[:, None] + phase) / 2.0) * np.ones((1, 32))
            elif label == 1:
                pattern = np.ones((32, 1)) * np.sin((grid[None, :] + phase) / 2.0)
            else:
                center = rng.integers(8, 24, 2)
                dist = (grid[:, None] - center[0]) ** 2 + (
                    grid[None, :] - center[1]
                ) ** 2
                pattern = np.exp(-dist / 40.0)
            rgb = pattern[..., None] * rng.uniform(0.3, 1.0, 3)
            noisy = rgb + 0.3 * rng.standard_normal((32, 32, 3))
            images.append(np.clip(128 + 100 * noisy, 0, 255).astype(np.uint8))
            labels.append(label)
    images = np.stack(images)
    return images.reshape(len(images), -1), np.array(labels)


def _pipeline(classifier):
    features = FeatureUnion(
        [
            (
                "hog",
                HOG(
                    pixels_per_cell=(8, 8),
                    cells_per_block=(1, 1),
                    image_shape=(32, 32, 3),
                ),
            ),
            ("color", ColorHistogram(bins=8, image_shape=(32, 32, 3))),
        ]
    )
    return Pipeline(
        [("features", features), ("scale", StandardScaler()), ("clf", classifier)]
    )


@pytest.mark.parametrize(
    "classifier",
    [
        MulticlassSVMSGD(max_iter=30, random_state=0),
        SoftmaxSGD(max_iter=30, random_state=0),
    ],
    ids=["svm", "softmax"],
)
def test_hog_and_color_pipeline_fits_and_scores(classifier):
    X, y = _toy_images()
    X_test, y_test = _toy_images(n_per_class=20, seed=1)
    model = _pipeline(classifier).fit(X, y)
    assert model.score(X_test, y_test) > 0.9
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    names = model[:-1].get_feature_names_out()
    assert len(names) == model[-1].n_features_in_
    assert any(name.startswith("hog__") for name in names)
    assert any(name.startswith("color__") for name in names)


def test_grid_search_over_a_feature_and_a_classifier_parameter():
    X, y = _toy_images(n_per_class=30)
    search = GridSearchCV(
        _pipeline(MulticlassSVMSGD(max_iter=20, random_state=0)),
        {
            "features__hog__pixels_per_cell": [(8, 8), (16, 16)],
            "clf__margin": [0.5, 2.0],
        },
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.85
    assert search.best_estimator_.score(X, y) > 0.9
