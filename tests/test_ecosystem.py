"""Persistence with skops and array API inputs: the estimators' side."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sklinear import MulticlassSVMSGD, MulticlassSVMSGDCV, SoftmaxSGD, SoftmaxSGDCV

ESTIMATORS = [
    SoftmaxSGD(random_state=0),
    MulticlassSVMSGD(optimizer="momentum", penalty="l1", random_state=0),
    SoftmaxSGD(optimizer="adagrad", learning_rate="adaptive", random_state=0),
    SoftmaxSGDCV(alphas=[1e-4, 1e-2], cv=3, random_state=0),
    MulticlassSVMSGDCV(margins=[1.0, 2.0], alphas=[1e-3], cv=3, random_state=0),
]
PUBLIC_CLASSES = [
    "sklinear.linear.SoftmaxSGD",
    "sklinear.linear.MulticlassSVMSGD",
    "sklinear.linear.SoftmaxSGDCV",
    "sklinear.linear.MulticlassSVMSGDCV",
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_skops_round_trip_trusts_only_the_public_classes(estimator):
    skops_io = pytest.importorskip("skops.io")
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = estimator.fit(X, y)
    data = skops_io.dumps(model)
    assert set(skops_io.get_untrusted_types(data=data)) <= set(PUBLIC_CLASSES)
    loaded = skops_io.loads(data, trusted=PUBLIC_CLASSES)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_partial_fit_goes_on_after_a_skops_round_trip():
    skops_io = pytest.importorskip("skops.io")
    X, y = load_iris(return_X_y=True)
    model = SoftmaxSGD(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    loaded = skops_io.loads(skops_io.dumps(model), trusted=PUBLIC_CLASSES)
    loaded.partial_fit(X, y)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    assert loaded.n_iter_ == model.n_iter_ == 2


_ARRAY_API_SCRIPT = textwrap.dedent(
    """
    import array_api_strict as xp
    import numpy as np
    import sklearn
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklinear import SoftmaxSGD, SoftmaxSGDCV

    X, y = load_iris(return_X_y=True)
    Xa = xp.asarray(X)
    models = (
        SoftmaxSGD(random_state=0),
        SoftmaxSGDCV(alphas=[1e-3], cv=3, random_state=0),
        make_pipeline(StandardScaler(), SoftmaxSGD(random_state=0)),
    )
    for model in models:
        expected = sklearn.base.clone(model).fit(X, y).predict(X)
        with sklearn.config_context(array_api_dispatch=True):
            # Labels may stay NumPy: they are encoded on the host.
            predicted = sklearn.base.clone(model).fit(Xa, y).predict(Xa)
        print("NAMESPACE", type(predicted).__module__.split(".")[0])
        print("EQUAL", bool(np.array_equal(np.asarray(predicted), expected)))
    """
)


@pytest.mark.slow
def test_array_api_input_trains_in_its_namespace():
    pytest.importorskip("array_api_strict")
    env = dict(os.environ, SCIPY_ARRAY_API="1")
    result = subprocess.run(
        [sys.executable, "-c", _ARRAY_API_SCRIPT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines.count("NAMESPACE array_api_strict") == 3, result.stdout
    assert lines.count("EQUAL True") == 3, result.stdout
